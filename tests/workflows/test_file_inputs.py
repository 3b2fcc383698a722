"""``file`` inputs: URL or data: URI arguments, their JSON Schema, limits and what steps see."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from workflows import InvalidInputs, NodeError, SpecError, execute, input_schema, spec_from_dict, validate_inputs
from workflows.files import MAX_FILE_BYTES


def _spec(**field: Any) -> Any:
    return spec_from_dict({
        "name": "Read file",
        "inputs": [{"name": "doc", "type": "file", "description": "The document to read.", "required": True,
                    **field}],
        "steps": [{"id": "echo", "type": "transform", "expression": "inputs.doc"}],
        "outputs": [{"name": "file", "type": "object", "value": "{{ steps.echo.value }}"}],
    })


def _data_uri(data: bytes, mime: str = "text/plain") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _run(argument: str, **kwargs: Any) -> dict[str, Any]:
    spec = _spec()
    return execute(spec, validate_inputs(spec, {"doc": argument}), **kwargs).outputs["file"]


def test_file_input_exports_as_a_uri_string_whose_description_says_url_or_data_uri() -> None:
    schema = input_schema(_spec())["properties"]["doc"]
    assert schema["type"] == "string" and schema["format"] == "uri"
    assert schema["description"].startswith("The document to read.")
    assert "URL" in schema["description"] and "data: URI" in schema["description"]


def test_a_base64_data_uri_reaches_steps_as_name_type_size_text_and_base64() -> None:
    assert _run(_data_uri("héllo\n".encode(), "text/markdown")) == {
        "name": "doc", "mime_type": "text/markdown", "size": 7, "text": "héllo\n",
        "base64": base64.b64encode("héllo\n".encode()).decode(),
    }


def test_a_data_uri_may_name_its_file() -> None:
    assert _run("data:text/csv;name=report%20q3.csv;base64,YSxiCg==")["name"] == "report q3.csv"


def test_binary_content_has_no_text_but_keeps_its_bytes() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"
    value = _run(_data_uri(png, "image/png"))
    assert value["text"] is None and value["mime_type"] == "image/png"
    assert base64.b64decode(value["base64"]) == png and value["size"] == len(png)


@pytest.mark.parametrize(("argument", "reason"), [
    ("just some text", "https URL or a data: URI"),
    ("ftp://example.com/file.txt", "https URL or a data: URI"),
    ("data:text/plain;base64,***not base64***", "not valid base64"),
    ("data:no comma here", "not a valid data: URI"),
])
def test_malformed_file_arguments_are_rejected_naming_the_input(argument: str, reason: str) -> None:
    with pytest.raises(InvalidInputs) as caught:
        validate_inputs(_spec(), {"doc": argument})
    assert [issue.path for issue in caught.value.errors] == ["doc"]
    assert reason in caught.value.errors[0].message


def test_a_data_uri_over_the_size_limit_is_rejected() -> None:
    with pytest.raises(InvalidInputs, match="larger than the limit"):
        validate_inputs(_spec(), {"doc": _data_uri(b"x" * (MAX_FILE_BYTES + 1))})


def test_a_non_string_file_argument_gets_one_type_error() -> None:
    with pytest.raises(InvalidInputs) as caught:
        validate_inputs(_spec(), {"doc": 5})
    assert len(caught.value.errors) == 1 and "string" in caught.value.errors[0].message


def test_a_url_is_fetched_through_the_guarded_client(server: Any) -> None:
    server.route("/files/notes.txt", lambda _r: (200, {"Content-Type": "text/plain; charset=utf-8"}, b"line 1\n"))
    value = _run(f"{server.url}/files/notes.txt", http_allow=server.allow)
    assert value == {"name": "notes.txt", "mime_type": "text/plain", "size": 7, "text": "line 1\n",
                     "base64": base64.b64encode(b"line 1\n").decode()}
    assert server.requests[0].method == "GET"


def test_a_url_to_a_loopback_address_is_refused_without_the_allow_list(server: Any) -> None:
    server.route("/f", "secret internal data")
    with pytest.raises(NodeError, match="input 'doc': refusing to connect") as caught:
        _run(f"https://127.0.0.1:{server.port}/f")
    assert caught.value.step_id == "inputs"
    assert server.requests == []


def test_a_fetched_file_over_the_size_limit_fails_the_run(server: Any) -> None:
    server.route("/big", b"x" * (MAX_FILE_BYTES + 1))
    with pytest.raises(NodeError, match="more than the limit of 5242880"):
        _run(f"{server.url}/big", http_allow=server.allow)


def test_a_missing_remote_file_fails_with_its_status(server: Any) -> None:
    with pytest.raises(NodeError, match="HTTP 404"):
        _run(f"{server.url}/nothing", http_allow=server.allow)


def test_plain_http_urls_are_refused_unless_allow_listed() -> None:
    with pytest.raises(NodeError, match="must use https"):
        _run("http://example.com/file.txt")


def test_files_cannot_be_array_items_or_carry_string_constraints() -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_dict({"name": "Bad", "inputs": [
            {"name": "docs", "type": "array", "items": {"type": "file"}},
            {"name": "doc", "type": "file", "max_length": 10},
        ]})
    paths = {issue.path for issue in caught.value.errors}
    assert "inputs[0].items.type" in paths and "inputs[1].max_length" in paths
