"""The "Start from an example" gallery: every account can copy an example app into its own apps in one click."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from backend.api.deps import SessionDep, SettingsDep
from backend.console.auth import ConsoleUser, CsrfChecked, csrf_token
from backend.console.render import ConsoleRoute, PageNotFound, render
from backend.services import NotFound, examples

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)


@router.get("/examples")
def gallery(request: Request, settings: SettingsDep, user: ConsoleUser) -> Response:
    """The example apps, each with what it takes, what it does and a button that copies it."""
    return render(request, "examples.html", user=user, examples=examples.list_examples(),
                  csrf_token=csrf_token(request, settings))


@router.post("/examples/{key}/copy", dependencies=[CsrfChecked])
def copy(key: str, session: SessionDep, user: ConsoleUser) -> Response:
    """Copy an example into the user's apps and open it."""
    try:
        app = examples.copy_example(session=session, owner=user, key=key)
    except NotFound as exc:
        raise PageNotFound() from exc
    return RedirectResponse(f"/apps/{app.id}?notice=example-copied", status_code=303)
