"""Toolkits: several published apps of one owner served as one MCP server, and the tools any target serves.

A toolkit has its own switch, secret URL (derived like an app endpoint's, under another purpose),
tokens and limits. Each app gets a tool name when it joins the toolkit, its app's tool name made unique
inside the toolkit (`name`, `name_2`, …); the name stays with the membership, so republishing an app or
adding another app never renames a tool a client already knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from backend import crud
from backend.core import security
from backend.core.settings import Settings
from backend.models import App, AppVersion, Toolkit, ToolkitApp, ToolkitCreate, ToolkitPublic, ToolkitToolPublic, ToolkitUpdate, utcnow
from backend.services.apps import describe_tool, published_version, version_spec
from backend.services.endpoints import EndpointTarget, cancel_in_flight
from backend.services.errors import Conflict, NotFound
from workflows.resources import catalog_conflicts
from backend.services.tokens import bearer_url, effective_limits

_PURPOSE = "mcp-toolkit"
MAX_TOOL_NAME = 64


@dataclass(frozen=True)
class ServedTool:
    """One tool a target serves: the app behind it, its live version, and where calls are recorded."""

    name: str
    app: App
    version: AppVersion
    endpoint_id: int | None
    toolkit_id: int | None


@dataclass(frozen=True)
class ToolkitTarget:
    """What a toolkit URL (or toolkit token) leads to. `endpoint` is the toolkit row: sessions bind to it."""

    endpoint: Toolkit
    tools: tuple[ServedTool, ...]

    @property
    def toolkit(self) -> Toolkit:
        """The toolkit row."""
        return self.endpoint


def served_tools(target: EndpointTarget | ToolkitTarget) -> list[ServedTool]:
    """The tools behind a resolved target: one for an app endpoint, one per published app for a toolkit."""
    if isinstance(target, ToolkitTarget):
        return list(target.tools)
    name = describe_tool(version_spec(target.version)).name
    return [ServedTool(name=name, app=target.app, version=target.version, endpoint_id=target.endpoint.id, toolkit_id=None)]


def _secret_of(settings: Settings, toolkit: Toolkit) -> str:
    return security.derive_secret(settings.signing_key(), toolkit.nonce, purpose=_PURPOSE)


def _fresh_material(settings: Settings) -> tuple[str, str]:
    nonce = security.new_nonce()
    return nonce, security.lookup_hash(security.derive_secret(settings.signing_key(), nonce, purpose=_PURPOSE))


def server_name(toolkit: Toolkit) -> str:
    """The toolkit's key in an MCP client's config file: its name as a slug."""
    return re.sub(r"[^a-z0-9]+", "-", toolkit.name.lower()).strip("-")[:64] or f"toolkit-{toolkit.id}"


def toolkit_url(*, settings: Settings, toolkit: Toolkit) -> str:
    """The toolkit's secret-bearing URL (for its owner's eyes only)."""
    return f"{settings.base_url.rstrip('/')}/mcp/{_secret_of(settings, toolkit)}/mcp"


def _masked(settings: Settings, toolkit: Toolkit) -> str:
    return f"{settings.base_url.rstrip('/')}/mcp/{_secret_of(settings, toolkit)[:4]}{'•' * 12}/mcp"


def _unique_name(base: str, used: set[str]) -> str:
    if base not in used:
        return base
    n = 2
    while True:
        suffix = f"_{n}"
        candidate = base[: MAX_TOOL_NAME - len(suffix)] + suffix
        if candidate not in used:
            return candidate
        n += 1


def _owned_published_apps(session: Session, owner_id: int, app_ids: list[int]) -> list[tuple[App, AppVersion]]:
    if len(set(app_ids)) != len(app_ids):
        raise Conflict("an app can be in a toolkit only once")
    found = []
    for app_id in app_ids:
        app = crud.get_app(session=session, app_id=app_id, owner_id=owner_id)
        if app is None:
            raise NotFound(f"app {app_id} not found")
        version = published_version(session=session, app=app)
        if version is None:
            raise Conflict(f"app {app_id} ({app.name}) is not published; publish it before adding it to a toolkit")
        found.append((app, version))
    return found


def _set_apps(session: Session, toolkit: Toolkit, app_ids: list[int]) -> None:
    apps = _owned_published_apps(session, toolkit.owner_id, app_ids)
    clashes = catalog_conflicts((app.name, version_spec(version)) for app, version in apps)
    if clashes:
        raise Conflict("; ".join(clashes))
    existing = {m.app_id: m for m in crud.list_toolkit_apps(session=session, toolkit_id=toolkit.id)}  # type: ignore[arg-type]
    used = {m.tool_name for app_id, m in existing.items() if app_id in app_ids}
    members = []
    for position, (app, version) in enumerate(apps):
        member = existing.get(app.id)  # type: ignore[arg-type]
        if member is None:
            name = _unique_name(describe_tool(version_spec(version)).name, used)
            used.add(name)
            member = ToolkitApp(toolkit_id=toolkit.id, app_id=app.id, tool_name=name)  # type: ignore[arg-type]
        member.position = position
        members.append(member)
    crud.replace_toolkit_apps(session=session, toolkit=toolkit, members=members)


def create_toolkit(*, session: Session, settings: Settings, owner_id: int, body: ToolkitCreate) -> Toolkit:
    """A new toolkit (switched off) over some of the owner's published apps."""
    name = body.name.strip()
    if not name:
        raise Conflict("a toolkit needs a name")
    if crud.get_toolkit_by_name(session=session, owner_id=owner_id, name=name) is not None:
        raise Conflict(f"you already have a toolkit named {name!r}")
    _owned_published_apps(session, owner_id, body.app_ids)
    nonce, secret_hash = _fresh_material(settings)
    try:
        toolkit = crud.create_toolkit(
            session=session,
            toolkit=Toolkit(owner_id=owner_id, name=name, description=body.description, nonce=nonce, secret_hash=secret_hash),
        )
    except IntegrityError:
        session.rollback()
        raise Conflict(f"you already have a toolkit named {name!r}") from None
    _set_apps(session, toolkit, body.app_ids)
    return toolkit


def get_toolkit(*, session: Session, owner_id: int, toolkit_id: int) -> Toolkit:
    """One of the owner's toolkits; NotFound for a missing or foreign one."""
    toolkit = crud.get_toolkit(session=session, toolkit_id=toolkit_id, owner_id=owner_id)
    if toolkit is None:
        raise NotFound("toolkit not found")
    return toolkit


def list_toolkits(*, session: Session, owner_id: int) -> list[Toolkit]:
    """The owner's toolkits."""
    return crud.list_toolkits(session=session, owner_id=owner_id)


def update_toolkit(*, session: Session, toolkit: Toolkit, body: ToolkitUpdate) -> Toolkit:
    """Apply the fields that were set; apps that stay keep their tool names."""
    fields = body.model_dump(exclude_unset=True)
    if fields.get("name") is not None:
        name = fields["name"].strip()
        clash = crud.get_toolkit_by_name(session=session, owner_id=toolkit.owner_id, name=name)
        if clash is not None and clash.id != toolkit.id:
            raise Conflict(f"you already have a toolkit named {name!r}")
        toolkit.name = name
    if "description" in fields:
        toolkit.description = fields["description"]
    if fields.get("app_ids") is not None:
        _set_apps(session, toolkit, fields["app_ids"])
    return crud.save_toolkit(session=session, toolkit=toolkit)


def set_toolkit_enabled(*, session: Session, settings: Settings, toolkit: Toolkit, enabled: bool) -> Toolkit:
    """Switch the toolkit's MCP server on or off (the URL stays the same); off cancels the runs it started."""
    toolkit.enabled = enabled
    toolkit = crud.save_toolkit(session=session, toolkit=toolkit)
    if not enabled:
        started = crud.in_flight_run_ids(session=session, toolkit_id=toolkit.id)
        cancel_in_flight(session, settings, started, "the toolkit's MCP server was switched off")
    return toolkit


def regenerate_toolkit(*, session: Session, settings: Settings, toolkit: Toolkit) -> Toolkit:
    """A new secret URL for the toolkit; the old one answers 404 at once and the runs it started are cancelled.

    Its tokens keep working, and calls made through them go on."""
    toolkit.nonce, toolkit.secret_hash = _fresh_material(settings)
    toolkit.rotated_at = utcnow()
    toolkit = crud.save_toolkit(session=session, toolkit=toolkit)
    started = crud.in_flight_run_ids(session=session, toolkit_id=toolkit.id, url_only=True)
    cancel_in_flight(session, settings, started, "the MCP URL it was called through was regenerated")
    return toolkit


def set_toolkit_limits(*, session: Session, toolkit: Toolkit, calls_per_minute: int | None, max_concurrent_runs: int | None) -> Toolkit:
    """Replace the toolkit's limits (None: the server default)."""
    toolkit.calls_per_minute, toolkit.max_concurrent_runs = calls_per_minute, max_concurrent_runs
    return crud.save_toolkit(session=session, toolkit=toolkit)


def _tools(session: Session, toolkit: Toolkit) -> list[tuple[ToolkitApp, App, AppVersion | None]]:
    rows = []
    for member in crud.list_toolkit_apps(session=session, toolkit_id=toolkit.id):  # type: ignore[arg-type]
        app = crud.get_app(session=session, app_id=member.app_id, owner_id=toolkit.owner_id)
        if app is not None:
            rows.append((member, app, published_version(session=session, app=app)))
    return rows


def toolkit_public(*, session: Session, settings: Settings, toolkit: Toolkit, reveal: bool = False) -> ToolkitPublic:
    """The owner's view of a toolkit; the secret URL only when `reveal`."""
    return ToolkitPublic(
        id=toolkit.id,  # type: ignore[arg-type]
        name=toolkit.name,
        description=toolkit.description,
        enabled=toolkit.enabled,
        url=toolkit_url(settings=settings, toolkit=toolkit) if reveal else None,
        masked_url=_masked(settings, toolkit),
        token_url=bearer_url(settings=settings, toolkit_id=toolkit.id),
        tools=[
            ToolkitToolPublic(tool_name=m.tool_name, app_id=app.id, app_name=app.name, published=version is not None)  # type: ignore[arg-type]
            for m, app, version in _tools(session, toolkit)
        ],
        limits=effective_limits(
            configured_rate=toolkit.calls_per_minute,
            configured_concurrency=toolkit.max_concurrent_runs,
            rate=settings.rate_limit_per_minute,
            concurrency=settings.max_concurrent_runs,
        ),
        created_at=toolkit.created_at,
        rotated_at=toolkit.rotated_at,
    )


def _target(session: Session, toolkit: Toolkit | None) -> ToolkitTarget | None:
    if toolkit is None or not toolkit.enabled:
        return None
    tools = tuple(
        ServedTool(name=m.tool_name, app=app, version=version, endpoint_id=None, toolkit_id=toolkit.id)
        for m, app, version in _tools(session, toolkit)
        if version is not None
    )
    return ToolkitTarget(endpoint=toolkit, tools=tools)


def resolve_toolkit_secret(*, session: Session, settings: Settings, secret: str) -> ToolkitTarget | None:
    """The enabled toolkit behind a URL secret, or None (unknown, off or rotated)."""
    if not 16 <= len(secret) <= 128:
        return None
    toolkit = crud.get_toolkit_by_hash(session=session, secret_hash=security.lookup_hash(secret))
    if toolkit is None or not security.same_secret(_secret_of(settings, toolkit), secret):
        return None
    return _target(session, toolkit)


def resolve_toolkit(*, session: Session, toolkit_id: int) -> ToolkitTarget | None:
    """The enabled toolkit with this id (for the bearer way in, after the token was checked)."""
    return _target(session, crud.get_toolkit(session=session, toolkit_id=toolkit_id))


def delete_toolkit(*, session: Session, toolkit: Toolkit) -> None:
    """Delete a toolkit with its tokens; its URL and tokens stop working."""
    crud.delete_toolkit(session=session, toolkit=toolkit)


def resolve_endpoint(*, session: Session, endpoint_id: int) -> EndpointTarget | None:
    """The enabled app endpoint with this id and its live version (for the bearer way in)."""
    endpoint = crud.get_endpoint(session=session, endpoint_id=endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return None
    app = crud.get_app(session=session, app_id=endpoint.app_id)
    version = published_version(session=session, app=app) if app is not None else None
    if app is None or version is None:
        return None
    return EndpointTarget(endpoint=endpoint, app=app, version=version)
