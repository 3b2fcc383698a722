"""Console pages: sign-up and log-in here; the other pages live in their own modules, included below."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session
from starlette.staticfiles import StaticFiles

from backend.api.deps import SessionDep, SettingsDep
from backend.api.login import client_address, is_known_client, remember_client
from backend.console import (
    access,
    account,
    app_list,
    app_pages,
    editor,
    examples,
    prompt_try,
    run_files,
    runs,
    toolkits,
)
from backend.console.auth import (
    ConsoleSession,
    CsrfChecked,
    anonymous_csrf,
    clear_session_cookie,
    optional_user,
    remember_presession,
    safe_next,
    set_session_cookie,
)
from backend.console.render import FRONTEND_DIR, ConsoleRoute, render
from backend.core.settings import Settings
from backend.models import User, UserCreate
from backend.services import accounts, credentials, users
from backend.services.errors import Conflict
from backend.services.login_throttle import LoginRefused

__all__ = ["FRONTEND_DIR", "console_router", "static_mount"]

console_router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

_BAD_LOGIN = "Wrong e-mail or password."
_LOGIN_NOTICES = {
    "logged-out": "You are logged out.",
    "logged-out-everywhere": "You are logged out everywhere: every session and API token of your account has ended.",
}
OptionalUser = Annotated[User | None, Depends(optional_user)]


def static_mount() -> StaticFiles:
    """Static files of the console."""
    return StaticFiles(directory=FRONTEND_DIR / "static")


def _auth_page(request: Request, settings: Settings, name: str, status_code: int = 200, **ctx: Any) -> Response:
    token, fresh = anonymous_csrf(request, settings)
    response = render(request, name, status_code=status_code, user=None, csrf_token=token, **ctx)
    if fresh:
        remember_presession(response, settings=settings, value=fresh)
    return response


def _signed_in(request: Request, session: Session, user: User, settings: Settings, target: str,
               email: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, settings=settings, token=credentials.start_session(session=session, user=user))
    remember_client(response, request, settings, email)
    return response


@console_router.get("/login")
def login_page(request: Request, settings: SettingsDep, user: OptionalUser, next: str = "/", notice: str = "") -> Response:
    """The log-in form."""
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _auth_page(request, settings, "login.html", next=safe_next(next), email="", notice=_LOGIN_NOTICES.get(notice))


@console_router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password (within the log-in limits), start a session and set its cookie."""
    target = safe_next(next)
    try:
        user = accounts.log_in(session=session, settings=settings, email=email, password=password,
                               address=client_address(request), known=is_known_client(request, settings, email))
    except LoginRefused as exc:
        response = _auth_page(request, settings, "login.html", 429, next=target, email=email, error=_refused(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except accounts.WrongCredentials:
        return _auth_page(request, settings, "login.html", 400, next=target, email=email, error=_BAD_LOGIN)
    except accounts.AccountDisabled as exc:
        return _auth_page(request, settings, "login.html", 403, next=target, email=email, error=f"{str(exc).capitalize()}.")
    return _signed_in(request, session, user, settings, target, email)


def _refused(exc: LoginRefused) -> str:
    text = str(exc)
    return f"{text[:1].upper()}{text[1:]}."


@console_router.get("/signup")
def signup_page(request: Request, settings: SettingsDep, user: OptionalUser) -> Response:
    """The sign-up form."""
    if user is not None:
        return RedirectResponse("/", status_code=303)
    return _auth_page(request, settings, "signup.html", email="")


@console_router.post("/signup", dependencies=[CsrfChecked])
def signup(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Create an account and sign it in."""
    try:
        body = UserCreate(email=email.strip(), password=password)
    except ValidationError as exc:
        fields = {str(err["loc"][0]) for err in exc.errors() if err.get("loc")}
        error = "Enter a valid e-mail address." if "email" in fields else "Use a password of at least 8 characters."
        return _auth_page(request, settings, "signup.html", 400, email=email, error=error)
    try:
        user = users.sign_up(session=session, email=str(body.email), password=body.password)
    except Conflict:
        error = "That account could not be created. If you already have one, log in instead."
        return _auth_page(request, settings, "signup.html", 409, email=email, error=error)
    return _signed_in(request, session, user, settings, "/", email)


@console_router.post("/logout", dependencies=[CsrfChecked])
def logout(session: SessionDep, settings: SettingsDep, found: ConsoleSession) -> Response:
    """End the session: its cookie is refused from now on, wherever it is replayed."""
    if found is not None:
        credentials.end(session=session, token=found.token)
    response = RedirectResponse("/login?notice=logged-out", status_code=303)
    clear_session_cookie(response, settings=settings)
    return response


for _module in (app_list, app_pages, editor, examples, prompt_try, runs, run_files, account, toolkits, access):
    console_router.include_router(_module.router)
