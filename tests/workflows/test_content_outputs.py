"""``image``, ``audio``, ``file`` and ``resource`` outputs: where their bytes come from, their checks and schema."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from workflows import NodeError, SpecError, execute, output_schema, spec_from_dict, validate_inputs
from workflows.content import MAX_CONTENT_BYTES, MAX_CONTENT_TOTAL_BYTES
from workflows.errors import NodeFailure
from workflows.outputs import finish_outputs

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
SVG = "<svg xmlns='http://www.w3.org/2000/svg' width='4' height='4'><rect width='4' height='4'/></svg>"


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _spec(outputs: list[dict[str, Any]], steps: list[dict[str, Any]] | None = None,
          inputs: list[dict[str, Any]] | None = None) -> Any:
    return spec_from_dict({"name": "Content", "inputs": inputs or [], "steps": steps or [], "outputs": outputs})


def _outputs(spec: Any, arguments: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    return execute(spec, validate_inputs(spec, arguments or {}), **kwargs).outputs


def _failure(spec: Any, arguments: dict[str, Any] | None = None) -> str:
    with pytest.raises(NodeError) as caught:
        _outputs(spec, arguments)
    return str(caught.value)


def test_a_data_uri_becomes_an_image_with_its_mime_type_size_and_base64() -> None:
    spec = _spec([{"name": "pixel", "type": "image", "value": _data_uri(PNG, "image/png")}])
    assert _outputs(spec)["pixel"] == {"name": "pixel", "mime_type": "image/png", "size": len(PNG),
                                       "base64": base64.b64encode(PNG).decode()}


def test_a_file_input_passes_through_to_an_image_output_keeping_its_name() -> None:
    spec = _spec([{"name": "copy", "type": "image", "value": "{{ inputs.photo }}"}],
                 inputs=[{"name": "photo", "type": "file", "required": True}])
    copy = _outputs(spec, {"photo": "data:image/png;name=dot.png;base64," + base64.b64encode(PNG).decode()})["copy"]
    assert (copy["name"], copy["mime_type"], base64.b64decode(copy["base64"])) == ("dot.png", "image/png", PNG)
    assert "text" not in copy  # the bytes travel once


def test_a_template_renders_an_svg_image_typed_by_the_outputs_mime_type() -> None:
    spec = _spec([{"name": "chart", "type": "image", "mime_type": "image/svg+xml", "value": "{{ steps.draw.text }}"}],
                 steps=[{"id": "draw", "type": "template", "template": SVG}])
    chart = _outputs(spec)["chart"]
    assert chart["mime_type"] == "image/svg+xml" and base64.b64decode(chart["base64"]).decode() == SVG


def test_an_http_step_downloads_a_file_for_an_image_output(server: Any) -> None:
    server.route("/img/chart.png", lambda request: (200, {"Content-Type": "image/png"}, PNG))
    spec = _spec([{"name": "chart", "type": "image", "value": "{{ steps.get.file }}"}],
                 steps=[{"id": "get", "type": "http_request", "url": f"{server.url}/img/chart.png", "as_file": True}])
    chart = _outputs(spec, http_allow=server.allow)["chart"]
    assert (chart["name"], chart["mime_type"], base64.b64decode(chart["base64"])) == ("chart.png", "image/png", PNG)


def test_a_text_resource_keeps_its_text_and_uri_and_a_binary_one_its_base64() -> None:
    spec = _spec([
        {"name": "doc", "type": "resource", "uri": "notes://today", "mime_type": "text/markdown", "value": "# Hi"},
        {"name": "logo", "type": "resource", "value": '{{ {"uri": "img://logo", "mime_type": "image/png", '
                                                      f'"base64": "{base64.b64encode(PNG).decode()}"}} }}}}'},
    ])
    outputs = _outputs(spec)
    assert outputs["doc"] == {"name": "doc", "mime_type": "text/markdown", "size": 4, "uri": "notes://today",
                              "text": "# Hi"}
    assert outputs["logo"]["uri"] == "img://logo" and outputs["logo"]["base64"] == base64.b64encode(PNG).decode()


@pytest.mark.parametrize(("output", "reason"), [
    ({"type": "image", "value": _data_uri(b"plain words", "text/plain")},
     "output 'out' (image): an image output needs an image/* MIME type, not text/plain"),
    ({"type": "image", "value": _data_uri(b"not a png at all", "image/png")},
     "output 'out' (image): the data is not PNG (the MIME type says image/png)"),
    ({"type": "audio", "value": _data_uri(PNG, "audio/wav")}, "the data is not WAV (the MIME type says audio/wav)"),
    ({"type": "image", "mime_type": "image/jpeg", "value": _data_uri(PNG, "image/png")},
     "the value is image/png but the output declares image/jpeg"),
    ({"type": "image", "value": "<svg/>"}, "the value does not say its MIME type; declare the output's mime_type"),
    ({"type": "file", "value": "data:text/plain;base64,@@@"}, "marked base64 but its content is not valid base64"),
    ({"type": "file", "value": '{{ {"mime_type": "text/plain", "base64": "@@"} }}'}, "marked base64 but is not valid"),
    ({"type": "resource", "value": "no uri"}, "a resource output needs a URI with a scheme"),
    ({"type": "file", "value": "{{ 3 }}"}, "expected a file, a data: URI or text, got int"),
])
def test_content_that_does_not_fit_its_output_fails_with_a_specific_reason(output: dict[str, Any], reason: str) -> None:
    assert reason in _failure(_spec([{"name": "out", **output}]))


def _text_file(size: int) -> dict[str, str]:
    return {"mime_type": "text/plain", "base64": base64.b64encode(b"x" * size).decode()}


def test_one_content_output_is_capped_and_so_are_all_of_them_together() -> None:
    one = _spec([{"name": "out", "type": "file", "value": "x"}])
    with pytest.raises(NodeFailure, match=f"over the limit of {MAX_CONTENT_BYTES}"):
        finish_outputs(one, {"out": _text_file(MAX_CONTENT_BYTES + 1)})
    count = MAX_CONTENT_TOTAL_BYTES // MAX_CONTENT_BYTES + 1
    many = _spec([{"name": f"f{i}", "type": "file", "value": "x"} for i in range(count)])
    with pytest.raises(NodeFailure, match=f"together are larger than {MAX_CONTENT_TOTAL_BYTES} bytes"):
        finish_outputs(many, {f"f{i}": _text_file(MAX_CONTENT_BYTES) for i in range(count)})


@pytest.mark.parametrize(("output", "path", "reason"), [
    ({"type": "string", "mime_type": "text/plain"}, "outputs[0].mime_type", "only image, audio, file and resource"),
    ({"type": "image", "mime_type": "text/plain"}, "outputs[0].mime_type", "needs an image/* MIME type"),
    ({"type": "file", "mime_type": "not a mime"}, "outputs[0].mime_type", "is not a MIME type"),
    ({"type": "image", "uri": "img://x"}, "outputs[0].uri", "only resource outputs have a URI"),
    ({"type": "resource", "uri": "no-scheme"}, "outputs[0].uri", "has a scheme"),
])
def test_the_spec_refuses_mime_types_and_uris_where_they_do_not_belong(output: dict[str, Any], path: str,
                                                                       reason: str) -> None:
    with pytest.raises(SpecError) as caught:
        _spec([{"name": "out", "value": "x", **output}])
    assert any(issue.path == path and reason in issue.message for issue in caught.value.errors), caught.value.errors


def test_the_output_schema_describes_content_outputs_not_their_bytes() -> None:
    schema = output_schema(_spec([{"name": "pic", "type": "image", "value": _data_uri(PNG, "image/png")},
                                  {"name": "doc", "type": "resource", "uri": "a://b", "value": "x"}]))
    pic, doc = schema["properties"]["pic"], schema["properties"]["doc"]
    assert pic["type"] == "object" and set(pic["properties"]) == {"name", "mime_type", "size", "resource_uri"}
    assert "base64" not in pic["properties"] and "uri" in doc["properties"]


def test_a_download_larger_than_an_output_may_be_fails_the_run_naming_the_output(server: Any) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * MAX_CONTENT_BYTES
    server.route("/big.png", lambda request: (200, {"Content-Type": "image/png"}, big))
    spec = _spec([{"name": "chart", "type": "image", "value": "{{ steps.get.file }}"}],
                 steps=[{"id": "get", "type": "http_request", "url": f"{server.url}/big.png", "as_file": True,
                         "max_bytes": 2 * MAX_CONTENT_BYTES}])
    with pytest.raises(NodeError, match=f"output 'chart' \\(image\\): the content is {len(big)} bytes, over the limit"):
        _outputs(spec, http_allow=server.allow)
