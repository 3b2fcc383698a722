"""The http_request node (workflows/nodes/http_request.py) and the SSRF guard (workflows/http.py)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from workflows import NodeError, RunCancelled, SpecError, execute, spec_from_dict
from workflows.http import is_public_address


def _app(request: dict[str, Any], inputs: list[dict[str, Any]] | None = None) -> Any:
    return spec_from_dict({"name": "T", "inputs": inputs or [], "steps": [
        {"id": "fetch", "type": "http_request", **request}]})


def _fetch(server: Any, request: dict[str, Any], arguments: dict[str, Any] | None = None,
           inputs: list[dict[str, Any]] | None = None, **kw: Any) -> dict[str, Any]:
    result = execute(_app(request, inputs), arguments or {}, http_allow=server.allow, **kw)
    output: dict[str, Any] = result.trace[0].output or {}
    return output


def test_get_with_templated_query_and_headers_returns_parsed_json(server: Any) -> None:
    server.route("/rates", {"base": "EUR", "rates": {"USD": 1.1}})
    out = _fetch(server, {"url": server.url + "/rates", "query": {"base": "{{ inputs.cur }}", "n": 2},
                          "headers": {"X-Req": "id-{{ inputs.cur }}"}},
                 {"cur": "EUR"}, [{"name": "cur", "type": "string"}])
    assert out["status"] == 200 and out["json"] == {"base": "EUR", "rates": {"USD": 1.1}}
    assert out["headers"]["content-type"] == "application/json"
    [request] = server.requests
    assert request.path == "/rates?base=EUR&n=2" and request.headers["x-req"] == "id-EUR"


def test_json_form_and_raw_bodies_are_sent(server: Any) -> None:
    server.route("/echo", lambda r: (200, {"Content-Type": "text/plain"}, r.body))
    assert json.loads(_fetch(server, {"method": "POST", "url": server.url + "/echo",
                                      "json": {"n": "{{ 1 + 1 }}", "tags": ["a"]}})["text"]) == {"n": 2, "tags": ["a"]}
    assert _fetch(server, {"method": "POST", "url": server.url + "/echo", "form": {"a": "1 2"}})["text"] == "a=1+2"
    out = _fetch(server, {"method": "PUT", "url": server.url + "/echo", "body": "plain",
                          "headers": {"Content-Type": "text/plain"}})
    assert out["text"] == "plain" and "json" not in out


def test_only_one_body_kind_is_allowed() -> None:
    with pytest.raises(SpecError, match="at most one of 'json', 'form' and 'body'"):
        _app({"url": "http://x", "json": {}, "body": "x"})


def test_5xx_is_retried_with_backoff_then_succeeds(server: Any) -> None:
    calls: list[float] = []

    def flaky(_r: Any) -> Any:
        calls.append(time.monotonic())
        return (503, {}, b"busy") if len(calls) < 3 else (200, {"Content-Type": "application/json"}, b"[1]")

    server.route("/flaky", flaky)
    assert _fetch(server, {"url": server.url + "/flaky", "retries": 2, "backoff": 0.05})["json"] == [1]
    # lower bounds only: a loaded machine can make a wait longer, never shorter
    assert len(calls) == 3 and calls[1] - calls[0] >= 0.05 and calls[2] - calls[1] >= 0.1


def test_retries_exhausted_and_4xx_fail_with_the_status(server: Any) -> None:
    server.route("/down", "down", status=502)
    with pytest.raises(NodeError) as caught:
        execute(_app({"url": server.url + "/down", "retries": 1, "backoff": 0}), {}, http_allow=server.allow)
    assert "answered HTTP 502: down" in str(caught.value) and len(server.requests) == 2
    server.route("/missing", "gone", status=404)
    with pytest.raises(NodeError, match="answered HTTP 404: gone"):
        execute(_app({"url": server.url + "/missing", "retries": 3}), {}, http_allow=server.allow)
    assert len(server.requests) == 3  # no retry on 4xx


def test_fail_on_status_false_returns_the_error_response(server: Any) -> None:
    server.route("/missing", {"error": "nope"}, status=404)
    out = _fetch(server, {"url": server.url + "/missing", "fail_on_status": False})
    assert out["status"] == 404 and out["json"] == {"error": "nope"}


def test_connection_errors_are_retried_then_reported() -> None:
    app = _app({"url": "http://127.0.0.1:9/", "retries": 1, "backoff": 0, "timeout": 2})
    with pytest.raises(NodeError) as caught:
        execute(app, {}, http_allow=["127.0.0.1:9"])
    assert "failed after 2 attempts: ConnectError" in str(caught.value)


def test_body_larger_than_max_bytes_fails(server: Any) -> None:
    server.route("/big", "x" * 5000)
    with pytest.raises(NodeError, match="larger than the limit of 1000 bytes|5000 bytes, more than the limit"):
        execute(_app({"url": server.url + "/big", "max_bytes": 1000}), {}, http_allow=server.allow)


def test_redirects_are_followed_and_each_hop_is_checked(server: Any) -> None:
    server.route("/old", lambda _r: (302, {"Location": "/new"}, b""))
    server.route("/new", {"ok": True})
    out = _fetch(server, {"url": server.url + "/old"})
    assert out["json"] == {"ok": True} and out["url"] == server.url + "/new"
    server.route("/evil", lambda _r: (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""))
    with pytest.raises(NodeError, match="refusing to connect to '169.254.169.254'"):
        execute(_app({"url": server.url + "/evil"}), {}, http_allow=server.allow)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/", "http://localhost:{port}/", "http://10.0.0.1/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]:{port}/", "http://[::ffff:127.0.0.1]/",
    "http://2130706433:{port}/", "http://0x7f.1:{port}/", "http://0.0.0.0:{port}/", "http://100.64.0.1/",
    "http://[fe80::1]/", "http://224.0.0.1/",
])
def test_private_loopback_link_local_and_metadata_targets_are_refused(server: Any, url: str) -> None:
    server.route("/", "secret internal data")
    app = _app({"url": url.format(port=server.port), "retries": 0, "timeout": 2})
    with pytest.raises(NodeError) as caught:
        execute(app, {})
    assert "refusing to connect" in str(caught.value) and "non-public address" in str(caught.value)
    assert server.requests == []


def test_non_http_schemes_are_refused() -> None:
    with pytest.raises(NodeError, match="only http and https URLs are allowed, not 'file'"):
        execute(_app({"url": "file:///etc/passwd"}), {})


def test_public_address_classification() -> None:
    assert is_public_address("93.184.216.34") and is_public_address("2606:2800:220:1::1")
    for ip in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "169.254.169.254", "::1", "fd00:ec2::254", "0.0.0.0",
               "::", "::ffff:10.0.0.1", "2002:7f00:1::1", "ff02::1"):
        assert not is_public_address(ip), ip


def test_allow_list_matches_host_and_port_only(server: Any) -> None:
    server.route("/", "ok")
    app = _app({"url": server.url + "/", "retries": 0})
    with pytest.raises(NodeError, match="refusing"):
        execute(app, {}, http_allow=[f"127.0.0.1:{server.port + 1}"])
    assert execute(app, {}, http_allow=["127.0.0.1"]).trace[0].output["text"] == "ok"  # type: ignore[index]


def test_cancellation_interrupts_a_waiting_request(server: Any) -> None:
    release = threading.Event()

    def slow(_r: Any) -> Any:
        release.wait(10)
        return 200, {}, b"late"

    server.route("/slow", slow)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    try:
        with pytest.raises(RunCancelled) as caught:
            execute(_app({"url": server.url + "/slow", "timeout": 30}), {}, http_allow=server.allow,
                    should_cancel=cancel.is_set, cancel_poll_interval=0.05)
    finally:
        release.set()
    assert time.monotonic() - started < 3
    assert [(t.step_id, t.status) for t in caught.value.trace] == [("fetch", "cancelled")]


def test_step_time_limit_and_run_timeout_stop_a_slow_request(server: Any) -> None:
    release = threading.Event()
    server.route("/slow", lambda _r: (release.wait(10), (200, {}, b"late"))[1])
    app = spec_from_dict({"name": "T", "steps": [
        {"id": "fetch", "type": "http_request", "url": server.url + "/slow", "time_limit": 0.3, "timeout": 30}]})
    try:
        with pytest.raises(NodeError, match="timed out while waiting for GET .*step time limit"):
            execute(app, {}, http_allow=server.allow, cancel_poll_interval=0.05)
        plain = _app({"url": server.url + "/slow", "timeout": 30})
        with pytest.raises(NodeError) as caught:
            execute(plain, {}, http_allow=server.allow, timeout=0.3, cancel_poll_interval=0.05)
    finally:
        release.set()
    assert type(caught.value).__name__ == "RunTimedOut"
    assert str(caught.value) == "step 'fetch' (http_request) stopped: the run exceeded its time limit of 0.3 s"
