"""Every page of the console, in the order of its navigation: a new domain's page adds its router here."""

from __future__ import annotations

from fastapi import APIRouter


def console_routers() -> list[APIRouter]:
    from spikeland.console import auth, dashboard

    return [auth.router, dashboard.router]
