"""Every domain's routers, mounted under /api/v1 by ``create_app`` — and the domain hooks that
must be registered before the first request (importing a ``hooks`` module registers it)."""

from __future__ import annotations

from fastapi import APIRouter


def api_routers() -> list[APIRouter]:
    from spikeland.billing import api as billing_api
    from spikeland.gallery import api as gallery_api
    from spikeland.gallery import featured_api
    from spikeland.generation import api as generation_api
    from spikeland.growth import admin_api as growth_admin_api
    from spikeland.growth import api as growth_api
    from spikeland.identity import admin_api, api, api_keys_api, me_api, oauth_api, verification_api
    from spikeland.images import anonymous_api, jobs_api, pipelines_api
    from spikeland.images import api as images_api
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
        jobs_api.router,
        pipelines_api.router,
        anonymous_api.router,
        gallery_api.router,
        generation_api.router,
        featured_api.admin_router,
        featured_api.public_router,
    ]


def register_hooks() -> None:
    """Import the modules whose import registers identity hooks (sign-up, email verified)."""
    import spikeland.gallery.hooks
    import spikeland.growth.hooks  # noqa: F401  (referrals)
