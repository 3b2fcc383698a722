"""The bytes of a run's image, audio, file and resource outputs: stored once, described in the result.

The sandbox hands the worker every content output as a content value (``workflows.content``: name, MIME
type, size, and base64 or text). The worker stores the bytes as `RunFile` rows in the same transaction
that records the run's end, and keeps in `run.result` only a JSON-safe description with the URI that
reads them back (``toolpress://runs/<run id>/files/<output>``). The database is shared by every API
process and worker, so a tools/call answered by one process, a `resources/read` on another and a console
download all see the same bytes, and deleting the run deletes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

import workflows
from backend import crud
from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.models import RunFile
from workflows.content import CONTENT_TYPES, content_bytes

__all__ = [
    "StoredFile",
    "content_outputs",
    "parse_run_file_uri",
    "read_run_file",
    "run_file_uri",
    "run_files_for_result",
    "split_content",
    "stage_run_files",
]

_URI = re.compile(r"^toolpress://runs/(?P<run>[0-9a-f]{32})/files/(?P<output>[A-Za-z_][A-Za-z0-9_]{0,63})$")


@dataclass(frozen=True)
class StoredFile:
    """A run file as callers use it; `data` is None when it was not loaded (too large to embed)."""

    output: str
    kind: str
    name: str
    mime_type: str
    size: int
    uri: str | None
    is_text: bool
    data: bytes | None
    resource_uri: str


def run_file_uri(run_id: str, output: str) -> str:
    """The URI that reads a run file with `resources/read` on the MCP URL that made the run."""
    return f"toolpress://runs/{run_id}/files/{output}"


def parse_run_file_uri(uri: str) -> tuple[str, str] | None:
    """(run id, output) of a run file URI, or None when `uri` is not one."""
    match = _URI.match(uri)
    return (match["run"], match["output"]) if match else None


def content_outputs(spec: workflows.AppSpec) -> dict[str, str]:
    """The spec's image, audio, file and resource outputs: name -> type."""
    return {out.name: out.type for out in spec.outputs if out.type in CONTENT_TYPES}


def split_content(run_id: str, spec: workflows.AppSpec, outputs: Mapping[str, Any]
                  ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the result to record, with descriptions in place of bytes; the files to store) of a run's outputs."""
    result = dict(outputs)
    files = []
    for name, kind in content_outputs(spec).items():
        value = outputs.get(name)
        if not isinstance(value, Mapping):
            continue
        description = {key: value[key] for key in ("name", "mime_type", "size", "uri") if key in value}
        result[name] = {**description, "resource_uri": run_file_uri(run_id, name)}
        files.append({"output": name, "kind": kind, "name": str(value["name"])[:255], "mime_type": value["mime_type"],
                      "size": int(value["size"]), "uri": value.get("uri"), "is_text": "text" in value,
                      "data": content_bytes(value)})
    return result, files


def stage_run_files(*, session: Session, run_id: str, files: list[dict[str, Any]]) -> None:
    """Add the run's files to the session; they commit with the run's end."""
    crud.add_run_files(session=session, files=[RunFile(run_id=run_id, **file) for file in files])


def _stored(row: RunFile, load: bool) -> StoredFile:
    return StoredFile(output=row.output, kind=row.kind, name=row.name, mime_type=row.mime_type, size=row.size, uri=row.uri,
                      is_text=row.is_text, data=bytes(row.data) if load else None,
                      resource_uri=run_file_uri(row.run_id, row.output))


def run_files_for_result(settings: Settings, run_id: str, *, embed_each: int, embed_total: int) -> dict[str, StoredFile]:
    """A run's files by output; the bytes are loaded for those small enough to embed (each, and in all)."""
    loaded: dict[str, StoredFile] = {}
    budget = embed_total
    with session_scope(settings.sqlalchemy_url) as session:
        for row in crud.list_run_files(session=session, run_id=run_id):
            load = row.size <= embed_each and row.size <= budget
            budget -= row.size if load else 0
            loaded[row.output] = _stored(row, load)
    return loaded


def read_run_file(session: Session, run_id: str, output: str) -> StoredFile | None:
    """One run file with its bytes, or None."""
    row = crud.get_run_file(session=session, run_id=run_id, output=output)
    return _stored(row, True) if row is not None else None
