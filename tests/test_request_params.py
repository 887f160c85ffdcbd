"""No endpoint takes ``Request`` to reach the app's state: it names what it needs (``core.deps``,
``integrations.deps``, a domain's ``deps.py``), so its needs show in its signature and a test can
override them.

The endpoints are read from the application's router, so a route added later is checked too. The
few that really need the request itself are listed here, each with its reason.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from spikeland.app import create_app
from spikeland.console.web import ConsoleRoute
from spikeland.settings import Settings

# Endpoint (module.function) -> why it takes the request. Keep it short: anything the app builds
# once belongs in a dependency instead.
NEEDS_THE_REQUEST = {
    "spikeland.billing.api.stripe_webhook": "reads the raw body, bounded: Stripe signs its exact bytes",
    "spikeland.merch.orders_api.prodigi_webhook": "reads the raw body, bounded: Prodigi signs it exactly",
    "spikeland.images.jobs_api.job_events": "a stream that stops when the client goes (is_disconnected)",
    "spikeland.audio.mixdowns_api.mixdown_events": "a stream that stops when the client goes",
    "spikeland.identity.oauth_api.callback": "reads the flow cookie, whose name is the path's provider",
    "spikeland.analytics.marketing_api.callback": "reads the flow cookie, whose name is the path's platform",
    "spikeland.ops_api.emails_api.resend_webhook": "reads the raw body, bounded: Svix signs its exact bytes",
    "spikeland.ops_api.metrics_api.metrics": "a scraper's bearer token is read before any API-key lookup",
}


def _takes_request(app: FastAPI) -> set[str]:
    found = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        # The console's pages render templates, which take the request (URLs, cookies): every one
        # of them needs it, for what it shows rather than for the app's state.
        if isinstance(route, ConsoleRoute):
            continue
        if isinstance(route, APIRoute) and route.dependant.request_param_name is not None:
            found.add(f"{route.endpoint.__module__}.{route.endpoint.__qualname__}")
    return found


def test_no_endpoint_takes_the_request_for_app_state(tmp_path: Path) -> None:
    # Routes are registered when the app is made; nothing here starts it or touches a database.
    app = create_app(Settings(environment="test", data_dir=tmp_path, worker_in_process=False))
    taking = _takes_request(app)
    unexplained = sorted(taking - NEEDS_THE_REQUEST.keys())
    assert not unexplained, f"take a dependency (core.deps) instead of Request, or say why: {unexplained}"
    stale = sorted(NEEDS_THE_REQUEST.keys() - taking)
    assert not stale, f"no longer take Request: drop them from NEEDS_THE_REQUEST: {stale}"
