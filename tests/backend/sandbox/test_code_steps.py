"""Code steps inside the sandbox pool: hostile code fails its step, and the same sandbox process serves the next run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from backend.sandbox import Hooks, Job, Limits, SandboxPool, SpecSource
from support.sandbox import sandbox_pids_of
from support.snoop import snoop_code

ROOMY = Limits(cpu_seconds=20, memory_mb=512, wall_seconds=30)
WORKER_SECRET = "worker-held-secret-41d7"


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    started = SandboxPool(capacity=1, memory_mb=512)
    started.start(warm=1)
    try:
        yield started
    finally:
        started.close()


def _spec(code: str, language: str = "python") -> dict[str, Any]:
    return {
        "name": "Code",
        "inputs": [{"name": "who", "type": "string", "default": "world"}],
        "steps": [
            {"id": "greet", "type": "template", "template": "hello {{ inputs.who }}"},
            {"id": "c", "type": "code", "language": language, "code": code, "cpu_seconds": 1, "memory_mb": 64},
        ],
        "outputs": [{"name": "text", "type": "string", "value": "{{ steps.c.result | string }}"}],
    }


def _run(pool: SandboxPool, code: str, language: str = "python") -> Any:
    job = Job(run_id="r", spec=SpecSource(None, lambda: _spec(code, language)), inputs={},
              secrets={"TOKEN": WORKER_SECRET}, http_allow=[], call_stack=["Code"], timeout=30)
    return pool.run(job, ROOMY, Hooks(on_progress=lambda *_: None, should_cancel=lambda: False,
                                      find_app=lambda ref: (_ for _ in ()).throw(LookupError(ref))))


FINE_PY = "def main(steps):\n    return steps['greet']['text']\n"


@pytest.mark.parametrize("language, code, message", [
    ("python", "def main():\n    while True:\n        pass\n", "more than its 1 s of CPU time"),
    ("javascript", "function main() { for (;;) {} }", "more than its 1 s of CPU time"),
    ("python", "def main():\n    return 'x' * 10**9\n", "more than its 64 MB of memory"),
    ("javascript", "function main() { const a = []; for (;;) a.push(new Array(1e6).fill(1)); }",
     "more than its 64 MB of memory"),
    ("python", "import os\ndef main():\n    return 1\n", "module 'os' is not available"),
    ("python", "import random\ndef main():\n    p = random._os.getppid()\n"
               "    return open(f'/proc/{p}/mem', 'rb').read(1)\n", "no file system"),
    ("python", "import random\ndef main():\n    p = random._os.getppid()\n"
               "    return random._os.open(f'/proc/{p}/environ', 0)\n", "refused by the sandbox"),
])
def test_hostile_code_fails_its_step_and_the_sandbox_process_serves_the_next_run(
        pool: SandboxPool, language: str, code: str, message: str) -> None:
    assert _run(pool, FINE_PY).outputs == {"text": "hello world"}
    before = sandbox_pids_of(os.getpid())
    outcome = _run(pool, code, language)
    assert outcome.status == "failed" and outcome.limit is None and not outcome.crashed
    assert message in (outcome.error or "") and "step 'c' (code) failed" in (outcome.error or "")
    assert sandbox_pids_of(os.getpid()) == before  # the run's process was not the one stopped
    assert _run(pool, FINE_PY).outputs == {"text": "hello world"}


def test_the_code_never_sees_the_secrets_its_sandbox_process_holds(pool: SandboxPool) -> None:
    code = snoop_code(("hello ", "world"), (WORKER_SECRET[:7], WORKER_SECRET[7:]))
    assert _run(pool, code).outputs == {"text": "[True, False]"}  # its own data, never the run's secret
