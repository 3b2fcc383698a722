"""The content blocks of a successful tools/call: text, then images, audio and (embedded or linked) resources.

`structuredContent` is the run's recorded result, where each image, audio, file and resource output is a
description (name, MIME type, size, `resource_uri`). Next to it, each such output becomes a block: an
`image` or `audio` block, an embedded `resource` (a `file` output under its run file URI, a `resource`
output under its own URI), or, when it is larger than EMBED_EACH_BYTES or would take the result past
EMBED_TOTAL_BYTES, a `resource_link` to its run file URI, which `resources/read` on the same MCP URL answers
(see backend.mcp.run_files).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import mcp_types as types

from backend.core.settings import Settings
from backend.models import Run
from backend.services.run_files import StoredFile, run_files_for_result

__all__ = ["EMBED_EACH_BYTES", "EMBED_TOTAL_BYTES", "file_contents", "has_files", "render_outputs", "success_result"]

EMBED_EACH_BYTES = 256 * 1024
EMBED_TOTAL_BYTES = 1024 * 1024
_MAX_TEXT = 100_000


def _render_value(name: str, value: Any, files: dict[str, StoredFile]) -> str:
    if name in files:
        stored = files[name]
        return f"{name}: {stored.name} ({stored.mime_type}, {stored.size} bytes) at {stored.resource_uri}"
    if isinstance(value, str) and "\n" not in value:
        return f"{name}: {value}"
    if isinstance(value, str):
        return f"{name}:\n{value}"
    indent = 2 if isinstance(value, (dict, list)) else None
    return f"{name}: {json.dumps(value, ensure_ascii=False, indent=indent)}"


def render_outputs(outputs: dict[str, Any], files: dict[str, StoredFile] | None = None) -> str:
    """A human-readable text rendering of structured outputs (content outputs named, not dumped)."""
    if not outputs:
        return "Done (no outputs)."
    text = "\n".join(_render_value(name, value, files or {}) for name, value in outputs.items())
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "\n… (truncated; see structuredContent)"


def file_contents(stored: StoredFile, uri: str) -> types.TextResourceContents | types.BlobResourceContents:
    """A run file's bytes as resource contents under `uri` (text for a text resource, else base64)."""
    assert stored.data is not None
    if stored.is_text:
        return types.TextResourceContents(uri=uri, mime_type=stored.mime_type, text=stored.data.decode("utf-8"))
    return types.BlobResourceContents(uri=uri, mime_type=stored.mime_type, blob=base64.b64encode(stored.data).decode())


def _block(stored: StoredFile) -> types.ContentBlock:
    if stored.data is None:
        return types.ResourceLink(uri=stored.resource_uri, name=stored.name, mime_type=stored.mime_type, size=stored.size)
    if stored.kind in ("image", "audio"):
        data = base64.b64encode(stored.data).decode()
        if stored.kind == "image":
            return types.ImageContent(data=data, mime_type=stored.mime_type)
        return types.AudioContent(data=data, mime_type=stored.mime_type)
    uri = stored.uri if stored.kind == "resource" and stored.uri else stored.resource_uri
    return types.EmbeddedResource(resource=file_contents(stored, uri))


def has_files(outputs: dict[str, Any] | None) -> bool:
    """Whether a run's recorded result names run files (content outputs), which its result must read."""
    return any(isinstance(value, dict) and "resource_uri" in value for value in (outputs or {}).values())


def success_result(settings: Settings, run: Run) -> types.CallToolResult:
    """The CallToolResult of a succeeded run (blocking when it has files: they are read from the database)."""
    outputs = run.result or {}
    files: dict[str, StoredFile] = {}
    if has_files(outputs):
        files = run_files_for_result(settings, run.id, embed_each=EMBED_EACH_BYTES, embed_total=EMBED_TOTAL_BYTES)
    blocks: list[types.ContentBlock] = [types.TextContent(type="text", text=render_outputs(outputs, files))]
    blocks += [_block(files[name]) for name in outputs if name in files]
    return types.CallToolResult(content=blocks, structured_content=outputs)
