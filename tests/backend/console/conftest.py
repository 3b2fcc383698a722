"""A real uvicorn server, REST helpers to seed users and apps, and headless Chromium for the console tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from support.remote_mcp import Remote, remote_mcp_server

REPO = Path(__file__).resolve().parents[3]
PYTHON = Path(sys.executable)
GREETER = REPO / "workflows" / "examples" / "greeter.yaml"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(base_url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"no answer from {base_url}/healthz after {timeout:g} s:\n{log.read_text(errors='replace')}")


@dataclass(frozen=True)
class Server:
    """A running Toolpress server."""

    base_url: str
    data_dir: Path


@dataclass
class Gate:
    """A local HTTP API that apps' http_request steps call: `/gate/<key>?…` answers the query as JSON,
    after waiting while `key` is held, so a test can keep a run in the middle of a step as long as it needs."""

    port: int
    _held: dict[str, threading.Event] = field(default_factory=dict)

    def url(self, key: str) -> str:
        """The address of gate `key`."""
        return f"http://127.0.0.1:{self.port}/gate/{key}"

    def hold(self, key: str) -> None:
        """Make calls to `key` wait until released."""
        self._held[key] = threading.Event()

    def release(self, key: str) -> None:
        """Let waiting and future calls to `key` through."""
        event = self._held.pop(key, None)
        if event is not None:
            event.set()

    def wait_for(self, key: str) -> None:
        """Block the calling request while `key` is held (at most 60 s)."""
        event = self._held.get(key)
        if event is not None:
            event.wait(60)


@pytest.fixture(scope="session")
def gate() -> Iterator[Gate]:
    """The gate API on a free port (the console server is allowed to reach it)."""
    server: ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            parsed = urlparse(self.path)
            gate_.wait_for(parsed.path.rsplit("/", 1)[-1])
            body = json.dumps({k: v[0] for k, v in parse_qs(parsed.query).items()}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    gate_ = Gate(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gate_
    finally:
        for key in list(gate_._held):
            gate_.release(key)
        server.shutdown()


@pytest.fixture(scope="session")
def remote_mcp() -> Iterator[Remote]:
    """Another MCP server (the SDK's), for the editor's mcp_tool step to list tools from."""
    with remote_mcp_server() as server:
        yield server


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory, gate: Gate, remote_mcp: Remote) -> Iterator[Server]:
    """`uvicorn --factory backend.main:create_app` on a free port, with a migrated data directory of its own."""
    data_dir = tmp_path_factory.mktemp("console-data")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TOOLPRESS_DATA_DIR": str(data_dir), "TOOLPRESS_PUBLIC_URL": base_url,
           "TOOLPRESS_HTTP_ALLOW": json.dumps([f"127.0.0.1:{gate.port}", *remote_mcp.allow])}
    migrate = [str(PYTHON.parent / "toolpress"), "db", "upgrade"]
    subprocess.run(migrate, env=env, cwd=REPO, check=True, timeout=60, capture_output=True)
    log = data_dir / "uvicorn.log"
    with log.open("wb") as out:
        serve = [str(PYTHON), "-m", "uvicorn", "--factory", "backend.main:create_app", "--host", "127.0.0.1"]
        proc = subprocess.Popen([*serve, "--port", str(port)], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(base_url, proc, log)
        yield Server(base_url=base_url, data_dir=data_dir)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@dataclass(frozen=True)
class Account:
    """A user created through the REST API, with a bearer token."""

    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header of the REST API."""
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_account(console_server: Server) -> Iterator[object]:
    """Create a fresh account (unique e-mail) through `POST /api/auth/signup` and log it in."""

    def make() -> Account:
        email = f"user-{uuid.uuid4().hex[:12]}@example.com"
        with httpx.Client(base_url=console_server.base_url, timeout=10) as client:
            client.post("/api/auth/signup", json={"email": email, "password": PASSWORD}).raise_for_status()
            login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            login.raise_for_status()
        return Account(email=email, password=PASSWORD, token=login.json()["access_token"])

    yield make


@pytest.fixture
def owner(make_account) -> Account:  # type: ignore[no-untyped-def]
    """The account that owns `published_app`."""
    return make_account()


@pytest.fixture(scope="session")
def greeter_yaml() -> str:
    """The greeter example's spec text."""
    return GREETER.read_text(encoding="utf-8")


@pytest.fixture
def published_app(console_server: Server, owner: Account, greeter_yaml: str) -> dict[str, object]:
    """The greeter example created and published through the REST API by `owner`."""
    with httpx.Client(base_url=console_server.base_url, headers=owner.headers, timeout=10) as client:
        created = client.post("/api/apps", json={"yaml": greeter_yaml})
        created.raise_for_status()
        app = created.json()
        client.post(f"/api/apps/{app['id']}/publish").raise_for_status()
    return app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright."""
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser: Browser, console_server: Server) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) allowed to use the clipboard."""
    ctx = browser.new_context(base_url=console_server.base_url, viewport={"width": 1280, "height": 900})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=console_server.base_url)
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab in that profile."""
    return context.new_page()



SCREENSHOT_DIR = os.environ.get("TOOLPRESS_CONSOLE_SCREENSHOTS")


@pytest.fixture(scope="session")
def screenshot() -> object:
    """Save a full-page screenshot as `console-<name>.png` when TOOLPRESS_CONSOLE_SCREENSHOTS names a directory."""

    def shoot(page: Page, name: str) -> None:
        if SCREENSHOT_DIR:
            Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"console-{name}.png"), full_page=True)

    return shoot
