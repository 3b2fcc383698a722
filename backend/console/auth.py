"""Console session cookie, CSRF tokens and the signed-in-user dependencies."""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Annotated

from fastapi import Depends, Form, Request, Response
from itsdangerous import Signer

from backend import crud
from backend.api.deps import SessionDep, SettingsDep
from backend.api.login import secure_cookies, set_cookie
from backend.console.render import CsrfFailed, LoginRequired, PageNotFound
from backend.core.settings import Settings
from backend.models import App, User
from backend.models.account import SESSION
from backend.services import credentials
from backend.services.credentials import Credential

SESSION_COOKIE = "toolpress_session"
# Before log-in there is no session to bind a CSRF token to, so the login and signup forms bind to this
# random per-browser value instead (it stops a third-party page from logging you into its account).
PRESESSION_COOKIE = "toolpress_presession"
_CSRF_SALT = "toolpress.console-csrf"
_SAFE_NEXT = re.compile(r"^/(?![/\\])[^\\\s]*$")


def set_session_cookie(response: Response, *, settings: Settings, token: str) -> None:
    """Store a new session's token in the console's session cookie."""
    set_cookie(response, settings, SESSION_COOKIE, token, int(credentials.LIFETIME.total_seconds()))
    response.delete_cookie(PRESESSION_COOKIE, path="/")


def clear_session_cookie(response: Response, *, settings: Settings) -> None:
    """Forget the session cookie (the session itself is ended with `credentials.end`)."""
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure_cookies(settings), httponly=True, samesite="lax")


def _csrf_basis(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRESESSION_COOKIE)


def csrf_for(settings: Settings, basis: str) -> str:
    """The CSRF token for a session (or pre-session) value: an HMAC under the server key with its own salt."""
    return Signer(settings.signing_key(), salt=_CSRF_SALT).get_signature(basis).decode()


def csrf_token(request: Request, settings: Settings) -> str:
    """The token this browser's forms must carry."""
    basis = _csrf_basis(request)
    return csrf_for(settings, basis) if basis else ""


def anonymous_csrf(request: Request, settings: Settings) -> tuple[str, str | None]:
    """The CSRF token for a log-in or sign-up form, and a new pre-session value to store if the browser has none."""
    basis = _csrf_basis(request)
    fresh = None
    if basis is None:
        basis = fresh = secrets.token_urlsafe(32)
    return csrf_for(settings, basis), fresh


def remember_presession(response: Response, *, settings: Settings, value: str) -> None:
    """Store the pre-session value the anonymous forms' CSRF tokens are bound to."""
    set_cookie(response, settings, PRESESSION_COOKIE, value, 12 * 3600)


def check_csrf(request: Request, settings: SettingsDep, csrf_token: Annotated[str, Form()] = "") -> None:
    """Refuse (403) a form whose token does not match this browser's session."""
    basis = _csrf_basis(request)
    if not basis or not csrf_token or not hmac.compare_digest(csrf_for(settings, basis), csrf_token):
        raise CsrfFailed()


CsrfChecked = Depends(check_csrf)


def check_csrf_header(request: Request, settings: SettingsDep) -> None:
    """Refuse (403) a fetch call whose X-CSRF-Token header does not match this browser's session."""
    basis, token = _csrf_basis(request), request.headers.get("x-csrf-token", "")
    if not basis or not token or not hmac.compare_digest(csrf_for(settings, basis), token):
        raise CsrfFailed()


CsrfHeaderChecked = Depends(check_csrf_header)


def safe_next(value: str | None) -> str:
    """A post-login target: a relative path starting with a single '/', else '/'."""
    return value if value and len(value) < 2000 and _SAFE_NEXT.match(value) else "/"


def optional_session(request: Request, session: SessionDep) -> Credential | None:
    """The browser's live console session and its user, or None (no cookie, logged out, expired or revoked)."""
    token = request.cookies.get(SESSION_COOKIE)
    return credentials.authenticate(session=session, presented=token, kind=SESSION) if token else None


ConsoleSession = Annotated[Credential | None, Depends(optional_session)]


def optional_user(found: ConsoleSession) -> User | None:
    """The signed-in user, or None."""
    return found.user if found is not None else None


def console_user(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> User:
    """The signed-in user; otherwise a redirect to /login (401 for fetch calls)."""
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(safe_next(path) if request.method == "GET" else "/")
    return user


ConsoleUser = Annotated[User, Depends(console_user)]


def owned_app(app_id: int, session: SessionDep, user: ConsoleUser) -> App:
    """The user's app with this id; the 404 page for a missing app and for another user's app alike."""
    app = crud.get_app(session=session, app_id=app_id, owner_id=user.id)
    if app is None:
        raise PageNotFound()
    return app


OwnedConsoleApp = Annotated[App, Depends(owned_app)]
