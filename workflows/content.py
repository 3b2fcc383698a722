"""Outputs that carry bytes: ``image``, ``audio``, ``file`` and ``resource``.

Processes exchange run results as JSON, so bytes travel as base64 in one value shape, the *content
value*, close to what a ``file`` input gives steps (``workflows.files.file_value``)::

    {"name": "chart.png", "mime_type": "image/png", "size": 1234, "base64": "iVBOR..."}
    {"name": "notes", "mime_type": "text/plain", "size": 12, "text": "hello", "uri": "notes://1"}

Exactly one of ``base64`` and ``text`` is present; ``text`` only for a ``resource`` output with textual
content; ``uri`` only (and always) for a ``resource`` output. An output's evaluated value may be a file
value (a ``file`` input, an ``http_request`` step with ``as_file``), a mapping with ``mime_type`` and
``base64`` or ``text`` (a code step), an RFC 2397 ``data:`` URI, or plain text (an SVG rendered by a
template, a text resource), which takes the output's declared ``mime_type``. Every value is checked
here: a known MIME type's bytes must look like it (a PNG starts as a PNG does), an ``image`` output holds
an image type, and sizes stay under ``MAX_CONTENT_BYTES`` each and ``MAX_CONTENT_TOTAL_BYTES`` per run.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from workflows.errors import NodeFailure, SpecIssue
from workflows.files import MAX_FILE_BYTES, decode_data_uri

if TYPE_CHECKING:
    from workflows.spec import AppSpec

__all__ = [
    "CONTENT_TYPES",
    "MAX_CONTENT_BYTES",
    "MAX_CONTENT_TOTAL_BYTES",
    "content_bytes",
    "content_output_issues",
    "content_schema",
    "content_size",
    "make_content",
    "mime_issue",
]

CONTENT_TYPES = ("image", "audio", "file", "resource")
MAX_CONTENT_BYTES = MAX_FILE_BYTES  # one content output, decoded
MAX_CONTENT_TOTAL_BYTES = 2 * MAX_FILE_BYTES  # all content outputs of one run together
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_GENERIC = ("", "application/octet-stream", "binary/octet-stream")
_TEXTUAL = ("application/json", "application/xml", "application/yaml", "application/javascript", "image/svg+xml")
_SIGNATURES: dict[str, tuple[str, Any]] = {
    "image/png": ("PNG", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    "image/jpeg": ("JPEG", lambda b: b.startswith(b"\xff\xd8\xff")),
    "image/gif": ("GIF", lambda b: b[:6] in (b"GIF87a", b"GIF89a")),
    "image/webp": ("WebP", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
    "image/svg+xml": ("SVG", lambda b: b"<svg" in b[:4096].lower()),
    "audio/wav": ("WAV", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE"),
    "audio/x-wav": ("WAV", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE"),
    "audio/mpeg": ("MP3", lambda b: b[:3] == b"ID3" or (len(b) > 1 and b[0] == 0xFF and b[1] & 0xE0 == 0xE0)),
    "audio/ogg": ("Ogg", lambda b: b[:4] == b"OggS"),
    "audio/flac": ("FLAC", lambda b: b[:4] == b"fLaC"),
    "application/pdf": ("PDF", lambda b: b[:5] == b"%PDF-"),
}


def mime_issue(output_type: str, mime: str) -> str | None:
    """Why ``mime`` cannot be the MIME type of an output of ``output_type``, or None."""
    if not _MIME.match(mime):
        return f"'{mime[:80]}' is not a MIME type (type/subtype, such as image/png)"
    if output_type in ("image", "audio") and not mime.startswith(f"{output_type}/"):
        return f"an {output_type} output needs an {output_type}/* MIME type, not {mime}"
    return None


def _is_textual(mime: str) -> bool:
    return mime.startswith("text/") or mime in _TEXTUAL or mime.endswith(("+json", "+xml"))


def _decode(data: str) -> bytes:
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise NodeFailure("the content is marked base64 but is not valid base64") from None


def _raw(value: Any) -> tuple[str, str | None, bytes, str | None]:
    """(mime type, name, bytes, uri) of an evaluated value; the MIME type is '' when the value has none."""
    if isinstance(value, Mapping):
        mime = str(value.get("mime_type") or "").strip().lower()
        name = str(value["name"]) if value.get("name") else None
        uri = str(value["uri"]) if value.get("uri") else None
        if isinstance(value.get("base64"), str):
            return mime, name, _decode(value["base64"]), uri
        if isinstance(value.get("text"), str):
            return mime, name, value["text"].encode(), uri
        raise NodeFailure("expected a file (a mapping with mime_type and base64 or text), got a mapping "
                          f"with keys {', '.join(sorted(map(str, value)))[:120]}")
    if isinstance(value, str):
        if value[:5].lower() == "data:":
            mime, name, data = decode_data_uri(value)
            return mime, name, data, None
        return "", None, value.encode(), None
    raise NodeFailure(f"expected a file, a data: URI or text, got {type(value).__name__}")


def _pick_mime(output_type: str, found: str, declared: str | None) -> str:
    """The MIME type of the content: what the value says, the declared one where the value says nothing."""
    declared = (declared or "").strip().lower()
    if found in _GENERIC:
        if not declared and not found and output_type in ("image", "audio"):
            raise NodeFailure(f"the value does not say its MIME type; declare the output's mime_type "
                              f"(such as {'image/svg+xml' if output_type == 'image' else 'audio/wav'})")
        mime = declared or found or ("text/plain" if output_type == "resource" else "application/octet-stream")
    elif declared and declared != found:
        raise NodeFailure(f"the value is {found} but the output declares {declared}")
    else:
        mime = found
    problem = mime_issue(output_type, mime)
    if problem is not None:
        raise NodeFailure(problem)
    return mime


def make_content(value: Any, output_type: str, *, name: str, mime_type: str | None = None,
                 uri: str | None = None) -> dict[str, Any]:
    """Turn an evaluated output value into a content value; NodeFailure says why it cannot be one."""
    found, given_name, data, given_uri = _raw(value)
    mime = _pick_mime(output_type, found, mime_type)
    if len(data) > MAX_CONTENT_BYTES:
        raise NodeFailure(f"the content is {len(data)} bytes, over the limit of {MAX_CONTENT_BYTES}")
    signature = _SIGNATURES.get(mime)
    if signature is not None and not signature[1](data):
        raise NodeFailure(f"the data is not {signature[0]} (the MIME type says {mime})")
    content: dict[str, Any] = {"name": given_name or name, "mime_type": mime, "size": len(data)}
    if output_type == "resource":
        content["uri"] = given_uri or uri
        if not content["uri"] or ":" not in content["uri"]:
            raise NodeFailure("a resource output needs a URI with a scheme: declare `uri` on the output "
                              "or give the value a `uri`")
        if _is_textual(mime):
            try:
                content["text"] = data.decode("utf-8")
                return content
            except UnicodeDecodeError:
                pass
    content["base64"] = base64.b64encode(data).decode("ascii")
    return content


def content_bytes(content: Mapping[str, Any]) -> bytes:
    """The bytes of a content value."""
    if "text" in content:
        return str(content["text"]).encode()
    return base64.b64decode(content["base64"])


def content_size(outputs: Mapping[str, Any], names: list[str]) -> int:
    """The decoded size of the named content outputs together."""
    return sum(int(outputs[name].get("size", 0)) for name in names if isinstance(outputs.get(name), Mapping))


def content_schema(output_type: str) -> dict[str, Any]:
    """The JSON Schema of a content output as clients see it (a description, not the bytes)."""
    properties: dict[str, Any] = {
        "name": {"type": "string"},
        "mime_type": {"type": "string"},
        "size": {"type": "integer", "description": "Bytes."},
        "resource_uri": {"type": "string", "description": "Read the content with resources/read at this URI."},
    }
    if output_type == "resource":
        properties["uri"] = {"type": "string", "description": "The resource's own URI."}
    return {"type": "object", "properties": properties, "required": ["mime_type", "size"]}


def content_output_issues(spec: AppSpec) -> list[SpecIssue]:
    """``mime_type`` only on content outputs and fit for their type; ``uri`` only on resource outputs."""
    issues = []
    for index, out in enumerate(spec.outputs):
        path = f"outputs[{index}]"
        if out.mime_type is not None:
            problem = (mime_issue(out.type, out.mime_type.strip().lower()) if out.type in CONTENT_TYPES
                       else f"only image, audio, file and resource outputs have a MIME type, not {out.type}")
            if problem is not None:
                issues.append(SpecIssue(f"{path}.mime_type", problem))
        if out.uri is not None and out.type != "resource":
            issues.append(SpecIssue(f"{path}.uri", f"only resource outputs have a URI, not {out.type}"))
        elif out.uri is not None and ":" not in out.uri:
            issues.append(SpecIssue(f"{path}.uri", "a resource URI has a scheme (such as 'notes://today')"))
    return issues
