"""JSON Schema (draft 2020-12) export of an app's inputs and outputs.

Decisions: ``text`` exports as ``{"type": "string", "x-multiline": true}`` (an annotation
keyword; validators ignore it, consoles can render a textarea). ``enum`` exports ``enum``
plus a ``type`` when every value shares one JSON type. ``array.items`` is a nested
type spec (same fields as an input, without name/required/default). ``file`` exports as
``{"type": "string", "format": "uri"}`` with a description saying it takes an https URL
or a ``data:`` URI and the size limit (see ``workflows.files``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

from workflows.content import CONTENT_TYPES, content_schema
from workflows.files import FILE_DESCRIPTION
from workflows.spec import AppSpec, ItemSpec

__all__ = ["SCHEMA_DIALECT", "field_schema", "input_schema", "input_validator", "output_schema", "output_validator",
           "type_definitions"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_JSON_TYPES = {"string": "string", "text": "string", "number": "number", "integer": "integer",
               "boolean": "boolean", "array": "array", "object": "object", "file": "string"}
_KEYWORDS = {
    "min_length": "minLength",
    "max_length": "maxLength",
    "pattern": "pattern",
    "format": "format",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusive_minimum": "exclusiveMinimum",
    "exclusive_maximum": "exclusiveMaximum",
    "multiple_of": "multipleOf",
    "min_items": "minItems",
    "max_items": "maxItems",
    "unique_items": "uniqueItems",
}


def _enum_type(values: list[Any]) -> str | None:
    if all(isinstance(v, str) for v in values):
        return "string"
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "number"
    return None


def field_schema(spec: ItemSpec, *, default: Any = None) -> dict[str, Any]:
    """Return the JSON Schema of one value type (an input field or array items); a named type is a `$ref`."""
    schema: dict[str, Any] = {}
    if spec.type not in _JSON_TYPES and spec.type != "enum":
        schema["$ref"] = f"#/$defs/{spec.type}"
        if spec.description:
            schema["description"] = spec.description
        if default is not None:
            schema["default"] = default
        return schema
    if spec.type == "enum":
        values = list(spec.values or [])
        inferred = _enum_type(values) if values else None
        if inferred:
            schema["type"] = inferred
        schema["enum"] = values
    else:
        schema["type"] = _JSON_TYPES[spec.type]
    if spec.type == "text":
        schema["x-multiline"] = True
    if spec.description:
        schema["description"] = spec.description
    if spec.type == "file":
        schema["format"] = "uri"
        schema["description"] = f"{spec.description.rstrip()} {FILE_DESCRIPTION}" if spec.description else FILE_DESCRIPTION
    for field, keyword in _KEYWORDS.items():
        value = getattr(spec, field)
        if value is not None:
            schema[keyword] = value
    if spec.items is not None:
        schema["items"] = field_schema(spec.items)
    if spec.properties is not None:
        schema["properties"] = dict(spec.properties)
    if default is not None:
        schema["default"] = default
    return schema


def type_definitions(spec: AppSpec) -> dict[str, Any]:
    """Return the app's named types as JSON Schema definitions (the input schema's `$defs`)."""
    return {name: field_schema(item) for name, item in spec.types.items()}


def input_schema(spec: AppSpec) -> dict[str, Any]:
    """Return the tool's input schema: one property per input, unknown arguments rejected."""
    schema: dict[str, Any] = {"$schema": SCHEMA_DIALECT, "type": "object"}
    if spec.types:
        schema["$defs"] = type_definitions(spec)
    schema["properties"] = {f.name: field_schema(f, default=f.default) for f in spec.inputs}
    schema["required"] = [f.name for f in spec.inputs if f.required]
    schema["additionalProperties"] = False
    return schema


def output_schema(spec: AppSpec) -> dict[str, Any]:
    """Return the tool's output schema: every declared output, always present."""
    properties: dict[str, Any] = {}
    for out in spec.outputs:
        prop: dict[str, Any] = content_schema(out.type) if out.type in CONTENT_TYPES else {"type": out.type}
        if out.description:
            prop["description"] = out.description
        properties[out.name] = prop
    return {
        "$schema": SCHEMA_DIALECT,
        "type": "object",
        "properties": properties,
        "required": [out.name for out in spec.outputs],
    }


# Compiled validators of live specs, by kind and spec identity: a parsed spec serves many calls, and building a
# validator (its schema, resolver and registry) cost more than validating a call's arguments with it.
_VALIDATORS: dict[tuple[str, int], tuple[weakref.ref[AppSpec], Draft202012Validator]] = {}


def _validator(kind: str, spec: AppSpec, build: Callable[[], Draft202012Validator]) -> Draft202012Validator:
    key = (kind, id(spec))
    found = _VALIDATORS.get(key)
    if found is not None and found[0]() is spec:
        return found[1]
    validator = build()
    # the entry goes with its spec (the callback runs before the spec's id can be another object's)
    _VALIDATORS[key] = (weakref.ref(spec, lambda _ref: _VALIDATORS.pop(key, None)), validator)
    return validator


def input_validator(spec: AppSpec) -> Draft202012Validator:
    """A validator of the tool's arguments (formats checked), built once per spec."""
    return _validator("input", spec, lambda: Draft202012Validator(
        input_schema(spec), format_checker=Draft202012Validator.FORMAT_CHECKER))


def output_validator(spec: AppSpec) -> Draft202012Validator:
    """A validator of the tool's outputs, built once per spec."""
    return _validator("output", spec, lambda: Draft202012Validator(output_schema(spec)))
