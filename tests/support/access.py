"""Access tests' helpers: users, published apps, tokens, MCP clients that send a bearer token, the stack's DB."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from support.stack import FIXTURES, Stack


def new_user(api: httpx.Client) -> dict[str, str]:
    """Sign up a fresh user; return their API auth headers."""
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    assert api.post("/api/auth/signup", json={"email": email, "password": "long enough pw"}).status_code == 201
    token = api.post("/api/auth/login", json={"email": email, "password": "long enough pw"}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def spec_yaml(fixture: str = "three_steps.yaml", **changes: Any) -> str:
    """A fixture app under a unique name, with top-level fields changed."""
    doc = yaml.safe_load((FIXTURES / fixture).read_text())
    doc.update(changes)
    doc["name"] = f"{doc['name']} {uuid.uuid4().hex[:8]}"
    return yaml.safe_dump(doc, sort_keys=False)


def publish(api: httpx.Client, headers: dict[str, str], text: str, enable: bool = True) -> tuple[int, str | None]:
    """Create and publish an app (and switch its MCP server on); return (app id, secret URL)."""
    created = api.post("/api/apps", json={"yaml": text}, headers=headers)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    assert api.post(f"/api/apps/{app_id}/publish", headers=headers).status_code == 201
    if not enable:
        return app_id, None
    return app_id, api.post(f"/api/apps/{app_id}/mcp/enable", headers=headers).json()["url"]


def new_token(api: httpx.Client, headers: dict[str, str], app_id: int, **body: Any) -> dict[str, Any]:
    """Create a token for an app's endpoint; return the API answer (with the token itself)."""
    created = api.post(f"/api/apps/{app_id}/mcp/tokens", json={"name": f"t-{uuid.uuid4().hex[:6]}", **body}, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()


def bearer_client(url: str, token: str, mode: str = "legacy", name: str = "access-test") -> Client:
    """The SDK client on `url`, sending `Authorization: Bearer <token>`."""
    from mcp_types import Implementation

    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    return Client(streamable_http_client(url, http_client=http), mode=mode, client_info=Implementation(name=name, version="1.0"))  # type: ignore[arg-type]


def database_url(stack: Stack) -> str:
    """The SQLAlchemy URL of the stack's database."""
    return stack.env.get("TOOLPRESS_DATABASE_URL") or f"sqlite:///{stack.workdir / 'data' / 'toolpress.db'}"
