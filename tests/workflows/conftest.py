"""Shared fixtures: a local HTTP server (stdlib, in a thread) standing in for remote APIs."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Reply = tuple[int, dict[str, str], bytes]
Route = Callable[["Request"], Reply]


@dataclass
class Request:
    """One request the local server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LocalServer:
    """A local HTTP server whose routes tests set; ``allow`` is its allow-list entry."""

    host: str
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def allow(self) -> list[str]:
        return [f"{self.host}:{self.port}"]

    def route(self, path: str, reply: Route | Any, status: int = 200) -> None:
        """Serve ``path``: a callable, or a value answered as JSON (bytes/str as text)."""
        if callable(reply):
            self.routes[path] = reply
        elif isinstance(reply, (bytes, str)):
            data = reply.encode() if isinstance(reply, str) else reply
            self.routes[path] = lambda _r: (status, {"Content-Type": "text/plain"}, data)
        else:
            self.routes[path] = lambda _r: (status, {"Content-Type": "application/json"},
                                            json.dumps(reply).encode())


def json_reply(value: Any, status: int = 200) -> Reply:
    """Build a JSON reply."""
    return status, {"Content-Type": "application/json"}, json.dumps(value).encode()


def _handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            server.requests.append(request)
            route = server.routes.get(self.path.split("?")[0])
            status, headers, data = route(request) if route else (404, {}, b"not found")
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return Handler


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """A fresh local HTTP server on 127.0.0.1 with an ephemeral port."""
    local = LocalServer("127.0.0.1", 0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(local))
    httpd.daemon_threads = True
    local.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield local
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
