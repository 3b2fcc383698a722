"""``file`` inputs: an https URL or a ``data:`` URI, turned into a value steps can read.

A file argument travels as a string (JSON has no bytes): either a URL the engine fetches
through the same SSRF-guarded client as ``http_request`` (https; plain http only for
allow-listed targets such as a local test server) or an RFC 2397 ``data:`` URI with
base64 content. Both are capped at ``MAX_FILE_BYTES``. Steps see a mapping
``{name, mime_type, size, text, base64}``; ``text`` is the UTF-8 decoding, or None when
the bytes are not valid UTF-8.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from workflows.errors import NodeFailure
from workflows.http import HttpResponse, is_allowed, send

__all__ = ["FILE_DESCRIPTION", "MAX_FILE_BYTES", "check_file_argument", "decode_data_uri", "file_value", "resolve_file", "response_file"]

MAX_FILE_BYTES = 5 * 1024 * 1024
FILE_DESCRIPTION = ("A file, given as an https URL to fetch or as a data: URI with base64 content "
                    "(data:<mime type>;base64,<data>), at most 5 MiB.")
_DATA_URI = re.compile(r"^data:(?P<params>[^,]*?)(?P<b64>;base64)?,(?P<data>.*)$", re.DOTALL | re.IGNORECASE)
_FETCH_TIMEOUT = 30.0


def _mime(params: str) -> tuple[str, str | None]:
    parts = [p.strip() for p in params.split(";") if p.strip()]
    mime = parts[0].lower() if parts and "=" not in parts[0] else "text/plain"
    name = next((unquote(p.split("=", 1)[1]) for p in parts if p.lower().startswith(("name=", "filename="))), None)
    return mime, name


def decode_data_uri(text: str) -> tuple[str, str | None, bytes]:
    """(MIME type, name or None, bytes) of an RFC 2397 data: URI; NodeFailure when malformed or too large."""
    match = _DATA_URI.match(text)
    if match is None:
        raise NodeFailure("not a valid data: URI (expected data:<mime type>;base64,<data>)")
    mime, name = _mime(match["params"])
    raw = match["data"]
    if match["b64"]:
        if len(raw) > (MAX_FILE_BYTES * 4) // 3 + 4:
            raise NodeFailure(f"the file is larger than the limit of {MAX_FILE_BYTES} bytes")
        try:
            data = base64.b64decode("".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            raise NodeFailure("the data: URI is marked base64 but its content is not valid base64") from None
    else:
        data = unquote(raw).encode()
    if len(data) > MAX_FILE_BYTES:
        raise NodeFailure(f"the file is larger than the limit of {MAX_FILE_BYTES} bytes")
    return mime, name, data


def check_file_argument(value: Any) -> str | None:
    """Return why a file argument is unusable (syntax and data size), or None when it looks fine."""
    if not isinstance(value, str):
        return f"a file must be given as a URL or a data: URI string, not {type(value).__name__}"
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    if scheme == "data":
        try:
            decode_data_uri(value)
        except NodeFailure as exc:
            return exc.reason
        return None
    if scheme in ("https", "http") and urlsplit(value).netloc:
        return None
    return "a file must be an https URL or a data: URI (data:<mime type>;base64,<data>)"


def file_value(name: str, mime_type: str, data: bytes) -> dict[str, Any]:
    """The mapping steps see for a file."""
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {"name": name, "mime_type": mime_type, "size": len(data), "text": text,
            "base64": base64.b64encode(data).decode("ascii")}


def resolve_file(field: str, value: str, *, allow: Sequence[str],
                 wait: Callable[[Callable[[], Any]], Any]) -> dict[str, Any]:
    """Turn a file argument into its value; fetches run through ``wait`` (cancellable); NodeFailure on error."""
    reason = check_file_argument(value)
    if reason is not None:
        raise NodeFailure(reason)
    if value[:5].lower() == "data:":
        mime, name, data = decode_data_uri(value)
        return file_value(name or field, mime, data)
    import httpx  # noqa: PLC0415 - only URL arguments need it

    url = httpx.URL(value)
    if url.scheme != "https" and not is_allowed(url, allow):
        raise NodeFailure("file URLs must use https")
    try:
        response = wait(lambda: send("GET", value, allow=allow, timeout=_FETCH_TIMEOUT, max_bytes=MAX_FILE_BYTES))
    except httpx.HTTPError as exc:
        raise NodeFailure(f"fetching the file failed: {type(exc).__name__}") from None
    if response.status >= 400:
        raise NodeFailure(f"fetching the file answered HTTP {response.status}")
    return response_file(response, field)


def response_file(response: HttpResponse, fallback_name: str) -> dict[str, Any]:
    """An HTTP response's body as a file value, named after the last segment of its URL's path."""
    mime = (response.content_type.split(";", 1)[0].strip().lower() or "application/octet-stream")
    name = posixpath.basename(urlsplit(response.url).path) or fallback_name
    return file_value(unquote(name), mime, response.body)
