"""The `toolpress` command: serve, worker, db, apps, mcp and users (one module per command group)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

# The commands' modules are imported when the parser is built, not with this package: multiprocessing runs the
# `toolpress` script again in every sandbox process it starts (backend.sandbox), and importing the whole server
# there would cost each of them tens of MB and a slower start.


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `toolpress`."""
    from backend.cli.apps import cmd_apps
    from backend.cli.database import cmd_db
    from backend.cli.mcp import add_mcp_platform_parser, cmd_mcp, cmd_mcp_setup, cmd_mcp_stdio
    from backend.cli.serve import cmd_serve
    from backend.cli.users import cmd_users
    from backend.cli.worker import cmd_worker

    parser = argparse.ArgumentParser(prog="toolpress", description="Publish low-code workflow apps as MCP servers.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve", help="run the console, REST API and MCP endpoint (and the embedded worker)",
        description="Run the console, REST API (/docs) and MCP endpoint; with the default in-memory broker, a worker "
        "too. The URLs Toolpress prints and returns use the address it listens on, unless TOOLPRESS_PUBLIC_URL is set "
        "(set it behind a proxy or a load balancer). Data (the SQLite database, the generated key) lives in "
        "TOOLPRESS_DATA_DIR, by default the per-user data folder ($XDG_DATA_HOME/toolpress, ~/.local/share/toolpress).",
    )
    serve.add_argument("--host", help="address to listen on (default: TOOLPRESS_HOST or 127.0.0.1; 0.0.0.0 for every "
                                      "interface)")
    serve.add_argument("--port", type=int, help="port to listen on (default: TOOLPRESS_PORT or 8000; 0 picks a free "
                                                "one)")
    serve.set_defaults(handler=cmd_serve)

    worker = sub.add_parser("worker", help="run a Celery worker (production mode)")
    worker.add_argument("--concurrency", type=int)
    worker.add_argument("--pool", default="threads", choices=["threads", "prefork", "solo"],
                        help="how runs are handed out (default threads: each run executes in a sandbox process anyway)")
    worker.add_argument("--beat", action="store_true", help="also run the periodic tasks (in one worker only)")
    worker.add_argument("--name", help="the worker's Celery node name, unique per worker; %%h is the host name "
                        "(default toolpress-<pid>@<host>)")
    worker.set_defaults(handler=cmd_worker)

    db = sub.add_parser("db", help="database schema")
    db.add_argument("db_cmd", choices=["upgrade"])
    db.set_defaults(handler=cmd_db)

    apps_p = sub.add_parser("apps", help="import, list, publish and export apps")
    apps_sub = apps_p.add_subparsers(dest="apps_cmd", required=True)
    apps_sub.add_parser("import", help="create an app from a YAML file; prints its id").add_argument("file")
    apps_sub.add_parser("list", help="list apps")
    apps_sub.add_parser("publish", help="publish the draft as a new version").add_argument("app")
    apps_sub.add_parser("export", help="print the app as YAML").add_argument("app")
    apps_p.set_defaults(handler=cmd_apps)

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
    setup.set_defaults(mcp_handler=cmd_mcp_setup)
    stdio = mcp_sub.add_parser("stdio", help="serve an app's remote MCP endpoint over stdio (for stdio-only clients)")
    stdio.add_argument("app", nargs="?", help="app id or unique name, or toolkit:<id or name> (its MCP server must be on)")
    stdio.add_argument("--url", help="the MCP URL to bridge instead of a local app's (a token URL takes its token from "
                       "TOOLPRESS_MCP_TOKEN)")
    stdio.set_defaults(mcp_handler=cmd_mcp_stdio)
    mcp_p.set_defaults(handler=cmd_mcp)
    add_mcp_platform_parser(mcp_sub)

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
    users_p.set_defaults(handler=cmd_users)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `toolpress` command."""
    from backend.cli.errors import explain, explain_settings
    from backend.core.logging import configure_logging
    from backend.core.settings import get_settings

    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValueError as exc:
        print(f"error: invalid settings: {explain_settings(exc)}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        return int(args.handler(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a command ends with one line saying what to do, never a traceback
        print(f"error: {explain(exc, settings)}", file=sys.stderr)
        return 1
