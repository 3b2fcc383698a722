"""Accounts and apps for the security tests, made through the REST API of a live stack."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import yaml

from support.stack import FIXTURES

PASSWORD = "long enough pw"


@dataclass(frozen=True)
class User:
    """An account made through the REST API, with its API token."""

    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The REST API's Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


def new_user(api: httpx.Client) -> User:
    """Sign up a fresh account and log it in."""
    email = f"sec-{uuid.uuid4().hex[:12]}@example.com"
    assert api.post("/api/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
    login = api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return User(email=email, token=login.json()["access_token"])


def fixture_yaml(name: str) -> str:
    """A YAML fixture from tests/fixtures under a unique app name."""
    doc = yaml.safe_load((FIXTURES / name).read_text())
    doc["name"] = f"{doc['name']} {uuid.uuid4().hex[:8]}"
    return yaml.safe_dump(doc, sort_keys=False)


def publish(api: httpx.Client, user: User, spec_yaml: str) -> tuple[int, str]:
    """Create, publish and enable an app for `user`; return (app id, MCP URL)."""
    created = api.post("/api/apps", json={"yaml": spec_yaml}, headers=user.headers)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    assert api.post(f"/api/apps/{app_id}/publish", headers=user.headers).status_code == 201
    enabled = api.post(f"/api/apps/{app_id}/mcp/enable", headers=user.headers)
    assert enabled.status_code == 200, enabled.text
    return app_id, enabled.json()["url"]
