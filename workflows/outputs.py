"""Evaluation and type coercion of an app's declared outputs."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any


from workflows.content import CONTENT_TYPES, MAX_CONTENT_TOTAL_BYTES, content_size, make_content
from workflows.errors import NodeFailure
from workflows.schema import output_validator
from workflows.spec import AppSpec, OutputField, OutputType
from workflows.templating import evaluate

__all__ = ["MAX_OUTPUTS_BYTES", "coerce", "evaluate_outputs", "finish_outputs"]

MAX_OUTPUTS_BYTES = 1_048_576
_INTEGER = re.compile(r"^[+-]?\d+$")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(value: Any, expected: str) -> NodeFailure:
    return NodeFailure(f"expected {expected}, got {_short(value)}")


def _to_number(value: Any, *, integer: bool) -> int | float:
    expected = "an integer" if integer else "a number"
    if isinstance(value, bool):
        raise _fail(value, expected)
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.match(text):
            return int(text)
        try:
            value = float(text)
        except ValueError:
            raise _fail(value, expected) from None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        if value.is_integer() and integer:
            return int(value)
        if not integer:
            return value
    raise _fail(value, expected)


def _to_json_container(value: Any, kind: type, expected: str) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _fail(value, expected) from None
    if kind is list and isinstance(value, tuple):
        value = list(value)
    if isinstance(value, kind):
        return value
    raise _fail(value, expected)


def coerce(value: Any, type_: OutputType) -> Any:
    """Coerce an evaluated value to a declared output type; raise NodeFailure if impossible."""
    if type_ == "string":
        if isinstance(value, str):
            return str(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        return json.dumps(value, ensure_ascii=False)
    if type_ in ("integer", "number"):
        return _to_number(value, integer=type_ == "integer")
    if type_ == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _fail(value, "a boolean (true or false)")
    if type_ == "array":
        return _to_json_container(value, list, "an array")
    return _to_json_container(value, dict, "an object")


def evaluate_outputs(spec: AppSpec, variables: Mapping[str, Any],
                     values: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Evaluate, coerce and validate every output; raise NodeFailure naming the output at fault.

    ``values`` (from an ``output`` step) override the declared ``value`` templates.
    """
    raw: dict[str, Any] = {}
    for out in spec.outputs:
        source = (values or {}).get(out.name, out.value)
        if source is None:
            raise NodeFailure(f"output '{out.name}' ({out.type}) has no value; declare one or set it "
                              "in an output step")
        try:
            raw[out.name] = evaluate(source, variables)
        except NodeFailure as exc:
            raise NodeFailure(f"output '{out.name}' ({out.type}): {exc.reason}") from None
    return finish_outputs(spec, raw)


def _finish_one(out: OutputField, value: Any) -> Any:
    """Coerce one value to its output's type (a content value for image, audio, file and resource)."""
    if out.type in CONTENT_TYPES:
        return make_content(value, out.type, name=out.name, mime_type=out.mime_type, uri=out.uri)
    return coerce(value, out.type)


def finish_outputs(spec: AppSpec, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Coerce evaluated values to the declared types, cap their size and validate the output schema.

    Content outputs (bytes) have their own caps (``workflows.content``); the rest share MAX_OUTPUTS_BYTES.
    """
    outputs: dict[str, Any] = {}
    for out in spec.outputs:
        try:
            outputs[out.name] = _finish_one(out, raw.get(out.name))
        except NodeFailure as exc:
            raise NodeFailure(f"output '{out.name}' ({out.type}): {exc.reason}") from None
        except (TypeError, ValueError) as exc:
            raise NodeFailure(f"output '{out.name}' ({out.type}): {exc}") from None
    contents = [out.name for out in spec.outputs if out.type in CONTENT_TYPES]
    if content_size(outputs, contents) > MAX_CONTENT_TOTAL_BYTES:
        raise NodeFailure(f"the image, audio, file and resource outputs together are larger than "
                          f"{MAX_CONTENT_TOTAL_BYTES} bytes")
    plain = {name: value for name, value in outputs.items() if name not in contents}
    try:
        text = json.dumps(plain, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise NodeFailure(f"outputs are not JSON-serialisable: {exc}") from None
    if len(text.encode()) > MAX_OUTPUTS_BYTES:
        raise NodeFailure(f"outputs are larger than {MAX_OUTPUTS_BYTES} bytes")
    outputs = {**outputs, **json.loads(text)}  # plain JSON types only (tuples, str subclasses normalised)
    error = next(iter(output_validator(spec).iter_errors(outputs)), None)
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(root)"
        raise NodeFailure(f"{where}: {error.message}")
    return outputs
