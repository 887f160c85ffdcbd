"""The outside-service adapters of a running app as dependencies: storage, imaging and the email
sender, each built once in ``create_app`` (``app.state``). The rest of the app-wide dependencies
(settings, rate limiter, client IP) are in ``core.deps``, below the integrations.

async, as every trivial dependency: FastAPI runs a sync one in a worker thread per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from spikeland.integrations.email import EmailSender
from spikeland.integrations.imaging import Imaging
from spikeland.integrations.storage import Storage


async def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


async def _imaging(request: Request) -> Imaging:
    imaging: Imaging = request.app.state.imaging
    return imaging


async def _email(request: Request) -> EmailSender:
    sender: EmailSender = request.app.state.email_sender
    return sender


StorageDep = Annotated[Storage, Depends(_storage)]
ImagingDep = Annotated[Imaging, Depends(_imaging)]
EmailDep = Annotated[EmailSender, Depends(_email)]
