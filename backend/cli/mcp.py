"""`toolpress mcp`: an app's or toolkit's MCP server (switch, URL, client set-up, stdio bridge) and the platform's."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path

from sqlmodel import Session

from backend import crud
from backend.cli.database import with_session
from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.services import ServiceError, apps, endpoints, toolkits

__all__ = ["add_mcp_platform_parser", "cmd_mcp", "cmd_mcp_setup", "cmd_mcp_stdio"]


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    """`toolpress mcp enable|disable|regenerate|url`, or the set-up, stdio and platform subcommands."""
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

    return with_session(settings, run)


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


def cmd_mcp_setup(args: argparse.Namespace, settings: Settings) -> int:
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
        entry = client.entry(url, command=_toolpress_executable())
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
            print(f"Restart Claude Desktop to load it (the entry runs `{entry['command']} mcp stdio`).")
    if left_out:
        print(f"Not written (secrets): {', '.join(left_out)}; the client must get them from its own environment.",
              file=sys.stderr)
    return 0


def cmd_mcp_stdio(args: argparse.Namespace, settings: Settings) -> int:
    import anyio

    from backend.bridge import serve_stdio_bridge

    if args.app is None and args.url is None:
        print("error: give an app (id or name) or --url", file=sys.stderr)
        return 2
    url = args.url or _server_url(settings, args.app)[1]
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:  # a line per request is noise in the client's log
        logging.getLogger().setLevel(logging.WARNING)
    return anyio.run(serve_stdio_bridge, url, os.environ.get("TOOLPRESS_MCP_TOKEN") or None)


def add_mcp_platform_parser(mcp_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`toolpress mcp platform`: Toolpress's own MCP server (manage apps) over stdio."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        from backend.platform_mcp import serve_stdio

        serve_stdio(settings, email=args.email, read_only=args.read_only)
        return 0

    platform = mcp_sub.add_parser("platform", help="serve Toolpress's own MCP server (manage your apps) over stdio")
    platform.add_argument("--email", help="act as this user (default: the local admin the CLI acts as)")
    platform.add_argument("--read-only", action="store_true", help="offer only the tools that change nothing")
    platform.set_defaults(handler=run)
