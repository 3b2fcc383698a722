"""Hostile templates end as failed runs that name the limit they hit, and nothing else on the server notices.

Some are refused by the template sandbox before the C call that would hold the interpreter for seconds
(a quadratic sum, huge integers); the others reach the limits the operating system enforces on the
sandbox process running them (memory, CPU time). Meanwhile /healthz and another app's calls answer,
the sandbox process that hit a limit is replaced, and the next call works.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import yaml
from mcp import Client

from support.apps import ApiUser
from support.sandbox import sandbox_pids
from support.stack import Stack, wait_until

HOSTILE = {
    "quadratic_sum": ("{{ (([[1]]*150000)|sum(start=[]))|length }}", None, "sum of 150000 lists would copy"),
    "huge_power": ("{% set x = (10**2000)**10000 %}{{ 1 }}", None, "more than the limit of 65536"),
    "squaring_loop": ("{% set ns = namespace(x=3) %}{% for i in range(64) %}{% set ns.x = ns.x * ns.x %}"
                      "{% endfor %}{{ ns.x > 0 }}", None, "more than the limit of 65536"),
    "memory_bomb": ("{% set ns = namespace(items=[]) %}{% for i in range(150) %}"
                    "{% set ns.items = ns.items + ['x' * 1000000] %}{% endfor %}{{ ns.items|length }}",
                    {"memory_mb": 64}, "used more than 64 MB of memory"),
    "cpu_burner": ("{% for i in range(400) %}{% set y = ('abc' * 300000)|sort|length %}{% endfor %}",
                   {"cpu_seconds": 1}, "used more than 1 s of CPU time"),
}


def _spec(name: str, template: str, limits: dict[str, Any] | None) -> str:
    doc: dict[str, Any] = {
        "name": f"{name} {uuid.uuid4().hex[:6]}",
        "tool_name": name,
        "inputs": [],
        "steps": [{"id": "attack", "type": "template", "template": template}],
        "outputs": [{"name": "text", "type": "string", "value": "{{ steps.attack.text }}"}],
    }
    if limits:
        doc["limits"] = limits
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.fixture(scope="module")
def apps(stack: Stack) -> Iterator[dict[str, Any]]:
    """One user with every hostile app and a benign one, published with their MCP servers on."""
    user = ApiUser(stack.base_url)
    specs = {name: _spec(name, template, limits) for name, (template, limits, _) in HOSTILE.items()}
    specs["echo"] = yaml.safe_dump({
        "name": f"Echo {uuid.uuid4().hex[:6]}", "tool_name": "echo",
        "inputs": [{"name": "text", "type": "string", "required": True}],
        "steps": [], "outputs": [{"name": "text", "type": "string", "value": "{{ inputs.text }}"}],
    })
    published = {name: user.publish(spec) for name, spec in specs.items()}
    try:
        yield {"user": user, "urls": {name: url for name, (_, url) in published.items()},
               "ids": {name: app_id for name, (app_id, _) in published.items()}}
    finally:
        user.close()


async def _call(url: str, tool: str, arguments: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    with anyio.fail_after(90):
        async with Client(url, mode="2026-07-28") as client:
            return await client.call_tool(tool, arguments or {})


class _Bystander:
    """Polls /healthz and calls the echo app over and over while an attack runs; records what it saw."""

    def __init__(self, stack: Stack, echo_url: str) -> None:
        self.stack, self.echo_url = stack, echo_url
        self.health: list[tuple[int, float]] = []
        self.echoes: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._poll_health), threading.Thread(target=self._call_echo)]

    def __enter__(self) -> _Bystander:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def _poll_health(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                status = client.get(f"{self.stack.base_url}/healthz").status_code
                self.health.append((status, time.monotonic() - started))
                self._stop.wait(0.05)

    def _call_echo(self) -> None:
        while not self._stop.is_set():
            result = anyio.run(_call, self.echo_url, "echo", {"text": "still here"})
            self.echoes.append(result.structured_content["text"] if not result.is_error else result.content[0].text)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_template_fails_naming_its_limit_while_the_server_keeps_serving(
    stack: Stack, apps: dict[str, Any], name: str
) -> None:
    before = sandbox_pids(stack)
    assert before, "no sandbox processes found"
    with _Bystander(stack, apps["urls"]["echo"]) as bystander:
        wait_until(lambda: len(bystander.echoes) >= 1, 60, "a first call of the benign app")
        result = anyio.run(_call, apps["urls"][name], name)
        seen = len(bystander.echoes)
        wait_until(lambda: len(bystander.echoes) > seen, 60, "a call of the benign app after the attack")

    assert result.is_error is True
    expected = HOSTILE[name][2]
    assert expected in result.content[0].text
    runs = apps["user"].runs(apps["ids"][name])
    assert runs[0]["status"] == "failed" and expected in runs[0]["error"]

    assert bystander.echoes and set(bystander.echoes) == {"still here"}
    assert bystander.health and all(status == 200 for status, _ in bystander.health)
    worst = max(seconds for _, seconds in bystander.health)
    print(f"\n{stack.name} {name}: worst /healthz {worst * 1000:.0f} ms over {len(bystander.health)} probes")

    if HOSTILE[name][1]:  # the process that hit an OS limit was killed and replaced
        wait_until(lambda: len(sandbox_pids(stack)) >= len(before), 30, "a replacement sandbox process")
        assert sandbox_pids(stack) != before
    again = anyio.run(_call, apps["urls"]["echo"], "echo", {"text": "after"})
    assert again.is_error is False and again.structured_content == {"text": "after"}
