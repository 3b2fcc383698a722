"""OAuth 2.1 for MCP: discovery, dynamic registration, consent in the console, PKCE, refresh and revocation."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.shared.auth import OAuthClientMetadata

from support.access import bearer_client, publish, spec_yaml
from support.oauth import REDIRECT, MemoryStorage, Owner, form_field
from support.probe import INIT, MCP_HEADERS, initialize
from support.stack import Stack

pytestmark = pytest.mark.anyio


@pytest.fixture
def owner(stack: Stack):  # type: ignore[no-untyped-def]
    """A fresh signed-in owner."""
    user = Owner(stack)
    yield user
    user.close()


def _server_url(owner: Owner) -> tuple[int, str]:
    app_id, _ = publish(owner.api, owner.headers, spec_yaml())
    return app_id, owner.api.get(f"/api/apps/{app_id}/mcp/tokens", headers=owner.headers).json()["url"]


async def test_the_sdk_client_gets_in_through_oauth_with_the_owners_consent(owner: Owner) -> None:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    app_id, url = _server_url(owner)
    answers: list[AuthorizationCodeResult] = []

    async def redirect_handler(authorization_url: str) -> None:
        redirect = owner.consent(authorization_url)
        assert redirect.status_code == 303, redirect.text
        query = parse_qs(urlsplit(redirect.headers["location"]).query)
        answers.append(AuthorizationCodeResult(code=query["code"][0], state=query.get("state", [None])[0]))

    async def callback_handler() -> AuthorizationCodeResult:
        return answers.pop()

    storage = MemoryStorage()
    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(client_name="E2E Agent", redirect_uris=[REDIRECT], scope="mcp"),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    http = create_mcp_http_client(auth=provider)
    async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:  # type: ignore[arg-type]
        assert [t.name for t in (await client.list_tools()).tools] == ["word_report"]
        assert (await client.call_tool("word_report", {"text": "via oauth"})).is_error is False
    assert storage.tokens is not None and storage.tokens.refresh_token
    runs = owner.api.get("/api/runs", params={"app_id": app_id}, headers=owner.headers).json()["data"]
    assert [(r["access"], r["token_name"]) for r in runs] == [("oauth", "E2E Agent")]


def _register(api: httpx.Client) -> dict:
    answer = api.post("/register", json={"client_name": "Manual", "redirect_uris": [REDIRECT], "scope": "mcp"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def _authorization_url(client: dict, challenge: str, resource: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st-1",
        "scope": "mcp",
        "resource": resource,
    }
    return "/authorize?" + urlencode(query)


def _token(api: httpx.Client, client: dict, **form: str) -> httpx.Response:
    return api.post("/token", data={"client_id": client["client_id"], "client_secret": client.get("client_secret", ""), **form})


def test_pkce_refresh_and_revocation(owner: Owner) -> None:
    _, url = _server_url(owner)
    metadata = owner.api.get("/.well-known/oauth-protected-resource" + urlsplit(url).path).json()
    assert metadata["resource"] == url
    server = owner.api.get("/.well-known/oauth-authorization-server").json()
    assert server["code_challenge_methods_supported"] == ["S256"] and server["registration_endpoint"].endswith("/register")
    unauthorized = httpx.post(url, json=INIT, headers=MCP_HEADERS, timeout=10)
    assert f'resource_metadata="{owner.api.base_url}/.well-known/oauth-protected-resource' in unauthorized.headers["www-authenticate"]

    client = _register(owner.api)
    verifier, challenge = _pkce()
    redirect = owner.consent(_authorization_url(client, challenge, url))
    assert redirect.status_code == 303
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["st-1"]
    code = query["code"][0]

    wrong = _token(owner.api, client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=_pkce()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    granted = _token(owner.api, client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert granted.status_code == 200, granted.text
    tokens = granted.json()
    assert tokens["expires_in"] == 3600 and tokens["refresh_token"]
    replay = _token(owner.api, client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert replay.status_code == 400

    def status(token: str) -> int:
        return initialize(url, token).status_code

    assert status(tokens["access_token"]) == 200
    refreshed = _token(owner.api, client, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    fresh = refreshed.json()
    assert fresh["access_token"] != tokens["access_token"] and status(fresh["access_token"]) == 200
    reused = _token(owner.api, client, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert reused.status_code == 400  # refresh tokens rotate

    revoked = owner.api.post(
        "/revoke", data={"token": fresh["refresh_token"], "client_id": client["client_id"], "client_secret": client.get("client_secret", "")}
    )
    assert revoked.status_code == 200
    assert status(fresh["access_token"]) == 401


def test_consent_is_only_for_the_owner_and_a_token_opens_only_its_app(owner: Owner, stack: Stack) -> None:
    _, url = _server_url(owner)
    _, other_url = _server_url(owner)
    client = _register(owner.api)
    verifier, challenge = _pkce()

    stranger = Owner(stack)
    try:
        assert stranger.consent(_authorization_url(client, challenge, url)).status_code == 404
    finally:
        stranger.close()

    denied = owner.consent(_authorization_url(client, challenge, url), decision="deny")
    assert parse_qs(urlsplit(denied.headers["location"]).query)["error"] == ["access_denied"]

    code = parse_qs(urlsplit(owner.consent(_authorization_url(client, challenge, url)).headers["location"]).query)["code"][0]
    access = _token(owner.api, client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier).json()["access_token"]
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {access}"}
    assert httpx.post(url, json=INIT, headers=headers, timeout=10).status_code == 200
    assert httpx.post(other_url, json=INIT, headers=headers, timeout=10).status_code == 401


def test_an_unknown_resource_is_refused_at_authorization(owner: Owner) -> None:
    client = _register(owner.api)
    _, challenge = _pkce()
    answer = owner.browser.get(_authorization_url(client, challenge, "https://elsewhere.example/mcp"))
    assert answer.status_code in (302, 303)
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_request"]


async def test_oauth_tokens_work_with_the_sdk_client_header(owner: Owner) -> None:
    _, url = _server_url(owner)
    client = _register(owner.api)
    verifier, challenge = _pkce()
    code = parse_qs(urlsplit(owner.consent(_authorization_url(client, challenge, url)).headers["location"]).query)["code"][0]
    access = _token(owner.api, client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier).json()["access_token"]
    async with bearer_client(url, access, mode="2026-07-28") as mcp_client:
        assert (await mcp_client.call_tool("word_report", {"text": "header"})).is_error is False


def test_the_owner_revokes_a_client_from_the_console(owner: Owner, stack: Stack) -> None:
    app_id, url = _server_url(owner)
    client = _register(owner.api)
    verifier, challenge = _pkce()
    code = parse_qs(urlsplit(owner.consent(_authorization_url(client, challenge, url)).headers["location"]).query)["code"][0]
    access = _token(owner.api, client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier).json()["access_token"]
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {access}"}
    assert httpx.post(url, json=INIT, headers=headers, timeout=10).status_code == 200

    grants = owner.api.get(f"/api/apps/{app_id}/mcp/oauth", headers=owner.headers).json()
    assert [g["client_name"] for g in grants] == ["Manual"]
    stranger = Owner(stack)
    try:
        assert stranger.api.get(f"/api/apps/{app_id}/mcp/oauth", headers=stranger.headers).status_code == 404
        assert stranger.browser.get(f"/apps/{app_id}/access").status_code == 404
    finally:
        stranger.close()

    page = owner.browser.get(f"/apps/{app_id}/access")
    assert page.status_code == 200 and "Manual" in page.text
    action = f"/apps/{app_id}/access/oauth/{grants[0]['family']}/revoke"
    assert action in page.text
    assert owner.browser.post(action, data={"csrf_token": form_field(page.text, "csrf_token")}).status_code == 303
    assert httpx.post(url, json=INIT, headers=headers, timeout=10).status_code == 401
    assert owner.api.get(f"/api/apps/{app_id}/mcp/oauth", headers=owner.headers).json() == []
