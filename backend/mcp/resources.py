"""resources/list, resources/templates/list, resources/read, resources/subscribe and resources/unsubscribe.

A static resource is answered from the live version's spec. A URI that matches a resource template is read
by running the app's workflow on a worker with the template's variables as inputs (recorded as a run with
the purpose `resource:<uri>`). Subscriptions of handshake sessions are kept in the database, so the process
holding a session's GET stream sees a subscription made through any other process (backend.mcp.streams).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

import workflows
from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.mcp.handlers import target_of
from backend.mcp.run_files import read_run_file_resource, template_file_contents
from backend.mcp.runs import run_for_request
from backend.mcp.sessions import SESSION_STATE_KEY
from backend.services import subscriptions
from backend.services.catalog import ServedResource, catalog_of
from backend.services.purposes import resource_purpose

__all__ = ["RESOURCE_NOT_FOUND", "build_resource_handlers"]

RESOURCE_NOT_FOUND = -32002  # the spec's error code for resources/read of an unknown URI


def _contents(served: ServedResource) -> types.TextResourceContents | types.BlobResourceContents:
    resource = served.resource
    if resource.text is not None:
        return types.TextResourceContents(uri=resource.uri, mime_type=resource.mime_type or "text/plain", text=resource.text)
    return types.BlobResourceContents(
        uri=resource.uri, mime_type=resource.mime_type or "application/octet-stream", blob=resource.blob or ""
    )


def _session_nonce(ctx: ServerRequestContext[Any, Any]) -> str | None:
    session = getattr(getattr(ctx.request, "state", None), SESSION_STATE_KEY, None)
    return session.nonce if session is not None else None


def build_resource_handlers(settings: Settings) -> dict[str, Any]:
    """The resource handlers for the low-level Server."""

    async def on_list_resources(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        catalog = await anyio.to_thread.run_sync(catalog_of, target_of(ctx))
        return types.ListResourcesResult.model_validate({"resources": catalog.listing()["resources"]})

    async def on_list_resource_templates(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        catalog = await anyio.to_thread.run_sync(catalog_of, target_of(ctx))
        return types.ListResourceTemplatesResult.model_validate(
            {"resourceTemplates": catalog.listing()["resourceTemplates"]}
        )

    async def on_read_resource(
        ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        target = target_of(ctx)
        catalog = await anyio.to_thread.run_sync(catalog_of, target)
        uri = str(params.uri)
        served = catalog.resources.get(uri)
        if served is not None:
            return types.ReadResourceResult(contents=[_contents(served)])
        run_file = await read_run_file_resource(settings, ctx, target, uri)
        if run_file is not None:
            return run_file
        found = catalog.match(uri)
        if found is None:
            raise MCPError(RESOURCE_NOT_FOUND, f"resource not found: {uri[:200]}", {"uri": uri[:2048]})
        template, variables = found
        what = f"resource '{uri[:200]}'"
        try:
            inputs = workflows.validate_inputs(template.spec, variables)
        except workflows.InvalidInputs as exc:
            issues = "; ".join(f"{issue.path}: {issue.message}" for issue in exc.errors)
            raise MCPError(types.INVALID_PARAMS, f"{what} does not fit the template's inputs: {issues}") from None
        outputs = await run_for_request(settings, ctx, target, template.tool, inputs, resource_purpose(uri), what)
        name = template.template.output or template.spec.outputs[0].name
        value = outputs.get(name)
        as_file = await template_file_contents(settings, value, uri)  # an image, audio, file or resource output
        if as_file is not None:
            return as_file
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        mime = template.template.mime_type or ("text/plain" if isinstance(value, str) else "application/json")
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type=mime, text=text)])

    async def on_subscribe_resource(
        ctx: ServerRequestContext[Any, Any], params: types.SubscribeRequestParams
    ) -> types.EmptyResult:
        nonce = _session_nonce(ctx)
        if nonce is not None:  # without a session id there is no GET stream to deliver updates on
            await anyio.to_thread.run_sync(_change, settings, nonce, str(params.uri), True)
        return types.EmptyResult()

    async def on_unsubscribe_resource(
        ctx: ServerRequestContext[Any, Any], params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        nonce = _session_nonce(ctx)
        if nonce is not None:
            await anyio.to_thread.run_sync(_change, settings, nonce, str(params.uri), False)
        return types.EmptyResult()

    return {
        "on_list_resources": on_list_resources,
        "on_list_resource_templates": on_list_resource_templates,
        "on_read_resource": on_read_resource,
        "on_subscribe_resource": on_subscribe_resource,
        "on_unsubscribe_resource": on_unsubscribe_resource,
    }


def _change(settings: Settings, nonce: str, uri: str, subscribe: bool) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        if subscribe:
            subscriptions.subscribe(session=session, session_key=nonce, uri=uri)
        else:
            subscriptions.unsubscribe(session=session, session_key=nonce, uri=uri)
