"""Trace size limits, references checked at load time, and JSON-first attribute lookup."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workflows import SpecError, execute, spec_from_dict
from workflows.tracing import TRUNCATED_STEP_ID


def _app(steps: list[dict[str, Any]], **extra: Any) -> Any:
    return spec_from_dict({"name": "T", "inputs": [{"name": "n", "type": "integer", "default": 1}],
                           "steps": steps, **extra})


def test_oversized_step_payloads_are_replaced_by_a_marker() -> None:
    app = _app([{"id": "big", "type": "template", "template": "{{ 'x' * 50000 }}"},
                {"id": "small", "type": "template", "template": "ok"}])
    trace = execute(app, {}, trace_limit=10_000).trace
    assert trace[0].output is not None and trace[0].output["truncated"] is True
    assert trace[0].output["bytes"] > 50000 and len(trace[0].output["preview"]) == 200
    assert trace[1].output == {"text": "ok"}
    assert len(json.dumps([t.to_dict() for t in trace])) < 12_000


def test_too_many_entries_are_cut_with_a_closing_marker() -> None:
    steps = [{"id": f"s{i}", "type": "template", "template": "x"} for i in range(60)]
    trace = execute(_app(steps), {}, trace_limit=5_000).trace
    assert trace[-1].step_id == TRUNCATED_STEP_ID and trace[-1].error is not None
    assert trace[-1].error.startswith(f"{61 - len(trace)} more trace entries omitted")


def test_unknown_result_fields_of_a_step_are_rejected_at_load_time() -> None:
    with pytest.raises(SpecError) as caught:
        _app([{"id": "a", "type": "template", "template": "x"},
              {"id": "b", "type": "template", "template": "{{ steps.a.txt }}"}])
    assert [str(i) for i in caught.value.errors] == [
        "steps[1].template (step 'b'): line 1: step 'a' has no result field 'txt'; it returns text, json"]


def test_unknown_filters_and_tests_are_reported_not_raised() -> None:
    with pytest.raises(SpecError) as caught:
        _app([{"id": "a", "type": "template", "template": "{{ 'x' is frobbed }}"}])
    assert caught.value.errors[0].message == "line 1: No test named 'frobbed'."


def test_json_keys_win_over_dict_methods_in_references() -> None:
    app = _app([{"id": "a", "type": "template", "output": "json", "template": '{"items": [1, 2], "keys": "k"}'}],
               outputs=[{"name": "o", "type": "array", "value": "{{ steps.a.json.items }}"},
                        {"name": "k", "type": "string", "value": "{{ steps.a.json.keys }}"}])
    assert execute(app, {}).outputs == {"o": [1, 2], "k": "k"}


def test_single_references_keep_their_json_type_in_step_fields() -> None:
    app = _app([{"id": "t", "type": "transform", "expression": "`[1, 2, 3]`"},
                {"id": "each", "type": "map", "items": "{{ steps.t.value }}",
                 "steps": [{"id": "sq", "type": "transform", "expression": "item"}]}],
               outputs=[{"name": "o", "type": "array", "value": "{{ steps.each.items }}"}])
    assert execute(app, {}).outputs == {"o": [{"value": 1}, {"value": 2}, {"value": 3}]}


def test_spec_time_limit_and_step_time_limit_are_validated() -> None:
    with pytest.raises(SpecError) as caught:
        _app([{"id": "a", "type": "template", "template": "x", "time_limit": 0}], time_limit=-1)
    assert sorted(i.path for i in caught.value.errors) == ["steps[0].time_limit", "time_limit"]
