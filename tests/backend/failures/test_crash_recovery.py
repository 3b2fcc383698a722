"""Nothing is left running after a crash, and no call waits for a worker that is not there.

`kill -9` of `toolpress serve` (embedded: the API, its worker and its sandbox processes go at once) or of a
`toolpress worker` mid-run: after a restart the runs it held end (failed as worker lost, or run again when
they never started or the app is idempotent) by the start-up sweep, with no leftover processes. With no
worker alive, /readyz names the workers and a call fails in seconds saying nothing was run.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client

from support.apps import ApiUser
from support.sandbox import sandbox_pids
from support.stack import REDIS_URL, Stack, start_embedded, stop_process, stop_stack, wait_until
from support.tasks_client import TaskHandle, Tasks

from .conftest import Gates, gated_spec, run_row, start_on_broker


def _start_task(url: str, tool: str) -> str:
    async def start() -> str:
        with anyio.fail_after(30):
            async with Client(url, mode="2026-07-28", extensions=[Tasks()]) as client:
                handle = await client.session.call_tool(tool, {}, allow_claimed=True)
        assert isinstance(handle, TaskHandle), handle
        return handle.task_id

    return anyio.run(start)


def _status(stack: Stack, app_id: int | str) -> str:
    return str(run_row(stack, str(app_id)).get("status"))


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.timeout(240)
def test_killing_serve_mid_run_leaves_nothing_running_after_a_restart(tmp_path: Path) -> None:
    """One worker slot: a run holds it at a gate and another waits in the (in-memory) queue; serve is killed."""
    gates = Gates("held", "queued")
    stack = start_embedded(tmp_path, worker_concurrency="1", load_examples="false")
    port = int(stack.base_url.rsplit(":", 1)[1])
    user = ApiUser(stack.base_url)
    try:
        held_id, held_url = user.publish(gated_spec(gates.port, "held", "held", tasks="always"))
        queued_id, queued_url = user.publish(gated_spec(gates.port, "queued", "queued", tasks="always"))
        _start_task(held_url, "held")
        assert gates.arrived["held"].wait(60)
        _start_task(queued_url, "queued")
        assert run_row(stack, str(queued_id))["status"] == "queued"
        sandboxes = sandbox_pids(stack)
        assert sandboxes

        server = next(iter(stack.api.values()))
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        wait_until(lambda: not any(map(_alive, sandboxes)), 15, "the killed server's sandbox processes to die with it")
        assert run_row(stack, str(held_id))["status"] == "running"  # what a crash leaves behind

        gates.opened["queued"].set()
        stack.start_api(port)  # the same data directory: the start-up sweep finds what the dead process held
        wait_until(lambda: run_row(stack, str(held_id))["status"] == "failed", 30, "the lost run to be ended")
        held = run_row(stack, str(held_id))
        assert "worker running this call was lost" in held["error"] and held["error"].count(held["id"]) == 0
        # the queued run never started: it is queued again on the new server's worker and runs
        wait_until(lambda: run_row(stack, str(queued_id))["status"] == "succeeded", 30, "the queued run to run")
        assert run_row(stack, str(queued_id))["worker"].startswith(f"embedded-{next(iter(stack.api.values())).pid}@")
    finally:
        user.close()
        gates.close()
        stop_stack(stack)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, ApiUser]]:
    """PostgreSQL + Redis, one API process; each test starts the worker(s) it needs (see _only_worker)."""
    stack = start_on_broker(tmp_path_factory.mktemp("crash"), REDIS_URL, TOOLPRESS_WORKER_LOST_AFTER_SECONDS="3")
    user = ApiUser(stack.base_url)
    try:
        yield stack, user
    finally:
        user.close()
        stop_stack(stack)


def _only_worker(stack: Stack, concurrency: int = 2, beat: bool = False) -> None:
    """Stop every live worker (cleanly) and start one."""
    for proc in [p for p in stack.processes if p.args[1] == "worker" and p.poll() is None]:
        stop_process(proc)
    stack.start_worker(concurrency=concurrency, beat=beat)


def _live_worker(stack: Stack):  # type: ignore[no-untyped-def]
    return next(p for p in stack.processes if p.args[1] == "worker" and p.poll() is None)


@pytest.mark.timeout(240)
def test_killing_a_worker_mid_run_ends_its_runs_when_a_worker_starts_again(production: tuple[Stack, ApiUser]) -> None:
    stack, user = production
    gates = Gates("plain", "again")
    try:
        plain_id, plain_url = user.publish(gated_spec(gates.port, "plain", "plain", tasks="always"))
        again_id, again_url = user.publish(
            gated_spec(gates.port, "again", "again", tasks="always", annotations={"idempotent": True}))
        _start_task(plain_url, "plain")
        _start_task(again_url, "again")
        wait_until(lambda: gates.arrived["plain"].is_set() and gates.arrived["again"].is_set(), 60, "both runs")
        worker = _live_worker(stack)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        assert _status(stack, plain_id) == "running" and _status(stack, again_id) == "running"

        gates.opened["again"].set()
        _only_worker(stack, beat=True)  # its start-up sweep: the dead worker's process is gone from this machine
        wait_until(lambda: _status(stack, plain_id) == "failed", 30, "the lost run to fail")
        assert "worker running this call was lost" in run_row(stack, str(plain_id))["error"]
        wait_until(lambda: _status(stack, again_id) == "succeeded", 30, "the idempotent run to run again")
        assert run_row(stack, str(again_id))["task_id"].endswith("-rerun")
    finally:
        gates.close()


def _call_error(url: str, tool: str) -> tuple[str, float]:
    async def call() -> tuple[str, float]:
        started = time.monotonic()
        with anyio.fail_after(60):
            async with Client(url, mode="legacy") as client:
                result = await client.call_tool(tool, {})
        assert result.is_error is True
        return result.content[0].text, time.monotonic() - started

    return anyio.run(call)


@pytest.mark.timeout(240)
def test_with_no_worker_alive_readiness_names_workers_and_calls_fail_at_once(production: tuple[Stack, ApiUser]) -> None:
    stack, user = production
    gates = Gates("open")
    gates.opened["open"].set()
    try:
        app_id, url = user.publish(gated_spec(gates.port, "open", "quick", tasks="never"))
        _only_worker(stack)
        assert httpx.get(f"{stack.base_url}/readyz", timeout=10).status_code == 200

        stop_process(_live_worker(stack))  # a clean stop deletes the worker's heartbeat row
        ready = httpx.get(f"{stack.base_url}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["failed"] == ["workers"]
        text, seconds = _call_error(url, "quick")
        assert "no worker is available; nothing was run" in text
        assert seconds < 20, f"the call took {seconds:.1f} s to fail"
        row = run_row(stack, str(app_id))
        assert row["status"] == "failed" and row["started_at"] is None

        stack.start_worker()
        wait_until(lambda: httpx.get(f"{stack.base_url}/readyz", timeout=10).status_code == 200, 30, "readiness")

        async def works() -> None:
            async with Client(url, mode="legacy") as client:
                assert (await client.call_tool("quick", {})).is_error is False

        anyio.run(works)
    finally:
        gates.close()


@pytest.mark.timeout(240)
def test_a_queued_call_fails_when_every_worker_dies_under_it(production: tuple[Stack, ApiUser]) -> None:
    """The only worker slot is held; a second call waits in the queue; the worker is killed: both calls end."""
    stack, user = production
    gates = Gates("busy", "after")
    try:
        _only_worker(stack, concurrency=1)
        busy_id, busy_url = user.publish(gated_spec(gates.port, "busy", "busy", tasks="never"))
        after_id, after_url = user.publish(gated_spec(gates.port, "after", "after", tasks="never"))
        outcome: dict[str, str] = {}

        async def both() -> None:
            async def one(url: str, tool: str) -> None:
                outcome[tool] = _text(await _plain_call(url, tool))

            async with anyio.create_task_group() as group:
                group.start_soon(one, busy_url, "busy")
                await anyio.to_thread.run_sync(gates.arrived["busy"].wait, 60)
                group.start_soon(one, after_url, "after")
                await anyio.to_thread.run_sync(
                    wait_until, lambda: _status(stack, after_id) == "queued", 30, "the second call to queue")
                os.kill(_live_worker(stack).pid, signal.SIGKILL)

        anyio.run(both)
        assert "worker running this call was lost" in outcome["busy"]
        assert "no worker is available; nothing was run" in outcome["after"]
        assert _status(stack, busy_id) == "failed" and _status(stack, after_id) == "failed"
    finally:
        gates.close()


async def _plain_call(url: str, tool: str):  # type: ignore[no-untyped-def]
    with anyio.fail_after(90):
        async with Client(url, mode="legacy") as client:
            return await client.call_tool(tool, {})


def _text(result) -> str:  # type: ignore[no-untyped-def]
    return result.content[0].text
