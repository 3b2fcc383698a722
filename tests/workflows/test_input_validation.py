"""Argument validation (workflows/inputs.py)."""

from __future__ import annotations

from typing import Any

import pytest

from workflows import AppSpec, InputIssue, InvalidInputs, spec_from_dict, validate_inputs


@pytest.fixture
def weather() -> AppSpec:
    return spec_from_dict({
        "name": "Weather",
        "inputs": [
            {"name": "city", "type": "string", "required": True, "min_length": 1},
            {"name": "days", "type": "integer", "minimum": 1, "maximum": 14, "default": 3},
            {"name": "unit", "type": "enum", "values": ["celsius", "fahrenheit"], "default": "celsius"},
            {"name": "tags", "type": "array", "items": {"type": "string", "max_length": 3}},
            {"name": "email", "type": "string", "format": "email"},
        ],
    })


def _issues(spec: AppSpec, args: Any) -> list[InputIssue]:
    with pytest.raises(InvalidInputs) as caught:
        validate_inputs(spec, args)
    return caught.value.errors


def test_valid_arguments_come_back_with_defaults_filled_in(weather: AppSpec) -> None:
    args = {"city": "Oslo"}
    assert validate_inputs(weather, args) == {"city": "Oslo", "days": 3, "unit": "celsius"}
    assert args == {"city": "Oslo"}


def test_every_violation_is_reported_with_its_path(weather: AppSpec) -> None:
    issues = _issues(weather, {"days": 30, "unit": "kelvin", "tags": ["ok", "toolong"], "extra": 1})
    as_text = [str(issue) for issue in issues]
    assert "(root): 'city' is a required property" in as_text
    assert "days: 30 is greater than the maximum of 14" in as_text
    assert "unit: 'kelvin' is not one of ['celsius', 'fahrenheit']" in as_text
    assert any(line.startswith("tags[1]: 'toolong' is too long") for line in as_text)
    assert any(issue.path == "extra" and issue.message.startswith("unexpected argument") for issue in issues)
    assert len(issues) == 5


def test_invalid_inputs_str_lists_one_issue_per_line(weather: AppSpec) -> None:
    with pytest.raises(InvalidInputs) as caught:
        validate_inputs(weather, {"days": 0})
    lines = str(caught.value).splitlines()
    assert lines == ["(root): 'city' is a required property", "days: 0 is less than the minimum of 1"]


def test_each_unexpected_argument_is_its_own_issue(weather: AppSpec) -> None:
    issues = _issues(weather, {"city": "x", "a": 1, "b": 2})
    assert [issue.path for issue in issues] == ["a", "b"]
    assert "expected one of: city, days, unit, tags, email" in issues[0].message


def test_format_is_enforced(weather: AppSpec) -> None:
    issues = _issues(weather, {"city": "x", "email": "not-an-email"})
    assert [issue.path for issue in issues] == ["email"]


def test_wrong_types_are_reported(weather: AppSpec) -> None:
    issues = _issues(weather, {"city": 5, "days": True})
    assert [str(issue) for issue in issues] == ["city: 5 is not of type 'string'", "days: True is not of type 'integer'"]


def test_none_arguments_mean_no_arguments(weather: AppSpec) -> None:
    assert [str(i) for i in _issues(weather, None)] == ["(root): 'city' is a required property"]


def test_non_object_arguments_are_rejected(weather: AppSpec) -> None:
    assert [i.path for i in _issues(weather, ["Oslo"])] == ["(root)"]


def test_integral_float_for_an_integer_input_becomes_an_int(weather: AppSpec) -> None:
    result = validate_inputs(weather, {"city": "x", "days": 4.0})
    assert result["days"] == 4 and isinstance(result["days"], int)


def test_defaults_are_copied_not_shared() -> None:
    spec = spec_from_dict({"name": "T", "inputs": [{"name": "xs", "type": "array", "default": [1]}]})
    first = validate_inputs(spec, {})
    first["xs"].append(2)
    assert validate_inputs(spec, {})["xs"] == [1]
