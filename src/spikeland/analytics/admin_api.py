"""Campaign metrics for admins, under ``/admin/analytics``: each report for a date range and an
attribution model, cached an hour (``analytics.metrics``), and exported as CSV or JSON."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import StringConstraints
from sqlalchemy import select

from spikeland.analytics import links, metrics
from spikeland.analytics.models import AttributionType, CampaignLink, MarketingPlatform
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.core.schemas import RequestSchema, Schema
from spikeland.db.session import DbSession
from spikeland.identity.deps import AdminUser, audited

router = APIRouter(route_class=Route, prefix="/admin/analytics", tags=["admin"])


class Model(StrEnum):
    first_touch = "first_touch"
    last_touch = "last_touch"


class Report(StrEnum):
    overview = "overview"
    daily = "daily"
    campaigns = "campaigns"
    sources = "sources"
    funnel = "funnel"


class Format(StrEnum):
    csv = "csv"
    json = "json"


class ReportOut(Schema):
    report: str
    start: date
    end: date
    model: str
    cache_key: str
    cached: bool
    computed_at: Any
    metrics: dict[str, Any]


Start = Annotated[date, Query(description="First day (UTC), YYYY-MM-DD.")]
End = Annotated[date, Query(description="Last day (UTC), inclusive.")]
ModelQuery = Annotated[Model, Query(description="Attribution model.")]
_ERRORS = errors(invalid_date_range=422)


def _period(start: date, end: date, model: Model) -> metrics.Period:
    return metrics.Period(start, end, AttributionType(model.value.upper()))


@router.get("/reports/{report}", openapi_extra=_ERRORS, response_model=ReportOut)
async def get_report(
    report: Report,
    actor: AdminUser,
    session: DbSession,
    start: Start,
    end: End,
    model: ModelQuery = Model.first_touch,
) -> ReportOut:
    """overview, daily, campaigns, sources or funnel for the range and model."""
    period = _period(start, end, model)
    found, computed_at, cached = await metrics.report(session, report.value, period)
    return ReportOut(
        report=report.value,
        start=start,
        end=end,
        model=model.value,
        cache_key=period.key(report.value),
        cached=cached,
        computed_at=computed_at,
        metrics=found,
    )


@router.get("/export/{report}", openapi_extra=_ERRORS, response_class=Response)
async def export(
    report: Report,
    actor: AdminUser,
    session: DbSession,
    start: Start,
    end: End,
    model: ModelQuery = Model.first_touch,
    format: Format = Format.csv,
) -> Response:
    """A report as a file: CSV (one row per day, campaign, source or step; the overview as one row)
    or JSON."""
    name, media_type, body = await metrics.export(
        session, report.value, _period(start, end, model), format == Format.json
    )
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=media_type, headers=headers)


class CampaignLinkOut(Schema):
    id: str
    utm_campaign: str
    platform: str
    external_campaign_id: str
    external_campaign_name: str | None
    created_at: datetime
    updated_at: datetime


@router.get("/campaign-links", response_model=list[CampaignLinkOut])
async def campaign_links(actor: AdminUser, session: DbSession) -> list[CampaignLinkOut]:
    """UTM campaigns linked to ad platforms' campaigns (kept up to date from visits), newest first."""
    rows = await session.scalars(
        select(CampaignLink).order_by(CampaignLink.updated_at.desc(), CampaignLink.id).limit(1000)
    )
    return [CampaignLinkOut.model_validate(row) for row in rows]


class CampaignLinkIn(RequestSchema):
    utm_campaign: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    platform: MarketingPlatform
    external_campaign_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ]
    external_campaign_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] | None
    ) = None


@router.post(
    "/campaign-links",
    openapi_extra=errors(campaign_link_exists=409),
    response_model=CampaignLinkOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[audited("CAMPAIGN_LINK_CREATE")],
)
async def link_campaign(body: CampaignLinkIn, actor: AdminUser, session: DbSession) -> CampaignLinkOut:
    """Link a UTM campaign to an ad platform's campaign by hand."""
    made = await links.create(
        session, body.utm_campaign, body.platform, body.external_campaign_id, body.external_campaign_name
    )
    return CampaignLinkOut.model_validate(made)


@router.delete(
    "/campaign-links/{link_id}",
    openapi_extra=errors(campaign_link_not_found=404),
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[audited("CAMPAIGN_LINK_DELETE")],
)
async def unlink_campaign(link_id: str, actor: AdminUser, session: DbSession) -> None:
    await links.remove(session, link_id)
