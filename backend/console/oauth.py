"""The OAuth consent page: which client asks for which of your apps or toolkits; approve or deny."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from backend.api.deps import SessionDep, SettingsDep
from backend.console.auth import ConsoleUser, CsrfChecked, csrf_token
from backend.console.render import ConsoleRoute, PageNotFound, render
from backend.services import oauth

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
