"""The diagram of a spec: inputs, steps in order with branches and map bodies indented under them, outputs."""

from __future__ import annotations

import workflows
from workflows.diagram import diagram_of


def spec() -> workflows.AppSpec:
    return workflows.spec_from_dict({
        "name": "Triage",
        "inputs": [{"name": "title", "type": "string"}, {"name": "tags", "type": "array", "items": {"type": "string"}}],
        "steps": [
            {"id": "clean", "type": "template", "title": "clean the title", "template": "{{ inputs.title }}"},
            {"id": "route", "type": "condition", "branches": [
                {"when": "{{ 'bug' in inputs.title }}", "steps": [{"id": "bug", "type": "template", "template": "bug"}]},
            ], "else": [{"id": "other", "type": "template", "template": "other"}]},
            {"id": "each", "type": "map", "items": "{{ inputs.tags }}",
             "steps": [{"id": "upper", "type": "template", "template": "{{ item | upper }}"}]},
        ],
        "outputs": [{"name": "title", "type": "string", "value": "{{ steps.clean.text }}"}],
    })


def test_boxes_follow_the_spec_with_nested_steps_indented_under_their_step() -> None:
    diagram = diagram_of(spec())
    rows = [(box.kind, box.title, box.parent, box.x) for box in diagram.boxes]
    assert rows == [
        ("inputs", "Inputs", None, 8),
        ("step", "clean the title", None, 8),
        ("step", "route", None, 8),
        ("branch", "when {{ 'bug' in inputs.title }}", None, 32),
        ("step", "bug", "route", 32),
        ("branch", "else", None, 32),
        ("step", "other", "route", 32),
        ("step", "each", None, 8),
        ("branch", "each item", None, 32),
        ("step", "upper", "each[]", 32),
        ("outputs", "Outputs", None, 8),
    ]
    assert diagram.boxes[0].detail == "title, tags"
    assert diagram.boxes[7].detail.startswith("for each of")
    assert [box.anchor for box in diagram.boxes if box.step_id] == [
        "trace-clean", "trace-route", "trace-route-bug", "trace-route-other", "trace-each", "trace-each-each-upper"]
    assert {box.top_step for box in diagram.boxes if box.parent} == {"route", "each"}


def test_arrows_chain_the_top_level_and_enter_each_branch() -> None:
    diagram = diagram_of(spec())
    assert (0, 1) in diagram.arrows and (1, 2) in diagram.arrows and (2, 7) in diagram.arrows and (7, 10) in diagram.arrows
    assert {(2, 3), (3, 4), (2, 5), (5, 6), (7, 8), (8, 9)} <= set(diagram.arrows)
    assert all(box.y + box.height <= diagram.height and box.x + box.width <= diagram.width for box in diagram.boxes)
