"""The `toolpress` command: serve, worker, db, apps, mcp and users."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlmodel import Session

from backend import crud
from backend.core import server_address
from backend.core.db import session_scope
from backend.core.logging import configure_logging, uvicorn_log_config
from backend.core.settings import Settings, get_settings
from backend.services import ServiceError, accounts, apps, endpoints, toolkits, users
from backend.services.examples import load_examples

logger = logging.getLogger("toolpress")


def _alembic_config(settings: Settings):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    root = Path(__file__).resolve().parents[1]
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "alembic"))
    cfg.attributes["database_url"] = settings.sqlalchemy_url
    return cfg


def migrate(settings: Settings) -> None:
    """Bring the database schema to the newest migration."""
    from alembic import command

    if settings.sqlalchemy_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(_alembic_config(settings), "head")


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


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
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


def _cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """A Celery worker under a name of its own, with a heartbeat row while it lives (see services.workers)."""
    from celery.signals import worker_ready

    from backend.services.execution import sandbox_pool
    from backend.services.lost_runs import sweep_lost_runs
    from backend.services.workers import WorkerIdentity, set_this_worker
    from backend.worker.heartbeat import Heartbeat
    from backend.worker.tasks import celery_app

    settings.worker_concurrency = args.concurrency or settings.worker_concurrency
    identity = WorkerIdentity.of_this_process("celery", settings.worker_concurrency, name=args.name)
    set_this_worker(identity.name)  # recorded on every run it starts (prefork processes inherit it)
    argv = ["worker", "--without-gossip", "--without-mingle", "--without-heartbeat", f"--loglevel={settings.log_level}"]
    argv += [f"--concurrency={settings.worker_concurrency}", f"--pool={args.pool}", f"--hostname={identity.name}"]
    if args.beat:  # periodic tasks (the clean-up of old runs, the lost-run sweep); run it in exactly one worker
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--beat", f"--schedule={settings.data_dir / 'celerybeat-schedule'}"]

        @worker_ready.connect(weak=False)
        def _sweep_now(**_: object) -> None:  # runs left behind by a worker that died before this one started
            try:
                sweep_lost_runs(settings)
            except Exception:  # noqa: BLE001 - beat sweeps again within the interval
                logger.exception("the start-up sweep for runs that lost their worker failed")

    if args.pool != "prefork":  # a prefork pool's processes each start sandbox processes of their own, when needed
        sandbox_pool(settings).start(warm=settings.worker_concurrency)
    heartbeat = Heartbeat(settings, identity)
    heartbeat.start()
    try:
        celery_app.worker_main(argv)
    finally:
        heartbeat.stop()
        sandbox_pool(settings).close()
    return 0


def _cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings)
    print("database is at the newest schema")
    return 0


def _with_session(settings: Settings, fn: Callable[[Session], int]) -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        return fn(session)


def _cmd_apps(args: argparse.Namespace, settings: Settings) -> int:
    def run(session: Session) -> int:
        if args.apps_cmd == "import":
            spec = apps.parse_spec(text=Path(args.file).read_text(encoding="utf-8"))
            app = apps.create_app(session=session, owner=users.local_admin(session=session), spec=spec, rename_on_conflict=True)
            if app.name != spec.name:
                print(f"an app named {spec.name!r} exists; imported as {app.name!r}", file=sys.stderr)
            print(app.id)
        elif args.apps_cmd == "list":
            rows, _ = crud.list_apps(session=session, limit=10_000)
            for app in rows:
                view = apps.app_public(session=session, app=app)
                published = f"v{view.published_version}" if view.published_version else "draft"
                print(f"{app.id}\t{app.name}\t{published}\tmcp {'on' if view.mcp_enabled else 'off'}")
        elif args.apps_cmd == "publish":
            version = apps.publish_app(session=session, app=apps.resolve_app(session=session, ref=args.app))
            print(f"published version {version.number}")
        elif args.apps_cmd == "export":
            sys.stdout.write(apps.export_yaml(apps.resolve_app(session=session, ref=args.app)))
        return 0

    return _with_session(settings, run)


def _cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "mcp_handler", None) is not None:
        return int(args.mcp_handler(args, settings))
    actions = {
        "enable": endpoints.enable_endpoint,
        "disable": endpoints.disable_endpoint,
        "regenerate": endpoints.regenerate_endpoint,
        "url": endpoints.get_or_create_endpoint,
    }

    def run(session: Session) -> int:
        app = apps.resolve_app(session=session, ref=args.app)
        endpoint = actions[args.mcp_cmd](session=session, settings=settings, app=app)
        if args.mcp_cmd == "disable":
            print(f"MCP server of {app.name!r} is off; its URL answers 404 until enabled again")
        else:
            print(endpoints.endpoint_url(settings=settings, endpoint=endpoint))
            if not endpoint.enabled:
                print("(the MCP server is off: run `toolpress mcp enable` to serve this URL)", file=sys.stderr)
        return 0

    return _with_session(settings, run)


def _app_url(settings: Settings, ref: str) -> tuple[str, str]:
    """The tool name and MCP URL of an app whose MCP server is on."""
    with session_scope(settings.sqlalchemy_url) as session:
        app = apps.resolve_app(session=session, ref=ref)
        version = apps.published_version(session=session, app=app)
        endpoint = crud.get_endpoint_by_app(session=session, app_id=app.id)
        if version is None or endpoint is None or not endpoint.enabled:
            raise ServiceError(f"the MCP server of {app.name!r} is off; run `toolpress mcp enable {ref}` first")
        name = apps.describe_tool(apps.load_spec_of(version.spec)).name
        return name, endpoints.endpoint_url(settings=settings, endpoint=endpoint)


def _toolkit_url(settings: Settings, ref: str) -> tuple[str, str]:
    """The server name and MCP URL of a toolkit (by id or name) whose MCP server is on."""
    from sqlmodel import select

    from backend.models import Toolkit

    with session_scope(settings.sqlalchemy_url) as session:
        found = session.get(Toolkit, int(ref)) if ref.isdigit() else None
        matches = [found] if found else list(session.exec(select(Toolkit).where(Toolkit.name == ref)))
        if not matches:
            raise ServiceError(f"no toolkit {ref!r}")
        if len(matches) > 1:
            raise ServiceError(f"several toolkits are named {ref!r}; use toolkit:<id>")
        toolkit = matches[0]
        if not toolkit.enabled:
            raise ServiceError(f"the MCP server of toolkit {toolkit.name!r} is off; turn it on in the console first")
        return toolkits.server_name(toolkit), toolkits.toolkit_url(settings=settings, toolkit=toolkit)


def _server_url(settings: Settings, ref: str) -> tuple[str, str]:
    """The server name and MCP URL of `ref`: an app (id or name) or `toolkit:<id or name>`."""
    if ref.startswith("toolkit:"):
        return _toolkit_url(settings, ref.removeprefix("toolkit:"))
    return _app_url(settings, ref)


# Settings that hold secrets stay out of client config files (which may be committed with a project).
_SECRET_SETTINGS = frozenset({"TOOLPRESS_SECRET_KEY"})


def _toolpress_executable() -> str:
    """The absolute path of the running `toolpress` command, so clients without the shell's PATH can start it."""
    argv0 = Path(sys.argv[0])
    if argv0.name.startswith("toolpress") and argv0.is_file():
        return str(argv0.absolute())
    return shutil.which("toolpress") or "toolpress"


def _platform_launch(args: argparse.Namespace, settings: Settings) -> tuple[list[str], dict[str, str], list[str]]:
    """`toolpress mcp platform` for a client config: (args, env, names of variables left out as secrets).

    The env pins the data directory (absolute: clients start servers in a directory of their own) and carries
    the TOOLPRESS_* variables set here, so the server finds the same database; secrets are left out.
    """
    from urllib.parse import urlsplit

    argv = ["mcp", "platform"]
    if args.email:
        argv += ["--email", args.email]
    if args.read_only:
        argv.append("--read-only")
    env: dict[str, str] = {}
    left_out: list[str] = []
    for key, value in sorted(os.environ.items()):
        if not key.startswith("TOOLPRESS_"):
            continue
        try:
            has_password = urlsplit(value).password is not None
        except ValueError:
            has_password = False
        if key in _SECRET_SETTINGS or has_password:
            left_out.append(key)
        else:
            env[key] = value
    env["TOOLPRESS_DATA_DIR"] = str(settings.data_dir.resolve())
    return argv, env, left_out


def _cmd_mcp_setup(args: argparse.Namespace, settings: Settings) -> int:
    from backend.console.clients import CLIENTS, claude_code_command, claude_code_stdio_command, merge_server

    platform = args.app == "platform"
    if platform and args.url is not None:
        print("error: --url is for app servers; the platform server runs locally (`toolpress mcp platform`)",
              file=sys.stderr)
        return 2
    if not platform and (args.email is not None or args.read_only):
        print("error: --email and --read-only are for the platform server: `toolpress mcp setup --client C platform`",
              file=sys.stderr)
        return 2
    if args.app is None and args.url is None:
        print("error: give an app (id or name), `platform` or --url", file=sys.stderr)
        return 2
    client = CLIENTS[args.client]
    scope = args.scope or ("project" if client.project_file else "user")
    if platform:
        from backend.platform_mcp.stdio import stdio_user_id

        if args.email:
            stdio_user_id(settings, args.email)  # a clear error now rather than a server that cannot start
        name = args.name or "toolpress"
        command = _toolpress_executable()
        argv, env, left_out = _platform_launch(args, settings)
        entry = client.stdio_entry(command, argv, env)
        claude_line = claude_code_stdio_command(name, command, argv, env, "user")
    else:
        name, url = _server_url(settings, args.app) if args.app is not None else ("toolpress", args.url)
        name = args.name or name
        entry = client.entry(url)
        claude_line = claude_code_command(name, url, "user")
        left_out = []
    if client.key == "claude-code" and scope == "user":
        print("Claude Code keeps user-scope servers in its own state file; register this one with:")
        print(f"  {claude_line}")
    else:
        try:
            path = client.path(scope, home=Path.home(), cwd=Path.cwd())
            change = merge_server(path, client, name, entry)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        kept = f"; kept {len(change.kept)} other server(s): {', '.join(change.kept)}" if change.kept else ""
        verb = {"added": "added", "updated": "updated", "unchanged": "already had"}[change.action]
        print(f"{change.path}: {verb} server {name!r} ({client.label}){kept}")
        if platform:
            print(f"It runs `{' '.join([entry['command'], *entry['args']])}` (the platform server, on this machine's "
                  "database).")
        elif client.key == "claude-desktop":
            print("Restart Claude Desktop to load it (the entry runs `toolpress mcp stdio`, so keep toolpress on PATH).")
    if left_out:
        print(f"Not written (secrets): {', '.join(left_out)}; the client must get them from its own environment.",
              file=sys.stderr)
    return 0


def _cmd_mcp_stdio(args: argparse.Namespace, settings: Settings) -> int:
    import anyio

    from backend.bridge import serve_stdio_bridge

    if args.app is None and args.url is None:
        print("error: give an app (id or name) or --url", file=sys.stderr)
        return 2
    url = args.url or _server_url(settings, args.app)[1]
    return anyio.run(serve_stdio_bridge, url, os.environ.get("TOOLPRESS_MCP_TOKEN") or None)


def _cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    password = ""
    if args.users_cmd in ("create", "set-password"):
        password = args.password or getpass.getpass("password: ")
        if len(password) < 8:
            print("error: the password needs at least 8 characters", file=sys.stderr)
            return 2

    def run(session: Session) -> int:
        user = crud.get_user_by_email(session=session, email=args.email)
        if args.users_cmd == "create":
            user = users.sign_up(session=session, email=args.email, password=password)
        elif user is None:
            print(f"error: no user {args.email!r}", file=sys.stderr)
            return 1
        elif args.users_cmd == "set-password":
            user = accounts.change_password(session=session, user=user, password=password)
        elif args.users_cmd == "disable":
            user = accounts.disable(session=session, settings=settings, user=user)
        else:
            user = accounts.enable(session=session, user=user)
        print(user.id)
        return 0

    return _with_session(settings, run)


def _add_mcp_platform_parser(mcp_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`toolpress mcp platform`: Toolpress's own MCP server (manage apps) over stdio."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        from backend.platform_mcp import serve_stdio

        serve_stdio(settings, email=args.email, read_only=args.read_only)
        return 0

    platform = mcp_sub.add_parser("platform", help="serve Toolpress's own MCP server (manage your apps) over stdio")
    platform.add_argument("--email", help="act as this user (default: the local admin the CLI acts as)")
    platform.add_argument("--read-only", action="store_true", help="offer only the tools that change nothing")
    platform.set_defaults(handler=run)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `toolpress`."""
    parser = argparse.ArgumentParser(prog="toolpress", description="Publish low-code workflow apps as MCP servers.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the console, REST API and MCP endpoint (and the embedded worker)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(handler=_cmd_serve)

    worker = sub.add_parser("worker", help="run a Celery worker (production mode)")
    worker.add_argument("--concurrency", type=int)
    worker.add_argument("--pool", default="threads", choices=["threads", "prefork", "solo"],
                        help="how runs are handed out (default threads: each run executes in a sandbox process anyway)")
    worker.add_argument("--beat", action="store_true", help="also run the periodic tasks (in one worker only)")
    worker.add_argument("--name", help="the worker's Celery node name, unique per worker; %%h is the host name "
                        "(default toolpress-<pid>@<host>)")
    worker.set_defaults(handler=_cmd_worker)

    db = sub.add_parser("db", help="database schema")
    db.add_argument("db_cmd", choices=["upgrade"])
    db.set_defaults(handler=_cmd_db)

    apps_p = sub.add_parser("apps", help="import, list, publish and export apps")
    apps_sub = apps_p.add_subparsers(dest="apps_cmd", required=True)
    apps_sub.add_parser("import", help="create an app from a YAML file; prints its id").add_argument("file")
    apps_sub.add_parser("list", help="list apps")
    apps_sub.add_parser("publish", help="publish the draft as a new version").add_argument("app")
    apps_sub.add_parser("export", help="print the app as YAML").add_argument("app")
    apps_p.set_defaults(handler=_cmd_apps)

    mcp_p = sub.add_parser("mcp", help="an app's MCP server")
    mcp_sub = mcp_p.add_subparsers(dest="mcp_cmd", required=True)
    for name, text in (
        ("enable", "turn the MCP server on and print its URL"),
        ("disable", "turn it off (the URL answers 404)"),
        ("regenerate", "new URL; the old one stops working"),
        ("url", "print the current URL"),
    ):
        mcp_sub.add_parser(name, help=text).add_argument("app", help="app id or unique name")
    setup = mcp_sub.add_parser("setup", help="add an app's MCP server (or the platform's) to an AI client's config "
                                             "file (merging)")
    setup.add_argument("--client", required=True, choices=["cursor", "vscode", "claude-code", "claude-desktop", "windsurf"])
    setup.add_argument("app", nargs="?", help="app id or unique name (its MCP server must be on), toolkit:<id or name>, "
                                              "or `platform` for Toolpress's own MCP server (an app named platform: "
                                              "give its id)")
    setup.add_argument("--scope", choices=["project", "user"], default=None,
                       help="project: the file in the current directory; user: the one in your home (default: "
                            "project where the client has one)")
    setup.add_argument("--url", help="an MCP URL to add instead of a local app's")
    setup.add_argument("--name", help="server name in the config (default: the tool name; toolpress for platform)")
    setup.add_argument("--email", help="platform: act as this user (default: the local admin the CLI acts as)")
    setup.add_argument("--read-only", action="store_true", help="platform: offer only the tools that change nothing")
    setup.set_defaults(mcp_handler=_cmd_mcp_setup)
    stdio = mcp_sub.add_parser("stdio", help="serve an app's remote MCP endpoint over stdio (for stdio-only clients)")
    stdio.add_argument("app", nargs="?", help="app id or unique name, or toolkit:<id or name> (its MCP server must be on)")
    stdio.add_argument("--url", help="the MCP URL to bridge instead of a local app's (a token URL takes its token from "
                       "TOOLPRESS_MCP_TOKEN)")
    stdio.set_defaults(mcp_handler=_cmd_mcp_stdio)
    mcp_p.set_defaults(handler=_cmd_mcp)
    _add_mcp_platform_parser(mcp_sub)

    users_p = sub.add_parser("users", help="console accounts")
    users_sub = users_p.add_subparsers(dest="users_cmd", required=True)
    for name, text in (("create", "a new account"),
                       ("set-password", "a new password; every session and API token of the account ends")):
        p = users_sub.add_parser(name, help=text)
        p.add_argument("email")
        p.add_argument("--password", help="read from a prompt when omitted")
    for name, text in (("disable", "refuse the account's log-ins, end its sessions, tokens and OAuth grants, and "
                                   "switch its MCP servers off"),
                       ("enable", "let a disabled account log in again")):
        users_sub.add_parser(name, help=text).add_argument("email")
    users_p.set_defaults(handler=_cmd_users)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `toolpress` command."""
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValueError as exc:
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        return int(args.handler(args, settings) or 0)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such file", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
