"""Console hardening over real HTTP: CSRF on every state-changing form, session fixation, cookie flags,
log-in rate limiting, Argon2id password hashes (rehashed when parameters rise) and no open redirect.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from security.accounts import PASSWORD, User, fixture_yaml, new_user
from security.conftest import start_hardened
from support.routes import console_routes
from support.stack import Stack, running

pytestmark = pytest.mark.timeout(120)

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
POST_ROUTES = sorted(path for method, path in console_routes() if method == "POST")


def _csrf(page: httpx.Response) -> str:
    match = _CSRF.search(page.text)
    assert match and match.group(1), page.text[:500]
    return match.group(1)


def _console_login(base_url: str, user: User, next_path: str = "/") -> httpx.Client:
    browser = httpx.Client(base_url=base_url, timeout=30)
    token = _csrf(browser.get("/login"))
    done = browser.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token, "next": next_path})
    assert done.status_code == 303, done.text[:500]
    return browser


def _db(stack: Stack) -> sqlite3.Connection:
    return sqlite3.connect(Path(stack.env["TOOLPRESS_DATA_DIR"]) / "toolpress.db")


@pytest.fixture
def owner_app(api: httpx.Client) -> tuple[User, int]:
    """A user with an unpublished app."""
    user = new_user(api)
    created = api.post("/api/apps", json={"yaml": fixture_yaml("three_steps.yaml")}, headers=user.headers)
    return user, created.json()["id"]


def test_the_console_has_state_changing_forms_to_check() -> None:
    assert {"/login", "/logout", "/apps/{app_id}/publish", "/apps/{app_id}/mcp/enable"} <= set(POST_ROUTES)


@pytest.mark.parametrize("path", POST_ROUTES)
def test_every_console_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    secure_stack: Stack, api: httpx.Client, owner_app: tuple[User, int], path: str
) -> None:
    user, app_id = owner_app
    browser = _console_login(secure_stack.base_url, user)
    other = _console_login(secure_stack.base_url, new_user(api))
    foreign_token = _csrf(other.get("/"))
    target = path.replace("{app_id}", str(app_id))
    form = {"email": user.email, "password": PASSWORD, "next": "/"}
    for token in (None, "", "forged", foreign_token):
        data = form if token is None else {**form, "csrf_token": token}
        response = browser.post(target, data=data)
        assert response.status_code == 403, (target, token, response.status_code)
        assert "Form expired or forged" in response.text
    assert api.get(f"/api/apps/{app_id}/versions", headers=user.headers).json() == []
    assert api.get(f"/api/apps/{app_id}/mcp", headers=user.headers).json()["enabled"] is False
    assert browser.get("/").status_code == 200  # still signed in: logout was refused too


def test_logging_in_replaces_any_planted_session_cookie(secure_stack: Stack, api: httpx.Client) -> None:
    user = new_user(api)
    browser = httpx.Client(base_url=secure_stack.base_url, timeout=30)
    browser.cookies.set("toolpress_session", "planted-by-attacker")
    assert browser.get("/").status_code in (303, 307)  # the planted value is not a session
    browser.cookies.clear()
    browser.cookies.set("toolpress_presession", "attacker-chosen-presession")
    token = _csrf(browser.get("/login"))
    done = browser.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert done.status_code == 303
    cookies = done.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("toolpress_session="))
    assert "planted" not in session and "attacker" not in session
    assert any(c.startswith('toolpress_presession=""') or c.startswith("toolpress_presession=;") for c in cookies)
    first = browser.cookies.get("toolpress_session")
    again = _console_login(secure_stack.base_url, user).cookies.get("toolpress_session")
    assert first and again and first != "planted-by-attacker"


def _cookie_flags(stack: Stack, api: httpx.Client) -> list[str]:
    browser = httpx.Client(base_url=stack.base_url, timeout=30)
    page = browser.get("/login")
    user = new_user(api)
    done = browser.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": _csrf(page)})
    return page.headers.get_list("set-cookie") + done.headers.get_list("set-cookie")


def test_cookies_are_http_only_and_same_site_lax(secure_stack: Stack, api: httpx.Client) -> None:
    cookies = _cookie_flags(secure_stack, api)
    assert {c.split("=", 1)[0] for c in cookies} >= {"toolpress_presession", "toolpress_session"}
    for cookie in cookies:
        if cookie.split("=", 1)[1].startswith(('""', ";")):
            continue  # a deletion
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=lax" in lowered and "secure" not in lowered, cookie


@pytest.fixture(scope="module")
def https_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A server whose public URL is https (as behind a TLS-terminating proxy)."""
    with running(start_hardened(tmp_path_factory.mktemp("https"), TOOLPRESS_PUBLIC_URL="https://tools.example.com")) as stack:
        yield stack


def test_cookies_are_secure_when_the_public_url_is_https(https_stack: Stack) -> None:
    with httpx.Client(base_url=https_stack.base_url, timeout=30) as api:
        cookies = _cookie_flags(https_stack, api)
    live = [c for c in cookies if not c.split("=", 1)[1].startswith(('""', ";"))]
    assert live and all("secure" in c.lower() and "httponly" in c.lower() for c in live), cookies


def test_the_api_login_is_rate_limited_per_account_and_address(api: httpx.Client) -> None:
    user, bystander = new_user(api), new_user(api)
    for _ in range(5):
        assert api.post("/api/auth/login", json={"email": user.email, "password": "wrong guess"}).status_code == 401
    refused = api.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 900
    assert "too many failed log-ins" in refused.json()["detail"]
    assert api.post("/api/auth/login", json={"email": bystander.email, "password": PASSWORD}).status_code == 200


def test_the_console_login_is_rate_limited_with_a_clear_message(secure_stack: Stack, api: httpx.Client) -> None:
    user = new_user(api)
    browser = httpx.Client(base_url=secure_stack.base_url, timeout=30)
    for _ in range(5):
        token = _csrf(browser.get("/login"))
        wrong = browser.post("/login", data={"email": user.email, "password": "wrong guess", "csrf_token": token})
        assert wrong.status_code == 400
    token = _csrf(browser.get("/login"))
    refused = browser.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 429
    assert "Too many failed log-ins" in refused.text and int(refused.headers["retry-after"]) > 0
    assert "toolpress_session" not in refused.headers.get("set-cookie", "")


def test_passwords_are_stored_as_argon2id_and_weak_hashes_are_upgraded_at_log_in(
    secure_stack: Stack, api: httpx.Client
) -> None:
    user = new_user(api)
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    with _db(secure_stack) as db:
        (stored,) = db.execute("SELECT password_hash FROM user WHERE email = ?", (user.email,)).fetchone()
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        db.execute("UPDATE user SET password_hash = ? WHERE email = ?", (weak, user.email))
    assert api.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 200
    with _db(secure_stack) as db:
        (upgraded,) = db.execute("SELECT password_hash FROM user WHERE email = ?", (user.email,)).fetchone()
    assert upgraded != weak and upgraded.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(upgraded)


@pytest.mark.parametrize("target", [
    "//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil.example", "///evil.example",
    "javascript:alert(1)", " //evil.example", "/\t/evil.example", "http:/evil.example", "%2F%2Fevil.example",
])
def test_next_never_redirects_off_site_after_login(secure_stack: Stack, api: httpx.Client, target: str) -> None:
    user = new_user(api)
    browser = httpx.Client(base_url=secure_stack.base_url, timeout=30)
    token = _csrf(browser.get("/login", params={"next": target}))
    done = browser.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token, "next": target})
    already_in = browser.get("/login", params={"next": target})
    for response in (done, already_in):
        assert response.status_code == 303
        where = response.headers["location"]
        assert where.startswith("/") and not where.startswith(("//", "/\\")) and "evil" not in where, where
