"""A browser that reloads or opens the address of a form's action (POST only) lands on that form's page instead of
a bare `{"detail": "Method Not Allowed"}`: `/apps/3/mcp/regenerate` → `/apps/3`, `/account/tokens` → `/account`."""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

__all__ = ["nearest_page", "redirect_to_the_form_page"]

_NOT_CONSOLE = ("/api/", "/mcp/", "/oauth/", "/.well-known/", "/static/", "/docs", "/redoc", "/openapi.json")


def nearest_page(request: Request) -> str | None:
    """The closest enclosing console page (a GET route) of the request's path, or None."""
    path = request.url.path
    if path.startswith(_NOT_CONSOLE):
        return None
    while path not in ("", "/"):
        path = path.rsplit("/", 1)[0] or "/"
        scope = {**request.scope, "method": "GET", "path": path}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            return path
    return "/"


async def redirect_to_the_form_page(request: Request, exc: Exception) -> Response:
    """A 405 to a browser's GET on a console form's action becomes a redirect to its page; anything else as usual."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405 and request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", ""):
        page = nearest_page(request)
        if page is not None:
            return RedirectResponse(page, status_code=303)
    return await http_exception_handler(request, exc)
