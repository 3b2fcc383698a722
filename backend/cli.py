"""The `toolpress` command: serve, worker, db, apps, mcp and users."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlmodel import Session

from backend import crud
from backend.core.db import session_scope
from backend.core.logging import configure_logging, uvicorn_log_config
from backend.core.settings import Settings, get_settings
from backend.services import ServiceError, apps, endpoints, users
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


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from backend.main import create_app

    migrate(settings)
    if settings.load_examples:
        with session_scope(settings.sqlalchemy_url) as session:
            for name in load_examples(session=session):
                logger.info("loaded example app %r", name)
    app = create_app(settings)
    host, port = args.host or settings.host, args.port or settings.port
    print(f"Toolpress on http://{host}:{port}  (console /, API /docs, MCP /mcp/<secret>)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_config=uvicorn_log_config(settings.log_level), timeout_graceful_shutdown=5)
    return 0


def _cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from backend.worker.tasks import celery_app

    argv = ["worker", "--without-gossip", "--without-mingle", "--without-heartbeat", f"--loglevel={settings.log_level}"]
    argv += [f"--concurrency={args.concurrency or settings.worker_concurrency}", f"--pool={args.pool}"]
    if args.beat:  # periodic tasks (the clean-up of old runs); run it in exactly one worker
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--beat", f"--schedule={settings.data_dir / 'celerybeat-schedule'}"]
    celery_app.worker_main(argv)
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


def _cmd_users(args: argparse.Namespace, settings: Settings) -> int:
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
        else:
            users.set_password(session=session, user=user, password=password)
        print(user.id)
        return 0

    return _with_session(settings, run)


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
    worker.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    worker.add_argument("--beat", action="store_true", help="also run the periodic tasks (in one worker only)")
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
    mcp_p.set_defaults(handler=_cmd_mcp)

    users_p = sub.add_parser("users", help="console accounts")
    users_sub = users_p.add_subparsers(dest="users_cmd", required=True)
    for name in ("create", "set-password"):
        p = users_sub.add_parser(name)
        p.add_argument("email")
        p.add_argument("--password", help="read from a prompt when omitted")
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
