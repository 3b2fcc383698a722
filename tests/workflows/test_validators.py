"""Compiled validators are built once per parsed spec, belong to it alone, and go when it goes."""

from __future__ import annotations

import gc

import pytest

from workflows import InvalidInputs, spec_from_dict, validate_inputs
from workflows import schema as schema_module
from workflows.schema import input_validator, output_validator


def _spec(input_type: str = "string") -> object:
    return spec_from_dict({"name": "V", "inputs": [{"name": "x", "type": input_type, "required": True}],
                           "steps": [], "outputs": [{"name": "y", "type": "string", "value": "{{ inputs.x }}"}]})


def test_a_spec_s_validators_are_built_once_and_another_spec_gets_its_own() -> None:
    first, second = _spec("string"), _spec("integer")
    assert input_validator(first) is input_validator(first)
    assert output_validator(first) is output_validator(first)
    assert input_validator(second) is not input_validator(first)
    assert validate_inputs(first, {"x": "a"}) == {"x": "a"}
    with pytest.raises(InvalidInputs):
        validate_inputs(second, {"x": "a"})  # checked against its own schema, not the first spec's
    assert validate_inputs(second, {"x": 3}) == {"x": 3}


def test_the_validators_of_a_spec_that_is_gone_are_dropped() -> None:
    spec = _spec()
    input_validator(spec)
    output_validator(spec)
    keys = {("input", id(spec)), ("output", id(spec))}
    assert keys <= set(schema_module._VALIDATORS)
    del spec
    gc.collect()
    assert not keys & set(schema_module._VALIDATORS)
