"""``GET /share/{token}``: what a share link shows, an image's or an album's.

One token space, two owners: images' tokens are tried first, then the gallery's. The route shows
both domains' data, so it lives above both (docs/architecture.md, rule 5) and uses each through
its service and schemas; the files behind a link are served by the owner's router
(``/share/{token}/original|enhanced`` by images, ``/share/{token}/images/{id}/file`` by gallery).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from spikeland.core.deps import SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.gallery import service as gallery
from spikeland.gallery.schemas import SharedAlbumOut, album_image_out, album_out
from spikeland.images import service as images
from spikeland.images.deps import LimitPublic
from spikeland.images.schemas import SharedImageOut, image_out

# Tagged as before the move, so the OpenAPI document stays the same.
router = APIRouter(route_class=Route, tags=["images"])

SharedOut = Annotated[SharedImageOut | SharedAlbumOut, Field(discriminator="type")]


@router.get(
    "/share/{token}",
    openapi_extra=errors(share_not_found=404),
    response_model=SharedOut,
    dependencies=[LimitPublic],
)
async def open_share(
    token: str, session: DbSession, settings: SettingsDep
) -> SharedImageOut | SharedAlbumOut:
    """What a share link shows (no sign-in): an image (every opening counts as a view), or an
    UNLISTED or PUBLIC album with its images in the album's order."""
    public_url = settings.public_url
    base = f"{public_url.rstrip('/')}/api/v1/share/{token}"
    try:
        shared = await images.resolve_share(session, token)
    except images.ShareNotFound:
        # Not an image's token: an album's, or nothing (then the gallery raises the same 404).
        album = await gallery.shared_album(session, token)
        items = await gallery.album_items(session, album.album)
        return SharedAlbumOut(
            album=album_out(album, None, public_url),
            images=[
                album_image_out(item, image_out(item.view, None), f"{base}/images/{item.view.image.id}/file")
                for item in items
            ],
        )
    await images.count_view(session, shared.image)
    return SharedImageOut(
        image=image_out(images.ImageView(shared.image, shared.enhancement), None),
        original_download_url=f"{base}/original",
        enhanced_download_url=f"{base}/enhanced" if shared.enhancement else None,
    )
