"""Schema export (workflows/schema.py)."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from workflows import input_schema, output_schema, spec_from_dict


def _spec(*inputs: dict[str, Any], outputs: list[dict[str, Any]] | None = None) -> Any:
    return spec_from_dict({"name": "T", "inputs": list(inputs), "outputs": outputs or []})


def _prop(field: dict[str, Any]) -> dict[str, Any]:
    prop: dict[str, Any] = input_schema(_spec(field))["properties"][field["name"]]
    return prop


def test_input_schema_is_a_closed_draft_2020_12_object() -> None:
    schema = input_schema(_spec({"name": "a", "type": "string", "required": True}, {"name": "b", "type": "boolean"}))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["required"] == ["a"]
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == ["a", "b"]
    Draft202012Validator.check_schema(schema)


def test_empty_app_exports_an_object_schema_with_no_properties() -> None:
    schema = input_schema(_spec())
    assert schema["properties"] == {} and schema["required"] == []


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ({"type": "string", "min_length": 1, "max_length": 5, "pattern": "^a", "format": "email"},
         {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "^a", "format": "email"}),
        ({"type": "text", "max_length": 10}, {"type": "string", "x-multiline": True, "maxLength": 10}),
        ({"type": "number", "minimum": 0.5, "maximum": 9, "multiple_of": 0.5},
         {"type": "number", "minimum": 0.5, "maximum": 9, "multipleOf": 0.5}),
        ({"type": "integer", "exclusive_minimum": 0, "exclusive_maximum": 10},
         {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}),
        ({"type": "boolean"}, {"type": "boolean"}),
        ({"type": "enum", "values": ["a", "b"]}, {"type": "string", "enum": ["a", "b"]}),
        ({"type": "enum", "values": [1, 2]}, {"type": "integer", "enum": [1, 2]}),
        ({"type": "enum", "values": ["a", 1]}, {"enum": ["a", 1]}),
        ({"type": "array", "items": {"type": "integer", "minimum": 0}, "min_items": 1, "max_items": 3,
          "unique_items": True},
         {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1, "maxItems": 3,
          "uniqueItems": True}),
        ({"type": "array"}, {"type": "array"}),
        ({"type": "object", "properties": {"x": {"type": "number"}}},
         {"type": "object", "properties": {"x": {"type": "number"}}}),
    ],
)
def test_each_type_and_constraint_exports_its_camel_case_keyword(field: dict[str, Any], expected: dict[str, Any]) -> None:
    assert _prop({"name": "f", **field}) == expected


def test_description_and_default_are_exported() -> None:
    prop = _prop({"name": "days", "type": "integer", "description": "How many days.", "default": 3})
    assert prop == {"type": "integer", "description": "How many days.", "default": 3}


def test_output_schema_lists_every_output_as_required_with_its_type() -> None:
    spec = _spec(outputs=[{"name": "n", "type": "integer", "value": "{{ 1 }}", "description": "A count."},
                          {"name": "s", "type": "string", "value": "x"}])
    assert output_schema(spec) == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"n": {"type": "integer", "description": "A count."}, "s": {"type": "string"}},
        "required": ["n", "s"],
    }
