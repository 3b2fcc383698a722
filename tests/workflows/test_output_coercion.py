"""Output coercion (workflows/outputs.py)."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.errors import NodeFailure
from workflows.outputs import coerce


@pytest.mark.parametrize(
    ("value", "type_", "expected"),
    [
        ("42", "integer", 42), (" -7 ", "integer", -7), (3.0, "integer", 3), ("3.0", "integer", 3),
        ("2.5", "number", 2.5), (2, "number", 2), ("10", "number", 10),
        ("true", "boolean", True), (" False ", "boolean", False), (True, "boolean", True),
        (5, "string", "5"), (True, "string", "true"), ([1, "a"], "string", '[1, "a"]'),
        ("[1, 2]", "array", [1, 2]), ((1, 2), "array", [1, 2]), ('{"a": 1}', "object", {"a": 1}),
    ],
)
def test_values_are_coerced_to_the_declared_type(value: Any, type_: Any, expected: Any) -> None:
    result = coerce(value, type_)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "type_"),
    [("many", "integer"), (2.5, "integer"), (True, "integer"), ("nan", "number"), ("yes", "boolean"),
     (1, "boolean"), ("{", "array"), ('{"a": 1}', "array"), ([1], "object")],
)
def test_uncoercible_values_are_refused(value: Any, type_: Any) -> None:
    with pytest.raises(NodeFailure):
        coerce(value, type_)
