"""The map node (workflows/nodes/map.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from workflows import NodeError, ProgressEvent, SpecError, execute, spec_from_dict


def _app(map_step: dict[str, Any], input_type: str = "array") -> Any:
    return spec_from_dict({
        "name": "T", "inputs": [{"name": "xs", "type": input_type}],
        "steps": [{"id": "each", "type": "map", "items": "{{ inputs.xs }}", **map_step}],
        "outputs": [{"name": "o", "type": "array", "value": "{{ steps.each.items }}"}],
    })


DOUBLE = {"steps": [{"id": "double", "type": "transform", "expression": "abs(item)"}]}
TEXT = {"steps": [{"id": "label", "type": "template", "template": "{{ index }}:{{ item }}"}]}


def test_each_item_runs_the_steps_and_results_keep_order() -> None:
    assert execute(_app(TEXT), {"xs": ["a", "b", "c"]}).outputs == {"o": [{"text": "0:a"}, {"text": "1:b"},
                                                                          {"text": "2:c"}]}


def test_progress_counts_items() -> None:
    events: list[ProgressEvent] = []
    execute(_app({**TEXT, "concurrency": 1}), {"xs": [1, 2, 3]}, on_progress=events.append)
    assert [(e.done, e.total) for e in events] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert events[0].message == "step 1/4: each item 1/3" and events[-1].step_id == "each"


def test_items_run_concurrently_up_to_the_bound() -> None:
    running, peak, lock = [0], [0], threading.Lock()
    barrier = threading.Barrier(3, timeout=5)

    def fake_app(call: Any) -> dict[str, Any]:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        with lock:
            running[0] -= 1
        return {"ok": True}

    app = _app({"concurrency": 3, "steps": [{"id": "call", "type": "sub_app", "app": "x",
                                             "inputs": {"v": "{{ item }}"}}]})
    result = execute(app, {"xs": list(range(6))}, call_app=fake_app)
    assert len(result.outputs["o"]) == 6 and peak[0] == 3


def test_per_item_traces_name_their_item() -> None:
    trace = execute(_app(TEXT), {"xs": ["a", "b"]}).trace
    assert [(t.step_id, t.parent) for t in trace] == [("each", None), ("label", "each[0]"), ("label", "each[1]")]


def test_a_failing_item_fails_the_map_naming_the_item() -> None:
    with pytest.raises(NodeError) as caught:
        execute(_app({**DOUBLE, "concurrency": 1}), {"xs": [1, "x", 3]})
    assert caught.value.step_id == "each"
    assert str(caught.value).startswith("step 'each' (map) failed: item 1: step 'double' (transform) failed:")


def test_items_must_be_a_list_at_run_time_and_an_array_input_at_load_time() -> None:
    with pytest.raises(SpecError) as caught:
        _app(TEXT, input_type="string")
    assert [str(i) for i in caught.value.errors] == [
        "steps[0].items (step 'each'): input 'xs' is of type string, but 'items' needs array"]
    app = spec_from_dict({"name": "T", "steps": [{"id": "each", "type": "map", "items": "{{ 'abc' }}", **TEXT}]})
    with pytest.raises(NodeError, match="'items' must be a list, got str"):
        execute(app, {})


def test_max_items_bounds_the_list() -> None:
    with pytest.raises(NodeError, match="more than max_items"):
        execute(_app({**TEXT, "max_items": 2}), {"xs": [1, 2, 3]})


def test_item_and_index_are_only_known_inside_the_map() -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_dict({"name": "T", "steps": [{"id": "a", "type": "template", "template": "{{ item }}"}]})
    assert "unknown variable 'item'" in caught.value.errors[0].message


def test_an_output_step_inside_a_map_is_rejected() -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_dict({"name": "T", "outputs": [{"name": "o", "type": "string", "value": "x"}], "steps": [
            {"id": "each", "type": "map", "items": "{{ [1] }}",
             "steps": [{"id": "out", "type": "output", "values": {"o": "y"}}]}]})
    assert [i.path for i in caught.value.errors] == ["steps[0].steps[0].type"]
