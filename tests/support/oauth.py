"""OAuth test helpers: an account signed in like a browser that answers consent pages, and token storage for
the SDK's OAuthClientProvider."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from support.stack import Stack

REDIRECT = "http://127.0.0.1:9/callback"  # never contacted: the tests read the redirect's Location
PASSWORD = "long enough pw"


def form_field(html: str, name: str) -> str:
    """The value of a (hidden) form field in a page."""
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match is not None, f"no {name} field in:\n{html[:2000]}"
    return match.group(1)


class Owner:
    """A user signed in to the API and, like a browser, to the console."""

    def __init__(self, stack: Stack) -> None:
        self.email = f"u{uuid.uuid4().hex[:10]}@example.com"
        self.api = httpx.Client(base_url=stack.base_url, timeout=30)
        assert self.api.post("/api/auth/signup", json={"email": self.email, "password": PASSWORD}).status_code == 201
        token = self.api.post("/api/auth/login", json={"email": self.email, "password": PASSWORD}).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.browser = httpx.Client(base_url=stack.base_url, timeout=30)
        page = self.browser.get("/login")
        form = {"email": self.email, "password": PASSWORD, "next": "/", "csrf_token": form_field(page.text, "csrf_token")}
        assert self.browser.post("/login", data=form).status_code == 303

    def consent(self, authorization_url: str, decision: str = "approve") -> httpx.Response:
        """Open the authorization URL, then answer the consent page; returns the redirect to the client."""
        page = self.browser.get(authorization_url, follow_redirects=True)
        if page.status_code != 200:
            return page
        assert "/oauth/consent" in str(page.url)
        form = {"csrf_token": form_field(page.text, "csrf_token"), "request": form_field(page.text, "request"), "decision": decision}
        return self.browser.post("/oauth/consent", data=form)

    def oauth_token(self, resource: str) -> str:
        """An OAuth access token for `resource`: a client registers, this user approves it, the code is exchanged."""
        client = self.api.post("/register", json={"client_name": "Manual", "redirect_uris": [REDIRECT], "scope": "mcp"}).json()
        query = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT, "scope": "mcp",
                 "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256",
                 "resource": resource}
        code = parse_qs(urlsplit(self.consent("/authorize?" + urlencode(query)).headers["location"]).query)["code"][0]
        token = self.api.post("/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                              "client_id": client["client_id"], "client_secret": client.get("client_secret", ""),
                                              "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"})
        assert token.status_code == 200, token.text
        return str(token.json()["access_token"])

    def close(self) -> None:
        self.api.close()
        self.browser.close()


class MemoryStorage:
    """Token and client storage for the SDK's OAuthClientProvider, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info
