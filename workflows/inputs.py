"""Validation of call arguments against an app's input schema."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from jsonschema.exceptions import ValidationError

from workflows.checks import join_path
from workflows.errors import InputIssue, InvalidInputs
from workflows.files import check_file_argument
from workflows.schema import input_validator
from workflows.spec import AppSpec

__all__ = ["validate_inputs"]

_MAX_MESSAGE = 300


def _path(parts: Iterable[str | int]) -> str:
    return join_path("", list(parts)) if list(parts) else "(root)"


def _issues(error: ValidationError, known: list[str]) -> list[InputIssue]:
    if error.validator == "additionalProperties" and not error.absolute_path and isinstance(error.instance, dict):
        extras = [key for key in error.instance if key not in known]
        hint = f"expected one of: {', '.join(known)}" if known else "this tool takes no arguments"
        return [InputIssue(str(key), f"unexpected argument ({hint})") for key in extras]
    message = error.message
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return [InputIssue(_path(error.absolute_path), message)]


def validate_inputs(spec: AppSpec, arguments: dict[str, Any] | None) -> dict[str, Any]:
    """Check arguments against the input schema, reporting every violation; return them with defaults."""
    args: Any = {} if arguments is None else arguments
    if not isinstance(args, dict):
        raise InvalidInputs([InputIssue("(root)", f"arguments must be an object, got {type(args).__name__}")])
    validator = input_validator(spec)
    known = [field.name for field in spec.inputs]
    order = {name: index for index, name in enumerate(known)}
    errors = sorted(
        validator.iter_errors(args),
        key=lambda e: (order.get(str(e.absolute_path[0]), -1) if e.absolute_path else -1, str(list(e.absolute_path))),
    )
    issues = [issue for error in errors for issue in _issues(error, known)]
    flagged = {issue.path for issue in issues}
    for field in spec.inputs:
        if field.type == "file" and field.name in args and field.name not in flagged:
            reason = check_file_argument(args[field.name])
            if reason is not None:
                issues.append(InputIssue(field.name, reason))
    if issues:
        raise InvalidInputs(issues)
    result = dict(args)
    for field in spec.inputs:
        if field.name not in result and field.default is not None:
            result[field.name] = copy.deepcopy(field.default)
        value = result.get(field.name)
        if field.type == "integer" and isinstance(value, float) and value.is_integer():
            result[field.name] = int(value)
    return result
