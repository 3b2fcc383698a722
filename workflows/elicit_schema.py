"""The small JSON Schema an ``ask`` step may request (MCP form elicitation), checked when the spec is saved.

MCP limits a requested schema to a flat object of primitive fields so any client can draw it as a form:
strings (optionally ``format`` email/uri/date/date-time, length bounds), numbers and integers (bounds),
booleans, single-select enums in the three forms the spec allows (``enum``; ``oneOf`` of ``const``/``title``
pairs, SEP-1330; the legacy ``enum`` + ``enumNames``), and multi-select arrays (``items`` with ``enum`` or
``anyOf`` of ``const``/``title``). Every field may carry ``title``, ``description`` and a ``default``
(SEP-1034), which must itself be valid. Anything else is refused with the field and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator

__all__ = ["answer_problem", "field_problems", "requested_schema"]

_COMMON = {"type", "title", "description", "default"}
_ALLOWED: dict[str, set[str]] = {
    "string": _COMMON | {"minLength", "maxLength", "format", "enum", "enumNames", "oneOf"},
    "number": _COMMON | {"minimum", "maximum"},
    "integer": _COMMON | {"minimum", "maximum"},
    "boolean": _COMMON,
    "array": _COMMON | {"items", "minItems", "maxItems"},
}
_FORMATS = {"email", "uri", "date", "date-time"}


def requested_schema(fields: Mapping[str, Any], required: Sequence[str]) -> dict[str, Any]:
    """The ``requestedSchema`` of an elicitation: an object of ``fields``."""
    schema: dict[str, Any] = {"type": "object", "properties": dict(fields)}
    if required:
        schema["required"] = list(required)
    return schema


def _titled(options: Any, key: str) -> str | None:
    if not isinstance(options, list) or not options:
        return f"{key} must be a non-empty list of {{const, title}} options"
    if not all(isinstance(o, dict) and isinstance(o.get("const"), str) and isinstance(o.get("title"), str)
               and set(o) <= {"const", "title"} for o in options):
        return f"each {key} option must be {{const: <string>, title: <string>}}"
    return None


def _string_list(values: Any, key: str) -> str | None:
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        return f"{key} must be a non-empty list of strings"
    return None


def _string_problem(prop: Mapping[str, Any]) -> str | None:
    if "format" in prop and prop["format"] not in _FORMATS:
        return f"format must be one of {', '.join(sorted(_FORMATS))}"
    if "oneOf" in prop and "enum" in prop:
        return "use either enum or oneOf, not both"
    if "oneOf" in prop:
        return _titled(prop["oneOf"], "oneOf")
    if "enumNames" in prop:
        if "enum" not in prop:
            return "enumNames needs enum"
        problem = _string_list(prop["enumNames"], "enumNames")
        if problem is None and len(prop["enumNames"]) != len(prop["enum"]):
            return "enumNames must have one title per enum value"
        if problem:
            return problem
    return _string_list(prop["enum"], "enum") if "enum" in prop else None


def _array_problem(prop: Mapping[str, Any]) -> str | None:
    items = prop.get("items")
    if not isinstance(items, dict):
        return "a multi-select field needs items: {type: string, enum: [...]} or {anyOf: [{const, title}, ...]}"
    if "anyOf" in items:
        return _titled(items["anyOf"], "items.anyOf") if set(items) <= {"anyOf"} else "items with anyOf take nothing else"
    if items.get("type") != "string" or set(items) - {"type", "enum"}:
        return "items must be {type: string, enum: [...]} or {anyOf: [{const, title}, ...]}"
    return _string_list(items.get("enum"), "items.enum")


def _field_problem(prop: Any) -> str | None:
    """Why one requested field is not allowed, or None."""
    if not isinstance(prop, dict):
        return "a field must be a mapping such as {type: string, description: ...}"
    kind = prop.get("type")
    if kind not in _ALLOWED:
        return f"type must be one of {', '.join(_ALLOWED)} (got {kind!r})"
    extra = sorted(set(prop) - _ALLOWED[kind])
    if extra:
        return f"{kind} fields cannot have {', '.join(extra)}"
    shape = _string_problem(prop) if kind == "string" else _array_problem(prop) if kind == "array" else None
    if shape:
        return shape
    if "default" in prop:
        error = next(iter(Draft202012Validator(_without_default(prop)).iter_errors(prop["default"])), None)
        if error is not None:
            return f"default {prop['default']!r} is not valid: {error.message}"
    return None


def _without_default(prop: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in prop.items() if key not in ("default", "enumNames")}


def field_problems(fields: Mapping[str, Any], required: Sequence[str]) -> list[tuple[str, str]]:
    """Problems of an ask step's ``fields`` and ``required`` as ``(path, message)`` pairs."""
    problems = [(f"fields.{name}", problem) for name, prop in fields.items() if (problem := _field_problem(prop))]
    problems += [("required", f"'{name}' is not one of the fields ({', '.join(fields) or 'none'})")
                 for name in required if name not in fields]
    return problems


def answer_problem(schema: Mapping[str, Any], content: Any) -> str | None:
    """Why an accepted answer does not fit the requested schema (first violation), or None."""
    checked = {**schema, "properties": {k: _without_default(v) for k, v in schema.get("properties", {}).items()}}
    error = next(iter(Draft202012Validator(checked).iter_errors(content)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(answer)"
    return f"the answer does not fit the question at {where}: {error.message}"
