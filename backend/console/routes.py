"""Console pages: sign-up and log-in here; the other pages live in their own modules, included below."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.staticfiles import StaticFiles

from backend.api.deps import SessionDep, SettingsDep
from backend.console import access, account, app_list, app_pages, editor, runs, toolkits
from backend.console.auth import (
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
from backend.core.throttle import login_throttle
from backend.models import User, UserCreate
from backend.services import users
from backend.services.errors import Conflict

__all__ = ["FRONTEND_DIR", "console_router", "static_mount"]

console_router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

_BAD_LOGIN = "Wrong e-mail or password."
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


def _signed_in(user: User, settings: Settings, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, settings=settings, token=users.issue_token(settings=settings, user=user, purpose="console"))
    return response


@console_router.get("/login")
def login_page(request: Request, settings: SettingsDep, user: OptionalUser, next: str = "/") -> Response:
    """The log-in form."""
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _auth_page(request, settings, "login.html", next=safe_next(next), email="")


@console_router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password and set the session cookie."""
    key = login_throttle.key(email, request.client.host if request.client else None)
    wait = login_throttle.retry_after(key)
    if wait is not None:
        minutes = max(1, round(wait / 60))
        error = f"Too many failed log-ins for this account from your address. Try again in {minutes} min."
        response = _auth_page(request, settings, "login.html", 429, next=safe_next(next), email=email, error=error)
        response.headers["Retry-After"] = str(wait)
        return response
    user = users.authenticate(session=session, email=email.strip(), password=password) if email and password else None
    if user is None:
        login_throttle.failed(key)
        return _auth_page(request, settings, "login.html", 400, next=safe_next(next), email=email, error=_BAD_LOGIN)
    login_throttle.succeeded(key)
    return _signed_in(user, settings, safe_next(next))


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
    return _signed_in(user, settings, "/")


@console_router.post("/logout", dependencies=[CsrfChecked])
def logout(settings: SettingsDep) -> Response:
    """End the session."""
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, settings=settings)
    return response



for _module in (app_list, app_pages, editor, runs, account, toolkits, access):
    console_router.include_router(_module.router)
