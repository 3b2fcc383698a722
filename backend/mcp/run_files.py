"""`resources/read` of a run file URI (``toolpress://runs/<run id>/files/<output>``), as a `resource_link` gives.

Run files are not listed (there would be one per call); a client reads one it was given. Only the way in
that made the run may read it: the same app endpoint or toolkit, and, when the run came with an access
token, that token (a run made through the URL secret is read through the URL). Any other request gets the
same "not found" as a URI that never existed.
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext

from backend import crud
from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.mcp.access import bearer_of
from backend.mcp.content import file_contents
from backend.models import Run
from backend.services.endpoints import EndpointTarget
from backend.services.run_files import StoredFile, parse_run_file_uri, read_run_file
from backend.services.tokens import Bearer
from backend.services.toolkits import ToolkitTarget

__all__ = ["read_run_file_resource", "template_file_contents"]


def _same_way_in(run: Run, target: EndpointTarget | ToolkitTarget, bearer: Bearer | None) -> bool:
    """Whether the request came in the way the run did: endpoint or toolkit, and URL or the same token."""
    if isinstance(target, ToolkitTarget):
        place = run.toolkit_id == target.toolkit.id
    else:
        place = run.toolkit_id is None and run.endpoint_id == target.endpoint.id
    if not place:
        return False
    if bearer is None:
        return run.access in (None, "url")
    if bearer.id is not None:
        return run.token_id == bearer.id
    return run.access == bearer.access


def _load_own(settings: Settings, run_id: str, output: str) -> StoredFile | None:
    with session_scope(settings.sqlalchemy_url) as session:
        return read_run_file(session, run_id, output)


def _load(settings: Settings, run_id: str, output: str, target: EndpointTarget | ToolkitTarget,
          bearer: Bearer | None) -> StoredFile | None:
    with session_scope(settings.sqlalchemy_url) as session:
        run = crud.get_run(session=session, run_id=run_id)
        if run is None or not _same_way_in(run, target, bearer):
            return None
        return read_run_file(session, run_id, output)


async def read_run_file_resource(settings: Settings, ctx: ServerRequestContext[Any, Any],
                                 target: EndpointTarget | ToolkitTarget, uri: str) -> types.ReadResourceResult | None:
    """The contents of a run file URI readable by this request; None when `uri` is no such URI for it."""
    found = parse_run_file_uri(uri)
    if found is None:
        return None
    stored = await anyio.to_thread.run_sync(_load, settings, *found, target, bearer_of(ctx))
    if stored is None:
        return None
    return types.ReadResourceResult(contents=[file_contents(stored, uri)])


async def template_file_contents(settings: Settings, value: Any, uri: str) -> types.ReadResourceResult | None:
    """The contents of a templated resource read whose output is a run file (the run this request just made)."""
    found = parse_run_file_uri(value.get("resource_uri", "")) if isinstance(value, dict) else None
    stored = await anyio.to_thread.run_sync(_load_own, settings, *found) if found is not None else None
    if stored is None:
        return None
    return types.ReadResourceResult(contents=[file_contents(stored, uri)])
