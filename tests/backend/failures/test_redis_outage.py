"""Redis goes away for a while mid-run: every worker process lives on, the run ends, the next call works.

A worker holding an unacknowledged task when its Redis connection dropped used to exit ("Restoring 1
unacknowledged message(s)", then "Unrecoverable error: AttributeError(... 'hostname')"), and a progress
event that could not be published failed a run that was otherwise healthy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from support.stack import Stack, stop_stack

from .conftest import Gates, RedisServer, descendants, gated_spec, run_row, start_on_broker


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def gates() -> Iterator[Gates]:
    server = Gates("short", "long")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def outage_stack(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Iterator[Stack]:
    """Two workers on the test's own Redis, one of them running beat (its sweeps must survive too)."""
    stack = start_on_broker(tmp_path_factory.mktemp("outage"), redis_server.url)
    try:
        stack.start_worker(beat=True)
        yield stack
    finally:
        stop_stack(stack)


def _worker_pids(stack: Stack) -> set[int]:
    workers = [proc for proc in stack.processes if proc.args[1] == "worker"]
    assert all(proc.poll() is None for proc in workers), stack.logs()[-4000:]
    return {pid for proc in workers for pid in (proc.pid, *descendants(proc.pid))}


def _publish(stack: Stack, spec: str) -> tuple[str, str]:
    path = stack.workdir / f"gated-{time.monotonic_ns()}.yaml"
    path.write_text(spec)
    app_id = stack.cli("apps", "import", str(path)).stdout.strip()
    stack.cli("apps", "publish", app_id)
    return app_id, stack.cli("mcp", "enable", app_id).stdout.strip()


async def _call(url: str, tool: str, limit: float = 120):  # type: ignore[no-untyped-def]
    with anyio.fail_after(limit):
        async with Client(url, mode="legacy") as client:
            return await client.call_tool(tool, {})


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("gate", "outage_seconds"), [("short", 2.0), ("long", 30.0)])
def test_workers_survive_a_redis_outage_mid_run(
    outage_stack: Stack, redis_server: RedisServer, gates: Gates, gate: str, outage_seconds: float
) -> None:
    stack = outage_stack
    app_id, url = _publish(stack, gated_spec(gates.port, gate))
    before = _worker_pids(stack)
    outcome: dict[str, object] = {}
    caller = threading.Thread(target=lambda: outcome.update(result=anyio.run(_call, url, f"gated_{gate}")))
    caller.start()
    assert gates.arrived[gate].wait(60), "the run never reached its step"

    redis_server.kill()
    if outage_seconds < 5:
        # the step ends while Redis is down: its progress cannot be published, the run must still succeed
        gates.opened[gate].set()
    time.sleep(outage_seconds)  # the outage itself, not a wait for something to happen
    redis_server.start()
    gates.opened[gate].set()  # the long outage: the step ends after Redis is back (the late ack path)

    caller.join(150)
    assert not caller.is_alive(), "the interrupted call never returned"
    result = outcome["result"]
    assert result.is_error is False, result.content[0].text  # type: ignore[attr-defined]
    assert run_row(stack, app_id)["status"] == "succeeded"

    # nothing restarted: the same worker processes, and a new call is served by them
    assert _worker_pids(stack) == before
    after = anyio.run(_call, url, f"gated_{gate}")  # the gate is open now: the step returns at once
    assert after.is_error is False, after.content[0].text
    logs = stack.logs()
    assert "Unrecoverable error" not in logs and "'hostname'" not in logs
