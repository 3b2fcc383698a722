"""The form in which a sandbox process sends a run's trace and outputs: plain JSON, as the dataclasses read."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from typing import Any

from backend.sandbox.child import _plain, _trace
from backend.sandbox.protocol import encode
from workflows import LogEntry, execute, spec_from_dict


def _as_read(value: Any) -> Any:
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) and not isinstance(value, type) else str(value)


def _reference(value: Any) -> Any:
    """What a value reads as: every dataclass (at any depth) as a dict of its fields, anything else JSON lacks as
    its text."""
    return json.loads(json.dumps(_as_read(value) if dataclasses.is_dataclass(value) else value, default=_as_read))


def _sent(value: Any) -> Any:
    """`value` as the supervisor reads it from an outcome message: one encoding, as the process sends it."""
    return json.loads(encode({"value": value}, default=_plain))["value"]


def test_a_trace_with_nested_steps_logs_and_timestamps_is_sent_as_its_fields() -> None:
    spec = spec_from_dict({
        "name": "Shapes", "inputs": [{"name": "who", "type": "string", "default": "Ada"}],
        "steps": [
            {"id": "hello", "type": "log", "message": "hello {{ inputs.who }}", "level": "notice"},
            {"id": "each", "type": "map", "items": "{{ [1, 2] }}",
             "steps": [{"id": "say", "type": "template", "template": "item {{ item }}"}]},
        ],
        "outputs": [{"name": "text", "type": "string", "value": "{{ steps.hello.message }}"}],
    })
    trace = execute(spec, {}).trace
    sent = _sent(_trace(trace))
    assert sent == [_reference(step) for step in trace]
    assert {step["step_id"] for step in sent} >= {"hello", "each", "say"}
    assert all(isinstance(step["started_at"], str) and isinstance(step["status"], str) for step in sent)
    assert next(step for step in sent if step["step_id"] == "hello")["logs"] == [{"level": "notice", "message": "hello Ada"}]


def test_values_inside_outputs_are_made_plain_the_same_way() -> None:
    when = datetime(2026, 12, 7, 1, 2, 3, tzinfo=timezone.utc)
    value = {"entry": LogEntry("info", "m", "s"), "at": when, "pair": (1, "two"), "nested": [{"deep": LogEntry("debug", "d", "x")}]}
    assert _sent(value) == _reference(value)
    assert _sent(value)["entry"] == {"level": "info", "message": "m", "step_id": "s"}
    assert _trace([]) is None
