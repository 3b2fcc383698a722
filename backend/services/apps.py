"""Create, edit, publish and describe apps."""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

import workflows
from backend import crud
from backend.models import App, AppPublic, AppVersion, AppVersionPublic, Run, User
from backend.services.errors import Conflict, InvalidSpec, NotFound
from backend.services.workers import local_queue_owner

CONSOLE_SOURCE = "console"
"""The `source` of a test run started in the console; the worker runs such a run on the draft."""

_TOOL_NAME_BAD = re.compile(r"[^a-zA-Z0-9_-]+")


def parse_spec(*, spec: dict[str, Any] | None = None, text: str | None = None) -> workflows.AppSpec:
    """Validate a spec given as a dict or as YAML/JSON text; raise InvalidSpec listing every problem."""
    if (spec is None) == (text is None):
        raise InvalidSpec([{"path": "(root)", "message": "give exactly one of 'spec' (JSON) or 'yaml' (text)"}])
    try:
        return workflows.spec_from_dict(spec) if spec is not None else workflows.load_spec(text or "")
    except workflows.SpecError as exc:
        raise InvalidSpec([{"path": i.path, "message": i.message, "step": getattr(i, "step", None)} for i in exc.errors]) from None


def tool_name_for(spec: workflows.AppSpec) -> str:
    """The MCP tool name: the spec's `tool_name` or its name, sanitized to ^[a-zA-Z0-9_-]{1,64}$."""
    raw = getattr(spec, "tool_name", None) or spec.name
    cleaned = _TOOL_NAME_BAD.sub("_", raw.strip()).strip("_")
    return (cleaned or "app")[:64]


@dataclass(frozen=True)
class ToolInfo:
    """What an MCP client sees of a published app."""

    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    annotations: dict[str, bool]


def describe_tool(spec: workflows.AppSpec) -> ToolInfo:
    """The tool descriptor of a spec."""
    return ToolInfo(
        name=tool_name_for(spec),
        title=getattr(spec, "title", None) or spec.name,
        description=spec.description or spec.name,
        input_schema=workflows.input_schema(spec),
        output_schema=workflows.output_schema(spec),
        annotations=_annotations(spec),
    )


_HINTS = {"read_only": "readOnlyHint", "destructive": "destructiveHint", "idempotent": "idempotentHint", "open_world": "openWorldHint"}


def _annotations(spec: workflows.AppSpec) -> dict[str, bool]:
    """MCP tool annotation hints (camelCase) for the ones the spec sets."""
    given = getattr(spec, "annotations", None)
    if given is None:
        return {}
    return {_HINTS[k]: v for k, v in given.model_dump().items() if v is not None}


def load_spec_of(data: dict[str, Any]) -> workflows.AppSpec:
    """A stored spec dict back as an AppSpec (it was validated when stored, perhaps under older rules)."""
    return workflows.spec_from_dict(data, stored=True)


# Parsing a spec validates it again (templates included): milliseconds, on every call and listing. A published
# version never changes, so its parsed spec is kept, keyed by id and creation time (SQLite may reuse the id of a
# deleted row; the time tells the new row from the old one). An entry used in the last _VERSION_SPECS_PINNED
# seconds is never evicted: the secret lookup parses (or finds) the spec and leaves the version's own spec
# unloaded, so the request that follows must still find the entry.
_VERSION_SPECS: OrderedDict[tuple[int, str], tuple[workflows.AppSpec, float]] = OrderedDict()
_VERSION_SPECS_MAX = 1024
_VERSION_SPECS_PINNED = 60.0
_VERSION_SPECS_LOCK = threading.Lock()


def version_spec(version: AppVersion | crud.VersionRef, document: Callable[[], Any] | None = None) -> workflows.AppSpec:
    """The parsed spec of a published version, parsed once per process (callers must not change it).

    `document` reads the stored spec when it is not cached yet (by default the row's own `spec`; a VersionRef
    has none, so its caller passes one).
    """
    read = document or (lambda: version.spec)  # type: ignore[union-attr]
    if version.id is None:
        return load_spec_of(read())
    key = (version.id, str(version.created_at))
    now = time.monotonic()
    with _VERSION_SPECS_LOCK:
        cached = _VERSION_SPECS.get(key)
        if cached is not None:
            _VERSION_SPECS[key] = (cached[0], now)
            _VERSION_SPECS.move_to_end(key)
            return cached[0]
    spec = load_spec_of(read())
    with _VERSION_SPECS_LOCK:
        _VERSION_SPECS[key] = (spec, now)
        while len(_VERSION_SPECS) > _VERSION_SPECS_MAX:
            oldest = next(iter(_VERSION_SPECS.values()))
            if now - oldest[1] < _VERSION_SPECS_PINNED:
                break  # every entry is in recent use: grow for now, shrink once they age
            _VERSION_SPECS.popitem(last=False)
    return spec


def free_name(*, session: Session, owner: User, name: str) -> str:
    """`name`, or `name (2)`, `name (3)`… — the first one the owner does not use yet."""
    candidate, n = name, 1
    while crud.get_app_by_name(session=session, name=candidate, owner_id=owner.id):
        n += 1
        candidate = f"{name[:90]} ({n})"
    return candidate


def create_app(*, session: Session, owner: User, spec: workflows.AppSpec, rename_on_conflict: bool = False) -> App:
    """Create an app from a validated spec; names are unique per owner (optionally made so by numbering)."""
    if rename_on_conflict:
        spec = spec.model_copy(update={"name": free_name(session=session, owner=owner, name=spec.name)})
    if crud.get_app_by_name(session=session, name=spec.name, owner_id=owner.id):
        raise Conflict(f"you already have an app named {spec.name!r}")
    try:
        return crud.create_app(session=session, owner_id=owner.id, name=spec.name, spec=workflows.spec_to_dict(spec))
    except IntegrityError:
        session.rollback()
        raise Conflict(f"you already have an app named {spec.name!r}") from None


def update_draft(*, session: Session, app: App, spec: workflows.AppSpec) -> App:
    """Replace an app's draft spec."""
    others = [a for a in crud.get_app_by_name(session=session, name=spec.name, owner_id=app.owner_id) if a.id != app.id]
    if others:
        raise Conflict(f"you already have an app named {spec.name!r}")
    return crud.update_app_spec(session=session, app=app, name=spec.name, spec=workflows.spec_to_dict(spec))


def _check_toolkit_clashes(session: Session, app: App, spec: workflows.AppSpec) -> None:
    """Conflict when serving `spec` for `app` would give a toolkit it is in a prompt name or resource URI twice."""
    for toolkit_id in crud.list_toolkit_ids_of_app(session=session, app_id=app.id):
        served = [(app.name, spec)]
        for member in crud.list_toolkit_apps(session=session, toolkit_id=toolkit_id):
            other = crud.get_app(session=session, app_id=member.app_id) if member.app_id != app.id else None
            version = published_version(session=session, app=other) if other is not None else None
            if other is not None and version is not None:
                served.append((other.name, version_spec(version)))
        clashes = workflows.catalog_conflicts(served)
        if clashes:
            raise Conflict(f"a toolkit this app is in would serve a name twice: {'; '.join(clashes)}")


def draft_is_published(*, session: Session, app: App) -> bool:
    """True when the draft is exactly the published version (publishing it would add nothing)."""
    version = published_version(session=session, app=app)
    return version is not None and version.spec == app.spec


def publish_app(*, session: Session, app: App) -> AppVersion:
    """Publish the current draft as a new immutable version; an unchanged draft keeps its published version.

    Refused when the draft no longer passes today's checks, or would serve a name twice inside a toolkit.
    """
    spec = parse_spec(spec=app.spec)  # a stored draft that no longer passes today's checks must not be published
    if draft_is_published(session=session, app=app):
        version = published_version(session=session, app=app)
        assert version is not None
        return version
    _check_toolkit_clashes(session, app, spec)
    return crud.create_version(session=session, app=app)


def _tool_name_of(*, session: Session, app: App) -> str | None:
    """The tool name clients see (the published version's, else the draft's); None for an unreadable draft."""
    version = published_version(session=session, app=app)
    try:
        return tool_name_for(load_spec_of(version.spec if version is not None else app.spec))
    except (workflows.SpecError, ValueError):
        return None


def resolve_app(*, session: Session, ref: str, owner_id: int | None = None) -> App:
    """An app by id, by name (exact, else in any letter case) or by tool name; NotFound otherwise."""
    if ref.isdigit():
        app = crud.get_app(session=session, app_id=int(ref), owner_id=owner_id)
        if app is not None:
            return app
    matches = crud.get_app_by_name(session=session, name=ref, owner_id=owner_id)
    if not matches:
        matches = crud.get_app_by_name(session=session, name=ref, owner_id=owner_id, any_case=True)
    if not matches:
        owned, _ = crud.list_apps(session=session, owner_id=owner_id, limit=10_000)
        matches = [app for app in owned if _tool_name_of(session=session, app=app) == ref]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise Conflict(f"several apps are named {ref!r}: use the app id ({', '.join(str(a.id) for a in matches)})")
    raise NotFound(f"no app {ref!r} (give an app id, name or tool name)")


def export_yaml(app: App) -> str:
    """The app's draft as YAML."""
    return workflows.dump_spec(load_spec_of(app.spec))


def published_version(*, session: Session, app: App) -> AppVersion | None:
    """The app's live version, if it was ever published."""
    if app.published_version_id is None:
        return None
    return crud.get_version(session=session, version_id=app.published_version_id)


def app_public(*, session: Session, app: App) -> AppPublic:
    """The API view of an app."""
    version = published_version(session=session, app=app)
    endpoint = crud.get_endpoint_by_app(session=session, app_id=app.id)
    return AppPublic(
        id=app.id,
        name=app.name,
        spec=app.spec,
        published_version=version.number if version else None,
        mcp_enabled=bool(endpoint and endpoint.enabled),
        created_at=app.created_at,
        updated_at=app.updated_at,
    )


def version_public(version: AppVersion) -> AppVersionPublic:
    """The API view of a version."""
    return AppVersionPublic(id=version.id, number=version.number, spec=version.spec, created_at=version.created_at)


def list_versions(*, session: Session, app: App) -> list[AppVersion]:
    """The app's published versions, newest first."""
    return crud.list_versions(session=session, app_id=app.id)


def rollback_app(*, session: Session, app: App, number: int) -> AppVersion:
    """Serve an earlier published version again (no new version is made); the draft is left as it is."""
    version = next((v for v in crud.list_versions(session=session, app_id=app.id) if v.number == number), None)
    if version is None:
        raise NotFound(f"app {app.name!r} has no version {number}")
    # a version saved under older rules is not served again until fixed, nor one that would clash in a toolkit
    _check_toolkit_clashes(session, app, parse_spec(spec=version.spec))
    app.published_version_id = version.id
    session.add(app)
    session.commit()
    session.refresh(app)
    return version


def restore_draft(*, session: Session, app: App, number: int) -> App:
    """Replace the draft with the spec of a published version (to edit from there)."""
    version = next((v for v in crud.list_versions(session=session, app_id=app.id) if v.number == number), None)
    if version is None:
        raise NotFound(f"app {app.name!r} has no version {number}")
    spec = load_spec_of(version.spec)
    return crud.update_app_spec(session=session, app=app, name=app.name, spec=workflows.spec_to_dict(spec))


def duplicate_app(*, session: Session, app: App, owner: User) -> App:
    """A new draft app with a copy of this app's draft spec, named `<name> (copy)` (numbered if taken)."""
    spec = load_spec_of(app.spec)
    copy = spec.model_copy(update={"name": f"{spec.name[:90]} (copy)"})
    return create_app(session=session, owner=owner, spec=copy, rename_on_conflict=True)


def create_test_run(*, session: Session, app: App, inputs: dict[str, Any], purpose: str | None = None) -> Run:
    """Record a queued console test run of the app's draft (inputs already validated against the draft).

    `purpose` makes it a rendering of one of the draft's prompts (see backend.services.purposes).
    """
    run = Run(app_id=app.id, version_id=None, source=CONSOLE_SOURCE, inputs=inputs, client_name="Toolpress console",
              worker=local_queue_owner(), purpose=purpose)
    run.task_id = run.id
    return crud.create_run(session=session, run=run)


def delete_app(*, session: Session, app: App) -> None:
    """Delete an app with its versions, MCP endpoint and runs."""
    crud.delete_app(session=session, app=app)
