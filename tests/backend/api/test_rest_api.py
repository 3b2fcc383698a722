"""The REST API over HTTP against a live server: accounts, apps, MCP switches, runs, and isolation."""

from __future__ import annotations

import uuid

import httpx
import pytest
from mcp import Client
from mcp_types import Implementation

from support.stack import FIXTURES, Stack


def _user(api: httpx.Client) -> dict[str, str]:
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    assert api.post("/api/auth/signup", json={"email": email, "password": "long enough pw"}).status_code == 201
    token = api.post("/api/auth/login", json={"email": email, "password": "long enough pw"}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _spec_text(name: str) -> str:
    return (FIXTURES / "three_steps.yaml").read_text().replace("name: Word Report", f"name: {name}")


@pytest.fixture
def api(stack: Stack) -> httpx.Client:
    """An HTTP client on the stack's API."""
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        yield client


def test_login_rejects_a_wrong_password_without_saying_which_part_was_wrong(api: httpx.Client) -> None:
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    api.post("/api/auth/signup", json={"email": email, "password": "long enough pw"})
    wrong_pw = api.post("/api/auth/login", json={"email": email, "password": "nope nope nope"})
    no_user = api.post("/api/auth/login", json={"email": "ghost@example.com", "password": "nope nope nope"})
    assert wrong_pw.status_code == no_user.status_code == 401
    assert wrong_pw.json() == no_user.json()


def test_signing_up_twice_with_one_email_is_a_conflict(api: httpx.Client) -> None:
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    assert api.post("/api/auth/signup", json={"email": email, "password": "long enough pw"}).status_code == 201
    assert api.post("/api/auth/signup", json={"email": email, "password": "long enough pw"}).status_code == 409


def test_requests_without_a_valid_token_get_401(api: httpx.Client) -> None:
    assert api.get("/api/apps").status_code == 401
    assert api.get("/api/apps", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_an_invalid_spec_is_rejected_with_every_problem_listed(api: httpx.Client) -> None:
    headers = _user(api)
    bad = "name: Bad\ndescription: d\ninputs:\n  - name: 1x\n    type: string\nsteps:\n  - id: s\n    type: nope\noutputs: []\n"
    response = api.post("/api/apps", json={"yaml": bad}, headers=headers)
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert any(p.startswith("inputs[0]") for p in paths)
    assert any(p.startswith("steps[0]") for p in paths)


def test_a_user_sees_only_their_own_apps_and_runs(api: httpx.Client, stack: Stack) -> None:
    alice, bob = _user(api), _user(api)
    created = api.post("/api/apps", json={"yaml": _spec_text("Alice Words")}, headers=alice)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    assert api.post(f"/api/apps/{app_id}/publish", headers=alice).json()["number"] == 1
    url = api.post(f"/api/apps/{app_id}/mcp/enable", headers=alice).json()["url"]

    assert api.get("/api/apps", headers=bob).json() == {"data": [], "count": 0}
    for method, path in [
        ("GET", f"/api/apps/{app_id}"),
        ("PATCH", f"/api/apps/{app_id}"),
        ("GET", f"/api/apps/{app_id}/export"),
        ("GET", f"/api/apps/{app_id}/schema"),
        ("POST", f"/api/apps/{app_id}/publish"),
        ("GET", f"/api/apps/{app_id}/versions"),
        ("GET", f"/api/apps/{app_id}/mcp"),
        ("POST", f"/api/apps/{app_id}/mcp/enable"),
        ("POST", f"/api/apps/{app_id}/mcp/disable"),
        ("POST", f"/api/apps/{app_id}/mcp/regenerate"),
        ("DELETE", f"/api/apps/{app_id}"),
    ]:
        response = api.request(method, path, headers=bob, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.status_code)

    import anyio

    async def call() -> None:
        async with Client(url, mode="legacy", client_info=Implementation(name="api-test-client", version="9.1")) as c:
            assert (await c.call_tool("word_report", {"text": "a b c"})).is_error is False

    anyio.run(call)
    runs = api.get("/api/runs", params={"app_id": app_id}, headers=alice).json()
    assert runs["count"] == 1
    run = runs["data"][0]
    assert run["status"] == "succeeded"
    assert run["inputs"] == {"text": "a b c", "label": "report", "repeat": 1}
    assert run["result"]["words"] == 3
    assert run["progress_done"] == run["progress_total"] == 3
    assert run["duration_ms"] is not None and run["duration_ms"] >= 0
    assert len(run["trace"]) == 3
    assert api.get(f"/api/runs/{run['id']}", headers=bob).status_code == 404
    assert api.get("/api/runs", headers=bob).json()["count"] == 0
    assert api.get(f"/api/runs/{run['id']}", headers=alice).json()["id"] == run["id"]


def test_the_mcp_url_is_masked_unless_revealed(api: httpx.Client) -> None:
    headers = _user(api)
    app_id = api.post("/api/apps", json={"yaml": _spec_text("Masked")}, headers=headers).json()["id"]
    api.post(f"/api/apps/{app_id}/publish", headers=headers)
    url = api.post(f"/api/apps/{app_id}/mcp/enable", headers=headers).json()["url"]
    secret = url.split("/mcp/", 1)[1].removesuffix("/mcp")
    masked = api.get(f"/api/apps/{app_id}/mcp", headers=headers).json()
    assert masked["url"] is None and secret not in masked["masked_url"]
    assert api.get(f"/api/apps/{app_id}/mcp", params={"reveal": "true"}, headers=headers).json()["url"] == url


def test_the_schema_endpoint_shows_what_clients_will_see(api: httpx.Client) -> None:
    headers = _user(api)
    app_id = api.post("/api/apps", json={"yaml": _spec_text("Schema View")}, headers=headers).json()["id"]
    schema = api.get(f"/api/apps/{app_id}/schema", headers=headers).json()
    assert schema["name"] == "word_report"
    assert schema["inputSchema"]["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["inputSchema"]["properties"]["repeat"]["minimum"] == 1


def test_editing_the_draft_does_not_change_the_published_version(api: httpx.Client) -> None:
    headers = _user(api)
    app_id = api.post("/api/apps", json={"yaml": _spec_text("Drafty")}, headers=headers).json()["id"]
    api.post(f"/api/apps/{app_id}/publish", headers=headers)
    edited = _spec_text("Drafty").replace("Cleans up a piece of text", "Edited description")
    assert api.patch(f"/api/apps/{app_id}", json={"yaml": edited}, headers=headers).status_code == 200
    versions = api.get(f"/api/apps/{app_id}/versions", headers=headers).json()
    assert len(versions) == 1 and versions[0]["spec"]["description"].startswith("Cleans up")
    assert api.get(f"/api/apps/{app_id}", headers=headers).json()["spec"]["description"].startswith("Edited")
