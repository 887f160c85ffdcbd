"""The libraries whose private APIs we use are the versions that use was checked against.

An upgrade must come with a look at what each entry names (and their own tests passing), then a
new version here: this test is what makes the upgrade a deliberate step.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest

CHECKED = {
    # core.routing: fastapi._compat, dependency solving internals, routing's context variable;
    # tests/core/test_routing.py compares it with APIRoute request by request, and
    # tests/core/test_routing_spend.py does so on the real token spend (every route uses it);
    # core.route_index: the included router's matching, the app router's loop and its helpers
    # (_update_scope, _route_selected...), compared with FastAPI's by tests/core/test_route_index.py.
    "fastapi": "0.165",
    # db.session: the asyncpg adapter's _transaction / _start_transaction for the driver-mode unit;
    # db.lazy_begin: its isolation_level / _isolation_setting and the cursor's _adapt_connection
    # (tests/db/test_lazy_begin.py checks what a read sends); db.query: a compiled statement's
    # _bind_processors (tests/db/test_query.py binds an enum and a timestamp through it).
    "sqlalchemy": "2.1",
    # integrations.stripe: overrides the HTTP client's _get_request_args_kwargs.
    "stripe": "16.1",
    # core.boundary: wraps the app's build_middleware_stack to sit outside ServerErrorMiddleware.
    "starlette": "1.10",
    # core.server: subclasses HttpToolsProtocol and arms its deadlines on its parser callbacks.
    "uvicorn": "0.54",
}


@pytest.mark.parametrize(("package", "checked"), CHECKED.items())
def test_private_apis_are_used_on_the_version_they_were_checked_against(package: str, checked: str) -> None:
    installed = version(package)
    assert installed.startswith(checked + "."), f"{package} {installed}: re-check what CHECKED names"
