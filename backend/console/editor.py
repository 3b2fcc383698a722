"""The app editor: a form view and a YAML view of the same draft, checked live by the engine."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

import workflows
from workflows.diagram import diagram_of
from backend.api.deps import SessionDep, SettingsDep
from backend.console.auth import ConsoleUser, CsrfHeaderChecked, OwnedConsoleApp, csrf_token
from backend.console.render import ConsoleRoute, render, script_json
from backend.console.spec_errors import readable_errors
from backend.models import App
from backend.services import InvalidSpec, ServiceError, apps, remote_tools
from backend.services.catalog import listing
from workflows.checks import APPLICABLE

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

_DOCUMENT = "(document)"  # the engine's path for problems with the document as a whole
_MULTILINE = {"template", "system", "user", "body", "expression", "when"}
_CODE = {"code"}  # source code: a monospace box where Tab indents
_NO_STORE = {"Cache-Control": "no-store"}
MAX_SPEC_CHARS = 1024 * 1024


class RemoteToolsBody(BaseModel):
    """An mcp_tool step's server, to list its tools: the URL and the headers (``{{ secrets.NAME }}`` allowed)."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2048)
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)


class EditorBody(BaseModel):
    """A draft from the editor: the form view's spec, or the YAML view's text."""

    model_config = ConfigDict(extra="forbid")
    spec: dict[str, Any] | None = None
    yaml: str | None = Field(default=None, max_length=MAX_SPEC_CHARS)


def _field_kind(name: str, annotation: Any) -> tuple[str, list[Any] | None]:
    """How the editor shows one node config field: text, textarea, select, checkbox, number or json."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        present = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = present[0] if len(present) == 1 else annotation
    if typing.get_origin(annotation) is Literal:
        return "select", list(typing.get_args(annotation))
    if annotation is str:
        if name in _CODE:
            return "code", None
        return ("textarea" if name in _MULTILINE else "text"), None
    if annotation is bool:
        return "checkbox", None
    if annotation in (int, float):
        return "number", None
    return "json", None


def step_catalogue() -> list[dict[str, Any]]:
    """The palette: every registered step type with its description and a form field per config field."""
    catalogue = []
    for key in workflows.node_types():
        node = workflows.get_node_type(key)
        assert node is not None
        fields = []
        for name, info in node.Config.model_fields.items():
            kind, options = _field_kind(info.alias or name, info.annotation)
            default = None if info.is_required() else info.get_default(call_default_factory=True)
            fields.append({
                "name": info.alias or name,
                "kind": kind,
                "options": options,
                "required": info.is_required(),
                "description": info.description or "",
                "default": default if isinstance(default, (str, int, float, bool, list, dict)) else None,
            })
        catalogue.append({"type": key, "description": node.description, "fields": fields})
    return catalogue


def _tool_view(spec: workflows.AppSpec) -> dict[str, Any]:
    info = apps.describe_tool(spec)
    return {"name": info.name, "title": info.title, "description": info.description,
            "inputSchema": info.input_schema, "outputSchema": info.output_schema, "annotations": info.annotations}


def _catalog_view(spec: workflows.AppSpec) -> dict[str, Any]:
    return listing((spec.prompts, spec.resources, spec.resource_templates))


def _failed(errors: list[dict[str, Any]], raw: Any, text: str) -> dict[str, Any]:
    return {"ok": False, "errors": readable_errors(errors, raw), "spec": raw, "yaml": text, "tool": None, "catalog": None}


def _json_fields() -> dict[str, set[str]]:
    """Per step type, the config fields the form edits as JSON text (mappings and lists)."""
    return {entry["type"]: {f["name"] for f in entry["fields"] if f["kind"] == "json"} for entry in step_catalogue()}


def _read_typed_text(steps: Any, json_fields: dict[str, set[str]]) -> None:
    """Turn a JSON field typed as YAML text (`words: steps.a.n`, as the YAML view shows it) into its value, in place.

    Nested steps (condition branches, map bodies) too. Text that is not a mapping or list stays text, and the
    engine's check then says what is wrong with it.
    """
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        for name in json_fields.get(str(step.get("type")), set()):
            if isinstance(step.get(name), str):
                try:
                    value = workflows.load_value(step[name])
                except workflows.SpecError:
                    continue
                if isinstance(value, (dict, list)):
                    step[name] = value
        branches = step.get("branches")
        for branch in branches if isinstance(branches, list) else []:
            _read_typed_text(branch.get("steps") if isinstance(branch, dict) else None, json_fields)
        _read_typed_text(step.get("else"), json_fields)
        if step.get("type") == "map":
            _read_typed_text(step.get("steps"), json_fields)


def check_draft(body: EditorBody) -> dict[str, Any]:
    """Validate a draft from either view; answer with its issues, both views of it and the live tool.

    YAML goes through the engine's guarded loader first (alias bombs, depth and size limits); only a
    document that loader accepted is read again with PyYAML to give the form view its raw content.
    """
    if body.yaml is None and body.spec is None:
        return _failed([{"path": "(root)", "message": "nothing to check", "step": None}], None, "")
    if body.spec is not None:
        _read_typed_text(body.spec.get("steps"), _json_fields())
    try:
        spec = apps.parse_spec(spec=body.spec) if body.yaml is None else apps.parse_spec(text=body.yaml)
    except InvalidSpec as exc:
        if body.yaml is None:
            return _failed(exc.errors, body.spec, yaml.safe_dump(body.spec, sort_keys=False, allow_unicode=True))
        if any(e["path"] == _DOCUMENT for e in exc.errors):
            return _failed(exc.errors, None, body.yaml)
        raw = yaml.safe_load(body.yaml)
        return _failed(exc.errors, raw if isinstance(raw, dict) else None, body.yaml)
    text = body.yaml if body.yaml is not None else workflows.dump_spec(spec)
    return {"ok": True, "errors": [], "spec": workflows.spec_to_dict(spec), "yaml": text, "tool": _tool_view(spec),
            "catalog": _catalog_view(spec)}


def _editor_context(app: App) -> dict[str, Any]:
    spec = apps.load_spec_of(app.spec)
    return {
        "spec_json": script_json(workflows.spec_to_dict(spec)),
        "catalogue_json": script_json({
            "steps": step_catalogue(),
            "inputTypes": list(typing.get_args(workflows.spec.InputType)),
            "outputTypes": list(typing.get_args(workflows.spec.OutputType)),
            "constraints": {k: list(v) for k, v in APPLICABLE.items()},
        }),
        "tool_json": script_json(_tool_view(spec)),
        "catalog_view_json": script_json(_catalog_view(spec)),
        "diagram": diagram_of(spec),
    }


@router.get("/apps/{app_id}/edit")
def editor_page(request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep,
                user: ConsoleUser) -> Response:
    """The editor of the app's draft."""
    response = render(request, "editor.html", user=user, app=app, tab="edit", csrf_token=csrf_token(request, settings),
                      version=apps.published_version(session=session, app=app), **_editor_context(app))
    response.headers.update(_NO_STORE)
    return response


@router.post("/apps/{app_id}/editor/check", dependencies=[CsrfHeaderChecked])
def check(app: OwnedConsoleApp, body: Annotated[EditorBody, Body()]) -> JSONResponse:
    """Check a draft without saving it."""
    return JSONResponse(check_draft(body), headers=_NO_STORE)


@router.post("/apps/{app_id}/editor/mcp-tools", dependencies=[CsrfHeaderChecked])
def list_mcp_tools(app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep,
                   body: Annotated[RemoteToolsBody, Body()]) -> JSONResponse:
    """The tools of the MCP server an mcp_tool step names, to fill its argument form (422 with a reason)."""
    try:
        tools = remote_tools.remote_tools(session=session, settings=settings, owner_id=app.owner_id, url=body.url,
                                          headers=body.headers)
    except remote_tools.RemoteToolsUnavailable as exc:
        return JSONResponse({"ok": False, "error": str(exc)}, status_code=422, headers=_NO_STORE)
    return JSONResponse({"ok": True, "tools": tools}, headers=_NO_STORE)


@router.post("/apps/{app_id}/draft", dependencies=[CsrfHeaderChecked])
def save_draft(app: OwnedConsoleApp, session: SessionDep, body: Annotated[EditorBody, Body()]) -> JSONResponse:
    """Save the draft if it is valid; otherwise answer 422 with every issue (nothing is stored)."""
    result = check_draft(body)
    if not result["ok"]:
        return JSONResponse(result, status_code=422)
    try:
        apps.update_draft(session=session, app=app, spec=apps.parse_spec(spec=result["spec"]))
    except ServiceError as exc:
        path = "name" if "named" in str(exc) else "(root)"
        return JSONResponse({**result, "ok": False, "errors": readable_errors([{"path": path, "message": str(exc), "step": None}])},
                            status_code=409)
    return JSONResponse({**result, "saved": True})
