"""The read-mostly pages: analytics (a seeded month's figures, charts drawn, the campaigns' spend,
ROI and cost a sign-up, the funnel, a CSV export), the error log (filters, an error's stack, delete
by filter with its audit entry) and the audit trail (both tables as one list, filters, CSV export)."""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.async_api import Page, expect
from sqlalchemy import delete, select

from spikeland.analytics.models import (
    AdCampaign,
    AdCampaignSpend,
    AttributionType,
    CampaignAttribution,
    CampaignLink,
    CampaignMetricsCache,
    ConversionType,
    MarketingPlatform,
    PageView,
    VisitorSession,
)
from spikeland.core.clock import utcnow
from spikeland.db.engine import transaction
from spikeland.identity.models import UserRole
from spikeland.ops import audit, error_logs
from spikeland.ops.models import ErrorLog
from tests.console.conftest import Person, shot, sign_in

RUN = secrets.token_hex(4)
CAMPAIGN = f"summer04_{RUN}"
MONTH = "start=2004-07-01&end=2004-07-31"  # a month no other test writes in


def _at(day: int) -> datetime:
    return datetime(2004, 7, day, 12, tzinfo=UTC)


@pytest.fixture
async def month(app: FastAPI, person: Person) -> AsyncIterator[None]:
    """July 2004: four visits of three visitors (two bounced), a sign-up and a £40 purchase from
    the campaign, and £10 of Google Ads spend linked to it. The spend goes after the test (the
    marketing tests count campaigns)."""
    user_id, _ = await person(UserRole.USER)
    visits = [
        ("a", 3, 3, {"utm_campaign": CAMPAIGN, "utm_source": "google"}),
        ("a", 4, 1, {"utm_campaign": CAMPAIGN, "utm_source": "google"}),
        ("b", 10, 2, {"referrer": "https://www.bing.com/"}),
        ("c", 20, 1, {}),
    ]
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            delete(CampaignMetricsCache).where(CampaignMetricsCache.cache_key.like("%:2004-%"))
        )
        for visitor, day, pages, fields in visits:
            visit = VisitorSession(
                visitor_id=f"c2004_{RUN}_{visitor}",
                session_start=_at(day),
                session_end=_at(day) + timedelta(minutes=pages),
                landing_page="/",
                page_view_count=pages,
                **fields,
            )
            session.add(visit)
            await session.flush()
            session.add_all(
                PageView(session_id=visit.id, path=f"/page/{n}", timestamp=_at(day) + timedelta(minutes=n))
                for n in range(pages)
            )
        for kind, day, value in ((ConversionType.SIGNUP, 4, None), (ConversionType.PURCHASE, 12, 40.0)):
            session.add_all(
                CampaignAttribution(
                    user_id=user_id,
                    session_id=f"c2004_{RUN}",
                    attribution_type=model,
                    platform="GOOGLE_ADS",
                    utm_campaign=CAMPAIGN,
                    utm_source="google",
                    conversion_type=kind,
                    conversion_value=value,
                    converted_at=_at(day),
                )
                for model in AttributionType
            )
        ads = AdCampaign(
            account_id=f"acct_{RUN}",
            platform=MarketingPlatform.GOOGLE_ADS,
            external_campaign_id=f"g_{RUN}",
            name="Summer",
            currency="GBP",
            synced_at=utcnow(),
        )
        session.add(ads)
        await session.flush()
        session.add(AdCampaignSpend(campaign_id=ads.id, day=date(2004, 7, 5), spend=Decimal("10.00")))
        session.add(
            CampaignLink(utm_campaign=CAMPAIGN, platform="GOOGLE_ADS", external_campaign_id=f"g_{RUN}")
        )
    yield
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(delete(AdCampaign).where(AdCampaign.id == ads.id))
        await session.execute(delete(CampaignLink).where(CampaignLink.utm_campaign == CAMPAIGN))


@pytest.mark.usefixtures("month")
async def test_analytics_figures_charts_and_export(page: Page, person: Person) -> None:
    _, email = await person()
    await sign_in(page, email, then="/admin/analytics")
    await page.goto(f"/admin/analytics?{MONTH}")
    await expect(page.get_by_role("heading", name="Analytics")).to_be_visible()
    await expect(page.locator("[data-figure-name=visitors]")).to_have_text("3")
    await expect(page.locator("[data-figure-name=sessions]")).to_have_text("4")
    await expect(page.get_by_text("sessions, 50.00% bounced")).to_be_visible()
    await expect(page.locator("[data-figure-name=signups]")).to_have_text("1")
    await expect(page.locator("[data-figure-name=revenue]")).to_have_text("£40.00")
    await expect(page.locator("[data-figure-name=spend]")).to_have_text("£10.00")
    for name in ("visits", "conversions", "money", "funnel"):
        await expect(page.locator(f"#chart-{name} .main-svg").first).to_be_visible()
    row = page.get_by_role("table", name="Campaigns").locator("tbody tr").filter(has_text=CAMPAIGN)
    cells = [text.strip() for text in await row.locator("td").all_inner_texts()]
    assert cells == [
        CAMPAIGN,
        "google",
        "2",
        "1",
        "50.00%",
        "1",
        "0",
        "1",
        "£40.00",
        "£10.00",
        "300.00%",
        "£10.00",
    ]
    funnel = page.get_by_role("table", name="Funnel").locator("tbody tr")
    steps = [(await r.locator("td").all_inner_texts())[:2] for r in await funnel.all()]
    assert steps == [["visit", "3"], ["signup", "1"], ["enhancement", "0"], ["purchase", "1"]]
    await shot(page, "analytics")

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="campaigns (CSV)").click()
    download = await downloading.value
    assert download.suggested_filename == "campaigns_2004-07-01_2004-07-31_first_touch.csv"
    rows = list(csv.DictReader(io.StringIO((await download.path()).read_text())))
    mine = next(r for r in rows if r["campaign"] == CAMPAIGN)
    assert (mine["sessions"], mine["revenue"], mine["spend"], mine["roi"]) == ("2", "40.0", "10.0", "300.0")


async def _errors(app: FastAPI, route: str) -> list[ErrorLog]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(ErrorLog).where(ErrorLog.route == route)))


async def _entries(app: FastAPI, **filters: Any) -> list[Any]:
    async with app.state.sessionmaker() as session:
        return (await audit.list_entries(session, **filters)).items


async def test_error_log_filters_stack_and_delete_by_filter(page: Page, app: FastAPI, person: Person) -> None:
    route = f"/api/v1/console-test-{RUN}"
    stack = "Traceback (most recent call last):\n  File \"worker.py\", line 7, in run\nKeyError: 'size'"
    async with transaction(app.state.sessionmaker) as session:
        await error_logs.record_client_errors(
            session,
            [
                {
                    "message": f"size missing {RUN}",
                    "stack": stack,
                    "route": route,
                    "error_type": "KeyError",
                    "source_file": "worker.py",
                    "source_line": 7,
                },
                {"message": f"timeout talking to the printer {RUN}", "route": route, "error_type": "ERROR"},
            ],
            user_id=None,
            server=True,
        )
        await error_logs.record_client_errors(
            session,
            [
                {
                    "message": f"button broke {RUN}",
                    "route": route,
                    "error_type": "TypeError",
                    "stack": "at click()",
                }
            ],
            user_id=None,
            server=False,
        )
    admin_id, email = await person()
    await sign_in(page, email, then=f"/admin/errors?route={route}")
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(3)
    await expect(page.get_by_test_id("total")).to_have_text("3")
    await expect(page.locator("#chart-days .main-svg").first).to_be_visible()
    await shot(page, "errors")
    await page.get_by_label("Environment").select_option("BACKEND")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(2)
    await page.get_by_label("Message").fill("size missing")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("KeyError")
    await expect(rows.first).to_contain_text("worker.py:7")
    yesterday = (utcnow().date() - timedelta(days=1)).isoformat()
    await page.goto(f"/admin/errors?route={route}&end={yesterday}")
    await expect(page.get_by_text("No error matches.")).to_be_visible()
    await page.goto(f"/admin/errors?route={route}&type=KeyError&source=worker.py")
    await expect(rows).to_have_count(1)
    await rows.first.get_by_role("link").click()
    await expect(page.get_by_role("heading", name="KeyError")).to_be_visible()
    await expect(page.locator("pre.stack-trace")).to_have_text(stack)

    await page.goto(f"/admin/errors?route={route}&environment=FRONTEND")
    await expect(rows).to_have_count(1)
    page.on("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Delete the matching errors").click()
    await expect(page.get_by_role("status")).to_have_text("Deleted 1 error.")
    await expect(page.get_by_text("No error matches.")).to_be_visible()
    left = await _errors(app, route)
    assert sorted(e.environment.value for e in left) == ["BACKEND", "BACKEND"]
    (entry,) = await _entries(app, actor_id=admin_id, action="ERROR_LOG_DELETE")
    assert entry.metadata_["query"] == {"route": route, "environment": "FRONTEND"}
    assert entry.metadata_["deleted"] == 1


async def test_audit_log_one_trail_filters_and_export(page: Page, app: FastAPI, person: Person) -> None:
    actor_id, actor = await person()
    target = f"target-{RUN}"
    async with transaction(app.state.sessionmaker) as session:
        await audit.record(
            session,
            actor_id=actor_id,
            action="ROLE_CHANGE",
            target_id=target,
            metadata={"from": "USER", "to": "ADMIN"},
            ip="192.0.2.7",
        )
        await audit.record(
            session, actor_id=actor_id, action="JOB_CANCEL", target_id=target
        )  # the other table
    _, email = await person(UserRole.SUPER_ADMIN)
    await sign_in(page, email, then="/admin/audit")
    await page.get_by_label("Actor (email or id)").fill(actor)
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("JOB_CANCEL")  # newest first, across both tables
    await expect(rows.nth(1)).to_contain_text("ROLE_CHANGE")
    await expect(rows.nth(1)).to_contain_text("192.0.2.7")
    await expect(rows.nth(1)).to_contain_text(actor)
    await shot(page, "audit")
    await page.get_by_label("Action").fill("role_change")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(target)
    await page.get_by_label("Action").fill("")
    await page.get_by_label("Actor (email or id)").fill("")
    await page.get_by_label("Target id").fill(target)
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(2)

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Export these entries (CSV)").click()
    download = await downloading.value
    exported = list(csv.DictReader(io.StringIO((await download.path()).read_text())))
    assert [(r["action"], r["userId"], r["targetId"]) for r in exported] == [
        ("JOB_CANCEL", actor_id, target),
        ("ROLE_CHANGE", actor_id, target),
    ]
    assert json.loads(exported[1]["metadata"]) == {"from": "USER", "to": "ADMIN"}
    await page.goto(f"/admin/audit?actor=nobody-{RUN}@example.com")
    await expect(page.get_by_text("No entry matches.")).to_be_visible()
