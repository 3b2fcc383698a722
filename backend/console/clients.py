"""Ready-to-paste MCP client configurations for an app's URL (the console's snippets and `toolpress mcp setup`).

Each client keeps its servers under its own key and spelling: Cursor, Claude Code (`.mcp.json`) and Claude
Desktop use `mcpServers`; VS Code uses `servers` with `"type": "http"`; Windsurf uses `serverUrl`. Claude
Desktop's config file only starts local (stdio) servers, so its entry runs the `toolpress mcp stdio` bridge.
A local command (`stdio_entry`, e.g. the platform server `toolpress mcp platform`) is `command` + `args` in
every client, with `"type": "stdio"` in VS Code. With a bearer token, the HTTP entries carry a `headers` map
and Claude Desktop's bridge gets the token in `TOOLPRESS_MCP_TOKEN`.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["CLIENTS", "ClientConfig", "ConfigChange", "claude_code_command", "claude_code_stdio_command",
           "cursor_install_link", "merge_server", "snippets"]


@dataclass(frozen=True)
class ClientConfig:
    """Where a client keeps its MCP servers and how one server entry looks."""

    key: str
    label: str
    servers_key: str
    project_file: str | None
    user_file: str | None

    def entry(self, url: str, token: str | None = None, command: str = "toolpress") -> dict[str, Any]:
        """The server entry for `url`, sending `Authorization: Bearer <token>` when a token is given.

        Claude Desktop's entry starts the stdio bridge with `command` (the CLI writes its absolute path).
        """
        if self.key == "claude-desktop":
            bridge: dict[str, Any] = {"command": command, "args": ["mcp", "stdio", "--url", url]}
            return {**bridge, "env": {"TOOLPRESS_MCP_TOKEN": token}} if token else bridge
        if self.key in ("vscode", "claude-code"):
            entry: dict[str, Any] = {"type": "http", "url": url}
        elif self.key == "windsurf":
            entry = {"serverUrl": url}
        else:
            entry = {"url": url}
        return {**entry, "headers": {"Authorization": f"Bearer {token}"}} if token else entry

    def stdio_entry(self, command: str, args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
        """The server entry that starts `command args` as a local stdio server (with `env` set, if any)."""
        entry: dict[str, Any] = {"type": "stdio"} if self.key == "vscode" else {}
        entry.update(command=command, args=list(args))
        if env:
            entry["env"] = dict(env)
        return entry

    def document(self, name: str, url: str, token: str | None = None) -> dict[str, Any]:
        """A whole config file holding just this server."""
        return {self.servers_key: {name: self.entry(url, token)}}

    def path(self, scope: str, *, home: Path, cwd: Path) -> Path:
        """The config file for `scope` ('project' or 'user'); ValueError if the client has none there."""
        rel = self.project_file if scope == "project" else self.user_file
        if self.key == "claude-desktop" and scope == "user" and sys.platform == "darwin":
            rel = "Library/Application Support/Claude/claude_desktop_config.json"
        elif self.key == "claude-desktop" and scope == "user" and sys.platform == "win32":
            return Path(os.environ.get("APPDATA", home / "AppData" / "Roaming")) / "Claude" / "claude_desktop_config.json"
        if rel is None:
            raise ValueError(f"{self.label} has no {scope}-scope config file; use --scope "
                             f"{'user' if scope == 'project' else 'project'}")
        return (cwd if scope == "project" else home) / rel


CLIENTS: dict[str, ClientConfig] = {
    c.key: c
    for c in (
        ClientConfig("cursor", "Cursor", "mcpServers", ".cursor/mcp.json", ".cursor/mcp.json"),
        ClientConfig("vscode", "VS Code", "servers", ".vscode/mcp.json", None),
        # Claude Code manages its user-scope file (~/.claude.json) itself: for that scope we print `claude mcp add`.
        ClientConfig("claude-code", "Claude Code", "mcpServers", ".mcp.json", None),
        ClientConfig("claude-desktop", "Claude Desktop", "mcpServers", None,
                     ".config/Claude/claude_desktop_config.json"),
        ClientConfig("windsurf", "Windsurf", "mcpServers", None, ".codeium/windsurf/mcp_config.json"),
    )
}


def cursor_install_link(name: str, url: str) -> str:
    """Cursor's one-click install deeplink: the server entry as base64 JSON."""
    config = base64.b64encode(json.dumps(CLIENTS["cursor"].entry(url), separators=(",", ":")).encode()).decode()
    return f"cursor://anysphere.cursor-deeplink/mcp/install?name={quote(name, safe='')}&config={quote(config, safe='')}"


def snippets(name: str, url: str, token: str | None = None) -> list[dict[str, str]]:
    """One ready-to-copy snippet per client: {key, label, where, text}; with `token`, for a token URL."""
    def doc(key: str) -> str:
        return json.dumps(CLIENTS[key].document(name, url, token), indent=2)

    header = f" --header {shlex.quote(f'Authorization: Bearer {token}')}" if token else ""
    return [
        {"key": "cursor", "label": "Cursor", "where": ".cursor/mcp.json (project) or ~/.cursor/mcp.json", "text": doc("cursor")},
        {"key": "vscode", "label": "VS Code", "where": ".vscode/mcp.json", "text": doc("vscode")},
        {"key": "claude-code", "label": "Claude Code", "where": "a terminal in your project",
         "text": f"claude mcp add --transport http {shlex.quote(name)} {shlex.quote(url)}{header}"},
        {"key": "claude-desktop", "label": "Claude Desktop",
         "where": "claude_desktop_config.json (Settings → Developer → Edit Config); needs `pip install toolpress`",
         "text": doc("claude-desktop")},
        {"key": "windsurf", "label": "Windsurf", "where": "~/.codeium/windsurf/mcp_config.json", "text": doc("windsurf")},
    ]


def claude_code_command(name: str, url: str, scope: str = "local") -> str:
    """The `claude mcp add` command line that registers the server with Claude Code."""
    flag = "" if scope == "local" else f" --scope {scope}"
    return f"claude mcp add --transport http{flag} {shlex.quote(name)} {shlex.quote(url)}"


def claude_code_stdio_command(name: str, command: str, args: list[str], env: dict[str, str] | None = None,
                              scope: str = "local") -> str:
    """The `claude mcp add` command line that registers a local stdio server with Claude Code."""
    flag = "" if scope == "local" else f" --scope {scope}"
    envs = "".join(f" --env {shlex.quote(f'{k}={v}')}" for k, v in (env or {}).items())
    line = " ".join(shlex.quote(part) for part in (command, *args))
    return f"claude mcp add --transport stdio{flag}{envs} {shlex.quote(name)} -- {line}"


@dataclass(frozen=True)
class ConfigChange:
    """What merging one server into a client config file did."""

    path: Path
    action: str  # "added", "updated" or "unchanged"
    kept: list[str]


def merge_server(path: Path, client: ClientConfig, name: str, entry: dict[str, Any]) -> ConfigChange:
    """Add or update one server (`entry`, from `client.entry` or `client.stdio_entry`) in a client's JSON config
    file, keeping everything else in it.

    A file that is not a JSON object (or whose server map is not an object) is left untouched and
    ValueError says why, so a hand-edited config is never clobbered.
    """
    data: dict[str, Any] = {}
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if text.strip():
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg}); fix or move it first") from None
            if not isinstance(data, dict):
                raise ValueError(f"{path} does not hold a JSON object; fix or move it first")
    servers = data.setdefault(client.servers_key, {})
    if not isinstance(servers, dict):
        raise ValueError(f"'{client.servers_key}' in {path} is not an object; fix or move it first")
    previous = servers.get(name)
    action = "unchanged" if previous == entry else "updated" if previous is not None else "added"
    servers[name] = entry
    kept = sorted(k for k in servers if k != name)
    if action != "unchanged":
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.toolpress-tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    return ConfigChange(path=path, action=action, kept=kept)
