"""Running apps (workflows/engine.py)."""

from __future__ import annotations

from typing import Any

import pytest

from workflows import AppSpec, NodeError, ProgressEvent, RunCancelled, execute, spec_from_dict


def _app(steps: list[dict[str, Any]], outputs: list[dict[str, Any]] | None = None,
         inputs: list[dict[str, Any]] | None = None) -> AppSpec:
    return spec_from_dict({"name": "T", "inputs": inputs or [{"name": "who", "type": "string"}],
                           "steps": steps, "outputs": outputs or []})


THREE = [
    {"id": "one", "type": "template", "title": "first", "template": "1"},
    {"id": "two", "type": "template", "template": "{{ steps.one.text }}2"},
    {"id": "three", "type": "template", "title": "last", "template": "{{ steps.two.text }}3"},
]


def test_three_steps_emit_three_progress_events_in_order() -> None:
    events: list[ProgressEvent] = []
    result = execute(_app(THREE, [{"name": "o", "type": "string", "value": "{{ steps.three.text }}"}]),
                     {}, on_progress=events.append)
    assert [(e.done, e.total, e.step_id) for e in events] == [(1, 3, "one"), (2, 3, "two"), (3, 3, "three")]
    assert [e.message for e in events] == ["step 1/3: first", "step 2/3: two", "step 3/3: last"]
    assert result.outputs == {"o": "123"}


def test_trace_records_each_step() -> None:
    result = execute(_app(THREE), {})
    assert [(t.step_id, t.type, t.status) for t in result.trace] == [
        ("one", "template", "succeeded"), ("two", "template", "succeeded"), ("three", "template", "succeeded")]
    first = result.trace[0]
    assert first.input == {"template": "1", "output": "text"}
    assert first.output == {"text": "1"} and first.error is None
    assert first.started_at is not None and first.ended_at is not None and first.duration_ms is not None
    assert result.to_dict()["trace"][0]["started_at"] == first.started_at.isoformat()


def test_cancellation_between_steps_stops_further_steps() -> None:
    events: list[ProgressEvent] = []
    with pytest.raises(RunCancelled) as caught:
        execute(_app(THREE), {}, on_progress=events.append, should_cancel=lambda: len(events) >= 1)
    assert [e.step_id for e in events] == ["one"]
    assert [(t.step_id, t.status) for t in caught.value.trace] == [
        ("one", "succeeded"), ("two", "skipped"), ("three", "skipped")]


def test_cancellation_before_the_first_step_runs_nothing() -> None:
    events: list[ProgressEvent] = []
    with pytest.raises(RunCancelled):
        execute(_app(THREE), {}, on_progress=events.append, should_cancel=lambda: True)
    assert events == []


def test_a_failing_step_raises_a_clean_node_error_with_the_partial_trace() -> None:
    steps = [{"id": "load", "type": "template", "output": "json", "template": '{"name": "Ada"}'},
             {"id": "summarize", "type": "template", "template": "{{ steps.load.json.nme }}"},
             {"id": "after", "type": "template", "template": "x"}]
    events: list[ProgressEvent] = []
    with pytest.raises(NodeError) as caught:
        execute(_app(steps), {}, on_progress=events.append)
    error = caught.value
    assert error.step_id == "summarize"
    assert str(error) == "step 'summarize' (template) failed: 'dict object' has no attribute 'nme'"
    assert "Traceback" not in str(error)
    assert [(t.step_id, t.status) for t in error.trace] == [
        ("load", "succeeded"), ("summarize", "failed"), ("after", "skipped")]
    assert error.trace[1].error == str(error)
    assert len(events) == 1


def test_runtime_errors_in_templates_become_node_errors() -> None:
    with pytest.raises(NodeError) as caught:
        execute(_app([{"id": "div", "type": "template", "template": "{{ 1 / 0 }}"}]), {})
    assert str(caught.value) == "step 'div' (template) failed: ZeroDivisionError: division by zero"


def test_optional_inputs_without_a_value_are_none_and_defaults_apply() -> None:
    app = _app([{"id": "a", "type": "template", "template": "{{ inputs.who or 'nobody' }}/{{ inputs.n }}"}],
               [{"name": "o", "type": "string", "value": "{{ steps.a.text }}"}],
               inputs=[{"name": "who", "type": "string"}, {"name": "n", "type": "integer", "default": 7}])
    assert execute(app, {}).outputs == {"o": "nobody/7"}


def test_context_is_visible_to_templates() -> None:
    app = _app([{"id": "a", "type": "template", "template": "{{ context.get('caller', '?') }}"}],
               [{"name": "o", "type": "string", "value": "{{ steps.a.text }}"}])
    assert execute(app, {}, context={"caller": "cursor"}).outputs == {"o": "cursor"}


def test_integer_output_from_text_is_coerced() -> None:
    app = _app([{"id": "a", "type": "template", "template": "42"}],
               [{"name": "n", "type": "integer", "value": "{{ steps.a.text }}"},
                {"name": "m", "type": "integer", "value": " {{ steps.a.text }}0 "}])
    assert execute(app, {}).outputs == {"n": 42, "m": 420}


def test_single_expression_outputs_keep_their_native_type() -> None:
    app = _app([{"id": "a", "type": "template", "output": "json", "template": '{"xs": [1, 2], "ok": true}'}],
               [{"name": "xs", "type": "array", "value": "{{ steps.a.json.xs }}"},
                {"name": "ok", "type": "boolean", "value": "{{ steps.a.json.ok }}"},
                {"name": "doc", "type": "object", "value": "{{ steps.a.json }}"},
                {"name": "s", "type": "string", "value": "{{ steps.a.json.xs }}"}])
    assert execute(app, {}).outputs == {"xs": [1, 2], "ok": True, "doc": {"xs": [1, 2], "ok": True},
                                        "s": "[1, 2]"}


def test_uncoercible_output_raises_a_node_error_for_outputs() -> None:
    app = _app([{"id": "a", "type": "template", "template": "many"}],
               [{"name": "n", "type": "integer", "value": "{{ steps.a.text }}"}])
    with pytest.raises(NodeError) as caught:
        execute(app, {})
    assert caught.value.step_id == "outputs"
    assert str(caught.value) == "outputs failed: output 'n' (integer): expected an integer, got 'many'"
    assert [t.status for t in caught.value.trace] == ["succeeded"]


def test_output_template_errors_raise_a_node_error_for_outputs() -> None:
    app = _app([{"id": "a", "type": "template", "template": "x"}],
               [{"name": "o", "type": "string", "value": "{{ steps.a.json }}"}])
    with pytest.raises(NodeError) as caught:
        execute(app, {})
    assert caught.value.step_id == "outputs" and "has no attribute 'json'" in str(caught.value)


def test_an_app_without_steps_can_still_compute_outputs() -> None:
    app = _app([], [{"name": "o", "type": "string", "value": "hi {{ inputs.who }}"}])
    assert execute(app, {"who": "Ada"}).outputs == {"o": "hi Ada"}
