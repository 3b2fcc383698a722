"""GET, DELETE and session ids on the Streamable HTTP endpoint, spoken to with plain httpx."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from support.stack import Stack

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "probe", "version": "7"}},
}
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
POST_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
SSE = {"Accept": "text/event-stream"}


def _sse_result(response: httpx.Response) -> dict:
    data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
    return json.loads([d for d in data if d][-1])


def _initialize(url: str) -> httpx.Response:
    response = httpx.post(url, json=INIT, headers=POST_HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    return response


@pytest.fixture(scope="module")
def app_url(stack: Stack) -> str:
    return stack.publish_and_enable("three_steps.yaml")[1]


def test_initialize_issues_a_session_id_that_any_later_request_may_carry(app_url: str) -> None:
    session = _initialize(app_url).headers.get("mcp-session-id")
    assert session and len(session) < 400
    headers = {**POST_HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
    listed = httpx.post(app_url, json=LIST, headers=headers, timeout=10)
    assert listed.status_code == 200
    assert [t["name"] for t in _sse_result(listed)["result"]["tools"]] == ["word_report"]
    # requests without a session id still work (stateless clients)
    plain = httpx.post(app_url, json=LIST, headers=POST_HEADERS, timeout=10)
    assert plain.status_code == 200 and "mcp-session-id" not in plain.headers


def test_a_forged_or_foreign_session_id_gets_404(stack: Stack, app_url: str) -> None:
    session = _initialize(app_url).headers["mcp-session-id"]
    forged = session[:-3] + ("AAA" if not session.endswith("AAA") else "BBB")
    other_url = stack.publish_and_enable("three_steps.yaml")[1]
    for url, sid in ((app_url, forged), (app_url, "x" * 40), (other_url, session)):
        response = httpx.post(url, json=LIST, headers={**POST_HEADERS, "mcp-session-id": sid}, timeout=10)
        assert response.status_code == 404, (url, sid, response.text)


def test_a_regenerated_url_invalidates_its_sessions(stack: Stack) -> None:
    app_id, url = stack.publish_and_enable("three_steps.yaml")
    session = _initialize(url).headers["mcp-session-id"]
    new_url = stack.cli("mcp", "regenerate", app_id).stdout.strip()
    response = httpx.post(new_url, json=LIST, headers={**POST_HEADERS, "mcp-session-id": session}, timeout=10)
    assert response.status_code == 404


def test_get_opens_an_event_stream(app_url: str) -> None:
    with httpx.stream("GET", app_url, headers=SSE, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        first = next(response.iter_text())
        assert first.startswith(":")  # a comment: headers and a first byte arrive at once, nothing hangs


def test_get_without_accepting_event_streams_is_406(app_url: str) -> None:
    response = httpx.get(app_url, headers={"Accept": "application/json"}, timeout=10)
    assert response.status_code == 406
    assert response.json()["error"]["message"].startswith("Not Acceptable")


def test_get_checks_host_and_the_url(stack: Stack, app_url: str) -> None:
    assert httpx.get(app_url, headers={**SSE, "Host": "evil.example.com"}, timeout=10).status_code == 421
    assert httpx.get(stack.base_url + "/mcp/" + "A" * 43 + "/mcp", headers=SSE, timeout=10).status_code == 404


@pytest.mark.parametrize("change", ["regenerate", "disable"])
def test_an_open_get_stream_is_closed_when_the_url_stops_serving(stack: Stack, change: str) -> None:
    app_id, url = stack.publish_and_enable("three_steps.yaml")
    ended = threading.Event()
    with httpx.stream("GET", url, headers=SSE, timeout=httpx.Timeout(10, read=30)) as response:
        assert response.status_code == 200

        def drain() -> None:
            for _ in response.iter_bytes():
                pass
            ended.set()

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        time.sleep(1.5)
        assert not ended.is_set()
        stack.cli("mcp", change, app_id)
        assert ended.wait(15), "the stream stayed open after the URL stopped serving"
    assert httpx.get(url, headers=SSE, timeout=10).status_code == 404


def test_delete_is_405_with_allow_since_sessions_hold_nothing_to_free(app_url: str) -> None:
    session = _initialize(app_url).headers["mcp-session-id"]
    response = httpx.delete(app_url, headers={"mcp-session-id": session}, timeout=10)
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    # the session keeps working
    after = httpx.post(app_url, json=LIST, headers={**POST_HEADERS, "mcp-session-id": session}, timeout=10)
    assert after.status_code == 200
    assert httpx.delete(app_url, headers={"mcp-session-id": "forged"}, timeout=10).status_code == 404
