"""Billing endpoints: checkout, the Stripe webhook, the user's subscription and payments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from spikeland.billing import catalogue, service, webhooks
from spikeland.billing.schemas import (
    CheckoutOut,
    CheckoutRequest,
    DowngradeRequest,
    OfferOut,
    PaymentOut,
    PaymentPage,
    SubscriptionOut,
    WebhookAck,
)
from spikeland.core import http_cache
from spikeland.core.deps import IdempotencyKey, SettingsDep
from spikeland.core.limits import read_body
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageLimit
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity.deps import CurrentCaller, CurrentUser
from spikeland.integrations.stripe import make_gateway

router = APIRouter(route_class=Route, prefix="/billing", tags=["billing"])


# The catalogue changes when an operator edits it, rarely; a pricing page may show it a minute late.
_CATALOGUE_CACHE = http_cache.PUBLIC_MINUTE


@router.get("/packages", response_model=list[OfferOut])
async def list_packages(
    session: DbSession, settings: SettingsDep, if_none_match: http_cache.IfNoneMatch = None
) -> Response:
    """The token packs on sale (public: the pricing page's data)."""
    offers = await catalogue.packages(session, settings.stripe_currency)
    return http_cache.respond(if_none_match, [OfferOut.model_validate(o) for o in offers], _CATALOGUE_CACHE)


@router.get("/plans", response_model=list[OfferOut])
async def list_plans(
    session: DbSession, settings: SettingsDep, if_none_match: http_cache.IfNoneMatch = None
) -> Response:
    """The monthly subscription plans on sale, with the tier each gives (public)."""
    offers = await catalogue.plans(session, settings.stripe_currency)
    return http_cache.respond(if_none_match, [OfferOut.model_validate(o) for o in offers], _CATALOGUE_CACHE)


@router.post(
    "/checkout",
    openapi_extra=errors(
        package_not_found=404,
        plan_not_found=404,
        subscription_exists=409,
        payment_provider_error=502,
        payments_unavailable=503,
    ),
    response_model=CheckoutOut,
)
async def checkout(
    body: CheckoutRequest,
    user: CurrentUser,
    session: DbSession,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> CheckoutOut:
    created = await service.start_checkout(
        session,
        user,
        package_id=body.package_id,
        plan_id=body.plan_id,
        idempotency_key=idempotency_key,
        settings=settings,
        gateway=make_gateway(settings),
    )
    return CheckoutOut(session_id=created.id, url=created.url)


@router.post(
    "/webhooks/stripe",
    openapi_extra=errors(invalid_signature=400, malformed_payload=400, webhooks_unavailable=503),
    response_model=WebhookAck,
)
async def stripe_webhook(
    request: Request,  # the raw body, read bounded: the signature covers its exact bytes
    session: DbSession,
    settings: SettingsDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature", max_length=2000)] = None,
) -> WebhookAck:
    body = await read_body(request, webhooks.MAX_BODY, "webhook")
    new = await webhooks.receive(session, body, stripe_signature, settings)
    return WebhookAck(received=True, duplicate=not new)


@router.get("/subscription", response_model=SubscriptionOut | None)
async def get_subscription(caller: CurrentCaller, session: DbSession) -> SubscriptionOut | None:
    sub = await service.get_subscription(session, caller.user_id)
    return None if sub is None else SubscriptionOut.model_validate(sub)


@router.post(
    "/subscription/downgrade",
    openapi_extra=errors(no_active_subscription=404, payments_unavailable=503, payment_provider_error=502),
    response_model=SubscriptionOut,
)
async def schedule_downgrade(
    body: DowngradeRequest, user: CurrentUser, session: DbSession, settings: SettingsDep
) -> SubscriptionOut:
    sub = await service.schedule_downgrade(
        session, user, body.tier, settings=settings, gateway=make_gateway(settings)
    )
    return SubscriptionOut.model_validate(sub)


@router.delete(
    "/subscription/downgrade",
    openapi_extra=errors(
        no_active_subscription=404,
        no_downgrade_scheduled=409,
        plan_not_found=409,
        payments_unavailable=503,
        payment_provider_error=502,
    ),
    response_model=SubscriptionOut,
)
async def cancel_downgrade(user: CurrentUser, session: DbSession, settings: SettingsDep) -> SubscriptionOut:
    sub = await service.cancel_downgrade(session, user, settings=settings, gateway=make_gateway(settings))
    return SubscriptionOut.model_validate(sub)


@router.post(
    "/subscription/cancel",
    openapi_extra=errors(no_active_subscription=404, payments_unavailable=503, payment_provider_error=502),
    response_model=SubscriptionOut,
)
async def cancel_subscription(
    user: CurrentUser, session: DbSession, settings: SettingsDep
) -> SubscriptionOut:
    sub = await service.cancel_subscription(session, user, gateway=make_gateway(settings))
    return SubscriptionOut.model_validate(sub)


@router.get("/payments", response_model=PaymentPage)
async def list_payments(
    caller: CurrentCaller,
    session: DbSession,
    limit: PageLimit = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PaymentPage:
    page = await service.list_payments(session, caller.user_id, limit=limit, cursor=cursor)
    return PaymentPage(items=[PaymentOut.of(p) for p in page.items], next_cursor=page.next_cursor)
