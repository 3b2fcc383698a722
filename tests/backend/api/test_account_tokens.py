"""The account's API tokens through the REST API (/api/auth/tokens): named, expiring, read-only, revocable."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from support.stack import Stack, wait_until

PASSWORD = "long enough pw"


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    """A REST client logged in as a fresh user."""
    email = f"t{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        assert client.post("/api/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
        login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD, "name": "laptop"})
        assert login.status_code == 200 and login.json()["name"] == "laptop" and login.json()["expires_at"]
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_log_in_token_is_listed_by_name_and_a_new_token_is_shown_once(api: httpx.Client) -> None:
    [login] = api.get("/api/auth/tokens").json()["data"]
    assert (login["name"], login["status"], login["read_only"], login["token"]) == ("laptop", "active", False, None)
    made = api.post("/api/auth/tokens", json={"name": "ci"}).json()
    assert made["token"].startswith("tpu_") and made["prefix"] == made["token"][:10] and made["expires_at"] is None
    listed = api.get("/api/auth/tokens").json()
    assert listed["count"] == 2 and [t["name"] for t in listed["data"]] == ["ci", "laptop"]
    assert made["token"] not in str(listed)
    assert api.post("/api/auth/tokens", json={"name": "ci"}).status_code == 409  # a live one has that name
    past = api.post("/api/auth/tokens", json={"name": "old", "expires_at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 409 and past.json()["detail"] == "expires_at is in the past"


def test_a_read_only_token_reads_cannot_write_and_may_end_itself(api: httpx.Client) -> None:
    token = api.post("/api/auth/tokens", json={"name": "dashboard", "read_only": True}).json()["token"]
    with httpx.Client(base_url=api.base_url, headers=_bearer(token), timeout=30) as reader:
        assert reader.get("/api/apps").status_code == 200
        assert reader.post("/api/auth/tokens", json={"name": "escalate"}).status_code == 403
        assert reader.post("/api/auth/logout-everywhere").status_code == 403
        assert reader.post("/api/auth/logout").status_code == 204
        assert reader.get("/api/apps").status_code == 401
    assert api.get("/api/apps").status_code == 200


def test_a_token_stops_working_when_it_expires(api: httpx.Client) -> None:
    made = api.post("/api/auth/tokens", json={"name": "brief", "expires_in_days": 2 / 86400}).json()  # two seconds
    assert api.get("/api/auth/me", headers=_bearer(made["token"])).status_code == 200
    wait_until(lambda: api.get("/api/auth/me", headers=_bearer(made["token"])).status_code == 401, 30, "the expiry",
               interval=0.2)
    assert next(t for t in api.get("/api/auth/tokens").json()["data"] if t["id"] == made["id"])["status"] == "expired"
