"""OAuth for the platform server: an MCP client signs in as a user (consent in the console), manages that user's
apps and nobody else's, and stops working when the user revokes it on the account page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import OAuthClientMetadata

from support.oauth import REDIRECT, MemoryStorage, Owner, form_field
from support.probe import initialize
from support.stack import Stack, running, start_embedded

pytestmark = pytest.mark.anyio


class User(Owner):
    """An account signed in to the REST API (its client sends the token) and, like a browser, to the console."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(stack)
        self.api.headers.update(self.headers)

    def app(self, name: str) -> int:
        spec = {"name": name, "inputs": [{"name": "q", "type": "string"}],
                "steps": [{"id": "echo", "type": "template", "template": "{{ inputs.q }}"}],
                "outputs": [{"name": "text", "type": "string", "value": "{{ steps.echo.text }}"}]}
        created = self.api.post("/api/apps", json={"spec": spec})
        assert created.status_code == 201, created.text
        return created.json()["id"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(start_embedded(tmp_path_factory.mktemp("platform-oauth"))) as started:
        yield started


def _oauth_client(url: str, user: User, seen: list[str]) -> Client:
    """The SDK client with its OAuth provider; the user approves the consent page like a browser would."""
    answers: list[AuthorizationCodeResult] = []

    async def redirect_handler(authorization_url: str) -> None:
        page = user.browser.get(authorization_url, follow_redirects=True)
        assert page.status_code == 200 and "/oauth/consent" in str(page.url), page.text[:500]
        seen.append(page.text)
        form = {"csrf_token": form_field(page.text, "csrf_token"), "request": form_field(page.text, "request"), "decision": "approve"}
        redirect = user.browser.post("/oauth/consent", data=form)
        assert redirect.status_code == 303, redirect.text
        query = parse_qs(urlsplit(redirect.headers["location"]).query)
        answers.append(AuthorizationCodeResult(code=query["code"][0], state=query.get("state", [None])[0]))

    async def callback_handler() -> AuthorizationCodeResult:
        return answers.pop()

    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(client_name="Builder Agent", redirect_uris=[REDIRECT], scope="mcp"),
        storage=MemoryStorage(), redirect_handler=redirect_handler, callback_handler=callback_handler,
    )
    return Client(streamable_http_client(url, http_client=create_mcp_http_client(auth=provider)))


async def test_an_agent_signs_in_with_oauth_manages_only_its_users_apps_and_is_revoked(live: Stack) -> None:
    url = f"{live.base_url}/mcp/platform/mcp"
    metadata = httpx.get(f"{live.base_url}/.well-known/oauth-protected-resource/mcp/platform/mcp", timeout=10).json()
    assert metadata["resource"] == url and metadata["authorization_servers"]
    challenge = initialize(url).headers["www-authenticate"]
    assert 'resource_metadata="' + live.base_url + "/.well-known/oauth-protected-resource/mcp/platform/mcp" in challenge

    alice, bob = User(live), User(live)
    mine, theirs = f"Alice app {uuid.uuid4().hex[:6]}", f"Bob app {uuid.uuid4().hex[:6]}"
    alice.app(mine)
    bob.app(theirs)
    consent_pages: list[str] = []
    async with _oauth_client(url, alice, consent_pages) as agent:
        tools = {t.name for t in (await agent.list_tools()).tools}
        assert {"create_app", "publish_app", "delete_app"} <= tools
        listed = (await agent.call_tool("list_apps", {})).structured_content
        assert listed is not None and [a["name"] for a in listed["apps"]] == [mine]
    assert "manage your Toolpress apps" in consent_pages[0] and "Builder Agent" in consent_pages[0]

    account = alice.browser.get("/account")
    revoke = re.search(r'action="(/account/oauth/[^"]+/revoke)"', account.text)
    assert "Builder Agent" in account.text and revoke is not None
    assert bob.browser.post(revoke.group(1), data={"csrf_token": form_field(bob.browser.get("/account").text, "csrf_token")}).status_code == 404
    done = alice.browser.post(revoke.group(1), data={"csrf_token": form_field(account.text, "csrf_token")})
    assert done.status_code == 303
    assert "Builder Agent" not in alice.browser.get("/account").text


async def test_a_platform_token_opens_no_app_endpoint_and_an_app_token_not_the_platform(live: Stack) -> None:
    user = User(live)
    app_id = user.app(f"Kept apart {uuid.uuid4().hex[:6]}")
    user.api.post(f"/api/apps/{app_id}/publish").raise_for_status()
    user.api.post(f"/api/apps/{app_id}/mcp/enable").raise_for_status()
    app_url = user.api.get(f"/api/apps/{app_id}/mcp/tokens").json()["url"]

    platform_token, app_token = user.oauth_token(f"{live.base_url}/mcp/platform/mcp"), user.oauth_token(app_url)

    def status(url: str, token: str) -> int:
        return initialize(url, token).status_code

    assert status(f"{live.base_url}/mcp/platform/mcp", platform_token) == 200
    assert status(app_url, platform_token) == 401
    assert status(app_url, app_token) == 200
    assert status(f"{live.base_url}/mcp/platform/mcp", app_token) == 401


async def test_the_account_page_issues_a_read_only_token_for_the_platform(live: Stack) -> None:
    user = User(live)
    page = user.browser.get("/account")
    form = {"csrf_token": form_field(page.text, "csrf_token"), "name": "agent", "read_only": "yes"}
    made = user.browser.post("/account/tokens", data=form, follow_redirects=True)
    assert made.status_code == 200 and made.url.path == "/account" and "new read-only token" in made.text
    token = re.search(r'<output id="new-token" class="secret">([^<]+)</output>', made.text)
    assert token is not None
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token.group(1)}"})
    async with Client(streamable_http_client(f"{live.base_url}/mcp/platform/mcp", http_client=http)) as agent:
        names = {t.name for t in (await agent.list_tools()).tools}
    assert "list_apps" in names and not names & {"create_app", "publish_app", "delete_app", "enable_mcp"}
