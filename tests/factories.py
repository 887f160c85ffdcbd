"""Moved to ``tests.support``; this name stays only while changes begun before the move land."""

from tests.support import ClientFactory, client_of, make_user, sign_up

__all__ = ["ClientFactory", "client_of", "make_user", "sign_up"]
