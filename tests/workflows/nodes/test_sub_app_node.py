"""The sub_app node (workflows/nodes/sub_app.py) with a fake host callback."""

from __future__ import annotations

from typing import Any

import pytest

from workflows import NodeError, execute, spec_from_dict, validate_inputs
from workflows.nodes import SubAppCall

APPS = {
    "double": spec_from_dict({"name": "Double", "inputs": [{"name": "n", "type": "integer", "required": True}],
                              "outputs": [{"name": "n", "type": "integer", "value": "{{ inputs.n * 2 }}"}]}),
    "loop": spec_from_dict({"name": "Loop", "inputs": [{"name": "n", "type": "integer"}], "steps": [
        {"id": "again", "type": "sub_app", "app": "loop", "inputs": {"n": "{{ inputs.n }}"}}]}),
}


def host(call: SubAppCall) -> dict[str, Any]:
    """A fake host: validates and runs the named spec, passing the call stack on, as the backend would."""
    calls.append(call)
    spec = APPS[call.app]
    return execute(spec, validate_inputs(spec, call.inputs), call_app=host, call_stack=call.call_stack,
                   should_cancel=call.should_cancel, timeout=call.timeout).outputs


calls: list[SubAppCall] = []


def _caller(app: str) -> Any:
    return spec_from_dict({"name": "Caller", "inputs": [{"name": "n", "type": "integer"}], "steps": [
        {"id": "call", "type": "sub_app", "app": app, "inputs": {"n": "{{ inputs.n + 1 }}"}}],
        "outputs": [{"name": "n", "type": "integer", "value": "{{ steps.call.outputs.n }}"}]})


def test_calls_the_host_with_resolved_inputs_and_the_call_stack() -> None:
    calls.clear()
    assert execute(_caller("double"), {"n": 4}, call_app=host, call_stack=("caller",)).outputs == {"n": 10}
    assert calls[0].inputs == {"n": 5} and calls[0].call_stack == ("caller", "double")


def test_a_cycle_is_refused_before_the_callback_runs_again() -> None:
    calls.clear()
    with pytest.raises(NodeError) as caught:
        execute(APPS["loop"], {"n": 1}, call_app=host, call_stack=("loop",))
    assert str(caught.value) == "step 'again' (sub_app) failed: call cycle: loop → loop"
    assert calls == []


def test_a_failing_sub_app_fails_the_step_with_its_message() -> None:
    bad = spec_from_dict({"name": "Bad", "steps": [
        {"id": "call", "type": "sub_app", "app": "double", "inputs": {"n": "seven"}}]})
    with pytest.raises(NodeError) as caught:
        execute(bad, {}, call_app=host)
    assert str(caught.value) == "step 'call' (sub_app) failed: app 'double' failed: n: 'seven' is not of type 'integer'"


def test_without_a_host_callback_the_step_says_so() -> None:
    with pytest.raises(NodeError, match="this host does not support calling other apps"):
        execute(_caller("double"), {"n": 1})
