"""Console pages for access: the OAuth consent page, and an app's tokens and OAuth clients with revoke buttons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from backend.api.deps import SessionDep, SettingsDep
from backend.console.auth import ConsoleUser, CsrfChecked, OwnedConsoleApp, csrf_token
from backend.console.render import ConsoleRoute, PageNotFound, render
from backend.services import NotFound, endpoints, oauth, tokens

oauth_console_router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)


@oauth_console_router.get("/oauth/consent")
def consent_page(request: Request, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """Which client asks for which of your apps or toolkits; approve or deny."""
    signed = request.query_params.get("request", "")
    consent = oauth.load_consent(session=session, settings=settings, signed=signed, owner_id=user.id)  # type: ignore[arg-type]
    if consent is None:
        raise PageNotFound()
    return render(
        request, "oauth_consent.html", user=user, consent=consent, signed=signed, csrf_token=csrf_token(request, settings)
    )


@oauth_console_router.post("/oauth/consent", dependencies=[CsrfChecked])
def consent_answer(
    session: SessionDep,
    settings: SettingsDep,
    user: ConsoleUser,
    request_: Annotated[str, Form(alias="request")] = "",
    decision: Annotated[str, Form()] = "",
) -> Response:
    """Send the browser back to the client with a code (approve) or `access_denied` (deny)."""
    consent = oauth.load_consent(session=session, settings=settings, signed=request_, owner_id=user.id)  # type: ignore[arg-type]
    if consent is None:
        raise PageNotFound()
    target = oauth.approve(session=session, consent=consent, owner_id=user.id) if decision == "approve" else oauth.deny(consent)  # type: ignore[arg-type]
    return RedirectResponse(target, status_code=303)


@oauth_console_router.get("/apps/{app_id}/access")
def access_page(request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """The app's tokens and the OAuth clients allowed to call it, each revocable."""
    endpoint = endpoints.get_or_create_endpoint(session=session, settings=settings, app=app)
    ref = oauth.ResourceRef("app", endpoint.id)  # type: ignore[arg-type]
    return render(
        request,
        "access.html",
        user=user,
        app=app,
        tokens=[tokens.token_public(settings=settings, token=t) for t in tokens.list_tokens(session=session, endpoint=endpoint)],
        grants=oauth.grants_public(session=session, owner_id=user.id, ref=ref),  # type: ignore[arg-type]
        token_url=tokens.bearer_url(settings=settings, endpoint_id=endpoint.id),
        csrf_token=csrf_token(request, settings),
    )


@oauth_console_router.post("/apps/{app_id}/access/oauth/{family}/revoke", dependencies=[CsrfChecked])
def revoke_client(family: str, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """Revoke an OAuth client's access to the app."""
    endpoint = endpoints.get_or_create_endpoint(session=session, settings=settings, app=app)
    try:
        oauth.revoke_grant(session=session, owner_id=user.id, ref=oauth.ResourceRef("app", endpoint.id), family=family)  # type: ignore[arg-type]
    except NotFound:
        raise PageNotFound() from None
    return RedirectResponse(f"/apps/{app.id}/access", status_code=303)


@oauth_console_router.post("/apps/{app_id}/access/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def revoke_token(token_id: int, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """Revoke one of the app's tokens."""
    endpoint = endpoints.get_or_create_endpoint(session=session, settings=settings, app=app)
    try:
        tokens.revoke_token(session=session, token_id=token_id, owner_id=user.id, endpoint=endpoint)  # type: ignore[arg-type]
    except NotFound:
        raise PageNotFound() from None
    return RedirectResponse(f"/apps/{app.id}/access", status_code=303)
