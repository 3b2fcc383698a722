"""`toolpress serve --port P` without a public URL: every URL the product prints or returns is on port P."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from support.console import call, in_thread, list_tools, log_in
from support.stack import BIN, REPO, free_port, stop_process, wait_until

from .conftest import GREETER, PASSWORD, Account

LOCAL_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost|\[::1\]|0\.0\.0\.0)(?::(\d+))?")


class Served:
    """`toolpress serve --port P` in a folder of its own, with no TOOLPRESS_PUBLIC_URL, and its CLI."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLPRESS_")}
        self.env.update(TOOLPRESS_DATA_DIR=str(workdir / "data"), TOOLPRESS_LOAD_EXAMPLES="false", PYTHONUNBUFFERED="1")
        self.log = workdir / "serve.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([str(BIN / "toolpress"), "serve", "--port", str(self.port)], env=self.env,
                                         cwd=workdir, stdout=out, stderr=subprocess.STDOUT)

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"toolpress serve exited:\n{self.log.read_text(errors='replace')}")
        try:
            return httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def cli(self, *args: str) -> str:
        """`toolpress ARGS` from the server's folder (not the repository); its standard output."""
        done = subprocess.run([str(BIN / "toolpress"), *args], env=self.env, cwd=self.workdir, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert ports_in(done.stderr) <= {self.port}, done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A running `serve --port P` with no public URL configured."""
    server = Served(tmp_path_factory.mktemp("serve-port"))
    try:
        wait_until(server.healthy, 90, "toolpress serve")
        yield server
    finally:
        stop_process(server.proc)


def ports_in(text: str) -> set[int]:
    """The ports of every local URL in `text` (80 for a URL without one)."""
    return {int(port or 80) for port in LOCAL_URL.findall(text)}


def test_serve_prints_the_address_it_listens_on(served: Served) -> None:
    wait_until(lambda: "Toolpress on" in served.log.read_text(errors="replace"), 10, "the start-up line")
    log = served.log.read_text(errors="replace")
    assert ports_in(log) == {served.port}
    assert "alembic" not in log  # migrations run quietly at start-up


def test_every_url_the_cli_prints_uses_the_serve_port(served: Served) -> None:
    app_id = served.cli("apps", "import", str(GREETER)).strip()
    served.cli("apps", "publish", app_id)
    url = served.cli("mcp", "enable", app_id).strip()
    assert url.startswith(f"{served.base_url}/mcp/")
    assert served.cli("mcp", "url", app_id).strip() == url
    served.cli("mcp", "setup", "--client", "cursor", app_id)
    entry = json.loads((served.workdir / ".cursor" / "mcp.json").read_text())["mcpServers"]
    assert [server["url"] for server in entry.values()] == [url]
    served.cli("mcp", "setup", "--client", "vscode", app_id)
    assert ports_in((served.workdir / ".vscode" / "mcp.json").read_text()) == {served.port}
    # the URL works: an MCP client reaches the app through it
    assert [tool.name for tool in in_thread(list_tools, url)] == ["greet"]


def signed_up_with_greeter(served: Served) -> tuple[Account, httpx.Client, dict, dict]:
    """A new account through the REST API, its client, and its published greeter with the MCP server on."""
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    client = httpx.Client(base_url=served.base_url, timeout=10)
    client.post("/api/auth/signup", json={"email": email, "password": PASSWORD}).raise_for_status()
    token = client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    app = client.post("/api/apps", json={"yaml": GREETER.read_text()}).json()
    client.post(f"/api/apps/{app['id']}/publish").raise_for_status()
    enabled = client.post(f"/api/apps/{app['id']}/mcp/enable").json()
    return Account(email=email, password=PASSWORD, token=token), client, app, enabled


def test_every_url_the_rest_api_returns_uses_the_serve_port(served: Served) -> None:
    _, client, app, enabled = signed_up_with_greeter(served)
    try:
        created = client.post(f"/api/apps/{app['id']}/mcp/tokens", json={"name": "ci"})
        created.raise_for_status()
        shown = client.get(f"/api/apps/{app['id']}/mcp").json()
    finally:
        client.close()
    assert enabled["url"].startswith(f"{served.base_url}/mcp/")
    assert ports_in(json.dumps([enabled, shown, created.json()])) == {served.port}
    assert in_thread(call, enabled["url"], "greet", {"person": "Ada"}).is_error is False


def test_every_url_the_console_shows_uses_the_serve_port(served: Served, browser: Browser) -> None:
    account, client, app, _ = signed_up_with_greeter(served)
    client.close()
    context = browser.new_context(base_url=served.base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    try:
        page: Page = context.new_page()
        log_in(page, account, f"/apps/{app['id']}")
        page.locator("#mcp-reveal").click()
        expect(page.locator("#mcp-url")).to_contain_text(f"{served.base_url}/mcp/")
        panel = page.locator("#mcp-panel").inner_text()
        snippets = page.locator(".snippets code").all_inner_texts()
        assert len(snippets) == 5 and all(ports_in(text) == {served.port} for text in snippets)
        assert ports_in(panel) == {served.port}
        install = page.locator("#cursor-install").get_attribute("href") or ""
        config = parse_qs(urlsplit(install).query)["config"][0]
        assert ports_in(json.loads(base64.b64decode(config))["url"]) == {served.port}
        page.goto("/account")
        assert f"{served.base_url}/mcp/platform/mcp" in page.content()
        assert ports_in(page.content()) == {served.port}
    finally:
        context.close()


def test_the_api_docs_load_every_asset_from_the_server(served: Served) -> None:
    page = httpx.get(f"{served.base_url}/docs", timeout=10)
    assert page.status_code == 200
    assets = re.findall(r"(?:src|href)=['\"]([^'\"]+)['\"]", page.text)
    assert any(asset.endswith(".js") for asset in assets) and any(asset.endswith(".css") for asset in assets)
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by Toolpress"
        assert httpx.get(f"{served.base_url}{asset}", timeout=10).status_code == 200


def test_a_configured_public_url_wins_in_the_cli(served: Served) -> None:
    app_id = served.cli("apps", "import", str(GREETER)).strip()
    served.cli("apps", "publish", app_id)
    env = {**served.env, "TOOLPRESS_PUBLIC_URL": "https://tools.example.com/"}
    done = subprocess.run([str(BIN / "toolpress"), "mcp", "enable", app_id], env=env, cwd=served.workdir,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("https://tools.example.com/mcp/"), done.stderr
    assert REPO not in served.workdir.parents  # the CLI ran outside the repository
