"""SSRF: http_request and llm steps reach no loopback, private, link-local or metadata address unless allow-listed.

The engine is driven directly with a local HTTP server standing in for the internal service an
attacker wants to reach; it records every request, so "refused" also means "never contacted".
One end-to-end case goes through a live server's MCP endpoint.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx
import pytest
import yaml
from mcp import Client

from security.accounts import new_user, publish
from support.stack import Stack
from workflows import NodeError, execute, spec_from_dict
from workflows.http import TargetRefused, check_target, is_public_address

pytestmark = pytest.mark.timeout(60)

LOOPBACK_SPELLINGS = [
    "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0x7f.1", "017700000001", "0", "0.0.0.0", "localhost",
    "[::1]", "[::]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]",
]
PRIVATE_AND_METADATA = [
    "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "[fe80::1]", "[fd00:ec2::254]",
    "[fc00::1]", "[::ffff:a9fe:a9fe]", "[::ffff:10.0.0.1]", "100.100.100.200", "224.0.0.1", "240.0.0.1",
    "[64:ff9b:1::a00:1]",
]


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str]
    redirect_to: str | None

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        if self.path.startswith("/hop") and self.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.end_headers()
            return
        body = b'{"internal": "secret data"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *_args: Any) -> None:
        pass


class Internal:
    """A local 'internal service' that records the paths it was asked for."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        handler = type("Handler", (_Recorder,), {"hits": self.hits, "redirect_to": None})
        self.handler = handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]

    def redirect(self, location: str) -> None:
        self.handler.redirect_to = location


@pytest.fixture
def internal() -> Iterator[Internal]:
    """The internal service, on 127.0.0.1."""
    service = Internal()
    thread = threading.Thread(target=service.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.httpd.shutdown()
        service.httpd.server_close()


def _fetch(url: str, allow: list[str] | None = None) -> dict[str, Any]:
    spec = spec_from_dict({"name": "Fetch", "steps": [{"id": "get", "type": "http_request", "url": url, "retries": 0,
                                                       "timeout": 3}]})
    result = execute(spec, {}, http_allow=allow or [])
    return result.trace[0].output or {}


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_refused_and_never_contacted(internal: Internal, host: str) -> None:
    with pytest.raises(NodeError, match="refusing to connect|invalid URL"):
        _fetch(f"http://{host}:{internal.port}/admin")
    assert internal.hits == []


@pytest.mark.parametrize("host", PRIVATE_AND_METADATA)
def test_private_link_local_and_metadata_addresses_are_refused(host: str) -> None:
    with pytest.raises(TargetRefused, match="non-public"):
        check_target(httpx.URL(f"http://{host}/latest/meta-data/"), allow=[])


def test_octal_dotted_loopback_is_refused_as_an_invalid_url(internal: Internal) -> None:
    with pytest.raises(NodeError, match="invalid URL"):
        _fetch(f"http://0177.0.0.1:{internal.port}/admin")
    assert internal.hits == []


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"])
def test_public_addresses_pass_the_check(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1/", "ftp://example.com/", "//127.0.0.1/"])
def test_only_http_and_https_are_allowed(url: str) -> None:
    with pytest.raises(NodeError):
        _fetch(url)


def test_an_allow_listed_target_is_reachable(internal: Internal) -> None:
    out = _fetch(f"http://127.0.0.1:{internal.port}/ok", allow=[f"127.0.0.1:{internal.port}"])
    assert out["status"] == 200 and internal.hits == ["/ok"]


def test_allow_listing_one_port_does_not_open_the_others(internal: Internal) -> None:
    with pytest.raises(NodeError, match="refusing to connect"):
        _fetch(f"http://127.0.0.1:{internal.port}/ok", allow=[f"127.0.0.1:{internal.port + 1}"])
    assert internal.hits == []


@pytest.mark.parametrize("location", [
    "http://127.0.0.1:{port}/private", "http://[::1]:{port}/private", "http://2130706433:{port}/private",
    "http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]:{port}/private",
])
def test_a_redirect_to_a_private_address_is_refused(internal: Internal, location: str) -> None:
    # The first hop is allowed by name; the redirect target is checked again and refused.
    internal.redirect(location.format(port=internal.port))
    with pytest.raises(NodeError, match="refusing to connect"):
        _fetch(f"http://localhost:{internal.port}/hop", allow=[f"localhost:{internal.port}"])
    assert internal.hits == ["/hop"]


def test_a_dns_answer_that_changes_after_the_check_is_not_followed(internal: Internal,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # A rebinding resolver: a public address for the check, loopback for every later lookup.
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            lookups.append(host)
            address = "192.0.43.10" if len(lookups) == 1 else "127.0.0.1"
            return real(address, *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(NodeError):  # the pinned public address is unreachable from the test machine
        _fetch(f"http://rebind.example:{internal.port}/admin")
    assert lookups == ["rebind.example"]  # resolved once, then the checked address was used
    assert internal.hits == []


def test_a_name_with_any_private_answer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def mixed(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "mixed.example":
            return real("192.0.43.10", port, *args, **kwargs) + real("10.1.2.3", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    with pytest.raises(TargetRefused, match="10.1.2.3"):
        check_target(httpx.URL("http://mixed.example/"), allow=[])


@pytest.mark.parametrize("base_url", ["http://169.254.169.254/v1", "http://127.0.0.1:{port}/v1",
                                      "http://[::1]:{port}/v1", "http://2130706433:{port}/v1"])
def test_the_llm_step_is_guarded_too(internal: Internal, base_url: str) -> None:
    spec = spec_from_dict({"name": "Ask", "steps": [{"id": "ask", "type": "llm", "model": "m", "user": "hi",
                                                     "retries": 0, "base_url": base_url.format(port=internal.port)}]})
    with pytest.raises(NodeError, match="refusing to connect"):
        execute(spec, {}, http_allow=[])
    assert internal.hits == []


def test_a_published_app_cannot_reach_the_server_itself(secure_stack: Stack, api: httpx.Client) -> None:
    spec = {"name": "Probe", "tool_name": "probe", "inputs": [], "outputs": [{"name": "body", "type": "string",
            "value": "{{ steps.get.text }}"}],
            "steps": [{"id": "get", "type": "http_request", "retries": 0, "url": f"{secure_stack.base_url}/healthz"}]}
    _app_id, url = publish(api, new_user(api), yaml.safe_dump(spec))

    async def call() -> Any:
        async with Client(url, mode="legacy") as client:
            return await client.call_tool("probe", {})

    result = anyio.run(call)
    assert result.is_error is True
    assert "refusing to connect" in result.content[0].text
