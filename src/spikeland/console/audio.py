"""Audio usage: how much the mixer holds — projects, tracks, mixdowns and their bytes, the users who
store the most — and every project (keyset pages, by owner). Read only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select, text

from spikeland.audio.models import AudioMixdown, AudioMixerProject, AudioStorageType, AudioTrack
from spikeland.console.lookups import emails_of, owner_id
from spikeland.console.web import ConsoleAdmin, ConsoleRoute, page_url, render
from spikeland.core.pagination import newest_first
from spikeland.db.session import DbSession

R2 = AudioStorageType.R2  # files stored here (OPFS tracks are in their owners' browsers)
router = APIRouter(prefix="/admin/audio", route_class=ConsoleRoute, include_in_schema=False)
# Totals in one statement; the top users by bytes stored (tracks uploaded here, and mixdowns).
USAGE = text(
    """
SELECT (SELECT count(*) FROM audio_mixer_projects) AS projects,
       (SELECT count(*) FROM audio_tracks) AS tracks,
       (SELECT count(*) FROM audio_tracks WHERE "storageType" = 'OPFS') AS browser_tracks,
       (SELECT coalesce(sum("fileSizeBytes"), 0) FROM audio_tracks WHERE "storageType" = 'R2') AS track_bytes,
       (SELECT count(*) FROM audio_mixdowns) AS mixdowns,
       (SELECT coalesce(sum(coalesce("wavSizeBytes", 0) + coalesce("mp3SizeBytes", 0)), 0)
        FROM audio_mixdowns) AS mixdown_bytes
"""
)
TOP = text(
    """
SELECT p."userId" AS user_id, u.email, count(DISTINCT p.id) AS projects,
       coalesce(sum(t."fileSizeBytes") FILTER (WHERE t."storageType" = 'R2'), 0) AS bytes
FROM audio_mixer_projects p JOIN users u ON u.id = p."userId"
LEFT JOIN audio_tracks t ON t."projectId" = p.id
GROUP BY p."userId", u.email ORDER BY bytes DESC LIMIT 10
"""
)


@router.get("", response_class=HTMLResponse)
async def usage(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    owner: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    totals = (await session.execute(USAGE)).mappings().one()
    top = (await session.execute(TOP)).mappings().all()
    statement = select(AudioMixerProject)
    if owner and owner.strip():
        statement = statement.where(AudioMixerProject.user_id == await owner_id(session, owner))
    page = await newest_first(
        session, statement, AudioMixerProject.created_at, AudioMixerProject.id, limit=50, cursor=cursor
    )
    ids = [project.id for project in page.items]
    per_project = {}
    if ids:
        rows = await session.execute(
            select(
                AudioTrack.project_id,
                func.count(),
                func.coalesce(func.sum(AudioTrack.file_size_bytes).filter(AudioTrack.storage_type == R2), 0),
            )
            .where(AudioTrack.project_id.in_(ids))
            .group_by(AudioTrack.project_id)
        )
        per_project = {project_id: (count, size) for project_id, count, size in rows.all()}
        renders = await session.execute(
            select(AudioMixdown.project_id, func.count())
            .where(AudioMixdown.project_id.in_(ids))
            .group_by(AudioMixdown.project_id)
        )
        mixdowns = dict(renders.all())
    else:
        mixdowns = {}
    owners = await emails_of(session, (project.user_id for project in page.items))
    return render(
        request,
        "audio.html",
        totals=totals,
        top=top,
        projects=page.items,
        per_project=per_project,
        mixdowns=mixdowns,
        owners=owners,
        values={"owner": owner},
        next_url=page_url(request, page.next_cursor),
    )
