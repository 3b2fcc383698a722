"""What the REST and console log-ins share: the client's address, cookie flags, and the cookie marking a known client.

A *known client* has logged in to an account before: a successful log-in sets `toolpress_known`, a signed list
of (keyed hashes of) the accounts it logged in to. The log-in throttle lets such a client past the per-account
lock, so an attacker guessing a victim's password cannot keep the victim out of their own browser
(`backend.services.login_throttle`). The cookie proves nothing else: it signs no one in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import Request, Response

from backend.core import security
from backend.core.settings import Settings
from backend.services.accounts import account_of

KNOWN_COOKIE = "toolpress_known"
_KNOWN_SALT = "toolpress.known-client"
_KNOWN_SECONDS = 365 * 24 * 3600
_KNOWN_MAX = 10


def secure_cookies(settings: Settings) -> bool:
    """Whether cookies get the Secure flag (the public URL is https)."""
    return settings.base_url.lower().startswith("https")


def set_cookie(response: Response, settings: Settings, name: str, value: str, max_age: int, path: str = "/") -> None:
    """Set an HttpOnly, SameSite=Lax cookie (Secure behind an https public URL)."""
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="lax",
                        secure=secure_cookies(settings))


def client_address(request: Request) -> str:
    """The client's address as the server saw it (a trusted proxy's X-Forwarded-For already applied by `serve`)."""
    return request.client.host if request.client else "-"


def _tag(settings: Settings, email: str) -> str:
    digest = hmac.new(settings.signing_key().encode(), f"known:{account_of(email)}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def _known_tags(request: Request, settings: Settings) -> list[str]:
    value = request.cookies.get(KNOWN_COOKIE)
    tags = security.unsign(settings.signing_key(), value, _KNOWN_SALT, _KNOWN_SECONDS) if value else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def is_known_client(request: Request, settings: Settings, email: str) -> bool:
    """Whether this client logged in to that account before."""
    return _tag(settings, email) in _known_tags(request, settings)


def remember_client(response: Response, request: Request, settings: Settings, email: str) -> None:
    """After a successful log-in: mark this client as known to the account (the ten most recent accounts)."""
    tag = _tag(settings, email)
    tags = [tag, *(t for t in _known_tags(request, settings) if t != tag)][:_KNOWN_MAX]
    set_cookie(response, settings, KNOWN_COOKIE, security.sign(settings.signing_key(), tags, _KNOWN_SALT), _KNOWN_SECONDS)
