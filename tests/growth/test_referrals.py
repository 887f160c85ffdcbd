"""Referrals: the link and stats, PENDING at sign-up, COMPLETED (+50 each, once) on email
verification, and every fraud rule making it INVALID with no tokens."""

from __future__ import annotations

import asyncio
import email.policy
import re
import secrets
from email.parser import BytesParser

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.db.engine import transaction
from spikeland.growth import fraud
from spikeland.growth.models import Referral, ReferralStatus
from spikeland.identity import service as identity
from spikeland.identity.models import User
from spikeland.settings import Settings
from spikeland.tokens import service as tokens
from spikeland.tokens.models import TokenTransaction
from tests import support
from tests.support import PASSWORD, fetch, http_client, make_user, new_email, user_row
from tests.support.fixtures import UserClient


def new_ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


async def sign_up(app: FastAPI, code: str | None, *, email: str | None = None, ip: str | None = None) -> str:
    """A sign-up over HTTP from ``ip``, with the referral code; returns the new user's id."""
    async with http_client(app, ip or new_ip()) as client:
        user = await support.sign_up(client, email or new_email("ref"), PASSWORD, referralCode=code)
    return str(user["id"])


async def verify(app: FastAPI, user_id: str) -> None:
    async with transaction(app.state.sessionmaker) as session:
        user = await session.get(User, user_id)
        assert user is not None
        await identity.mark_email_verified(session, user)


async def referral_of(app: FastAPI, referee_id: str) -> Referral:
    [row] = await fetch(app, Referral, referee_id=referee_id)
    return row


async def referral_credits(app: FastAPI, *user_ids: str) -> list[tuple[str, int, str | None]]:
    async with transaction(app.state.sessionmaker) as session:
        rows = await session.scalars(
            select(TokenTransaction)
            .where(TokenTransaction.user_id.in_(user_ids), TokenTransaction.source == "referral")
            .order_by(TokenTransaction.user_id)
        )
        return [(r.user_id, r.amount, r.source_id) for r in rows]


async def referrer(app: FastAPI, email: str | None = None) -> tuple[str, str]:
    """A committed referrer: (id, referral code)."""
    async with transaction(app.state.sessionmaker) as session:
        user = await make_user(session, email=email or new_email("referrer"), referral_code=_code())
        assert user.referral_code is not None
        return user.id, user.referral_code


def _code() -> str:
    return "".join(secrets.choice("ABCDEFGHJKMNPQRSTUVWXYZ23456789") for _ in range(8))


# ----------------------------------------------------------------------------- the happy path


async def test_sign_up_with_a_code_then_verification_completes_once(app: FastAPI) -> None:
    referrer_id, code = await referrer(app)
    ip = new_ip()
    referee_id = await sign_up(app, code.lower(), ip=ip)
    pending = await referral_of(app, referee_id)
    assert (pending.referrer_id, pending.status, pending.ip_address) == (
        referrer_id,
        ReferralStatus.PENDING,
        ip,
    )
    assert pending.tokens_granted == 0 and pending.completed_at is None

    await verify(app, referee_id)
    done = await referral_of(app, referee_id)
    assert (done.status, done.tokens_granted) == (ReferralStatus.COMPLETED, 100) and done.completed_at
    assert sorted(await referral_credits(app, referrer_id, referee_id)) == sorted(
        [(referrer_id, 50, done.id), (referee_id, 50, done.id)]
    )
    assert (await user_row(app, referrer_id)).referral_count == 1

    async with transaction(app.state.sessionmaker) as session:  # verified again: nothing more
        user = await session.get(User, referee_id)
        assert user is not None
        user.email_verified = None
        await identity.mark_email_verified(session, user)
    assert len(await referral_credits(app, referrer_id, referee_id)) == 2
    assert (await user_row(app, referrer_id)).referral_count == 1


async def test_concurrent_verifications_complete_once(app: FastAPI) -> None:
    referrer_id, code = await referrer(app)
    referee_id = await sign_up(app, code)

    loaded = asyncio.Barrier(5)

    async def verify_in_own_session() -> None:
        async with transaction(app.state.sessionmaker) as session:
            user = await session.get(User, referee_id)
            assert user is not None and user.email_verified is None
            await loaded.wait()  # every session saw the address unverified: all run the hooks
            await identity.mark_email_verified(session, user)

    await asyncio.gather(*(verify_in_own_session() for _ in range(5)))
    assert len(await referral_credits(app, referrer_id, referee_id)) == 2
    assert (await user_row(app, referrer_id)).referral_count == 1
    assert (await referral_of(app, referee_id)).status == ReferralStatus.COMPLETED


async def test_the_real_verification_mail_completes_it(app: FastAPI, settings: Settings) -> None:
    _, code = await referrer(app)
    address = new_email("mail")
    async with http_client(app, new_ip()) as client:
        referee_id = (await support.sign_up(client, address, PASSWORD, referralCode=code))["id"]
        token = _token_mailed_to(settings, address)
        confirmed = await client.post("/api/v1/auth/verify-email/confirm", json={"token": token})
        assert confirmed.status_code == 200, confirmed.text
    assert (await referral_of(app, referee_id)).status == ReferralStatus.COMPLETED
    async with transaction(app.state.sessionmaker) as session:
        assert (await tokens.get_balance(session, referee_id)).balance == 60


def _token_mailed_to(settings: Settings, address: str) -> str:
    for path in sorted((settings.data_dir / "outbox").glob("*.eml")):
        with path.open("rb") as handle:
            mail = BytesParser(policy=email.policy.default).parse(handle)
        if mail["To"] == address:
            text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
            match = re.search(r"token=([A-Za-z0-9_-]+)", text)
            assert match
            return match.group(1)
    raise AssertionError("no mail")


async def test_a_verified_sign_up_completes_at_once(session: AsyncSession) -> None:
    """An OAuth sign-up arrives verified: both hooks run, in order, in the sign-up's transaction."""
    boss = await make_user(session, referral_code=_code())
    user = await identity.create_user(
        session, email=new_email("oauth"), email_verified=utcnow(), referred_by_id=boss.id, ip=new_ip()
    )
    row = (await session.scalars(select(Referral).where(Referral.referee_id == user.id))).one()
    assert (row.status, row.tokens_granted) == (ReferralStatus.COMPLETED, 100)


async def test_no_code_no_referral(app: FastAPI) -> None:
    user_id = await sign_up(app, None)
    assert await fetch(app, Referral, referee_id=user_id) == []
    unknown = await sign_up(app, "NOSUCH99")
    assert await fetch(app, Referral, referee_id=unknown) == []


# ----------------------------------------------------------------------------- fraud rules


async def assert_invalid(app: FastAPI, referee_id: str, reason: str) -> None:
    referrer_id = (await referral_of(app, referee_id)).referrer_id
    count_before = (await user_row(app, referrer_id)).referral_count
    await verify(app, referee_id)
    row = await referral_of(app, referee_id)
    assert (row.status, row.tokens_granted, row.completed_at) == (ReferralStatus.INVALID, 0, None)
    assert [c for c in await referral_credits(app, referrer_id, referee_id) if c[2] == row.id] == []
    assert (await user_row(app, referrer_id)).referral_count == count_before
    async with transaction(app.state.sessionmaker) as session:
        referee = await session.get(User, referee_id)
        boss = await session.get(User, row.referrer_id)
        assert referee is not None and boss is not None
        reasons = await fraud.fraud_reasons(
            session, row, referrer_email=boss.email, referee_email=referee.email, settings=app.state.settings
        )
    assert reason in reasons


@pytest.mark.parametrize(
    ("referrer_email", "referee_email"),
    [
        ("frank{t}+main@example.com", "Frank{t}+alt@example.com"),
        ("jo.ann{t}@gmail.com", "joann{t}+1@googlemail.com"),
    ],
)
async def test_self_referral(app: FastAPI, referrer_email: str, referee_email: str) -> None:
    tag = secrets.token_hex(3)
    _, code = await referrer(app, referrer_email.format(t=tag))
    referee_id = await sign_up(app, code, email=referee_email.format(t=tag))
    await assert_invalid(app, referee_id, "self_referral")


async def test_same_ip_as_an_earlier_referral_within_a_day(app: FastAPI) -> None:
    referrer_id, code = await referrer(app)
    ip = new_ip()
    first = await sign_up(app, code, ip=ip)
    second = await sign_up(app, code, ip=ip)
    other = await sign_up(app, code)
    await verify(app, first)
    assert (await referral_of(app, first)).status == ReferralStatus.COMPLETED  # the first one is fine
    await assert_invalid(app, second, "same_ip")
    await verify(app, other)
    assert (await referral_of(app, other)).status == ReferralStatus.COMPLETED
    assert (await user_row(app, referrer_id)).referral_count == 2


async def test_same_ip_as_the_referrers_own_sign_up(app: FastAPI) -> None:
    _, grand_code = await referrer(app)
    ip = new_ip()
    middle_id = await sign_up(app, grand_code, ip=ip)  # the referrer was referred: their IP is known
    code = (await user_row(app, middle_id)).referral_code
    referee_id = await sign_up(app, code, ip=ip)
    await assert_invalid(app, referee_id, "same_ip")


@pytest.mark.parametrize("domain", ["mailinator.com", "MX.Yopmail.com"])
async def test_disposable_email(app: FastAPI, domain: str) -> None:
    _, code = await referrer(app)
    referee_id = await sign_up(app, code, email=new_email("throw", domain))
    await assert_invalid(app, referee_id, "disposable_email")


def test_deployments_add_blocked_domains() -> None:
    settings = Settings(blocked_email_domains=" Burner.Example , other.test")
    blocked = fraud.blocked_domains(settings)
    assert fraud.is_disposable("a@burner.example", blocked) and fraud.is_disposable("a@x.other.test", blocked)
    assert not fraud.is_disposable("a@example.com", blocked)
    assert not fraud.is_disposable("a@notmailinator.com.evil", blocked)


@pytest.mark.parametrize(("earlier", "status"), [(9, ReferralStatus.COMPLETED), (10, ReferralStatus.INVALID)])
async def test_more_than_ten_a_day(session: AsyncSession, earlier: int, status: ReferralStatus) -> None:
    boss = await make_user(session, referral_code=_code())
    for _ in range(earlier):  # earlier sign-ups today (same transaction: same createdAt, older ids)
        session.add(Referral(referrer_id=boss.id, referee_id=(await make_user(session)).id))
    await session.flush()
    user = await identity.create_user(session, email=new_email(), referred_by_id=boss.id)
    await identity.mark_email_verified(session, user)
    row = (await session.scalars(select(Referral).where(Referral.referee_id == user.id))).one()
    assert row.status == status


# ----------------------------------------------------------------------------- link and stats


async def test_link_and_stats(app: FastAPI, user_client: UserClient) -> None:
    client, boss_id = await user_client(referral_code=None)
    link = (await client.get("/api/v1/referrals/link")).json()
    assert re.fullmatch(r"[A-Z2-9]{8}", link["code"])
    assert link["url"] == f"{app.state.settings.public_url}/?ref={link['code']}"
    assert (await client.get("/api/v1/referrals/link")).json() == link  # drawn once, kept
    assert (await user_row(app, boss_id)).referral_code == link["code"]

    done = await sign_up(app, link["code"], email=f"zed-{secrets.token_hex(3)}@example.org")
    await verify(app, done)
    await sign_up(app, link["code"])
    bad = await sign_up(app, link["code"], email=new_email("x", "yopmail.com"))
    await verify(app, bad)

    stats = (await client.get("/api/v1/referrals/stats", params={"limit": 2})).json()
    counts = {
        k: stats[k] for k in ("totalReferrals", "completedReferrals", "pendingReferrals", "invalidReferrals")
    }
    assert counts == {
        "totalReferrals": 3,
        "completedReferrals": 1,
        "pendingReferrals": 1,
        "invalidReferrals": 1,
    }
    assert stats["tokensEarned"] == 50
    assert len(stats["referredUsers"]) == 2 and stats["nextCursor"]
    rest = (await client.get("/api/v1/referrals/stats", params={"cursor": stats["nextCursor"]})).json()
    everyone = stats["referredUsers"] + rest["referredUsers"]
    [zed] = [u for u in everyone if u["status"] == "COMPLETED"]
    assert zed["email"] == "z***@example.org" and zed["tokensEarned"] == 50
    assert all("***@" in u["email"] for u in everyone)
    assert (await http_client(app).get("/api/v1/referrals/stats")).status_code == 401
