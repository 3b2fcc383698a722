"""The apps list: status at a glance, create, import and export YAML, duplicate, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from sqlmodel import Session

import workflows
from backend import crud
from backend.api.deps import SessionDep, SettingsDep
from backend.console.auth import ConsoleUser, CsrfChecked, OwnedConsoleApp, csrf_token
from backend.console.render import ConsoleRoute, render
from backend.console.spec_errors import readable_errors
from backend.core.settings import Settings
from backend.models import RunStatus, User, as_utc
from backend.services import InvalidSpec, ServiceError, apps

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

MAX_IMPORT_BYTES = 1024 * 1024
_NOTICES = {"deleted": "App deleted, with its versions, MCP server and runs."}


def _starter_spec(name: str) -> workflows.AppSpec:
    """A new app: one text input, one template step, one output, so the first test run works at once."""
    return workflows.spec_from_dict({
        "name": name,
        "inputs": [{"name": "text", "type": "string", "description": "The text to work on.", "required": True}],
        "steps": [{"id": "echo", "type": "template", "title": "echo the text", "template": "{{ inputs.text }}"}],
        "outputs": [{"name": "result", "type": "string", "description": "The result.", "value": "{{ steps.echo.text }}"}],
    })


def list_page(request: Request, session: Session, settings: Settings, user: User, *, status_code: int = 200,
              error: str | None = None, errors: list[dict[str, str | None]] | None = None,
              form: dict[str, str] | None = None) -> Response:
    """Render the apps list."""
    rows, _count = crud.list_apps(session=session, owner_id=user.id, limit=500)
    items = []
    for app in rows:
        last, _ = crud.list_runs(session=session, app_id=app.id, limit=1)
        run = {"id": last[0].id, "status": RunStatus(last[0].status).value, "at": as_utc(last[0].created_at)} if last else None
        items.append({"app": apps.app_public(session=session, app=app), "last_run": run})
    return render(request, "apps.html", status_code=status_code, user=user, apps=items, error=error,
                  errors=errors or [], form=form or {}, notice=_NOTICES.get(request.query_params.get("notice", "")),
                  csrf_token=csrf_token(request, settings))


@router.get("/")
def home(request: Request, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """The signed-in user's apps."""
    return list_page(request, session, settings, user)


@router.post("/apps", dependencies=[CsrfChecked])
def create(request: Request, session: SessionDep, settings: SettingsDep, user: ConsoleUser,
           name: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Create an app from the starter spec and open its editor."""
    name = name.strip()
    if not name or len(name) > 100:
        return list_page(request, session, settings, user, status_code=400, form={"name": name},
                         error="Give the app a name of 1 to 100 characters.")
    try:
        app = apps.create_app(session=session, owner=user, spec=_starter_spec(name))
    except ServiceError as exc:
        return list_page(request, session, settings, user, status_code=409, form={"name": name}, error=f"{exc}.")
    return RedirectResponse(f"/apps/{app.id}/edit", status_code=303)


@router.post("/apps/import", dependencies=[CsrfChecked])
async def import_yaml(request: Request, session: SessionDep, settings: SettingsDep, user: ConsoleUser,
                      yaml_text: Annotated[str, Form(max_length=MAX_IMPORT_BYTES)] = "",
                      file: UploadFile | None = None) -> Response:
    """Create an app from pasted YAML or an uploaded .yaml file (a taken name gets a number)."""
    text = yaml_text
    if file is not None and file.filename:
        raw = await file.read(MAX_IMPORT_BYTES + 1)
        if len(raw) > MAX_IMPORT_BYTES:
            return list_page(request, session, settings, user, status_code=413, form={"yaml_text": ""},
                             error="That file is larger than 1 MiB.")
        text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        return list_page(request, session, settings, user, status_code=400, error="Paste a YAML spec or choose a file.")
    try:
        spec = apps.parse_spec(text=text)
        app = apps.create_app(session=session, owner=user, spec=spec, rename_on_conflict=True)
    except InvalidSpec as exc:
        return list_page(request, session, settings, user, status_code=422, form={"yaml_text": text},
                         error="The YAML is not a valid app spec; nothing was imported.", errors=readable_errors(exc.errors))
    except ServiceError as exc:
        return list_page(request, session, settings, user, status_code=409, form={"yaml_text": text}, error=f"{exc}.")
    return RedirectResponse(f"/apps/{app.id}", status_code=303)


@router.get("/apps/{app_id}/export.yaml")
def export_yaml(app: OwnedConsoleApp) -> Response:
    """Download the draft as YAML."""
    filename = "".join(c if c.isalnum() or c in "-_" else "-" for c in app.name.lower()).strip("-") or "app"
    return Response(apps.export_yaml(app), media_type="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.yaml"', "Cache-Control": "no-store"})


@router.post("/apps/{app_id}/duplicate", dependencies=[CsrfChecked])
def duplicate(app: OwnedConsoleApp, session: SessionDep, user: ConsoleUser) -> Response:
    """Copy the app's draft into a new draft app and open it."""
    copy = apps.duplicate_app(session=session, app=app, owner=user)
    return RedirectResponse(f"/apps/{copy.id}", status_code=303)


@router.post("/apps/{app_id}/delete", dependencies=[CsrfChecked])
def delete(app: OwnedConsoleApp, session: SessionDep) -> Response:
    """Delete the app with its versions, MCP server and runs (the page asks for confirmation first)."""
    apps.delete_app(session=session, app=app)
    return RedirectResponse("/?notice=deleted", status_code=303)
