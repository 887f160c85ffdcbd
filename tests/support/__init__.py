"""The one test-support module: row factories, HTTP clients on the app, and signing in.

Test modules import from here, never from one another (a test module imported by another would
also have its tests collected twice over in the importer's namespace, and its fixtures leak).
"""

from tests.support.auth import PASSWORD, bearer, hashed, new_key, sign_in, sign_up, start_session
from tests.support.clients import ClientFactory, app_of, client_of, http_client
from tests.support.factories import (
    committed_voucher,
    fetch,
    make_image,
    make_pipeline,
    make_user,
    make_voucher,
    new_code,
    new_email,
    user_row,
)

__all__ = [
    "PASSWORD",
    "ClientFactory",
    "app_of",
    "bearer",
    "client_of",
    "committed_voucher",
    "fetch",
    "hashed",
    "http_client",
    "make_image",
    "make_pipeline",
    "make_user",
    "make_voucher",
    "new_code",
    "new_email",
    "new_key",
    "sign_in",
    "sign_up",
    "start_session",
    "user_row",
]
