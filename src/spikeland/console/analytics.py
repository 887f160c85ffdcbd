"""The console's analytics pages (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

from spikeland.console.web import ConsoleRoute

router = APIRouter(prefix="/admin", route_class=ConsoleRoute, include_in_schema=False)
