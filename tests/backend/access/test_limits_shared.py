"""Two API processes behind one Redis share one set of limits: a client cannot double its budget by
alternating between them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from support.access import bearer_client, new_token, new_user, publish, spec_yaml
from support.apps import slow_spec
from support.limits import LIMIT_EXCEEDED, admitted_within, running_call
from support.stack import Stack, start_production, stop_stack

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(300)]  # the module starts its own three-process stack


@pytest.fixture(scope="module")
def two_apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, list[str]]]:
    """PostgreSQL + Redis + a worker + two API processes; yields the stack and both base URLs."""
    stack = start_production(tmp_path_factory.mktemp("two-apis"), api_processes=2)
    try:
        ports = [m.group(1) for log in stack.log_files if (m := re.fullmatch(r"api-(\d+)\.log", Path(log).name))]
        assert len(ports) == 2
        yield stack, [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        stop_stack(stack)


def _on(base: str, url: str) -> str:
    """The same MCP path on another API process."""
    return base + "/" + url.split("/", 3)[3]


async def test_the_rate_limit_holds_across_two_api_processes(two_apis: tuple[Stack, list[str]]) -> None:
    stack, bases = two_apis
    with httpx.Client(base_url=stack.base_url, timeout=30) as api:
        owner = new_user(api)
        app_id, url = publish(api, owner, spec_yaml())
        assert api.put(f"/api/apps/{app_id}/mcp/limits", json={"calls_per_minute": 3}, headers=owner).status_code == 200
        outcomes = []
        for n in range(5):
            async with Client(_on(bases[n % 2], url), mode="2026-07-28") as client:
                try:
                    outcomes.append((await client.call_tool("word_report", {"text": "a b"})).is_error)
                except MCPError as exc:
                    assert exc.code == LIMIT_EXCEEDED and "3 calls per minute" in exc.message
                    outcomes.append("refused")
        assert outcomes == [False, False, False, "refused", "refused"]
        assert api.get("/api/runs", params={"app_id": app_id}, headers=owner).json()["count"] == 3


async def test_a_tokens_concurrency_limit_holds_across_two_api_processes(two_apis: tuple[Stack, list[str]]) -> None:
    stack, bases = two_apis
    with httpx.Client(base_url=stack.base_url, timeout=30) as api:
        owner = new_user(api)
        app_id, _ = publish(api, owner, slow_spec())
        token = new_token(api, owner, app_id, name="one-at-a-time", max_concurrent_runs=1)

    async with bearer_client(_on(bases[0], token["url"]), token["token"], mode="2026-07-28") as first:
        async with bearer_client(_on(bases[1], token["url"]), token["token"], mode="2026-07-28") as second:
            async with running_call(first, "slow"):
                with pytest.raises(MCPError) as refused:
                    await second.call_tool("slow", {})
            assert "the token 'one-at-a-time' allows 1 runs at a time" in refused.value.message
            assert await admitted_within(second, "slow", 30)
