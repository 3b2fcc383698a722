"""Ending credentials for real, through two API processes sharing PostgreSQL: a password change, "log out
everywhere", a logout, a revoked token and a disabled account each refuse the old token and the old session
cookie on both processes at the very next request (401 / redirect to log in), and the platform's OAuth grants go
with them."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from support.oauth import Owner, form_field
from support.probe import initialize
from support.stack import Stack

pytestmark = pytest.mark.timeout(300)

PASSWORD = "long enough pw"
NEW_PASSWORD = "another long pw"


def _apis(stack: Stack) -> list[str]:
    return list(stack.api)


def _token_works(base: str, token: str) -> bool:
    answer = httpx.get(f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def _cookie_works(base: str, cookie: str) -> bool:
    """Whether a replayed session cookie still opens the account page (else: a redirect to log in)."""
    answer = httpx.get(f"{base}/account", cookies={"toolpress_session": cookie}, timeout=10)
    assert answer.status_code == 200 or (answer.status_code == 303 and answer.headers["location"].startswith("/login"))
    return answer.status_code == 200


def _log_in(base: str, email: str, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    """A browser-like client logged in to the console through `base`, and its session cookie."""
    browser = httpx.Client(base_url=base, timeout=30)
    form = {"email": email, "password": password, "csrf_token": form_field(browser.get("/login").text, "csrf_token")}
    assert browser.post("/login", data=form).status_code == 303
    return browser, browser.cookies["toolpress_session"]


def _api_token(base: str, email: str, password: str = PASSWORD) -> str:
    answer = httpx.post(f"{base}/api/auth/login", json={"email": email, "password": password}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _csrf(browser: httpx.Client, path: str = "/account") -> str:
    return form_field(browser.get(path).text, "csrf_token")


@pytest.fixture
def owner(two_apis: Stack) -> Owner:
    """A user signed in to the API and the console through the first API process."""
    return Owner(two_apis)


def test_a_password_change_ends_every_token_session_and_platform_grant_on_both_processes(
        two_apis: Stack, owner: Owner) -> None:
    a, b = _apis(two_apis)
    token = _api_token(b, owner.email)
    _, cookie_b = _log_in(b, owner.email)
    cookie_a = owner.browser.cookies["toolpress_session"]
    platform = f"{two_apis.base_url}/mcp/platform/mcp"
    grant = owner.oauth_token(platform)
    assert all(_token_works(base, token) and _cookie_works(base, cookie_a) for base in (a, b))
    assert _cookie_works(a, cookie_b) and initialize(platform, grant).status_code == 200

    two_apis.cli("users", "set-password", owner.email, "--password", NEW_PASSWORD)

    for base in (a, b):
        assert not _token_works(base, token) and not _token_works(base, owner.headers["Authorization"][7:])
        assert not _cookie_works(base, cookie_a) and not _cookie_works(base, cookie_b)
    assert initialize(platform, grant).status_code == 401
    refused = httpx.post(f"{b}/api/auth/login", json={"email": owner.email, "password": PASSWORD}, timeout=30)
    assert refused.status_code == 401
    assert _token_works(a, _api_token(b, owner.email, NEW_PASSWORD))


def test_log_out_everywhere_ends_every_session_and_token_at_once(two_apis: Stack, owner: Owner) -> None:
    a, b = _apis(two_apis)
    other_browser, cookie_b = _log_in(b, owner.email)
    cookie_a, token = owner.browser.cookies["toolpress_session"], _api_token(b, owner.email)
    platform = f"{two_apis.base_url}/mcp/platform/mcp"
    grant = owner.oauth_token(platform)
    page = owner.browser.get("/account")
    assert "Log out everywhere" in page.text and "logged in to the console in 2 browsers" in page.text

    done = owner.browser.post("/account/logout-everywhere", data={"csrf_token": form_field(page.text, "csrf_token")})
    assert done.status_code == 303 and done.headers["location"] == "/login?notice=logged-out-everywhere"
    assert "logged out everywhere" in owner.browser.get(done.headers["location"]).text

    for base in (a, b):
        assert not _cookie_works(base, cookie_a) and not _cookie_works(base, cookie_b)
        assert not _token_works(base, token) and not _token_works(base, owner.headers["Authorization"][7:])
    assert other_browser.get("/account").headers["location"].startswith("/login")
    assert initialize(platform, grant).status_code == 401
    fresh = _api_token(a, owner.email)
    assert _token_works(b, fresh)
    assert httpx.post(f"{b}/api/auth/logout-everywhere", headers={"Authorization": f"Bearer {fresh}"}).status_code == 204
    assert not _token_works(a, fresh)


def test_logging_out_ends_that_session_and_token_only(two_apis: Stack, owner: Owner) -> None:
    a, b = _apis(two_apis)
    kept_browser, kept_cookie = _log_in(b, owner.email)
    cookie = owner.browser.cookies["toolpress_session"]
    out = owner.browser.post("/logout", data={"csrf_token": _csrf(owner.browser)})
    assert out.status_code == 303 and out.headers["location"] == "/login?notice=logged-out"
    for base in (a, b):
        assert not _cookie_works(base, cookie)  # the old cookie, replayed, opens nothing
        assert _cookie_works(base, kept_cookie)

    token, kept = _api_token(a, owner.email), _api_token(a, owner.email)
    assert httpx.post(f"{b}/api/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert not _token_works(a, token) and _token_works(a, kept)
    kept_browser.close()


def test_a_revoked_api_token_is_refused_on_the_other_process(two_apis: Stack, owner: Owner) -> None:
    a, b = _apis(two_apis)
    made = httpx.post(f"{a}/api/auth/tokens", json={"name": "ci", "expires_in_days": 7}, headers=owner.headers)
    assert made.status_code == 201, made.text
    token, token_id = made.json()["token"], made.json()["id"]
    assert made.json()["status"] == "active" and made.json()["expires_at"] is not None
    assert _token_works(b, token)
    listed = httpx.get(f"{b}/api/auth/tokens", headers=owner.headers).json()["data"]
    ci = next(t for t in listed if t["id"] == token_id)
    assert ci["name"] == "ci" and ci["last_used_at"] is not None and ci["token"] is None and token not in str(listed)

    assert httpx.delete(f"{a}/api/auth/tokens/{token_id}", headers=owner.headers).json()["status"] == "revoked"
    assert not _token_works(b, token) and _token_works(b, owner.headers["Authorization"][7:])
    other = Owner(two_apis)
    assert httpx.delete(f"{b}/api/auth/tokens/{token_id}", headers=other.headers).status_code == 404


def test_a_disabled_account_cannot_log_in_and_its_mcp_servers_go_dark(two_apis: Stack, owner: Owner) -> None:
    a, b = _apis(two_apis)
    spec = {"name": f"Lights {uuid.uuid4().hex[:6]}", "steps": [{"id": "t", "type": "template", "template": "on"}]}
    app_id = httpx.post(f"{a}/api/apps", json={"spec": spec}, headers=owner.headers).json()["id"]
    assert httpx.post(f"{a}/api/apps/{app_id}/publish", headers=owner.headers).status_code == 201
    url = httpx.post(f"{a}/api/apps/{app_id}/mcp/enable", headers=owner.headers).json()["url"]
    app_grant = owner.oauth_token(httpx.get(f"{a}/api/apps/{app_id}/mcp/tokens", headers=owner.headers).json()["url"])
    cookie, token = owner.browser.cookies["toolpress_session"], owner.headers["Authorization"][7:]
    assert initialize(url).status_code == 200

    two_apis.cli("users", "disable", owner.email)

    for base in (a, b):
        assert not _token_works(base, token) and not _cookie_works(base, cookie)
        refused = httpx.post(f"{base}/api/auth/login", json={"email": owner.email, "password": PASSWORD}, timeout=30)
        assert refused.status_code == 403 and "disabled" in refused.json()["detail"]
    browser = httpx.Client(base_url=b, timeout=30)
    form = {"email": owner.email, "password": PASSWORD, "csrf_token": form_field(browser.get("/login").text, "csrf_token")}
    page = browser.post("/login", data=form)
    assert page.status_code == 403 and "This account is disabled" in page.text and "toolpress_session" not in page.cookies
    assert initialize(url).status_code == 404
    wrong = httpx.post(f"{a}/api/auth/login", json={"email": owner.email, "password": "not the password"}, timeout=30)
    assert wrong.status_code == 401  # a wrong password does not learn that the account is disabled

    two_apis.cli("users", "enable", owner.email)
    token = _api_token(b, owner.email)
    assert initialize(url).status_code == 404  # the owner switches the server back on
    assert httpx.post(f"{a}/api/apps/{app_id}/mcp/enable", headers={"Authorization": f"Bearer {token}"}).json()["url"] == url
    assert initialize(url).status_code == 200
    token_url = httpx.get(f"{a}/api/apps/{app_id}/mcp/tokens", headers={"Authorization": f"Bearer {token}"}).json()["url"]
    assert initialize(token_url, app_grant).status_code == 401  # OAuth clients must ask again


def test_the_account_page_lists_revokes_and_shows_a_new_token_once(two_apis: Stack, owner: Owner) -> None:
    made = owner.browser.post("/account/tokens", data={"csrf_token": _csrf(owner.browser), "name": "deploy",
                                                       "expires_in_days": "30"})
    assert made.status_code == 303 and made.headers["location"] == "/account#new-token"
    shown = owner.browser.get("/account")
    token = re.search(r'<output id="new-token" class="secret">([^<]+)</output>', shown.text)
    assert token is not None and token.group(1).startswith("tpu_") and "this page shows it this once" in " ".join(shown.text.split())
    assert _token_works(two_apis.base_url, token.group(1))
    again = owner.browser.get("/account")
    assert token.group(1) not in again.text and 'id="new-token"' not in again.text  # a reload shows it no more
    row = re.search(r'<tr data-token="(\d+)">\s*<td>deploy</td>.*?</tr>', again.text, re.S)
    assert row is not None and "active" in row.group(0) and "never" not in row.group(0)  # it expires; it was used
    revoked = owner.browser.post(f"/account/tokens/{row.group(1)}/revoke", data={"csrf_token": _csrf(owner.browser)})
    assert revoked.status_code == 303 and not _token_works(two_apis.base_url, token.group(1))
    assert "Token revoked" in owner.browser.get(revoked.headers["location"]).text
