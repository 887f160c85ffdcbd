"""Every domain's routers, mounted under /api/v1 by ``create_app`` — and the one place the domain
hooks are registered (``register_hooks``), called by the app, the CLI, the worker and the tests."""

from __future__ import annotations

from fastapi import APIRouter


def api_routers() -> list[APIRouter]:
    from spikeland import share_api
    from spikeland.agents import api as agents_api
    from spikeland.analytics import admin_api as analytics_admin_api
    from spikeland.analytics import api as analytics_api
    from spikeland.analytics import marketing_api
    from spikeland.apps import api as apps_api
    from spikeland.audio import api as audio_api
    from spikeland.audio import mixdowns_api
    from spikeland.billing import api as billing_api
    from spikeland.boxes import agent_api as boxes_agent_api
    from spikeland.boxes import api as boxes_api
    from spikeland.gallery import api as gallery_api
    from spikeland.gallery import featured_api
    from spikeland.generation import api as generation_api
    from spikeland.growth import admin_api as growth_admin_api
    from spikeland.growth import api as growth_api
    from spikeland.identity import admin_api, api, api_keys_api, me_api, oauth_api, verification_api
    from spikeland.images import anonymous_api, jobs_api, pipelines_api
    from spikeland.images import api as images_api
    from spikeland.merch import api as merch_api
    from spikeland.merch import cart_api, orders_api
    from spikeland.ops_api import dashboard_api, emails_api, errors_api, feedback_api, tracked_urls_api
    from spikeland.ops_api import jobs_api as ops_jobs_api
    from spikeland.tokens import admin_api as tokens_admin_api
    from spikeland.tokens import api as tokens_api

    # Matched in this order: the hot path first (the token spend), then the rest.
    return [
        tokens_api.router,
        api.router,
        verification_api.router,
        oauth_api.router,
        me_api.router,
        api_keys_api.router,
        admin_api.router,
        tokens_admin_api.router,
        billing_api.router,
        growth_api.router,
        growth_admin_api.router,
        images_api.router,
        share_api.router,  # an image's or an album's share link: above both domains
        jobs_api.router,
        ops_jobs_api.enhancements_router,
        ops_jobs_api.generations_router,
        pipelines_api.router,
        anonymous_api.router,
        gallery_api.router,
        generation_api.router,
        featured_api.admin_router,
        featured_api.public_router,
        merch_api.public_router,
        cart_api.router,
        orders_api.router,
        orders_api.admin_router,
        merch_api.admin_router,
        apps_api.router,
        audio_api.router,
        audio_api.uploads,
        mixdowns_api.router,
        boxes_api.tiers_router,
        boxes_api.router,
        boxes_agent_api.router,
        analytics_api.router,
        marketing_api.router,
        analytics_admin_api.router,
        errors_api.router,
        errors_api.admin_router,
        feedback_api.router,
        feedback_api.admin_router,
        tracked_urls_api.admin_router,
        dashboard_api.router,
        emails_api.router,
        emails_api.admin_router,
        agents_api.router,
    ]


def root_routers() -> list[APIRouter]:
    """Routers mounted at the site's root, not under /api/v1: what crawlers look for there, and the
    admin console's pages at /admin."""
    from spikeland.console.pages import console_routers
    from spikeland.ops_api import metrics_api, tracked_urls_api

    return [tracked_urls_api.sitemap_router, metrics_api.router, *console_routers()]


def register_hooks() -> None:
    """Register every domain's reactions on the hooks lower domains offer (identity's sign-up,
    sign-in, email verified and user deletion, images' pipeline deletion). Idempotent, so each entry point
    simply calls it."""
    from spikeland.analytics import hooks as analytics_hooks
    from spikeland.audio import hooks as audio_hooks
    from spikeland.boxes import hooks as boxes_hooks
    from spikeland.gallery import hooks as gallery_hooks
    from spikeland.generation import hooks as generation_hooks
    from spikeland.growth import hooks as growth_hooks
    from spikeland.images import hooks as images_hooks
    from spikeland.merch import hooks as merch_hooks

    gallery_hooks.register()  # default albums; albums keep their pipeline
    growth_hooks.register()  # referrals
    images_hooks.register()  # a deleted user's originals and enhancement results
    generation_hooks.register()  # a deleted user's generation inputs and outputs
    merch_hooks.register()  # orders' payments, from billing's Stripe inbox
    analytics_hooks.register()  # visitors' sessions linked at sign-in; sign-ups attributed
    audio_hooks.register()  # a deleted user's tracks and mixdowns
    boxes_hooks.register()  # a deleted user's boxes' screenshots
