"""Calls per minute and concurrent runs, per endpoint and per token; oversized bodies."""

from __future__ import annotations

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from support.access import bearer_client, new_token, new_user, publish, spec_yaml
from support.apps import slow_spec
from support.limits import LIMIT_EXCEEDED, admitted_within, running_call

pytestmark = pytest.mark.anyio


def _set_limits(api: httpx.Client, headers: dict[str, str], app_id: int, rate: int | None, concurrency: int | None) -> None:
    body = {"calls_per_minute": rate, "max_concurrent_runs": concurrency}
    answer = api.put(f"/api/apps/{app_id}/mcp/limits", json=body, headers=headers)
    assert answer.status_code == 200, answer.text


async def test_calls_over_the_endpoint_rate_are_refused_with_when_to_retry(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, url = publish(api, owner, spec_yaml())
    _set_limits(api, owner, app_id, 2, None)
    async with Client(url, mode="2026-07-28") as client:
        for _ in range(2):
            assert (await client.call_tool("word_report", {"text": "a"})).is_error is False
        with pytest.raises(MCPError) as refused:
            await client.call_tool("word_report", {"text": "a"})
    error = refused.value
    assert error.code == LIMIT_EXCEEDED
    assert "rate limit reached: this MCP server allows 2 calls per minute; retry in" in error.message
    assert error.data["limit"] == "calls_per_minute" and 0 < error.data["retry_after_seconds"] <= 60
    # nothing was queued for the refused call
    assert api.get("/api/runs", params={"app_id": app_id}, headers=owner).json()["count"] == 2


async def test_a_tokens_own_rate_applies_to_it_alone(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, url = publish(api, owner, spec_yaml())
    token = new_token(api, owner, app_id, name="tight", calls_per_minute=1)
    assert token["limits"]["effective_calls_per_minute"] == 1
    async with bearer_client(token["url"], token["token"], mode="2026-07-28") as client:
        assert (await client.call_tool("word_report", {"text": "a"})).is_error is False
        with pytest.raises(MCPError) as refused:
            await client.call_tool("word_report", {"text": "a"})
    assert "the token 'tight' allows 1 calls per minute" in refused.value.message
    async with Client(url, mode="2026-07-28") as client:  # the URL is not that token
        assert (await client.call_tool("word_report", {"text": "a"})).is_error is False


async def test_calls_over_the_concurrency_limit_are_refused_until_a_run_ends(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, url = publish(api, owner, slow_spec())
    _set_limits(api, owner, app_id, 0, 1)
    assert api.get(f"/api/apps/{app_id}/mcp/limits", headers=owner).json() == {
        "calls_per_minute": 0,
        "max_concurrent_runs": 1,
        "effective_calls_per_minute": 0,
        "effective_max_concurrent_runs": 1,
    }
    async with Client(url, mode="2026-07-28") as first, Client(url, mode="legacy") as second:
        async with running_call(first, "slow"):
            with pytest.raises(MCPError) as refused:
                await second.call_tool("slow", {})
        assert refused.value.code == LIMIT_EXCEEDED
        assert "concurrency limit reached: this MCP server allows 1 runs at a time" in refused.value.message
        assert refused.value.data["limit"] == "max_concurrent_runs"
        # the first call was dropped: its place frees up and the next call runs
        assert await admitted_within(second, "slow", 30)


async def test_null_limits_restore_the_defaults(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml())
    _set_limits(api, owner, app_id, 5, 2)
    _set_limits(api, owner, app_id, None, None)
    limits = api.get(f"/api/apps/{app_id}/mcp/limits", headers=owner).json()
    assert (limits["calls_per_minute"], limits["max_concurrent_runs"]) == (None, None)
    assert (limits["effective_calls_per_minute"], limits["effective_max_concurrent_runs"]) == (120, 10)
    bad = api.put(f"/api/apps/{app_id}/mcp/limits", json={"calls_per_minute": -1}, headers=owner)
    assert bad.status_code == 422


def test_an_oversized_body_gets_413_with_the_limit_named(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, url = publish(api, owner, spec_yaml())
    token = new_token(api, owner, app_id)
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

    def chunks():  # no Content-Length: the limit must hold while reading
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    answers = [
        httpx.post(url, content=body, headers=headers, timeout=30),
        httpx.post(url, content=chunks(), headers=headers, timeout=30),
        httpx.post(token["url"], content=body, headers={**headers, "Authorization": f"Bearer {token['token']}"}, timeout=30),
    ]
    for answer in answers:
        assert answer.status_code == 413
        assert "at most 1048576 bytes" in answer.json()["error"]["message"]
