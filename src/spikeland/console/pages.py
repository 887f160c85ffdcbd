"""Every page of the console, in the order of its navigation (``templates/base.html``): a new
domain's pages are a module here with its ``router``, and a line in the navigation."""

from __future__ import annotations

from fastapi import APIRouter


def console_routers() -> list[APIRouter]:
    from spikeland.console import (
        agents,
        analytics,
        apps,
        audio,
        audit,
        auth,
        boxes,
        dashboard,
        emails,
        error_logs,
        feedback,
        gallery,
        images,
        jobs,
        media,
        orders,
        tracked_urls,
        users,
        vouchers,
    )

    modules = [auth, dashboard, users, images, vouchers, jobs, gallery, orders, analytics]
    modules += [feedback, error_logs, emails, tracked_urls, audit, apps, audio, boxes, agents, media]
    return [module.router for module in modules]
