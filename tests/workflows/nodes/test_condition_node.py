"""The condition node (workflows/nodes/condition.py)."""

from __future__ import annotations

from typing import Any

import pytest

from workflows import ProgressEvent, SpecError, execute, spec_from_dict


def _t(step_id: str, text: str) -> dict[str, Any]:
    return {"id": step_id, "type": "template", "template": text}


def _app(condition: dict[str, Any], after: list[dict[str, Any]] | None = None) -> Any:
    return spec_from_dict({
        "name": "T", "inputs": [{"name": "n", "type": "integer", "default": 0}],
        "steps": [_t("first", "start"), {"id": "route", "type": "condition", **condition}, *(after or [])],
        "outputs": [{"name": "o", "type": "string", "value": "{{ steps.route.branch }}:{{ steps.route.result.text if steps.route.result else '' }}"}],
    })


ROUTE = {
    "branches": [
        {"when": "{{ inputs.n > 10 }}", "steps": [_t("big", "big"), _t("big2", "{{ steps.big.text }}!")]},
        {"when": "{{ inputs.n > 0 }}", "steps": [_t("small", "small {{ steps.first.text }}")]},
    ],
    "else": [_t("zero", "zero")],
}


@pytest.mark.parametrize(("n", "expected"), [(20, "if:big!"), (5, "elif 1:small start"), (0, "else:zero")])
def test_only_the_first_true_branch_runs(n: int, expected: str) -> None:
    assert execute(_app(ROUTE), {"n": n}).outputs == {"o": expected}


def test_untaken_branches_are_recorded_as_skipped_under_the_condition() -> None:
    trace = execute(_app(ROUTE), {"n": 5}).trace
    assert [(t.step_id, t.status, t.parent) for t in trace] == [
        ("first", "succeeded", None), ("route", "succeeded", None), ("small", "succeeded", "route"),
        ("big", "skipped", "route"), ("big2", "skipped", "route"), ("zero", "skipped", "route")]


def test_progress_total_grows_by_the_taken_branch_when_it_is_chosen() -> None:
    events: list[ProgressEvent] = []
    execute(_app(ROUTE, after=[_t("last", "x")]), {"n": 20}, on_progress=events.append)
    assert [(e.done, e.total, e.step_id) for e in events] == [
        (1, 3, "first"), (2, 5, "big"), (3, 5, "big2"), (4, 5, "route"), (5, 5, "last")]


def test_without_else_and_no_true_branch_nothing_runs() -> None:
    app = _app({"branches": [{"when": "{{ inputs.n > 10 }}", "steps": [_t("big", "big")]}]})
    result = execute(app, {"n": 1})
    assert result.outputs == {"o": "none:"}


def test_branch_steps_may_not_be_referenced_after_the_condition() -> None:
    with pytest.raises(SpecError) as caught:
        _app(ROUTE, after=[_t("later", "{{ steps.big.text }}")])
    assert [i.path for i in caught.value.errors] == ["steps[2].template"]
    assert "unknown step 'big'" in caught.value.errors[0].message


def test_when_must_be_a_single_expression() -> None:
    with pytest.raises(SpecError) as caught:
        _app({"branches": [{"when": "n is {{ inputs.n }}", "steps": []}]})
    assert [(i.path, i.step) for i in caught.value.errors] == [("steps[1].branches[0].when", "route")]


def test_constant_conditions_make_later_branches_unreachable() -> None:
    with pytest.raises(SpecError) as caught:
        _app({"branches": [{"when": "{{ false }}", "steps": []}, {"when": "{{ 1 < 2 }}", "steps": []},
                           {"when": "{{ inputs.n }}", "steps": []}], "else": [_t("e", "e")]})
    assert [(i.path, i.message) for i in caught.value.errors] == [
        ("steps[1].branches[0].when", "unreachable: this condition is always false"),
        ("steps[1].branches[2].when", "unreachable: branch elif 1 before it always runs"),
        ("steps[1].else", "unreachable: branch elif 1 always runs"),
    ]


def test_nested_steps_are_validated_with_their_own_path() -> None:
    with pytest.raises(SpecError) as caught:
        _app({"branches": [{"when": "{{ true }}", "steps": [_t("a", "{{ inputs.missing }}")]}]})
    [issue] = caught.value.errors
    assert (issue.path, issue.step) == ("steps[1].branches[0].steps[0].template", "a")


def test_duplicate_ids_across_nesting_levels_are_rejected() -> None:
    with pytest.raises(SpecError) as caught:
        _app({"branches": [{"when": "{{ inputs.n }}", "steps": [_t("first", "dup")]}]})
    assert [str(i) for i in caught.value.errors] == [
        "steps[1].branches[0].steps[0].id (step 'first'): duplicate step id 'first'"]
