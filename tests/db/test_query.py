"""``db.query``: statements compiled once and run on the driver answer as the ORM's do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.pagination import Desc, keyset_page
from spikeland.db.enums import JobStatus
from spikeland.db.query import PagedQuery, Query
from spikeland.db.session import driver_connection
from spikeland.images.models import EnhancedImage, ImageEnhancementJob
from tests.support import make_image, make_user

_BY_USER = EnhancedImage.user_id == bindparam("user_id")
_NEWEST = (Desc(EnhancedImage.created_at), Desc(EnhancedImage.id))


async def test_rows_read_as_the_orm_reads_them(session: AsyncSession) -> None:
    user = await make_user(session)
    image = await make_image(session, user.id)
    row = await Query(select(EnhancedImage).where(_BY_USER)).one_or_none(
        await driver_connection(session), user_id=user.id
    )
    assert row is not None
    assert row["createdAt"] == image.created_at and row["createdAt"].utcoffset() == timedelta(0)
    assert (row["id"], row["originalWidth"], row["isPublic"]) == (image.id, 64, False)


async def test_constants_and_given_values_are_bound_as_sqlalchemy_binds_them(session: AsyncSession) -> None:
    user = await make_user(session)
    image = await make_image(session, user.id)
    job = ImageEnhancementJob(
        image_id=image.id, user_id=user.id, tier="TIER_1K", tokens_cost=2, status=JobStatus.COMPLETED
    )
    session.add(job)
    await session.flush()
    completed = Query(
        select(ImageEnhancementJob.id).where(
            ImageEnhancementJob.image_id == bindparam("image_id"),
            ImageEnhancementJob.status == JobStatus.COMPLETED,  # an enum constant, bound by name
            ImageEnhancementJob.created_at <= bindparam("at", type_=ImageEnhancementJob.created_at.type),
        )
    )
    driver = await driver_connection(session)
    later = datetime.now(UTC) + timedelta(minutes=1)  # aware: the column's type makes it naive UTC
    assert await completed.scalar(driver, image_id=image.id, at=later) == job.id
    assert await completed.scalar(driver, image_id=image.id, at=later - timedelta(hours=1)) is None
    with pytest.raises(TypeError, match="'at' is not given"):
        await completed.scalar(driver, image_id=image.id)


async def test_pages_cover_every_row_once_and_share_the_orms_cursors(session: AsyncSession) -> None:
    user = await make_user(session)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    made = [
        await make_image(session, user.id, created_at=moment - timedelta(seconds=i % 2)) for i in range(5)
    ]
    expected = [i.id for i in sorted(made, key=lambda i: (i.created_at, i.id), reverse=True)]
    paged = PagedQuery(select(EnhancedImage.id, EnhancedImage.created_at).where(_BY_USER), _NEWEST)
    driver = await driver_connection(session)
    seen: list[str] = []
    cursor = None
    while True:
        page = await paged.page(driver, limit=2, cursor=cursor, user_id=user.id)
        seen += [row["id"] for row in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected
    orm = await keyset_page(  # the ORM's page of the same order, and its cursor
        session, select(EnhancedImage).where(EnhancedImage.user_id == user.id), _NEWEST, limit=2, cursor=None
    )
    assert orm.next_cursor is not None
    after = await paged.page(driver, limit=10, cursor=orm.next_cursor, user_id=user.id)
    assert [row["id"] for row in after.items] == expected[2:]
    first = await paged.page(driver, limit=2, cursor=None, user_id=user.id)
    assert first.next_cursor == orm.next_cursor
