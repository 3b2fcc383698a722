"""Runs in the worker end to end (REST API + MCP SDK client on live stacks): secrets, HTTP, sub-apps."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from mcp import Client

from support.stack import REPO, Stack

EXAMPLES = REPO / "workflows" / "examples"

pytestmark = pytest.mark.anyio


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client on the stack's API."""
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def owner(api: httpx.Client) -> dict[str, str]:
    """Auth headers of a fresh user."""
    email = f"x{uuid.uuid4().hex[:10]}@example.com"
    assert api.post("/api/auth/signup", json={"email": email, "password": "long enough pw"}).status_code == 201
    token = api.post("/api/auth/login", json={"email": email, "password": "long enough pw"}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _app(api: httpx.Client, headers: dict[str, str], spec: dict[str, Any], *, publish: bool = True,
         enable: bool = True) -> tuple[int, str | None]:
    created = api.post("/api/apps", json={"yaml": yaml.safe_dump(spec, sort_keys=False)}, headers=headers)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    if publish:
        assert api.post(f"/api/apps/{app_id}/publish", headers=headers).status_code in (200, 201)
    url = api.post(f"/api/apps/{app_id}/mcp/enable", headers=headers).json()["url"] if enable else None
    return app_id, url


def _last_run(api: httpx.Client, headers: dict[str, str], app_id: int) -> dict[str, Any]:
    runs = api.get("/api/runs", params={"app_id": app_id}, headers=headers).json()
    assert runs["count"] == 1
    return runs["data"][0]


async def _call(url: str, tool: str, arguments: dict[str, Any], progress: list[str] | None = None) -> Any:
    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        if progress is not None:
            progress.append(message or "")

    async with Client(url, mode="legacy") as client:
        return await client.call_tool(tool, arguments, progress_callback=on_progress)


async def test_a_spec_whose_template_echoes_a_secret_is_refused_when_saved(
        api: httpx.Client, owner: dict[str, str]) -> None:
    spec = {"name": "Echo secret", "tool_name": "echo_secret",
            "steps": [{"id": "echo", "type": "template", "title": "echo", "template": "token={{ secrets.ECHO_TOKEN|upper }}"}],
            "outputs": [{"name": "echo", "type": "string", "value": "{{ steps.echo.text }}"}]}
    refused = api.post("/api/apps", json={"yaml": yaml.safe_dump(spec, sort_keys=False)}, headers=owner)
    assert refused.status_code == 422
    [issue] = refused.json()["errors"]
    assert issue["path"] == "steps[0].template" and issue["step"] == "echo"
    assert issue["message"].startswith("step 'echo' › template uses secrets.ECHO_TOKEN: a secret may only be sent")


async def test_an_echo_app_returns_a_guess_equal_to_a_stored_secret_unchanged_and_unmarked(
        api: httpx.Client, owner: dict[str, str], remote: Any) -> None:
    remote.routes["/ping"] = (200, {"ok": True})
    unused, sent = f"pin-{uuid.uuid4().hex[:6]}", f"key-{uuid.uuid4().hex}"
    api.put("/api/secrets/UNUSED_PIN", json={"value": unused}, headers=owner)
    api.put("/api/secrets/SENT_KEY", json={"value": sent}, headers=owner)
    spec = {"name": "Echo", "tool_name": "echo_guess", "inputs": [{"name": "guess", "type": "string", "required": True}],
            "steps": [{"id": "ping", "type": "http_request", "url": f"{remote.url}/ping",
                       "headers": {"X-Key": "{{ secrets.SENT_KEY }}"}}],
            "outputs": [{"name": "echo", "type": "string", "value": "{{ inputs.guess }}"}]}
    app_id, url = _app(api, owner, spec)
    for guess in (unused, sent):  # a secret the app never reads, and the one it sends
        result = await _call(url, "echo_guess", {"guess": guess})
        assert result.is_error is False and result.structured_content == {"echo": guess}
        assert "[redacted]" not in json.dumps(result.model_dump(mode="json"))
    runs = api.get("/api/runs", params={"app_id": app_id}, headers=owner).json()["data"]
    assert sorted(run["result"]["echo"] for run in runs) == sorted([unused, sent])
    assert all("[redacted]" not in json.dumps(run) for run in runs)
    assert remote.requests[0][1]["x-key"] == sent


async def test_a_secret_in_a_failing_requests_url_is_shown_masked_in_the_error(
        api: httpx.Client, owner: dict[str, str], remote: Any) -> None:
    value = f"pw-{uuid.uuid4().hex}"
    api.put("/api/secrets/PATH_TOKEN", json={"value": value}, headers=owner)
    spec = {"name": "Leaky fetch", "tool_name": "leaky_fetch",
            "steps": [{"id": "fetch", "type": "http_request", "url": f"{remote.url}/x/{{{{ secrets.PATH_TOKEN }}}}"}],
            "outputs": [{"name": "status", "type": "integer", "value": "{{ steps.fetch.status }}"}]}
    app_id, url = _app(api, owner, spec)
    result = await _call(url, "leaky_fetch", {})
    assert result.is_error is True
    assert "HTTP 404" in result.content[0].text and value not in result.content[0].text
    assert remote.requests[0][0] == f"/x/{value}"  # the secret did reach the remote API
    run = _last_run(api, owner, app_id)
    assert run["status"] == "failed" and f"{remote.url}/x/[secret PATH_TOKEN]" in run["error"]
    assert run["trace"][0]["input"]["url"] == f"{remote.url}/x/[secret PATH_TOKEN]"
    assert value not in json.dumps(run)


async def test_http_request_reaches_an_allow_listed_server_with_a_secret_header(
        api: httpx.Client, owner: dict[str, str], remote: Any) -> None:
    remote.routes["/rates"] = (200, {"base": "EUR", "rates": {"USD": 1.08}})
    key = f"key-{uuid.uuid4().hex}"
    api.put("/api/secrets/RATES_KEY", json={"value": key}, headers=owner)
    spec = {"name": "Rate lookup", "tool_name": "rate_lookup",
            "inputs": [{"name": "to", "type": "string", "required": True}],
            "steps": [{"id": "fetch", "type": "http_request", "url": f"{remote.url}/rates",
                       "query": {"to": "{{ inputs.to }}"},
                       "headers": {"Authorization": "Bearer {{ secrets.RATES_KEY }}"}}],
            "outputs": [{"name": "rate", "type": "number", "value": "{{ steps.fetch.json.rates[inputs.to] }}"}]}
    app_id, url = _app(api, owner, spec)
    result = await _call(url, "rate_lookup", {"to": "USD"})
    assert result.is_error is False, result.content
    assert result.structured_content == {"rate": 1.08}
    path, headers = remote.requests[0]
    assert path == "/rates?to=USD" and headers["authorization"] == f"Bearer {key}"
    assert key not in json.dumps(_last_run(api, owner, app_id))


async def test_http_request_to_a_loopback_name_outside_the_allow_list_is_refused(
        api: httpx.Client, owner: dict[str, str], remote: Any) -> None:
    spec = {"name": "Sneaky", "tool_name": "sneaky",
            "steps": [{"id": "fetch", "type": "http_request", "url": f"http://localhost:{remote.port}/x"}],
            "outputs": [{"name": "status", "type": "integer", "value": "{{ steps.fetch.status }}"}]}
    _, url = _app(api, owner, spec)
    result = await _call(url, "sneaky", {})
    assert result.is_error is True and "refusing to connect" in result.content[0].text
    assert remote.requests == []


def _callee(name: str) -> dict[str, Any]:
    return {"name": name, "inputs": [{"name": "word", "type": "string", "required": True}],
            "steps": [{"id": "shout", "type": "template", "template": "{{ inputs.word | upper }}!"}],
            "outputs": [{"name": "shouted", "type": "string", "value": "{{ steps.shout.text }}"}]}


def _caller(target: str, tool: str = "caller") -> dict[str, Any]:
    return {"name": f"Caller {uuid.uuid4().hex[:8]}", "tool_name": tool,
            "inputs": [{"name": "word", "type": "string", "required": True}],
            "steps": [{"id": "call", "type": "sub_app", "title": "call the other app", "app": target,
                       "inputs": {"word": "{{ inputs.word }}"}}],
            "outputs": [{"name": "result", "type": "string", "value": "{{ steps.call.outputs.shouted }}"}]}


async def test_sub_app_calls_a_published_app_of_the_same_owner_by_name_and_by_id(
        api: httpx.Client, owner: dict[str, str]) -> None:
    callee = f"Shout {uuid.uuid4().hex[:8]}"
    callee_id, _ = _app(api, owner, _callee(callee), enable=False)
    for target in (callee, str(callee_id)):
        app_id, url = _app(api, owner, _caller(target))
        progress: list[str] = []
        result = await _call(url, "caller", {"word": "hey"}, progress)
        assert result.is_error is False, result.content
        assert result.structured_content == {"result": "HEY!"}
        assert progress == ["step 1/1: call the other app"]
        assert _last_run(api, owner, app_id)["trace"][0]["output"] == {"outputs": {"shouted": "HEY!"}}


async def test_sub_app_refuses_unpublished_foreign_and_cyclic_targets(api: httpx.Client, owner: dict[str, str],
                                                                    stack: Stack) -> None:
    draft = f"Draft {uuid.uuid4().hex[:8]}"
    _app(api, owner, _callee(draft), publish=False, enable=False)
    _, url = _app(api, owner, _caller(draft))
    result = await _call(url, "caller", {"word": "a"})
    assert result.is_error is True and "not published" in result.content[0].text

    email = f"o{uuid.uuid4().hex[:10]}@example.com"
    api.post("/api/auth/signup", json={"email": email, "password": "long enough pw"})
    token = api.post("/api/auth/login", json={"email": email, "password": "long enough pw"}).json()["access_token"]
    foreign = f"Foreign {uuid.uuid4().hex[:8]}"
    _app(api, {"Authorization": f"Bearer {token}"}, _callee(foreign), enable=False)
    _, url = _app(api, owner, _caller(foreign))
    result = await _call(url, "caller", {"word": "a"})
    assert result.is_error is True and f"no app '{foreign}'" in result.content[0].text

    loop = _caller("placeholder", tool="looper")
    loop["steps"][0]["app"] = loop["name"]
    _, url = _app(api, owner, loop)
    result = await _call(url, "looper", {"word": "a"})
    assert result.is_error is True and "call cycle" in result.content[0].text


async def test_the_title_kit_example_calls_the_other_examples(stack: Stack) -> None:
    if stack.env.get("TOOLPRESS_LOAD_EXAMPLES") == "false":  # this stack starts empty: load what the kit calls
        for example in ("slugify.yaml", "text_stats.yaml", "title_kit.yaml"):
            app_id = stack.cli("apps", "import", str(EXAMPLES / example)).stdout.strip()
            stack.cli("apps", "publish", app_id)
    url = stack.cli("mcp", "enable", "Title Kit").stdout.strip()
    result = await _call(url, "title_kit", {"title": "Hello Big World"})
    assert result.is_error is False, result.content
    assert result.structured_content["slug"] == "hello-big-world"
    assert result.structured_content["words"] == 3


async def test_a_result_larger_than_an_event_on_redis_comes_back_whole(
        api: httpx.Client, owner: dict[str, str]) -> None:
    """Over 64 KB the end event leaves the outcome out on Redis (the API reads the row); in-process it carries it."""
    spec = {"name": "Big echo", "tool_name": "big_echo", "inputs": [{"name": "text", "type": "string", "required": True}],
            "steps": [{"id": "echo", "type": "template", "template": "{{ inputs.text }}"}],
            "outputs": [{"name": "text", "type": "string", "value": "{{ steps.echo.text }}"}]}
    app_id, url = _app(api, owner, spec)
    assert url is not None
    text = "".join(f"{i:07d} " for i in range(25_000))  # 200 KB, every part different
    result = await _call(url, "big_echo", {"text": text})
    assert not result.is_error
    assert result.structured_content == {"text": text}
    assert _last_run(api, owner, app_id)["status"] == "succeeded"
