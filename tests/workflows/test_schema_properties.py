"""Property tests: exported schemas accept defaults and reject out-of-range values."""

from __future__ import annotations

from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from workflows import InvalidInputs, spec_from_dict, validate_inputs  # noqa: E402


@st.composite
def integer_fields(draw: st.DrawFn) -> tuple[dict[str, Any], int, int]:
    low = draw(st.integers(-10**6, 10**6))
    high = draw(st.integers(low, low + 10**6))
    default = draw(st.integers(low, high))
    return {"name": "n", "type": "integer", "minimum": low, "maximum": high, "default": default}, low, high


@st.composite
def string_fields(draw: st.DrawFn) -> tuple[dict[str, Any], int, int]:
    low = draw(st.integers(0, 20))
    high = draw(st.integers(low, 40))
    default = draw(st.text(min_size=low, max_size=high))
    return {"name": "s", "type": "string", "min_length": low, "max_length": high, "default": default}, low, high


@settings(max_examples=60, deadline=None)
@given(integer_fields())
def test_integer_schema_accepts_the_default_and_rejects_out_of_range(case: tuple[dict[str, Any], int, int]) -> None:
    field, low, high = case
    spec = spec_from_dict({"name": "P", "inputs": [field]})
    assert validate_inputs(spec, {}) == {"n": field["default"]}
    for bad in (low - 1, high + 1):
        with pytest.raises(InvalidInputs) as caught:
            validate_inputs(spec, {"n": bad})
        assert [issue.path for issue in caught.value.errors] == ["n"]


@settings(max_examples=60, deadline=None)
@given(string_fields())
def test_string_schema_accepts_the_default_and_rejects_bad_lengths(case: tuple[dict[str, Any], int, int]) -> None:
    field, low, high = case
    spec = spec_from_dict({"name": "P", "inputs": [field]})
    assert validate_inputs(spec, {}) == {"s": field["default"]}
    bad_values = ["x" * (high + 1)] + (["x" * (low - 1)] if low > 0 else [])
    for bad in bad_values:
        with pytest.raises(InvalidInputs):
            validate_inputs(spec, {"s": bad})
