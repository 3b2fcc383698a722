"""`toolpress serve`: the console, REST API and MCP endpoint on the address it binds first (see core.server_address)."""

from __future__ import annotations

import argparse
import logging
import sys

from backend.cli.database import migrate
from backend.core import server_address
from backend.core.db import session_scope
from backend.core.logging import uvicorn_log_config
from backend.core.settings import Settings
from backend.services.examples import load_examples

__all__ = ["cmd_serve"]

logger = logging.getLogger("toolpress")


def _draining_server(config):  # type: ignore[no-untyped-def]
    """A uvicorn server that marks the process as draining when its graceful shutdown begins.

    sse-starlette (under the MCP SDK's streams) would otherwise end every open SSE response the moment
    SIGTERM arrives, before the calls on them could finish or answer; draining closes them instead.
    """
    import uvicorn
    from sse_starlette.sse import AppStatus

    from backend.core import shutdown

    AppStatus.disable_automatic_graceful_drain()

    class DrainingServer(uvicorn.Server):
        async def shutdown(self, sockets=None):  # type: ignore[no-untyped-def]
            shutdown.begin_draining(self.config.timeout_graceful_shutdown or 0)
            await super().shutdown(sockets)

    return DrainingServer(config)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until SIGTERM/SIGINT, then stop taking connections and give open calls the grace period.

    Calls still open near its end get an error result naming their run, which goes on in a worker;
    the process exits within `shutdown_grace_seconds` (plus the embedded worker's own stop).
    """
    import uvicorn

    from backend.main import create_app

    migrate(settings)
    if settings.load_examples:
        with session_scope(settings.sqlalchemy_url) as session:
            for name in load_examples(session=session):
                logger.info("loaded example app %r", name)
    host, port = args.host or settings.host, settings.port if args.port is None else args.port
    try:
        sock = server_address.bind_socket(host, port)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port} ({exc.strerror or exc}); pick another with --port or --host",
              file=sys.stderr)
        return 1
    settings.listening_on(host, sock.getsockname()[1])  # the real port, also when --port 0 picked one
    server_address.record_listen_url(settings.data_dir, server_address.listen_url(settings.host, settings.port))
    app = create_app(settings)
    public = f"; public URL {settings.public_url}" if settings.public_url else ""
    print(f"Toolpress on {server_address.listen_url(settings.host, settings.port)}{public}  "
          "(console /, API /docs, MCP /mcp/<secret>)", file=sys.stderr, flush=True)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=uvicorn_log_config(settings.log_level),
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        # X-Forwarded-For/-Proto count only from the configured proxies (uvicorn's default trusts any loopback peer)
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )
    server = _draining_server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    return 0 if server.started else 1
