"""The ``spikeland`` command: serve, db, seed."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from typing import Annotated

import typer

from spikeland.db import migrate
from spikeland.db.engine import (
    DatabaseUnreachable,
    ensure_reachable,
    make_engine,
    make_sessionmaker,
    resolve_database_url,
    transaction,
)
from spikeland.settings import Settings, get_settings

app = typer.Typer(help="Spikeland: the Spike Land platform backend.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema: migrations, adoption, statistics.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts the operators manage.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys for secrets at rest.", no_args_is_help=True)
tokens_app = typer.Typer(help="The token ledger.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(tokens_app, name="tokens")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _database(settings: Settings) -> str:
    """The database URL, started (embedded) or checked (configured), or one clear line and exit 2."""
    try:
        url = resolve_database_url(settings)
        asyncio.run(ensure_reachable(url, settings.db_connect_timeout))
    except DatabaseUnreachable as exc:
        raise _fail(str(exc)) from None
    except ValueError as exc:  # a malformed SPIKELAND_DATABASE_URL
        raise _fail(f"SPIKELAND_DATABASE_URL is not usable: {exc}") from None
    return url


def _adopted(url: str) -> str:
    """``url``, or one line and exit 2 when it holds the original platform's schema not adopted yet:
    migrating it would fail on the baseline's first CREATE TABLE, with a traceback."""
    from spikeland.db.adopt import needs_adoption

    if asyncio.run(needs_adoption(url)):
        raise _fail(
            "this database has tables but no migration history (made by the original Spike Land "
            "platform?): run `spikeland db adopt` first"
        )
    return url


def _run_seed(url: str, settings: Settings) -> dict[str, int]:
    # Every domain's models first: the seeded tables' foreign keys name other domains' tables
    # (`spikeland seed` on its own failed with NoReferencedTableError; `serve` had built the app).
    from spikeland.db import registry  # noqa: F401
    from spikeland.seed import seed

    async def run() -> dict[str, int]:
        engine = make_engine(url, settings)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                return await seed(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@app.callback()
def _load_settings() -> None:
    """Read the configuration once, up front: a bad value is one clear line, not a traceback."""
    from pydantic import ValidationError

    try:
        get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"SPIKELAND_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise _fail(f"bad configuration: {problems}") from None


def _logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8000).")] = None,
) -> None:
    """Migrate to head, seed reference data and serve the API."""
    import uvicorn

    from spikeland.app import create_app
    from spikeland.core.server import server_config

    settings = get_settings()
    _logging(settings)
    url = _adopted(_database(settings))
    migrate.upgrade(url)
    _run_seed(url, settings)
    app = create_app(settings, database_url=url)
    server = uvicorn.Server(server_config(app, settings, host or settings.host, port or settings.port))
    _freeze_startup_objects()
    server.run()
    if not server.started:  # as uvicorn.run: the port was taken, or the startup failed
        raise typer.Exit(3)


def _freeze_startup_objects() -> None:
    """Keep the ~190 K objects of the built app (modules, models, schemas, routes) out of the
    garbage collector's full collections: each full collection walked them all, a ~50 to 90 ms pause of
    every request in flight (the mixed load's p99s). Only in the long-lived processes, never in
    ``create_app``: the test suite builds and drops many apps, and frozen garbage is never collected."""
    gc.collect()
    gc.freeze()


@app.command("seed")
def seed_command() -> None:
    """Create the reference data (packages, plans, box tiers, catalogue, pipelines); idempotent."""
    settings = get_settings()
    created = _run_seed(_database(settings), settings)
    for table, count in created.items():
        typer.echo(f"{table}: {count} created")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrate.upgrade(_adopted(_database(get_settings())), revision)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")] = "-1",
) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    migrate.downgrade(_database(get_settings()), revision)


@db_app.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    migrate.current(_database(get_settings()))


@db_app.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree (the database must be at head)."""
    from alembic.util.exc import AutogenerateDiffsDetected

    try:
        migrate.check(_adopted(_database(get_settings())))
    except AutogenerateDiffsDetected as exc:
        raise _fail(str(exc), code=1) from None
    typer.echo("models and migrations agree")


@db_app.command("adopt")
def db_adopt(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compare only; stamp nothing.")] = False,
) -> None:
    """Take over a database made by the original platform: verify it matches the baseline and stamp it."""
    from spikeland.db.adopt import adopt

    result = adopt(_database(get_settings()), dry_run=dry_run)
    typer.echo(result.message, err=not result.ok)
    for line in result.differences:
        typer.echo(f"  - {line}", err=True)
    for line in result.notes:
        typer.echo(f"  note: {line}")
    if not result.ok:
        raise typer.Exit(1)


@db_app.command("stats")
def db_stats(
    limit: Annotated[int | None, typer.Option(help="At most this many rows per table.")] = None,
) -> None:
    """Table sizes, row counts, index usage and unused indexes."""
    from spikeland.db.stats import collect, render

    typer.echo(render(asyncio.run(collect(_database(get_settings()), limit=limit))))


@users_app.command("create-admin")
def users_create_admin(
    email: Annotated[str, typer.Argument(help="The admin's email address.")],
    admin_only: Annotated[
        bool, typer.Option("--admin", help="Make an ADMIN rather than a SUPER_ADMIN (who can grant roles).")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    ask_password: Annotated[bool, typer.Option("--password", help="Prompt for the password.")] = False,
) -> None:
    """Create the admin account, or promote an existing user (a password given replaces theirs)."""
    from spikeland.core.errors import SpikelandError
    from spikeland.identity.admin import create_or_promote_admin
    from spikeland.routes import register_hooks

    register_hooks()  # a new admin is a sign-up like any other

    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif ask_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = get_settings()
    url = _database(settings)

    async def run() -> str:
        engine = make_engine(url, settings)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                user = await create_or_promote_admin(session, settings, email, password, not admin_only)
                return f"{user.email} is {user.role.value} (id {user.id})"
        finally:
            await engine.dispose()

    try:
        typer.echo(asyncio.run(run()))
    except SpikelandError as exc:
        raise _fail(exc.message, code=1) from None


@keys_app.command("generate")
def keys_generate(
    kid: Annotated[str | None, typer.Argument(help="Key id (default: the UTC time).")] = None,
) -> None:
    """Print a new key entry; put it first in SPIKELAND_ENCRYPTION_KEYS to make it current."""
    from spikeland.keys import generate_spec

    typer.echo(generate_spec(kid))


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret under the current key (resumable; commits batch by batch)."""
    from spikeland import keys
    from spikeland.core.security import load_keyring

    settings = get_settings()
    url = _database(settings)

    async def run() -> tuple[int, int]:
        engine = make_engine(url, settings)
        keyring = load_keyring(settings)
        try:
            async with make_sessionmaker(engine)() as session:
                changed = await keys.rotate(
                    session, keyring, legacy_key=keys.legacy_key_of(settings), after_batch=session.commit
                )
                await session.commit()
                return changed, await keys.count_pending(session, keyring)
        finally:
            await engine.dispose()

    changed, pending = asyncio.run(run())
    typer.echo(f"re-encrypted {changed} values under key {load_keyring(settings).current}")
    if pending:
        raise _fail(f"{pending} values could not be opened with any configured key", code=1)


@tokens_app.command("verify")
def tokens_verify() -> None:
    """Check that every balance is the sum of its transactions and every balanceAfter chains."""
    from spikeland.tokens.verify import verify

    settings = get_settings()
    url = _database(settings)

    async def run() -> list[str]:
        engine = make_engine(url, settings)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                return [f"{m.user_id}: {m.problem}" for m in await verify(session)]
        finally:
            await engine.dispose()

    problems = asyncio.run(run())
    for line in problems:
        typer.echo(line)
    if problems:
        raise _fail(f"{len(problems)} ledger mismatches", code=1)
    typer.echo("ledger verified: every balance matches its transactions")


@app.command()
def worker() -> None:
    """Run the periodic jobs (expired sessions and tokens, ...) until interrupted."""
    from spikeland.jobs import worker_main
    from spikeland.routes import register_hooks

    register_hooks()  # the same reactions as in the app, whatever a job triggers

    settings = get_settings()
    _logging(settings)
    asyncio.run(worker_main(_database(settings), settings))


@app.command()
def maintenance() -> None:
    """Run every periodic job once and print what each did."""
    from spikeland.jobs import maintenance_main

    settings = get_settings()
    for name, outcome in asyncio.run(maintenance_main(_database(settings), settings)).items():
        typer.echo(f"{name}: {outcome}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
