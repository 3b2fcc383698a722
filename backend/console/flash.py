"""One-time notes from a form's answer to the page it redirects to (post/redirect/get), such as a new token.

A form that makes something to show once answers 303 to a normal page and leaves what to show in a
short-lived cookie, encrypted under the server key, scoped and bound to that page's path and to the
browser's session. The page shows it and deletes the cookie in the same answer, so a reload, Back or
another tab shows nothing more, and "shown once" is true. Reloading the redirected page is harmless.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import InvalidToken
from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from backend.api.login import set_cookie
from backend.console.auth import csrf_token
from backend.core import security
from backend.core.settings import Settings

FLASH_COOKIE = "toolpress_flash"
_TTL_SECONDS = 300
_PURPOSE = b"toolpress.console-flash.v1"


def redirect_with(request: Request, settings: Settings, path: str, data: dict[str, Any], anchor: str = "") -> Response:
    """A 303 to `path` (+ `anchor`) that hands `data` to that page, once."""
    payload = json.dumps({"p": path, "s": csrf_token(request, settings), "d": data}).encode()
    response = RedirectResponse(path + anchor, status_code=303)
    sealed = security.fernet_for(settings.signing_key(), _PURPOSE).encrypt(payload).decode()
    set_cookie(response, settings, FLASH_COOKIE, sealed, _TTL_SECONDS, path=path)
    return response


def take(request: Request, settings: Settings) -> dict[str, Any] | None:
    """What the form left for this page in this session (call `forget` on the page's response), else None."""
    sealed = request.cookies.get(FLASH_COOKIE)
    if not sealed:
        return None
    try:
        payload = json.loads(security.fernet_for(settings.signing_key(), _PURPOSE).decrypt(sealed.encode(), ttl=_TTL_SECONDS))
    except (InvalidToken, ValueError):
        return None
    if payload.get("p") != request.url.path or payload.get("s") != csrf_token(request, settings):
        return None
    data = payload.get("d")
    return data if isinstance(data, dict) else None


def forget(response: Response, request: Request) -> None:
    """Delete this page's note, so it is shown this once."""
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path=request.url.path)
