"""Templates, console error pages and the route class that turns console errors into responses."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from markupsafe import Markup
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend"
templates = Jinja2Templates(directory=FRONTEND_DIR / "templates")

# External JS/CSS only: no inline scripts or styles, no framing (the toggles must not be clickjackable).
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class ConsoleError(Exception):
    """A failure a console route answers with a page (or JSON for fetch calls)."""

    status_code = 400
    title = "Something went wrong"
    message = "The request could not be completed."


class PageNotFound(ConsoleError):
    """No such page, or not yours (the two look the same on purpose)."""

    status_code = 404
    title = "Not found"
    message = "There is nothing here, or it belongs to another account."


class CsrfFailed(ConsoleError):
    """A state-changing form arrived without a valid CSRF token."""

    status_code = 403
    title = "Form expired or forged"
    message = (
        "This form could not be verified (its security token is missing or does not match your session). "
        "Nothing was changed. Go back, reload the page and try again."
    )


class LoginRequired(ConsoleError):
    """The page needs a signed-in user."""

    status_code = 401
    title = "Log in required"
    message = "Log in to continue."

    def __init__(self, next_path: str = "/") -> None:
        super().__init__(next_path)
        self.next_path = next_path


def script_json(value: Any) -> Markup:
    """JSON safe to place inside a <script type="application/json"> element."""
    text = json.dumps(value, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    """A rendered template with the console's security headers."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _error_response(request: Request, exc: ConsoleError) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)
    if isinstance(exc, LoginRequired):
        target = "/login" if exc.next_path == "/" else f"/login?next={quote(exc.next_path, safe='/')}"
        return RedirectResponse(target, status_code=303)
    return render(request, "error.html", status_code=exc.status_code, title=exc.title, message=exc.message)


class ConsoleRoute(APIRoute):
    """Maps ConsoleError (raised by routes or their dependencies) to a page, and adds security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except ConsoleError as exc:
                response = _error_response(request, exc)
            for key, value in _SECURITY_HEADERS.items():
                response.headers.setdefault(key, value)
            return response

        return console_handler
