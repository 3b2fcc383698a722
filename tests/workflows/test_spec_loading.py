"""Loading, validating and dumping specs (workflows/loader.py, spec.py, checks.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workflows import SpecError, SpecIssue, StepSpec, dump_spec, load_spec, spec_from_dict, spec_to_dict

BASE: dict[str, Any] = {
    "name": "T",
    "inputs": [{"name": "city", "type": "string", "required": True}],
    "steps": [{"id": "a", "type": "template", "template": "{{ inputs.city }}"}],
    "outputs": [{"name": "out", "type": "string", "value": "{{ steps.a.text }}"}],
}


def _issues(data: Any) -> list[SpecIssue]:
    with pytest.raises(SpecError) as caught:
        spec_from_dict(data)
    return caught.value.errors


def _paths(data: Any) -> list[str]:
    return [issue.path for issue in _issues(data)]


def _with(**changes: Any) -> dict[str, Any]:
    return {**json.loads(json.dumps(BASE)), **changes}


def _load_issues(text: str) -> list[SpecIssue]:
    with pytest.raises(SpecError) as caught:
        load_spec(text)
    return caught.value.errors


def test_yaml_and_json_texts_load_to_the_same_spec() -> None:
    assert load_spec(json.dumps(BASE)) == load_spec(dump_spec(spec_from_dict(BASE)))


def test_bad_yaml_is_reported_with_its_line() -> None:
    [issue] = _load_issues("name: T\ninputs:\n  - name: x\n   type: string\n")
    assert issue.path == "(document)" and "line 4" in issue.message


def test_non_mapping_documents_are_rejected() -> None:
    assert "got list" in _load_issues("- a\n- b\n")[0].message
    assert "empty document" in _load_issues("")[0].message


def test_oversized_documents_are_rejected() -> None:
    assert "larger than" in _load_issues("name: T\n# " + "x" * 1_100_000)[0].message


def test_alias_bombs_are_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
    [issue] = _load_issues("\n".join(lines) + "\nname: T\n")
    assert issue.path == "(document)" and "YAML nodes" in issue.message


def test_more_than_a_hundred_aliases_are_refused() -> None:
    text = "x: &x 1\nl: [" + ", ".join(["*x"] * 101) + "]\nname: T\n"
    assert "aliases" in _load_issues(text)[0].message


def test_non_json_yaml_values_are_rejected_with_a_hint() -> None:
    [issue] = _load_issues("name: T\ndescription: 2024-01-01\n")
    assert issue.path == "description" and "quote it" in issue.message


def test_structural_errors_name_their_paths() -> None:
    data = _with(inputs=[{"name": "x", "type": "string"}, {"type": "string"}], bogus=1)
    assert sorted(_paths(data)) == ["bogus", "inputs[1].name"]


def test_an_unknown_type_lists_the_known_ones() -> None:
    issues = _load_issues(json.dumps(_with(inputs=[{"name": "x", "type": "colour"}])))
    issue = next(i for i in issues if i.path == "inputs[0].type")
    assert "unknown type 'colour'" in issue.message and "string" in issue.message


def test_unknown_step_type_lists_the_known_types() -> None:
    data = _with(steps=[{"id": "a", "type": "http", "url": "x"}], outputs=[])
    [issue] = _issues(data)
    assert (issue.path, issue.step) == ("steps[0].type", "a")
    assert ("known types: ask, code, condition, http_request, llm, log, map, mcp_tool, output, sql, sub_app, template, "
            "transform") in issue.message


def test_step_config_is_validated_by_the_node_type() -> None:
    data = _with(steps=[{"id": "a", "type": "template", "templte": "x", "output": "xml"}], outputs=[])
    assert sorted(_paths(data)) == ["steps[0].output", "steps[0].template", "steps[0].templte"]


def test_template_syntax_errors_name_the_line() -> None:
    data = _with(steps=[{"id": "a", "type": "template", "template": "ok\n{% if %}"}], outputs=[])
    [issue] = _issues(data)
    assert issue.path == "steps[0].template" and "syntax error on line 2" in issue.message


def test_unknown_input_reference_is_an_issue() -> None:
    data = _with(steps=[{"id": "a", "type": "template", "template": "{{ inputs.cty }}"}], outputs=[])
    [issue] = _issues(data)
    assert issue.path == "steps[0].template" and "unknown input 'cty'" in issue.message
    assert "declared inputs: city" in issue.message


def test_reference_to_a_later_step_is_an_issue() -> None:
    steps = [{"id": "a", "type": "template", "template": "{{ steps.b.text }}"},
             {"id": "b", "type": "template", "template": "x"}]
    [issue] = _issues(_with(steps=steps, outputs=[]))
    assert (issue.path, issue.step) == ("steps[0].template", "a")
    assert "step 'b' runs later" in issue.message


def test_unknown_step_and_self_references_are_issues() -> None:
    steps = [{"id": "a", "type": "template", "template": "{{ steps['zz'].text }}{{ steps.a.text }}"}]
    messages = [i.message for i in _issues(_with(steps=steps, outputs=[]))]
    assert any("unknown step 'zz'" in m for m in messages)
    assert any("cannot refer to its own result" in m for m in messages)


def test_unknown_variables_are_issues() -> None:
    outputs = [{"name": "o", "type": "string", "value": "{{ city }}"}]
    [issue] = _issues(_with(outputs=outputs))
    assert issue.path == "outputs[0].value" and "unknown variable 'city'" in issue.message


def test_include_import_and_extends_are_refused() -> None:
    steps = [{"id": "a", "type": "template", "template": "{% include 'x' %}{% import 'y' as y %}"}]
    messages = [i.message for i in _issues(_with(steps=steps, outputs=[]))]
    assert messages == ["line 1: templates cannot include, import or extend other templates"]


def test_names_must_match_the_pattern_and_be_unique() -> None:
    data = _with(inputs=[{"name": "1x", "type": "string"}, {"name": "a", "type": "string"},
                         {"name": "a", "type": "string"}],
                 steps=[{"id": "s", "type": "template", "template": "x"},
                        {"id": "s", "type": "template", "template": "y"}],
                 outputs=[])
    assert sorted(_paths(data)) == ["inputs[0].name", "inputs[2].name", "steps[1].id"]


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ({"type": "string", "minimum": 1}, "inputs[1].minimum"),
        ({"type": "integer", "max_length": 1}, "inputs[1].max_length"),
        ({"type": "integer", "minimum": 5, "maximum": 1}, "inputs[1].minimum"),
        ({"type": "number", "exclusive_minimum": 1, "exclusive_maximum": 1}, "inputs[1].exclusive_minimum"),
        ({"type": "string", "min_length": 3, "max_length": 2}, "inputs[1].min_length"),
        ({"type": "array", "min_items": 3, "max_items": 2}, "inputs[1].min_items"),
        ({"type": "string", "pattern": "(unclosed"}, "inputs[1].pattern"),
        ({"type": "string", "format": "emial"}, "inputs[1].format"),
        ({"type": "number", "multiple_of": 0}, "inputs[1].multiple_of"),
        ({"type": "enum"}, "inputs[1].values"),
        ({"type": "enum", "values": ["a", "a"]}, "inputs[1].values[1]"),
        ({"type": "array", "items": {"type": "string", "minimum": 0}}, "inputs[1].items.minimum"),
        ({"type": "object", "properties": {"x": {"type": "colour"}}}, "inputs[1].properties"),
        ({"type": "integer", "minimum": "1"}, "inputs[1].minimum"),
        ({"type": "string", "max_length": -1}, "inputs[1].max_length"),
        ({"type": "integer", "maximum": 5, "default": 9}, "inputs[1].default"),
        ({"type": "enum", "values": ["a"], "default": "b"}, "inputs[1].default"),
        ({"type": "string", "required": True, "default": "x"}, "inputs[1].default"),
    ],
)
def test_bad_input_fields_are_reported_at_the_offending_key(field: dict[str, Any], path: str) -> None:
    data = _with(inputs=[BASE["inputs"][0], {"name": "f", **field}])
    assert _paths(data) == [path]


def test_non_numeric_bound_message_is_plain() -> None:
    data = _with(inputs=[{"name": "n", "type": "integer", "minimum": "1"}])
    assert [str(i) for i in _issues(data)] == ["inputs[0].minimum: must be a number"]


def test_bad_default_message_says_why() -> None:
    data = _with(inputs=[BASE["inputs"][0], {"name": "n", "type": "integer", "maximum": 5, "default": 9}])
    assert _issues(data)[0].message == "default 9 is greater than the maximum of 5"


def test_every_issue_is_collected_at_once() -> None:
    data = _with(inputs=[{"name": "city", "type": "string", "minimum": 1}],
                 steps=[{"id": "a", "type": "template", "template": "{{ inputs.nope }}"}],
                 outputs=[{"name": "o", "type": "string", "value": "{{ steps.zz.text }}"}])
    assert sorted(_paths(data)) == ["inputs[0].minimum", "outputs[0].value", "steps[0].template"]


def test_spec_error_str_lists_every_issue() -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_dict(_with(tool_name="bad name", bogus=1))
    assert "bogus: unknown field" in str(caught.value)


def test_invalid_tool_name_is_an_issue() -> None:
    assert _paths(_with(tool_name="has space")) == ["tool_name"]


def test_tool_name_is_derived_from_the_name_when_unset() -> None:
    assert spec_from_dict(_with(name="Text Stats!")).effective_tool_name == "text_stats"
    assert spec_from_dict(_with(name="42 things")).effective_tool_name == "app_42_things"
    assert spec_from_dict(_with(tool_name="mine")).effective_tool_name == "mine"


def test_step_fields_are_flat_in_yaml_and_grouped_in_config() -> None:
    step = StepSpec.model_validate({"id": "a", "type": "template", "template": "x", "output": "json"})
    assert step.config == {"template": "x", "output": "json"}
    assert step.model_dump(exclude_none=True) == {"id": "a", "type": "template", "template": "x", "output": "json"}


def test_spec_to_dict_is_json_safe_and_omits_none() -> None:
    data = spec_to_dict(spec_from_dict(BASE))
    assert json.loads(json.dumps(data)) == data
    assert "description" not in data and "tool_name" not in data
    assert data["steps"] == BASE["steps"]


def test_dump_spec_round_trips_and_omits_unset_fields() -> None:
    spec = spec_from_dict(_with(inputs=[{"name": "city", "type": "text", "required": True},
                                        {"name": "n", "type": "integer", "default": 0}]))
    text = dump_spec(spec)
    assert load_spec(text) == spec
    assert "null" not in text and "description" not in text
    assert text.startswith("name: T\n")


def test_multiline_templates_dump_as_block_scalars() -> None:
    spec = spec_from_dict(_with(steps=[{"id": "a", "type": "template", "template": "line 1\nline 2\n"}]))
    assert "template: |" in dump_spec(spec)
    assert load_spec(dump_spec(spec)) == spec


def test_a_single_value_loads_from_yaml_or_json_with_the_spec_guards() -> None:
    import pytest

    from workflows import SpecError, load_value

    assert load_value("words: steps.count.n\nlines: steps.count.l") == {"words": "steps.count.n", "lines": "steps.count.l"}
    assert load_value('{"a": 1}') == {"a": 1}
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, n in zip("abcdefgh", "bcdefghi"))
    with pytest.raises(SpecError):
        load_value(bomb)
