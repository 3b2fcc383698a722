"""The transform node (workflows/nodes/transform.py)."""

from __future__ import annotations

from typing import Any

import pytest

from workflows import NodeError, SpecError, execute, spec_from_dict
from workflows.nodes import NodeContext, TransformConfig, TransformNode


def _app(steps: list[dict[str, Any]], outputs: list[dict[str, Any]] | None = None) -> Any:
    return spec_from_dict({"name": "T", "inputs": [{"name": "xs", "type": "array"}], "steps": steps,
                           "outputs": outputs or []})


def test_an_expression_reads_inputs_and_keeps_json_types() -> None:
    ctx = NodeContext(step_id="t", inputs={"xs": [3, 1, 2]}, steps={})
    assert TransformNode().run(TransformConfig(expression="sort(inputs.xs)"), ctx) == {"value": [1, 2, 3]}


def test_named_fields_each_get_their_result() -> None:
    ctx = NodeContext(step_id="t", inputs={}, steps={"f": {"json": {"items": [
        {"state": "open", "n": 1}, {"state": "closed", "n": 2}, {"state": "open", "n": 3}]}}})
    config = TransformConfig(fields={"open": "steps.f.json.items[?state=='open'].n", "count": "length(steps.f.json.items)"})
    assert TransformNode().run(config, ctx) == {"open": [1, 3], "count": 3}


def test_exactly_one_of_expression_and_fields_is_required() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TransformConfig()
    with pytest.raises(ValueError, match="exactly one"):
        TransformConfig(expression="a", fields={"b": "b"})


def test_a_syntax_error_is_reported_at_load_time_naming_the_field() -> None:
    with pytest.raises(SpecError) as caught:
        _app([{"id": "t", "type": "transform", "fields": {"bad": "items[?"}}])
    [issue] = caught.value.errors
    assert (issue.path, issue.step) == ("steps[0].fields.bad", "t")
    assert issue.message.startswith("invalid JMESPath expression")


def test_unknown_inputs_and_later_steps_are_rejected_at_load_time() -> None:
    with pytest.raises(SpecError) as caught:
        _app([{"id": "t", "type": "transform", "expression": "inputs.nope"},
              {"id": "u", "type": "transform", "expression": "steps.v.value"},
              {"id": "v", "type": "transform", "expression": "steps.t.value"}])
    messages = [str(issue) for issue in caught.value.errors]
    assert messages == [
        "steps[0].expression (step 't'): unknown input 'nope'; declared inputs: xs",
        "steps[1] (step 'u'): step 'v' runs later; a step can only use earlier steps (t)",
    ]


def test_a_runtime_type_error_fails_the_step_clearly() -> None:
    app = _app([{"id": "t", "type": "transform", "expression": "sum(inputs.xs)"}])
    with pytest.raises(NodeError) as caught:
        execute(app, {"xs": ["a"]})
    assert str(caught.value).startswith("step 't' (transform) failed: JMESPath 'sum(inputs.xs)' failed: ")


def test_transform_results_feed_outputs_with_their_types() -> None:
    app = _app([{"id": "t", "type": "transform", "expression": "max(inputs.xs)"}],
               [{"name": "top", "type": "integer", "value": "{{ steps.t.value }}"}])
    assert execute(app, {"xs": [4, 9, 2]}).outputs == {"top": 9}
