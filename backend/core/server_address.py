"""Where `toolpress serve` listens, so that every URL Toolpress prints or returns points at it.

Without TOOLPRESS_PUBLIC_URL the base of every URL is the address `serve` actually listens on. The CLI reads
the database, not the server, so `serve` records that address in the data directory (`server.json`) once it
has bound its socket; the CLI, working on the same data directory, prints the URLs the server would.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

__all__ = ["RECORD_FILE", "bind_socket", "listen_url", "record_listen_url", "recorded_listen_url"]

RECORD_FILE = "server.json"
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


def listen_url(host: str, port: int) -> str:
    """The http URL a local client reaches a server listening on host:port at (a wildcard host means loopback)."""
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (port 0 picks a free one); OSError says why it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def record_listen_url(data_dir: Path, url: str) -> None:
    """Write the address `serve` listens on into the data directory (atomically: readers see old or new)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = data_dir / f".{RECORD_FILE}.{os.getpid()}"
    temporary.write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")
    temporary.replace(data_dir / RECORD_FILE)


def recorded_listen_url(data_dir: Path) -> str | None:
    """The address the last `serve` on this data directory listened on, or None when none recorded one."""
    try:
        url = json.loads((data_dir / RECORD_FILE).read_text(encoding="utf-8")).get("url")
    except (OSError, ValueError, AttributeError):
        return None
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None
