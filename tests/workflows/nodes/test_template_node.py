"""The template node (workflows/nodes/template.py) and its sandbox (workflows/sandbox.py)."""

from __future__ import annotations

from typing import Any

import pytest

from workflows import NodeError, SpecError, execute, get_node_type, node_types, spec_from_dict
from workflows.errors import NodeFailure
from workflows.nodes import REGISTRY, NodeContext, TemplateConfig, TemplateNode


def _run(template: str, output: str = "text", **inputs: Any) -> dict[str, Any]:
    ctx = NodeContext(step_id="t", inputs=inputs, steps={})
    return TemplateNode().run(TemplateConfig(template=template, output=output), ctx)  # type: ignore[arg-type]


def _reason(template: str) -> str:
    with pytest.raises(NodeFailure) as caught:
        _run(template)
    return caught.value.reason


def test_the_registry_maps_template_to_the_template_node() -> None:
    assert node_types() == ["ask", "code", "condition", "http_request", "llm", "log", "map", "mcp_tool", "output", "sql",
                            "sub_app", "template", "transform"]
    assert get_node_type("template") is TemplateNode and REGISTRY["template"] is TemplateNode
    assert get_node_type("nope") is None


def test_renders_text_from_inputs() -> None:
    assert _run("Hi {{ inputs.name | upper }}", name="ada") == {"text": "Hi ADA"}


def test_json_output_is_parsed() -> None:
    assert _run('{{ {"n": inputs.n} | tojson }}', output="json", n=3) == {"text": '{"n": 3}', "json": {"n": 3}}


def test_invalid_json_output_fails_with_a_hint() -> None:
    with pytest.raises(NodeFailure) as caught:
        _run("not json", output="json")
    assert "not valid JSON" in caught.value.reason and "tojson" in caught.value.reason


def test_config_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError):
        TemplateConfig.model_validate({"template": "x", "extra": 1})


@pytest.mark.parametrize(
    "template",
    ["{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}", "{{ joiner.__init__.__globals__ }}",
     "{{ inputs.__class__ }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}"],
)
def test_sandbox_escapes_fail_with_an_unsafe_attribute_message(template: str) -> None:
    assert "unsafe attribute" in _reason(template)


def test_sandbox_escape_in_a_running_app_is_a_node_error() -> None:
    # The attribute name comes from an argument, so only the sandbox can refuse it (at run time).
    app = spec_from_dict({"name": "T", "inputs": [{"name": "a", "type": "string"}], "steps": [
        {"id": "evil", "type": "template", "template": "{{ cycler | attr(inputs.a) }}"}]})
    with pytest.raises(NodeError) as caught:
        execute(app, {"a": "__init__"})
    assert str(caught.value).startswith("step 'evil' (template) failed: the template tried to access an unsafe")


def test_a_literal_internal_attribute_is_refused_when_the_spec_is_loaded() -> None:
    with pytest.raises(SpecError, match="'__globals__' is not available in templates"):
        spec_from_dict({"name": "T", "steps": [
            {"id": "evil", "type": "template", "template": "{{ cycler.__init__.__globals__.os }}"}]})


def test_mutating_inputs_is_refused() -> None:
    assert "unsafe" in _reason("{{ inputs.update({'a': 1}) }}")


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{% for i in range(10**9) %}{% endfor %}", "range"),
        ("{% for i in range(1000) %}{% for j in range(1001) %}{% endfor %}{% endfor %}", "range"),
        ("{% for i in range(100000) %}{{ 'x' * 20 }}{% endfor %}", "longer than"),
        ("{{ 'x' * 10**8 }}", "repeating"),
        ("{{ 2 ** (10**8) }}", "exponent"),
        ("{{ 'x' | center(10**8) }}", "center"),
        ("{{ 'x' | indent(10**8) }}", "indent"),
        ("{{ 'x'.ljust(10**8) }}", "ljust"),
        ("{{ '%999999999d' % 1 }}", "format"),
        ("{{ '%999999999d' | format(1) }}", "format"),
        ("{{ '{:>999999999}'.format(1) }}", "format"),
        ("{% set ns = namespace(s='ab') %}{% for i in range(30) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
         "concatenation (~)"),
        ("{{ lipsum(10**9) }}", "lipsum"),
        # one C call each, holding the GIL for seconds: refused by the size of their operands
        ("{{ (([[1]]*150000)|sum(start=[]))|length }}", "sum of 150000 lists would copy"),
        ("{{ (([[1] * 1000] * 2000)|sum(start=[]))|length }}", "sum would produce more than"),
        ("{% set x = (10**2000)**10000 %}", "bits"),
        ("{% set ns = namespace(x=3) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}{% endfor %}", "bits"),
        ("{% set ns = namespace(x=7) %}{% for i in range(64) %}{% set ns.x = ns.x ** 2 %}{% endfor %}", "bits"),
        ("{{ (7 ** 9000) * (7 ** 9000) * (7 ** 9000) }}", "bits"),
        ("{{ 1 .to_bytes(10**9, 'big') }}", "to_bytes"),
        ("{% set ns = namespace(l=[]) %}{% for i in range(1000000) %}{% set ns.l = ns.l + [i] %}{% endfor %}",
         "copied more than"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursed"),
    ],
)
def test_runaway_templates_are_stopped_with_a_clear_reason(template: str, fragment: str) -> None:
    assert fragment in _reason(template)


def test_ordinary_use_of_the_guarded_helpers_still_works() -> None:
    text = _run("{{ 'ab' * 2 }}|{{ 'x' | center(5) }}|{{ '%03d' | format(7) }}|{{ '{:>3}'.format(1) }}|"
                "{{ range(3) | list }}|{{ 2 ** 10 }}")["text"]
    assert text == "abab|  x  |007|  1|[0, 1, 2]|1024"


def test_ordinary_arithmetic_and_sums_still_work() -> None:
    text = _run("{{ [1, 2, 3]|sum }}|{{ [[1], [2, 3]]|sum(start=[]) }}|{{ [{'n': 2}, {'n': 5}]|sum(attribute='n') }}|"
                "{{ 2 ** 100 }}|{{ 7 - 10 }}|{{ 7 // 2 }}|{{ 7 / 2 }}|{{ 7 % 4 }}|{{ [1.5, 2]|sum(start=1) }}|"
                "{{ (([[1, 2]] * 5000)|sum(start=[]))|length }}")["text"]
    assert text == f"6|[1, 2, 3]|7|{2 ** 100}|-3|3|3.5|3|4.5|10000"


def test_a_sum_mixing_lists_and_other_values_is_refused() -> None:
    assert "can only add lists" in _reason("{{ [[1], 2]|sum(start=[]) }}")


def test_undefined_names_fail_loudly() -> None:
    assert _reason("{{ inputs.missing }}") == "'dict object' has no attribute 'missing'"
