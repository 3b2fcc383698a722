"""`toolpress mcp platform`: the platform server over stdio, acting as one user of the local database."""

from __future__ import annotations

import anyio
from mcp.server.stdio import stdio_server

from backend import crud
from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.platform_mcp.server import Caller, build_server
from backend.services import Conflict, NotFound
from backend.services.users import local_admin


def stdio_user_id(settings: Settings, email: str | None) -> int:
    """The user the stdio server acts as: the account with `email`, or the local admin the CLI acts as."""
    with session_scope(settings.sqlalchemy_url) as session:
        user = crud.get_user_by_email(session=session, email=email) if email else local_admin(session=session)
        if user is None:
            raise NotFound(f"no user {email!r}; create one with `toolpress users create`")
        if user.disabled_at is not None:
            raise Conflict(f"the account {user.email!r} is disabled; `toolpress users enable {user.email}` first")
        return user.id


async def _serve(settings: Settings, caller: Caller) -> None:
    server = build_server(settings, lambda _ctx: caller)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def serve_stdio(settings: Settings, *, email: str | None = None, read_only: bool = False) -> None:
    """Serve the platform tools on stdin/stdout until the client closes them.

    The process talks to the database directly, like the rest of the CLI, so whoever can run it can
    act as any user; it is meant for the machine Toolpress runs on. In embedded mode (in-memory
    broker) test runs need a worker in this process, so one is started here as `serve` does.
    """
    caller = Caller(user_id=stdio_user_id(settings, email), read_only=read_only)
    worker = None
    if settings.run_embedded_worker:
        from backend.worker.embedded import EmbeddedWorker
        from backend.worker.tasks import celery_app

        worker = EmbeddedWorker(celery_app, concurrency=settings.worker_concurrency)
        worker.start()
    try:
        anyio.run(_serve, settings, caller)
    finally:
        if worker is not None:
            worker.stop()
