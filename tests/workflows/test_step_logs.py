"""Step logs: the `log` step, the HTTP step's debug notices, scrubbing and the per-run cap."""

from __future__ import annotations

from typing import Any

import pytest

from workflows import LogEntry, SpecError, execute, spec_from_dict
from workflows.logs import MAX_LOGS_PER_RUN, at_least

from .conftest import LocalServer


def _spec(steps: list[dict[str, Any]], value: str = "done") -> Any:
    return spec_from_dict({"name": "Logs", "inputs": [{"name": "who", "type": "string", "default": "Ada"}],
                           "steps": steps, "outputs": [{"name": "text", "type": "string", "value": value}]})


def test_a_log_step_renders_its_message_and_hands_it_to_the_caller_and_the_trace() -> None:
    got: list[LogEntry] = []
    spec = _spec([{"id": "hello", "type": "log", "message": "hello {{ inputs.who }}", "level": "notice"}],
                 value="{{ steps.hello.message }} ({{ steps.hello.level }})")
    result = execute(spec, {"who": "Grace"}, on_log=got.append)
    assert got == [LogEntry("notice", "hello Grace", "hello")]
    assert result.outputs == {"text": "hello Grace (notice)"}
    assert result.trace[0].to_dict()["logs"] == [{"level": "notice", "message": "hello Grace"}]


def test_a_log_step_with_an_unknown_level_or_a_secret_is_refused_when_saved() -> None:
    with pytest.raises(SpecError, match="level"):
        _spec([{"id": "x", "type": "log", "message": "m", "level": "loud"}])
    with pytest.raises(SpecError, match=r"uses secrets\.KEY: a secret may only be sent"):
        _spec([{"id": "x", "type": "log", "message": "{{ secrets.KEY }}"}])


def test_the_http_step_notes_each_attempt_at_debug_with_its_secrets_masked(server: LocalServer) -> None:
    server.route("/flaky", lambda _r: (503, {}, b"busy"))
    server.route("/x/s3cr3t-path-token", {"ok": True})
    got: list[LogEntry] = []
    spec = _spec([
        {"id": "ok", "type": "http_request", "url": f"{server.url}/x/{{{{ secrets.PATH_TOKEN }}}}"},
        {"id": "flaky", "type": "http_request", "url": f"{server.url}/flaky", "retries": 1, "backoff": 0.01,
         "fail_on_status": False},
    ])
    result = execute(spec, {}, on_log=got.append, secrets={"PATH_TOKEN": "s3cr3t-path-token"}, http_allow=server.allow)
    assert [(e.step_id, e.level) for e in got] == [("ok", "debug"), ("flaky", "debug"), ("flaky", "debug")]
    assert got[0].message.startswith(f"GET {server.url}/x/[secret PATH_TOKEN]: HTTP 200 in ")
    assert "s3cr3t" not in repr(got) and "s3cr3t" not in repr([t.to_dict() for t in result.trace])
    assert got[1].message.endswith("(attempt 1 of 2)") and ": HTTP 503 in " in got[2].message


def test_a_run_that_logs_in_a_loop_is_cut_off_with_one_warning() -> None:
    got: list[LogEntry] = []
    spec = _spec([{"id": "each", "type": "map", "items": "{{ range(600) | list }}",
                   "steps": [{"id": "say", "type": "log", "message": "item {{ item }}"}]}])
    execute(spec, {}, on_log=got.append)
    assert len(got) == MAX_LOGS_PER_RUN + 1
    assert got[-1].level == "warning" and got[-1].message.startswith(f"more than {MAX_LOGS_PER_RUN} log messages")
    assert {e.level for e in got[:-1]} == {"info"}  # map items log in parallel: nothing reaches the caller after the warning


def test_levels_compare_by_severity() -> None:
    assert at_least("error", "warning") and at_least("warning", "warning") and not at_least("info", "notice")
