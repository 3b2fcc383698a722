"""The secrets API over HTTP against a live server: names only, per-user, encrypted at rest."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import create_engine, text

from support.stack import Stack


def _user(api: httpx.Client) -> dict[str, str]:
    email = f"s{uuid.uuid4().hex[:10]}@example.com"
    assert api.post("/api/auth/signup", json={"email": email, "password": "long enough pw"}).status_code == 201
    token = api.post("/api/auth/login", json={"email": email, "password": "long enough pw"}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(stack: Stack) -> httpx.Client:
    """An HTTP client on the stack's API."""
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        yield client


def _database_url(stack: Stack) -> str:
    return stack.env.get("TOOLPRESS_DATABASE_URL") or f"sqlite:///{stack.workdir / 'data' / 'toolpress.db'}"


def test_secrets_are_listed_by_name_and_date_never_by_value(api: httpx.Client) -> None:
    headers = _user(api)
    created = api.put("/api/secrets/API_KEY", json={"value": "sk-first-value"}, headers=headers)
    assert created.status_code == 200, created.text
    assert set(created.json()) == {"name", "created_at", "updated_at"}
    api.put("/api/secrets/OTHER_TOKEN", json={"value": "tok-123456"}, headers=headers)
    listed = api.get("/api/secrets", headers=headers)
    assert listed.status_code == 200
    assert [s["name"] for s in listed.json()["data"]] == ["API_KEY", "OTHER_TOKEN"]
    assert listed.json()["count"] == 2
    assert "sk-first-value" not in listed.text and "tok-123456" not in listed.text


def test_putting_a_secret_again_replaces_its_value(api: httpx.Client) -> None:
    headers = _user(api)
    first = api.put("/api/secrets/TOKEN", json={"value": "old-value"}, headers=headers).json()
    second = api.put("/api/secrets/TOKEN", json={"value": "new-value"}, headers=headers).json()
    assert second["created_at"] == first["created_at"] and second["updated_at"] >= first["updated_at"]
    assert api.get("/api/secrets", headers=headers).json()["count"] == 1


def test_deleting_a_secret_removes_it_and_a_second_delete_is_404(api: httpx.Client) -> None:
    headers = _user(api)
    api.put("/api/secrets/GONE_SOON", json={"value": "value-1"}, headers=headers)
    assert api.delete("/api/secrets/GONE_SOON", headers=headers).status_code == 204
    assert api.get("/api/secrets", headers=headers).json() == {"data": [], "count": 0}
    assert api.delete("/api/secrets/GONE_SOON", headers=headers).status_code == 404


@pytest.mark.parametrize("name", ["lower", "1ABC", "HAS-DASH", "A" * 65, "_LEADING"])
def test_names_outside_the_pattern_are_rejected(api: httpx.Client, name: str) -> None:
    response = api.put(f"/api/secrets/{name}", json={"value": "v"}, headers=_user(api))
    assert response.status_code == 422
    assert "upper case" in response.text


def test_an_empty_value_or_unknown_field_is_rejected(api: httpx.Client) -> None:
    headers = _user(api)
    assert api.put("/api/secrets/X", json={"value": ""}, headers=headers).status_code == 422
    assert api.put("/api/secrets/X", json={"value": "v", "extra": 1}, headers=headers).status_code == 422


def test_users_see_and_delete_only_their_own_secrets(api: httpx.Client) -> None:
    alice, bob = _user(api), _user(api)
    api.put("/api/secrets/SHARED_NAME", json={"value": "alice-value"}, headers=alice)
    assert api.get("/api/secrets", headers=bob).json()["count"] == 0
    assert api.delete("/api/secrets/SHARED_NAME", headers=bob).status_code == 404
    assert api.get("/api/secrets", headers=alice).json()["count"] == 1


def test_the_secrets_api_needs_a_token(api: httpx.Client) -> None:
    assert api.get("/api/secrets").status_code == 401
    assert api.put("/api/secrets/X", json={"value": "v"}).status_code == 401
    assert api.delete("/api/secrets/X").status_code == 401


def test_values_are_encrypted_at_rest(api: httpx.Client, stack: Stack) -> None:
    value = f"plain-{uuid.uuid4().hex}"
    api.put("/api/secrets/AT_REST", json={"value": value}, headers=_user(api))
    engine = create_engine(_database_url(stack))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT name, ciphertext FROM secret WHERE name = 'AT_REST'")).all()
    finally:
        engine.dispose()
    assert rows and all(value not in row.ciphertext and row.ciphertext.startswith("gAAAA") for row in rows)
