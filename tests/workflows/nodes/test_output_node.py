"""The output node (workflows/nodes/output.py)."""

from __future__ import annotations

from typing import Any

import pytest

from workflows import NodeError, ProgressEvent, SpecError, execute, spec_from_dict

OUTPUTS = [{"name": "label", "type": "string"}, {"name": "score", "type": "integer"},
           {"name": "tags", "type": "array", "value": "{{ ['default'] }}"}]


def _app(steps: list[dict[str, Any]], outputs: list[dict[str, Any]] | None = None) -> Any:
    return spec_from_dict({"name": "T", "inputs": [{"name": "n", "type": "integer", "default": 0}],
                           "steps": steps, "outputs": OUTPUTS if outputs is None else outputs})


def _out(step_id: str, label: str, score: str = "{{ inputs.n }}") -> dict[str, Any]:
    return {"id": step_id, "type": "output", "values": {"label": label, "score": score}}


def test_values_are_typed_and_undeclared_fall_back_to_the_declared_value() -> None:
    result = execute(_app([_out("done", "n={{ inputs.n }}", "{{ inputs.n * 2 }}")]), {"n": 4})
    assert result.outputs == {"label": "n=4", "score": 8, "tags": ["default"]}
    assert result.trace[0].output == {"outputs": result.outputs}


def test_an_output_step_in_a_branch_ends_the_run_early() -> None:
    app = _app([{"id": "route", "type": "condition", "branches": [
        {"when": "{{ inputs.n < 0 }}", "steps": [_out("negative", "negative", "0")]}]},
        {"id": "more", "type": "template", "template": "x"}, _out("done", "normal")])
    events: list[ProgressEvent] = []
    result = execute(app, {"n": -1}, on_progress=events.append)
    assert result.outputs["label"] == "negative"
    assert [(t.step_id, t.status) for t in result.trace] == [
        ("route", "succeeded"), ("negative", "succeeded"), ("more", "skipped"), ("done", "skipped")]
    assert [(e.done, e.total) for e in events] == [(1, 1), (2, 2)]
    assert execute(app, {"n": 1}).outputs["label"] == "normal"


def test_an_invalid_value_fails_the_output_step_naming_the_output() -> None:
    with pytest.raises(NodeError) as caught:
        execute(_app([_out("done", "x", "{{ 'many' }}")]), {})
    assert str(caught.value) == ("step 'done' (output) failed: output 'score' (integer): "
                                 "expected an integer, got 'many'")


def test_unknown_and_missing_outputs_are_rejected_at_load_time() -> None:
    with pytest.raises(SpecError) as caught:
        _app([{"id": "done", "type": "output", "values": {"label": "x", "nope": 1}}])
    assert [str(i) for i in caught.value.errors] == [
        "steps[0].values.nope (step 'done'): unknown output 'nope'; declared outputs: label, score, tags",
        "steps[0].values (step 'done'): missing a value for output 'score' (it declares no value of its own)"]


def test_steps_after_an_output_step_are_unreachable() -> None:
    with pytest.raises(SpecError) as caught:
        _app([_out("done", "x"), {"id": "late", "type": "template", "template": "x"}])
    assert [str(i) for i in caught.value.errors] == [
        "steps[1] (step 'late'): unreachable: step 'late' comes after the output step 'done', which ends the run"]


def test_outputs_without_value_need_a_top_level_output_step() -> None:
    with pytest.raises(SpecError) as caught:
        _app([{"id": "a", "type": "template", "template": "x"}])
    assert [i.path for i in caught.value.errors] == ["outputs[0].value", "outputs[1].value"]
