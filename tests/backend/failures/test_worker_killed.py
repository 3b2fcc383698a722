"""A worker SIGKILLed mid-run: the run is failed as "worker lost" within a bounded time, the client gets isError;
or, when the app is marked idempotent, the run is queued again once and the call gets its result.

How: the API process following the call notices the run has been quiet (no progress event) for
TOOLPRESS_WORKER_LOST_AFTER_SECONDS while the database says "running", asks the workers over Celery
remote control (`inspect().query_task`, twice) whether any of them holds the task, and when none does,
marks the run failed and ends the call. Bound: quiet period + about 2 s of probes + 1 s of polling.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import anyio
import httpx
import yaml
from mcp import Client

from backend.core.queue import RUN_APP_TASK
from backend.services.lost_runs import RERUN_TASK_SUFFIX
from support.stack import REDIS_URL, stop_stack, wait_until
from support.tasks_client import TaskHandle, Tasks

from .conftest import kill_tree, run_row, start_on_broker

STEPS = 60
LOST_AFTER = 3


def _slow_spec(path: Path, idempotent: bool = False, tasks: str = "auto") -> Path:
    steps = [
        {"id": f"s{i}", "type": "template", "template": "{% for i in range(900000) %}{% endfor %}" + str(i)}
        for i in range(STEPS)
    ]
    extra = {"annotations": {"idempotent": True}} if idempotent else {}
    path.write_text(yaml.safe_dump({
        **extra,
        "name": f"Slow {uuid.uuid4().hex[:6]}",
        "description": "Many slow steps.",
        "tasks": tasks,
        "tool_name": "slow",
        "inputs": [],
        "steps": steps,
        "outputs": [{"name": "last", "type": "string", "value": "{{ steps.s%d.text }}" % (STEPS - 1)}],
    }, sort_keys=False))
    return path


def test_killed_worker_fails_the_run_as_worker_lost(tmp_path: Path) -> None:
    stack = start_on_broker(tmp_path, REDIS_URL, TOOLPRESS_WORKER_LOST_AFTER_SECONDS=str(LOST_AFTER))
    try:
        app_id = stack.cli("apps", "import", str(_slow_spec(tmp_path / "slow.yaml"))).stdout.strip()
        stack.cli("apps", "publish", app_id)
        url = stack.cli("mcp", "enable", app_id).stdout.strip()
        worker = stack.processes[0]
        killed_at: list[float] = []

        async def call():  # type: ignore[no-untyped-def]
            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                if not killed_at and done >= 2:
                    kill_tree(worker.pid)
                    killed_at.append(time.monotonic())

            with anyio.fail_after(90):
                async with Client(url, mode="legacy") as client:
                    return await client.call_tool("slow", {}, progress_callback=on_progress)

        result = anyio.run(call)
        ended = time.monotonic()
        assert killed_at, "the run never reported progress"
        assert worker.wait(timeout=10) == -9
        assert result.is_error is True
        assert "worker running this call was lost" in result.content[0].text
        assert ended - killed_at[0] < LOST_AFTER + 15
        row = run_row(stack, app_id)
        assert row["status"] == "failed" and "worker" in row["error"] and row["ended_at"] is not None
        assert row["progress_done"] < STEPS
        body = httpx.get(f"{stack.base_url}/metrics", timeout=10).text
        assert f'toolpress_call_errors_total{{app_id="{app_id}"}} 1.0' in body
    finally:
        stop_stack(stack)


def test_a_task_nobody_polls_is_failed_by_the_beat_sweep_when_its_worker_dies(tmp_path: Path) -> None:
    """No caller follows a task: beat's sweep finds the run still "running", asks the workers, and fails it."""
    stack = start_on_broker(tmp_path, REDIS_URL, TOOLPRESS_WORKER_LOST_AFTER_SECONDS=str(LOST_AFTER),
                            TOOLPRESS_LOST_RUN_SWEEP_SECONDS="1")
    try:
        app_id = stack.cli("apps", "import", str(_slow_spec(tmp_path / "slow.yaml", tasks="always"))).stdout.strip()
        stack.cli("apps", "publish", app_id)
        url = stack.cli("mcp", "enable", app_id).stdout.strip()
        worker = stack.processes[0]

        async def start_task() -> TaskHandle:
            async with Client(url, mode="2026-07-28", extensions=[Tasks()]) as client:
                return await client.session.call_tool("slow", {}, allow_claimed=True)  # type: ignore[return-value]

        handle = anyio.run(start_task)  # the client goes away without ever polling
        assert isinstance(handle, TaskHandle)
        wait_until(lambda: (run_row(stack, app_id).get("progress_done") or 0) >= 2, 60, "the task's first steps")
        kill_tree(worker.pid)
        assert worker.wait(timeout=10) == -9
        killed_at = time.monotonic()
        stack.start_worker(concurrency=1, beat=True)  # a fresh worker, running beat
        wait_until(lambda: run_row(stack, app_id)["status"] != "running", LOST_AFTER + 45, "the sweep")
        row = run_row(stack, app_id)
        assert row["id"] == handle.task_id
        assert row["status"] == "failed" and "worker" in row["error"] and row["progress_done"] < STEPS
        assert time.monotonic() - killed_at < LOST_AFTER + 45
        assert "had lost their worker" in stack.logs()
    finally:
        stop_stack(stack)


def test_a_long_quiet_step_on_a_live_worker_is_not_mistaken_for_a_lost_worker(tmp_path: Path) -> None:
    """A step that sends no progress for several quiet periods finishes normally: the probe finds the task."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            time.sleep(3 * LOST_AFTER)
            body = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    stack = start_on_broker(
        tmp_path, REDIS_URL, TOOLPRESS_WORKER_LOST_AFTER_SECONDS="1", TOOLPRESS_HTTP_ALLOW=json.dumps([f"127.0.0.1:{port}"])
    )
    try:
        spec = tmp_path / "quiet.yaml"
        spec.write_text(yaml.safe_dump({
            "name": f"Quiet {uuid.uuid4().hex[:6]}",
            "description": "One slow HTTP step.",
            "tool_name": "quiet",
            "inputs": [],
            "steps": [{"id": "wait", "type": "http_request", "url": f"http://127.0.0.1:{port}/", "timeout": 60, "retries": 0}],
            "outputs": [{"name": "status", "type": "integer", "value": "{{ steps.wait.status }}"}],
        }, sort_keys=False))
        app_id = stack.cli("apps", "import", str(spec)).stdout.strip()
        stack.cli("apps", "publish", app_id)
        url = stack.cli("mcp", "enable", app_id).stdout.strip()

        async def call():  # type: ignore[no-untyped-def]
            with anyio.fail_after(60):
                async with Client(url, mode="legacy") as client:
                    return await client.call_tool("quiet", {})

        result = anyio.run(call)
        assert result.is_error is False, result.content[0].text
        assert result.structured_content == {"status": 200}
        assert run_row(stack, app_id)["status"] == "succeeded"
    finally:
        stop_stack(stack)
        server.shutdown()


def test_killed_worker_reruns_a_run_of_an_idempotent_app_once_and_the_call_gets_its_result(tmp_path: Path) -> None:
    """Stated outcome: the surviving worker runs it again from the start under a new task id; the client's
    progress never goes backwards; the call returns the result; the run row says succeeded."""
    stack = start_on_broker(tmp_path, REDIS_URL, workers=2, TOOLPRESS_WORKER_LOST_AFTER_SECONDS=str(LOST_AFTER))
    try:
        app_id = stack.cli("apps", "import", str(_slow_spec(tmp_path / "slow.yaml", idempotent=True))).stdout.strip()
        stack.cli("apps", "publish", app_id)
        url = stack.cli("mcp", "enable", app_id).stdout.strip()
        workers = list(zip(stack.processes[:2], stack.log_files[:2], strict=True))
        killed: list[int] = []
        progress: list[float] = []

        def holder() -> int:
            """Index of the worker that received the task (each worker logs the tasks it receives)."""
            held = [i for i, (_, log) in enumerate(workers) if f"Task {RUN_APP_TASK}[" in log.read_text(errors="replace")]
            assert len(held) == 1, held
            return held[0]

        async def call():  # type: ignore[no-untyped-def]
            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                progress.append(done)
                if not killed and done >= 2:
                    index = holder()
                    kill_tree(workers[index][0].pid)
                    killed.append(index)

            with anyio.fail_after(120):
                async with Client(url, mode="2026-07-28") as client:
                    return await client.call_tool("slow", {}, progress_callback=on_progress)

        result = anyio.run(call)
        assert killed, "the run never reported progress"
        assert workers[killed[0]][0].wait(timeout=10) == -9
        assert result.is_error is False, result.content[0].text
        assert result.structured_content == {"last": str(STEPS - 1)}
        assert progress == sorted(set(progress)) and progress[-1] == STEPS  # strictly increasing to the end
        row = run_row(stack, app_id)
        assert row["status"] == "succeeded" and row["error"] is None
        assert row["task_id"] == f"{row['id']}{RERUN_TASK_SUFFIX}"
        survivor_log = workers[1 - killed[0]][1].read_text(errors="replace")
        assert f"Task {RUN_APP_TASK}[{row['task_id']}] succeeded" in survivor_log
    finally:
        stop_stack(stack)
