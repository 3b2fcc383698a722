"""Named types: value types an app defines once (`types:`) and its inputs share, exported as `$defs`."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from workflows import InvalidInputs, SpecError, input_schema, spec_from_dict, validate_inputs

ADDRESS = {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}
CODE = {"type": "string", "pattern": "^[A-Z]{3}$", "description": "A three-letter code."}


def _spec(inputs: list[dict[str, Any]], types: dict[str, Any] | None = None) -> Any:
    return spec_from_dict({"name": "T", "types": types or {"address": ADDRESS, "code": CODE}, "inputs": inputs})


def _issues(inputs: list[dict[str, Any]], types: dict[str, Any] | None = None) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        _spec(inputs, types)
    return {issue.path: issue.message for issue in caught.value.errors}


def test_named_types_export_as_defs_and_refs() -> None:
    spec = _spec([
        {"name": "home", "type": "address", "description": "Where they live."},
        {"name": "codes", "type": "array", "items": {"type": "code"}},
    ])
    schema = input_schema(spec)
    Draft202012Validator.check_schema(schema)
    assert schema["$defs"]["address"] == ADDRESS
    assert schema["$defs"]["code"] == {"type": "string", "description": "A three-letter code.", "pattern": "^[A-Z]{3}$"}
    assert schema["properties"]["home"] == {"$ref": "#/$defs/address", "description": "Where they live."}
    assert schema["properties"]["codes"] == {"type": "array", "items": {"$ref": "#/$defs/code"}}


def test_arguments_are_checked_against_the_named_type() -> None:
    spec = _spec([{"name": "home", "type": "address"}, {"name": "codes", "type": "array", "items": {"type": "code"}}])
    assert validate_inputs(spec, {"home": {"city": "Oslo"}, "codes": ["OSL"]}) == {"home": {"city": "Oslo"}, "codes": ["OSL"]}
    with pytest.raises(InvalidInputs) as caught:
        validate_inputs(spec, {"home": {"city": 7}, "codes": ["oslo"]})
    assert {issue.path for issue in caught.value.errors} == {"home.city", "codes[0]"}


def test_a_default_must_fit_its_named_type() -> None:
    assert "default" in _issues([{"name": "c", "type": "code", "default": "toolong"}])["inputs[0].default"]
    assert _spec([{"name": "c", "type": "code", "default": "ABC"}]).inputs[0].default == "ABC"


def test_mistakes_with_named_types_are_reported_where_they_are() -> None:
    issues = _issues([{"name": "a", "type": "adress"}, {"name": "b", "type": "code", "max_length": 3}])
    assert "unknown type 'adress'" in issues["inputs[0].type"] and "address" in issues["inputs[0].type"]
    assert "takes its constraints from types.code" in issues["inputs[1].max_length"]

    issues = _issues([], types={"string": {"type": "string"}, "nested": {"type": "code"}, "doc": {"type": "file"},
                                "bad name": {"type": "string"}})
    assert "built-in type" in issues["types.string"]
    assert "not 'code'" in issues["types.nested.type"]
    assert "only allowed as a top-level input" in issues["types.doc.type"]
    assert "must start with a letter" in issues["types.bad name"]
