"""Downloads of a run's files (the bytes of its image, audio, file and resource outputs)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Response

from backend import crud
from backend.api.deps import CurrentUser, SessionDep
from backend.api.responses import errors
from backend.api.routes.runs import RunId
from backend.services.run_files import StoredFile, read_run_file

__all__ = ["download_response", "router"]

router = APIRouter(tags=["runs"], responses=errors(401, 422))

OutputName = Annotated[str, Path(pattern="^[A-Za-z_][A-Za-z0-9_]{0,63}$", description="The output's name")]
# content an app produced must never run in Toolpress's origin, even when a browser opens it directly
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
}


def download_response(stored: StoredFile) -> Response:
    """A run file as a sandboxed attachment under its own name and MIME type."""
    assert stored.data is not None
    disposition = f"attachment; filename*=UTF-8''{quote(stored.name, safe='')}"
    return Response(stored.data, media_type=stored.mime_type, headers={**_HEADERS, "Content-Disposition": disposition})


@router.get("/runs/{run_id}/files/{output}", response_class=Response, responses=errors(404))
def download_run_file(run_id: RunId, output: OutputName, session: SessionDep, user: CurrentUser) -> Response:
    """The bytes of one image, audio, file or resource output of one of your runs (its `resource_uri`)."""
    run = crud.get_run(session=session, run_id=run_id, owner_id=user.id)
    stored = read_run_file(session, run.id, output) if run is not None else None
    if stored is None:
        raise HTTPException(status_code=404, detail="file not found")
    return download_response(stored)
