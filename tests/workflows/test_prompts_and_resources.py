"""The app format's prompts, resources and resource templates: validation, YAML round trip, derived specs."""

from __future__ import annotations

from pathlib import Path

import pytest

import workflows
from workflows.prompts import content_of, messages_from_output, prompt_spec, templated_fields
from workflows.resources import match_template, resource_size

FIXTURE = Path(__file__).parents[1] / "conformance" / "fixtures" / "prompts_and_resources.yaml"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

BASE = """
name: Library
inputs:
  - {name: topic, type: string, required: true}
steps:
  - {id: say, type: template, template: "About {{ inputs.topic }}"}
outputs:
  - {name: text, type: string, value: "{{ steps.say.text }}"}
"""


def _issues(extra: str) -> list[str]:
    with pytest.raises(workflows.SpecError) as caught:
        workflows.load_spec(BASE + extra)
    return [f"{issue.path}: {issue.message}" for issue in caught.value.errors]


def test_the_conformance_fixture_loads_and_round_trips_through_yaml() -> None:
    spec = workflows.load_spec(FIXTURE.read_text())
    again = workflows.load_spec(workflows.dump_spec(spec))
    assert again == spec
    assert [p.name for p in spec.prompts][:2] == ["test_simple_prompt", "test_prompt_with_arguments"]
    assert resource_size(spec.resources[1]) == 70


def test_an_app_without_prompts_or_resources_exports_no_such_keys() -> None:
    text = workflows.dump_spec(workflows.load_spec(BASE))
    assert "prompts" not in text and "resources" not in text and "resource_templates" not in text


def test_prompt_templates_may_only_name_the_prompts_own_arguments() -> None:
    issues = _issues("""
prompts:
  - name: brief
    arguments: [{name: audience}]
    messages:
      - text: "For {{ inputs.audience }} about {{ inputs.topic }}"
""")
    assert any(i.startswith("prompts[0].messages[0].text") and "topic" in i for i in issues), issues


def test_duplicate_prompt_names_arguments_and_resource_uris_are_refused() -> None:
    issues = _issues("""
prompts:
  - {name: a, arguments: [{name: x}, {name: x}], messages: [{text: hi}]}
  - {name: a, messages: [{text: hi}]}
resources:
  - {uri: "docs://a", name: a, text: one}
  - {uri: "docs://a", name: b, text: two}
""")
    assert "prompts[1].name: duplicate prompt name 'a'" in issues
    assert "prompts[0].arguments[1].name: duplicate argument 'x'" in issues
    assert "resources[1].uri: duplicate resource URI 'docs://a'" in issues


def test_a_message_has_exactly_one_content_and_images_need_real_base64() -> None:
    issues = _issues("""
prompts:
  - name: a
    messages:
      - {text: hi, image: {data: "%s", mime_type: image/png}}
""" % PNG)
    assert any(i.startswith("prompts[0].messages[0]") and "exactly one" in i for i in issues), issues
    issues = _issues("""
prompts:
  - name: b
    messages:
      - {image: {data: "not base64!", mime_type: image/png}}
      - {image: {uri: "docs://nothing"}}
""")
    assert "prompts[0].messages[0].image.data: not valid base64" in issues
    assert any(i.startswith("prompts[0].messages[1].image.uri") for i in issues), issues


def test_resource_templates_must_parse_and_name_inputs_of_the_app() -> None:
    issues = _issues("""
resource_templates:
  - {uri_template: "notes://{topic}/{day}", name: n}
  - {uri_template: "notes://{topic", name: m}
  - {uri_template: "notes://fixed", name: f}
  - {uri_template: "notes://x/{topic}", name: o, output: missing, completions: {other: [a]}}
""")
    assert "resource_templates[0].uri_template: variable 'day' is not an input of the app" in issues
    assert any(i.startswith("resource_templates[1].uri_template: not an RFC 6570") for i in issues), issues
    assert any(i.startswith("resource_templates[2].uri_template: a template has at least one") for i in issues), issues
    assert "resource_templates[3].output: the app has no output 'missing'" in issues
    assert "resource_templates[3].completions.other: 'other' is not a variable of the template" in issues


def test_a_dynamic_prompt_needs_a_messages_output_and_arguments_that_are_inputs() -> None:
    issues = _issues("""
prompts:
  - {name: d, dynamic: true, arguments: [{name: nope}]}
""")
    assert "prompts[0].dynamic: a dynamic prompt needs an array output named 'messages'" in issues
    assert any(i.startswith("prompts[0].arguments[0].name") for i in issues), issues


def test_a_templated_prompt_renders_through_a_derived_spec_of_string_outputs() -> None:
    spec = workflows.load_spec(FIXTURE.read_text())
    derived = prompt_spec(spec, "test_prompt_with_arguments")
    assert [f.name for f in derived.inputs] == ["arg1", "arg2"]
    assert [o.name for o in derived.outputs] == ["m0_text"]
    assert derived.steps == []
    assert templated_fields(spec.prompts[0]) == {}  # a prompt without templates needs no run


def test_messages_are_assembled_from_rendered_fields_and_named_resources() -> None:
    spec = workflows.load_spec(FIXTURE.read_text())
    embedded = spec.prompts[2]
    rendered = {"m0_uri": "test://example-resource"}
    first = content_of(embedded.messages[0], rendered, 0)
    assert first["content"]["resource"] == {
        "uri": "test://example-resource", "mimeType": "text/plain", "text": "Embedded resource content for testing.",
    }
    image = content_of(spec.prompts[3].messages[0], {}, 0, lambda uri: ("image/png", None, PNG))
    assert image == {"role": "user", "content": {"type": "image", "data": PNG, "mimeType": "image/png"}}


def test_a_dynamic_prompts_output_must_be_a_list_of_messages() -> None:
    assert messages_from_output([{"role": "assistant", "text": "hi"}]) == [
        {"role": "assistant", "content": {"type": "text", "text": "hi"}}
    ]
    with pytest.raises(ValueError, match="non-empty list"):
        messages_from_output("hi")
    with pytest.raises(ValueError, match="message 0"):
        messages_from_output([{"role": "system", "text": "hi"}])


def test_a_uri_matches_the_template_and_yields_its_variables() -> None:
    spec = workflows.load_spec(FIXTURE.read_text())
    found = match_template(spec, "test://template/123/data")
    assert found is not None and found[1] == {"id": "123"}
    assert match_template(spec, "test://elsewhere/123") is None


def test_apps_served_at_one_url_may_not_share_a_prompt_name_or_resource_uri() -> None:
    spec = workflows.load_spec(FIXTURE.read_text())
    other = workflows.load_spec(BASE + "\nprompts: [{name: test_simple_prompt, messages: [{text: hi}]}]\n")
    assert workflows.catalog_conflicts([("a", spec), ("a", spec)]) == []  # one app is never in conflict with itself
    assert workflows.catalog_conflicts([("a", spec), ("b", other)]) == [
        "prompt 'test_simple_prompt' of app 'b' is also served by app 'a'"
    ]


def test_suggestions_from_the_workflow_need_an_array_output_and_an_input_of_the_arguments_name() -> None:
    issues = _issues("""
prompts:
  - {name: p, arguments: [{name: who, suggestions_from: text}], messages: [{text: hi}]}
resource_templates:
  - {uri_template: "notes://{topic}", name: n, completions_from: {topic: missing, other: text}}
""")
    assert "prompts[0].arguments[0].suggestions_from: the app has no array output 'text' to take suggestions from" in issues
    assert any(i.startswith("prompts[0].arguments[0].suggestions_from: suggestions from the workflow need an input")
               for i in issues), issues
    assert "resource_templates[0].completions_from.topic: the app has no array output 'missing' to take suggestions from" in issues
    assert "resource_templates[0].completions_from.other: 'other' is not a variable of the template" in issues
