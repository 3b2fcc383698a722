"""The sandbox pool with real processes: runs come back, limits stop them from outside, the pool recovers."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import pytest

from backend.sandbox import Hooks, Job, Limits, SandboxPool, SpecSource, SubApp, SubAppNotFound
from support.sandbox import sandbox_pids_of

ROOMY = Limits(cpu_seconds=20, memory_mb=256, wall_seconds=30)


SERVER_SECRET = "TOOLPRESS_TEST_SANDBOX_SECRET"


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    os.environ[SERVER_SECRET] = "the server's own configuration"  # what sandbox processes must not inherit
    started = SandboxPool(capacity=2, memory_mb=256)
    started.start(warm=2)
    try:
        yield started
    finally:
        started.close()
        os.environ.pop(SERVER_SECRET, None)


def _spec(*templates: str, name: str = "T") -> dict[str, Any]:
    return {
        "name": name,
        "inputs": [{"name": "who", "type": "string", "default": "world"}],
        "steps": [{"id": f"s{i}", "type": "template", "template": t} for i, t in enumerate(templates)],
        "outputs": [{"name": "text", "type": "string", "value": "{{ steps.s%d.text }}" % (len(templates) - 1)}],
    }


def _job(spec: dict[str, Any], key: str | None = None, timeout: float | None = 30, **inputs: Any) -> Job:
    return Job(run_id="r", spec=SpecSource(key, lambda: spec), inputs=inputs, secrets={}, http_allow=[],
               call_stack=[spec["name"]], timeout=timeout)


def _hooks(progress: list[tuple[int, int, str | None]] | None = None, cancel: threading.Event | None = None,
           apps: dict[str, dict[str, Any]] | None = None) -> Hooks:
    def find_app(ref: str) -> SubApp:
        if apps is None or ref not in apps:
            raise SubAppNotFound(f"no app {ref!r}")
        return SubApp(name=ref, app_id=7, spec=SpecSource(f"sub-{ref}", lambda: apps[ref]))

    return Hooks(
        on_progress=lambda done, total, message: progress.append((done, total, message)) if progress is not None else None,
        should_cancel=cancel.is_set if cancel is not None else (lambda: False),
        find_app=find_app,
    )


def test_a_run_reports_progress_and_returns_its_outputs(pool: SandboxPool) -> None:
    progress: list[tuple[int, int, str | None]] = []
    outcome = pool.run(_job(_spec("a", "hello {{ inputs.who }}"), key="v1", who="Ada"), ROOMY, _hooks(progress))
    assert outcome.status == "succeeded" and outcome.outputs == {"text": "hello Ada"}
    # the step that completes the count comes with the outcome, not as a message of its own (sandbox.progress)
    assert [(done, total) for done, total, _ in progress] == [(1, 2)]
    assert outcome.progress is not None and outcome.progress[:2] == (2, 2)
    assert [step["step_id"] for step in outcome.trace or []] == ["s0", "s1"]
    again = pool.run(_job(_spec("a", "hello {{ inputs.who }}"), key="v1"), ROOMY, _hooks())  # the cached spec
    assert again.outputs == {"text": "hello world"}


def test_a_step_failure_comes_back_with_its_message_and_trace(pool: SandboxPool) -> None:
    outcome = pool.run(_job(_spec("{{ 1 // 0 }}")), ROOMY, _hooks())
    assert outcome.status == "failed" and outcome.limit is None and not outcome.crashed
    assert "step 's0' (template) failed: ZeroDivisionError" in (outcome.error or "")
    assert outcome.trace and outcome.trace[0]["status"] == "failed"


def test_sub_apps_run_in_the_same_process_and_a_missing_one_fails_the_step(pool: SandboxPool) -> None:
    apps = {"inner": _spec("inner says {{ inputs.who }}", name="inner")}
    calling = {
        "name": "outer", "inputs": [],
        "steps": [{"id": "call", "type": "sub_app", "app": "inner", "inputs": {"who": "outer"}}],
        "outputs": [{"name": "text", "type": "string", "value": "{{ steps.call.outputs.text }}"}],
    }
    assert pool.run(_job(calling), ROOMY, _hooks(apps=apps)).outputs == {"text": "inner says outer"}
    missing = pool.run(_job(calling), ROOMY, _hooks(apps={}))
    assert missing.status == "failed" and "no app 'inner'" in (missing.error or "")


CPU_BURNER = "{% for i in range(400) %}{% set y = ('abc' * 300000)|sort|length %}{% endfor %}"


def test_the_cpu_limit_stops_a_run_and_the_next_run_gets_a_fresh_process(pool: SandboxPool) -> None:
    outcome = pool.run(_job(_spec(CPU_BURNER)), Limits(cpu_seconds=1, memory_mb=256, wall_seconds=60), _hooks())
    assert (outcome.status, outcome.limit) == ("failed", "cpu")
    assert outcome.error == "the run used more than 1 s of CPU time and was stopped"
    assert pool.run(_job(_spec("fine")), ROOMY, _hooks()).outputs == {"text": "fine"}


def test_the_memory_limit_stops_a_run(pool: SandboxPool) -> None:
    bomb = ("{% set ns = namespace(items=[]) %}{% for i in range(150) %}"
            "{% set ns.items = ns.items + ['x' * 1000000] %}{% endfor %}{{ ns.items|length }}")
    outcome = pool.run(_job(_spec(bomb)), Limits(cpu_seconds=20, memory_mb=48, wall_seconds=60), _hooks())
    assert (outcome.status, outcome.limit) == ("failed", "memory")
    assert outcome.error == "the run used more than 48 MB of memory and was stopped"
    assert pool.run(_job(_spec("fine")), ROOMY, _hooks()).outputs == {"text": "fine"}


def test_the_wall_clock_limit_kills_a_run_the_engine_does_not_stop(pool: SandboxPool) -> None:
    """With no time limit of its own, the engine would run on: the supervisor's clock ends it."""
    outcome = pool.run(_job(_spec(CPU_BURNER), timeout=None), Limits(cpu_seconds=60, memory_mb=256, wall_seconds=0.5),
                       _hooks())
    assert (outcome.status, outcome.limit) == ("failed", "wall")
    assert outcome.error == "the run took longer than 0.5 s and was stopped"


def test_a_cancel_stops_a_run_inside_a_long_step(pool: SandboxPool) -> None:
    """The engine looks for a cancel between steps; a step that never ends is killed after a grace period."""
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    outcome = pool.run(_job(_spec(CPU_BURNER)), ROOMY, _hooks(cancel=cancel))
    # one step and no later cancel check: only the kill can end it as cancelled (it would otherwise succeed)
    assert outcome.status == "cancelled" and outcome.error == "cancelled by the caller"


def test_a_cancel_between_steps_ends_the_run_without_killing_it(pool: SandboxPool) -> None:
    """Many short steps: the engine sees the cancel between two of them and stops; the process is kept."""
    assert pool.run(_job(_spec("warm")), ROOMY, _hooks()).status == "succeeded"
    before = sandbox_pids_of(os.getpid())
    cancel = threading.Event()
    cancel.set()
    steps = ["{% for i in range(20000) %}{% endfor %}"] * 200
    outcome = pool.run(_job(_spec(*steps)), ROOMY, _hooks(cancel=cancel))
    assert outcome.status == "cancelled" and outcome.error == "cancelled by the caller"
    assert sandbox_pids_of(os.getpid()) == before  # stopped by the engine, not killed
    assert pool.run(_job(_spec("next")), ROOMY, _hooks()).outputs == {"text": "next"}


def test_sandbox_processes_keep_nothing_of_the_server_environment_and_run_at_a_lower_priority(pool: SandboxPool) -> None:
    assert pool.run(_job(_spec("warm")), ROOMY, _hooks()).status == "succeeded"
    processes = sandbox_pids_of(os.getpid())
    assert processes
    for pid in processes:
        environment = Path(f"/proc/{pid}/environ").read_bytes()
        assert SERVER_SECRET.encode() not in environment and b"the server's own" not in environment
        assert int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16]) > os.nice(0)


def test_processes_killed_while_idle_are_replaced_and_the_next_run_still_runs(pool: SandboxPool) -> None:
    assert pool.run(_job(_spec("warm")), ROOMY, _hooks()).status == "succeeded"
    idle = sandbox_pids_of(os.getpid())
    for pid in idle:
        os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    assert pool.run(_job(_spec("still here")), ROOMY, _hooks()).outputs == {"text": "still here"}
    assert not idle & sandbox_pids_of(os.getpid())
