"""The platform tools: what each one does, its schemas and hints, and the service calls behind it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel
from sqlmodel import Session

import workflows
from backend import crud
from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.models import App, Run, RunStatus, User
from backend.platform_mcp import schemas as s
from backend.platform_mcp.reference import step_types
from backend.services import InvalidSpec, NotFound, ServiceError
from backend.services import apps as app_service
from backend.services import endpoints as endpoint_service
from backend.services import runs as run_service

T = TypeVar("T")
ProgressCallback = Callable[[int, int, str | None], Awaitable[None]]


class Refused(ServiceError):
    """The tool will not do this as asked (missing confirmation, invalid arguments…); the message says why."""


@dataclass(frozen=True)
class Call:
    """One tools/call: who is calling, with which settings, and where progress goes."""

    settings: Settings
    user_id: int
    progress: ProgressCallback | None = None

    async def db(self, fn: Callable[[Session, User], T]) -> T:
        """Run `fn(session, user)` in a worker thread with a database session of its own."""

        def work() -> T:
            with session_scope(self.settings.sqlalchemy_url) as session:
                user = crud.get_user(session=session, user_id=self.user_id)
                if user is None:
                    raise NotFound("your account no longer exists")
                return fn(session, user)

        return await anyio.to_thread.run_sync(work)


Handler = Callable[[Call, Any], Awaitable[BaseModel]]


@dataclass(frozen=True)
class PlatformTool:
    """One tool: its descriptor and its handler; `writes` tools are hidden in read-only mode."""

    name: str
    title: str
    description: str
    params: type[s.Params]
    result: type[BaseModel]
    handler: Handler
    writes: bool
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False


def owned_app(session: Session, user: User, app_id: int) -> App:
    """The user's app with this id; NotFound for a missing app and for someone else's alike."""
    app = crud.get_app(session=session, app_id=app_id, owner_id=user.id)
    if app is None:
        raise NotFound(f"you have no app with id {app_id}")
    return app


def _summary(session: Session, app: App) -> dict[str, Any]:
    view = app_service.app_public(session=session, app=app)
    spec = app_service.load_spec_of(app.spec)
    version = app_service.published_version(session=session, app=app)
    return {
        "id": app.id,
        "name": app.name,
        "tool_name": app_service.tool_name_for(spec),
        "description": spec.description or "",
        "published_version": view.published_version,
        "mcp_enabled": view.mcp_enabled,
        "draft_changed": version is None or version.spec != app.spec,
        "updated_at": app.updated_at,
    }


def _detail(session: Session, app: App) -> s.AppDetail:
    info = app_service.describe_tool(app_service.load_spec_of(app.spec))
    return s.AppDetail(
        **_summary(session, app),
        spec_yaml=app_service.export_yaml(app),
        input_schema=info.input_schema,
        output_schema=info.output_schema,
    )


def cursor_config(tool_name: str, url: str) -> dict[str, Any]:
    """A `.cursor/mcp.json` document with one server entry for the app's URL."""
    return {"mcpServers": {tool_name: {"url": url}}}


def _server_state(session: Session, settings: Settings, app: App, *, reveal: bool) -> s.McpServerState:
    endpoint = endpoint_service.get_or_create_endpoint(session=session, settings=settings, app=app)
    if not reveal:
        return s.McpServerState(app_id=app.id, enabled=endpoint.enabled)
    url = endpoint_service.endpoint_url(settings=settings, endpoint=endpoint)
    tool = app_service.tool_name_for(app_service.load_spec_of(app.spec))
    return s.McpServerState(app_id=app.id, enabled=endpoint.enabled, url=url, cursor_config=cursor_config(tool, url))


def _confirmed(tool: str, params: s.ConfirmedAppRef, what: str) -> None:
    if params.confirm is not True:
        raise Refused(f"{tool} {what}. Nothing was changed. Ask the user, then call it again with confirm: true.")


async def list_apps(call: Call, _params: s.NoParams) -> s.AppList:
    def work(session: Session, user: User) -> s.AppList:
        rows, count = crud.list_apps(session=session, owner_id=user.id, limit=500)
        return s.AppList(apps=[s.AppSummary(**_summary(session, a)) for a in rows], count=count)

    return await call.db(work)


async def get_app(call: Call, params: s.AppRef) -> s.AppDetail:
    return await call.db(lambda session, user: _detail(session, owned_app(session, user, params.app_id)))


async def validate_app_spec(_call: Call, params: s.SpecParams) -> s.Validation:
    try:
        spec = app_service.parse_spec(text=params.spec_yaml)
    except InvalidSpec as exc:
        return s.Validation(valid=False, errors=[s.SpecProblem.model_validate(e) for e in exc.errors])
    info = app_service.describe_tool(spec)
    return s.Validation(
        valid=True, errors=[], tool_name=info.name, input_schema=info.input_schema, output_schema=info.output_schema
    )


async def create_app(call: Call, params: s.SpecParams) -> s.AppDetail:
    spec = app_service.parse_spec(text=params.spec_yaml)
    return await call.db(lambda session, user: _detail(session, app_service.create_app(session=session, owner=user, spec=spec)))


async def update_app(call: Call, params: s.UpdateParams) -> s.AppDetail:
    spec = app_service.parse_spec(text=params.spec_yaml)

    def work(session: Session, user: User) -> s.AppDetail:
        app = app_service.update_draft(session=session, app=owned_app(session, user, params.app_id), spec=spec)
        return _detail(session, app)

    return await call.db(work)


def _test_result(run: Run) -> s.TestRunResult:
    return s.TestRunResult(run_id=run.id, status=RunStatus(run.status), outputs=run.result, error=run.error, trace=run.trace)


async def test_run_app(call: Call, params: s.TestRunParams) -> s.TestRunResult:
    def create(session: Session, user: User) -> Run:
        app = owned_app(session, user, params.app_id)
        spec = app_service.load_spec_of(app.spec)
        try:
            inputs = workflows.validate_inputs(spec, params.arguments)
        except workflows.InvalidInputs as exc:
            issues = "\n".join(f"- {issue.path}: {issue.message}" for issue in exc.errors)
            raise Refused(f"invalid arguments for the draft of {app.name!r}:\n{issues}") from None
        return app_service.create_test_run(session=session, app=app, inputs=inputs)

    run = await call.db(create)
    final = await run_service.dispatch_and_follow(settings=call.settings, run=run, on_progress=call.progress)
    return _test_result(final)


async def publish_app(call: Call, params: s.AppRef) -> s.PublishResult:
    def work(session: Session, user: User) -> s.PublishResult:
        version = app_service.publish_app(session=session, app=owned_app(session, user, params.app_id))
        return s.PublishResult(app_id=params.app_id, published_version=version.number)

    return await call.db(work)


async def list_versions(call: Call, params: s.AppRef) -> s.VersionList:
    def work(session: Session, user: User) -> s.VersionList:
        app = owned_app(session, user, params.app_id)
        rows = app_service.list_versions(session=session, app=app)
        infos = [s.VersionInfo(number=v.number, created_at=v.created_at, published=v.id == app.published_version_id) for v in rows]
        return s.VersionList(app_id=app.id, versions=infos)

    return await call.db(work)


async def rollback_app(call: Call, params: s.RollbackParams) -> s.PublishResult:
    def work(session: Session, user: User) -> s.PublishResult:
        version = app_service.rollback_app(session=session, app=owned_app(session, user, params.app_id), number=params.version)
        return s.PublishResult(app_id=params.app_id, published_version=version.number)

    return await call.db(work)


async def enable_mcp(call: Call, params: s.AppRef) -> s.McpServerState:
    def work(session: Session, user: User) -> s.McpServerState:
        app = owned_app(session, user, params.app_id)
        endpoint_service.enable_endpoint(session=session, settings=call.settings, app=app)
        return _server_state(session, call.settings, app, reveal=True)

    return await call.db(work)


async def disable_mcp(call: Call, params: s.ConfirmedAppRef) -> s.McpServerState:
    _confirmed("disable_mcp", params, "switches the app's MCP server off and cancels the calls running through it")

    def work(session: Session, user: User) -> s.McpServerState:
        app = owned_app(session, user, params.app_id)
        endpoint_service.disable_endpoint(session=session, settings=call.settings, app=app)
        return _server_state(session, call.settings, app, reveal=False)

    return await call.db(work)


async def regenerate_mcp_url(call: Call, params: s.ConfirmedAppRef) -> s.McpServerState:
    _confirmed("regenerate_mcp_url", params, "makes the current URL stop working at once (every client using it breaks)")

    def work(session: Session, user: User) -> s.McpServerState:
        app = owned_app(session, user, params.app_id)
        endpoint_service.regenerate_endpoint(session=session, settings=call.settings, app=app)
        return _server_state(session, call.settings, app, reveal=True)

    return await call.db(work)


def _run_summary(run: Run) -> dict[str, Any]:
    view = run_service.run_public(run)
    return {
        "id": view.id,
        "app_id": view.app_id,
        "status": view.status,
        "source": view.source,
        "client_name": view.client_name,
        "error": view.error,
        "created_at": view.created_at,
        "duration_ms": view.duration_ms,
    }


async def list_runs(call: Call, params: s.ListRunsParams) -> s.RunList:
    def work(session: Session, user: User) -> s.RunList:
        if params.app_id is not None:
            owned_app(session, user, params.app_id)
        status = params.status.value if params.status else None
        rows, count = crud.list_runs(
            session=session, owner_id=user.id, app_id=params.app_id, status=status, skip=0, limit=params.limit
        )
        return s.RunList(runs=[s.RunSummary(**_run_summary(r)) for r in rows], count=count)

    return await call.db(work)


async def get_run(call: Call, params: s.RunRef) -> s.RunDetail:
    def work(session: Session, user: User) -> s.RunDetail:
        run = crud.get_run(session=session, run_id=params.run_id, owner_id=user.id)
        if run is None:
            raise NotFound(f"you have no run with id {params.run_id!r}")
        view = run_service.run_public(run)
        return s.RunDetail(
            **_run_summary(run),
            version_id=view.version_id,
            inputs=view.inputs,
            result=view.result,
            trace=view.trace,
            progress_done=view.progress_done,
            progress_total=view.progress_total,
            progress_message=view.progress_message,
        )

    return await call.db(work)


async def list_step_types(_call: Call, _params: s.NoParams) -> s.StepTypeList:
    return s.StepTypeList(step_types=list(step_types()))


async def delete_app(call: Call, params: s.ConfirmedAppRef) -> s.Deleted:
    _confirmed("delete_app", params, "deletes the app with every version, its MCP server and its run history")

    def work(session: Session, user: User) -> s.Deleted:
        app_service.delete_app(session=session, app=owned_app(session, user, params.app_id))
        return s.Deleted(app_id=params.app_id, deleted=True)

    return await call.db(work)


_READ = {"writes": False, "idempotent": True}
_WRITE = {"writes": True}

TOOLS: tuple[PlatformTool, ...] = (
    PlatformTool("list_apps", "List my apps", "List your Toolpress apps: id, name, tool name, published version, "
                 "whether the MCP server is on and whether the draft has unpublished changes.",
                 s.NoParams, s.AppList, list_apps, **_READ),
    PlatformTool("get_app", "Get an app", "One app's draft spec as YAML, with the input and output JSON Schemas its "
                 "MCP tool shows clients. Edit the YAML and pass it to update_app.",
                 s.AppRef, s.AppDetail, get_app, **_READ),
    PlatformTool("validate_app_spec", "Validate an app spec", "Check an app spec (YAML) without saving it. Returns "
                 "every error with its path and step id, or the tool name and JSON Schemas the spec would produce.",
                 s.SpecParams, s.Validation, validate_app_spec, **_READ),
    PlatformTool("create_app", "Create an app", "Create an app from a spec (YAML) as an unpublished draft. An invalid "
                 "spec is refused with every error listed; names must be unique among your apps.",
                 s.SpecParams, s.AppDetail, create_app, **_WRITE),
    PlatformTool("update_app", "Update an app", "Replace an app's draft with a new spec (YAML). The published version "
                 "keeps serving until publish_app.",
                 s.UpdateParams, s.AppDetail, update_app, idempotent=True, **_WRITE),
    PlatformTool("test_run_app", "Test-run an app's draft", "Run the app's current draft (unpublished changes "
                 "included) with the given arguments as a queued run; progress is reported per step. Returns the "
                 "status, outputs or error, and the step trace. Steps may call outside services.",
                 s.TestRunParams, s.TestRunResult, test_run_app, open_world=True, **_WRITE),
    PlatformTool("publish_app", "Publish an app", "Publish the draft as a new immutable version; the app's MCP server "
                 "serves it from now on.",
                 s.AppRef, s.PublishResult, publish_app, **_WRITE),
    PlatformTool("list_versions", "List an app's versions", "The app's published versions, newest first, marking the "
                 "one its MCP server serves.",
                 s.AppRef, s.VersionList, list_versions, **_READ),
    PlatformTool("rollback_app", "Roll back an app", "Serve an earlier published version again (no new version is "
                 "made; the draft is left as it is).",
                 s.RollbackParams, s.PublishResult, rollback_app, idempotent=True, **_WRITE),
    PlatformTool("enable_mcp", "Enable an app's MCP server", "Switch the app's MCP server on (it must be published) and "
                 "return its secret URL and a ready .cursor/mcp.json entry. Re-enabling gives the same URL as before.",
                 s.AppRef, s.McpServerState, enable_mcp, idempotent=True, **_WRITE),
    PlatformTool("disable_mcp", "Disable an app's MCP server", "Switch the app's MCP server off: its URL answers 404 "
                 "until enabled again and calls running through it are cancelled. Needs confirm: true.",
                 s.ConfirmedAppRef, s.McpServerState, disable_mcp, destructive=True, idempotent=True, **_WRITE),
    PlatformTool("regenerate_mcp_url", "Regenerate an app's MCP URL", "Give the app's MCP server a new secret URL: the "
                 "old URL stops working at once and calls running through it are cancelled. Needs confirm: true.",
                 s.ConfirmedAppRef, s.McpServerState, regenerate_mcp_url, destructive=True, **_WRITE),
    PlatformTool("list_runs", "List runs", "Runs of your apps (MCP calls and test runs), newest first, optionally for "
                 "one app or one status.",
                 s.ListRunsParams, s.RunList, list_runs, **_READ),
    PlatformTool("get_run", "Get a run", "One run: arguments, status, progress, result or error, and the step trace.",
                 s.RunRef, s.RunDetail, get_run, **_READ),
    PlatformTool("list_step_types", "List step types", "Every step type an app spec can use, with the JSON Schema of "
                 "its fields and the results later steps can read. Read this before writing steps.",
                 s.NoParams, s.StepTypeList, list_step_types, **_READ),
    PlatformTool("delete_app", "Delete an app", "Delete the app with every version, its MCP server and its run "
                 "history. Cannot be undone. Needs confirm: true.",
                 s.ConfirmedAppRef, s.Deleted, delete_app, destructive=True, **_WRITE),
)

TOOLS_BY_NAME = {tool.name: tool for tool in TOOLS}
