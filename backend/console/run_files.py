"""Downloads of a run's files (its image, audio, file and resource outputs) for the app's owner.

The run page and the test run show image outputs inline and offer every file for download from here. The
bytes come from the database (backend.services.run_files), so any API process serves them. A file is sent
as an attachment under a sandboxing Content-Security-Policy and `nosniff`, so content an app produced (an
SVG with a script, HTML) never runs in the console's origin, even when opened directly.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from backend import crud
from backend.api.deps import SessionDep
from backend.api.routes.run_files import download_response
from backend.console.auth import ConsoleUser
from backend.console.render import ConsoleRoute, PageNotFound
from backend.models import Run
from backend.services.run_files import read_run_file, run_file_uri

__all__ = ["files_view", "router"]

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

# image types a browser shows in an <img> without running anything (an SVG in <img> runs no script either)
_SHOWN = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml", "image/avif", "image/bmp")


def files_view(run: Run) -> list[dict[str, Any]]:
    """The run's files as the console lists them: output, name, MIME type, size, download URL, shown inline."""
    files = []
    for output, value in (run.result or {}).items():
        if not isinstance(value, dict) or value.get("resource_uri") != run_file_uri(run.id, output):
            continue
        mime = str(value.get("mime_type", ""))
        files.append({"output": output, "name": value.get("name") or output, "mime_type": mime,
                      "size": value.get("size"), "url": f"/runs/{run.id}/files/{output}", "image": mime in _SHOWN})
    return files


@router.get("/runs/{run_id}/files/{output}")
def download(run_id: str, output: str, session: SessionDep, user: ConsoleUser) -> Response:
    """One file of one of the user's runs, as an attachment."""
    run = crud.get_run(session=session, run_id=run_id[:64], owner_id=user.id)
    stored = read_run_file(session, run.id, output[:200]) if run is not None else None
    if stored is None:
        raise PageNotFound()
    return download_response(stored)
