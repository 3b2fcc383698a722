"""The bearer way in: `/mcp/e/{id}` with `Authorization: Bearer <token>`, through the SDK client and raw HTTP."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa

from support.access import bearer_client, database_url, new_token, new_user, publish, spec_yaml
from support.probe import INIT, MCP_HEADERS, initialize
from support.stack import Stack, wait_until

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_token_opens_the_app_and_the_run_records_which_token(api: httpx.Client, mode: str) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml())
    token = new_token(api, owner, app_id)
    assert token["token"].startswith("tpk_") and token["url"].endswith(f"/mcp/e/{token['url'].split('/')[-2]}/mcp")

    async with bearer_client(token["url"], token["token"], mode=mode, name="token-client") as client:
        tools = (await client.list_tools()).tools
        result = await client.call_tool("word_report", {"text": "one two"})
    assert [t.name for t in tools] == ["word_report"]
    assert result.is_error is False and result.structured_content["words"] == 2

    runs = api.get("/api/runs", params={"app_id": app_id}, headers=owner).json()["data"]
    assert len(runs) == 1
    assert (runs[0]["access"], runs[0]["token_name"]) == ("token", token["name"])
    assert runs[0]["endpoint_id"] is not None


async def test_the_url_without_the_trailing_mcp_works_too(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml())
    token = new_token(api, owner, app_id)
    async with bearer_client(token["url"].removesuffix("/mcp"), token["token"]) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["word_report"]


def test_missing_malformed_and_unknown_tokens_get_401_with_a_challenge(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml())
    url = new_token(api, owner, app_id)["url"]

    missing = initialize(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith('Bearer realm="toolpress"')
    assert "Authorization: Bearer" in missing.json()["detail"]

    basic = httpx.post(url, json=INIT, headers={**MCP_HEADERS, "Authorization": "Basic YTpi"}, timeout=10)
    assert basic.status_code == 401 and 'error="invalid_request"' in basic.headers["www-authenticate"]

    for forged in ("tpk_" + "A" * 43, "not-a-token", "tpk_"):
        answer = initialize(url, forged)
        assert answer.status_code == 401, forged
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]
        assert answer.json()["detail"] == "the token is not valid for this MCP server"


def test_a_token_opens_only_its_own_app(api: httpx.Client) -> None:
    owner = new_user(api)
    first, _ = publish(api, owner, spec_yaml())
    second, _ = publish(api, owner, spec_yaml())
    token_first, token_second = new_token(api, owner, first), new_token(api, owner, second)
    assert initialize(token_second["url"], token_first["token"]).status_code == 401
    assert initialize(token_first["url"], token_first["token"]).status_code == 200
    # an endpoint id that does not exist looks exactly like a wrong token
    unknown = token_first["url"].replace(f"/e/{token_first['url'].split('/')[-2]}/", "/e/999999999/")
    assert initialize(unknown, token_first["token"]).status_code == 401


def test_a_revoked_token_is_refused_and_the_others_keep_working(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml())
    doomed, kept = new_token(api, owner, app_id), new_token(api, owner, app_id)
    assert initialize(doomed["url"], doomed["token"]).status_code == 200

    revoked = api.delete(f"/api/apps/{app_id}/mcp/tokens/{doomed['id']}", headers=owner)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    refused = initialize(doomed["url"], doomed["token"])
    assert refused.status_code == 401
    assert refused.json()["detail"] == f"the token {doomed['name']!r} was revoked"
    assert initialize(kept["url"], kept["token"]).status_code == 200


def test_an_expired_token_is_refused(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml())
    soon = datetime.now(timezone.utc) + timedelta(seconds=2)
    token = new_token(api, owner, app_id, expires_at=soon.isoformat())
    assert initialize(token["url"], token["token"]).status_code == 200

    wait_until(lambda: initialize(token["url"], token["token"]).status_code == 401, 20, "the token to expire")
    answer = initialize(token["url"], token["token"])
    assert "expired" in answer.json()["detail"] and 'error="invalid_token"' in answer.headers["www-authenticate"]
    listed = api.get(f"/api/apps/{app_id}/mcp/tokens", headers=owner).json()["data"]
    assert [t["status"] for t in listed] == ["expired"]


def test_an_expiry_in_the_past_is_refused_at_creation(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml())
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    answer = api.post(f"/api/apps/{app_id}/mcp/tokens", json={"name": "old", "expires_at": past}, headers=owner)
    assert answer.status_code == 409 and "past" in answer.json()["detail"]


async def test_regenerating_the_url_leaves_tokens_working(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, old_url = publish(api, owner, spec_yaml())
    token = new_token(api, owner, app_id)
    new_url = api.post(f"/api/apps/{app_id}/mcp/regenerate", headers=owner).json()["url"]
    assert new_url != old_url and initialize(old_url).status_code == 404
    async with bearer_client(token["url"], token["token"], mode="2026-07-28") as client:
        assert (await client.call_tool("word_report", {"text": "still here"})).is_error is False


def test_a_switched_off_server_answers_404_even_with_a_good_token(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml())
    token = new_token(api, owner, app_id)
    api.post(f"/api/apps/{app_id}/mcp/disable", headers=owner)
    assert initialize(token["url"], token["token"]).status_code == 404
    api.post(f"/api/apps/{app_id}/mcp/enable", headers=owner)
    assert initialize(token["url"], token["token"]).status_code == 200


def test_the_token_is_shown_once_and_the_database_holds_only_its_hash(api: httpx.Client, stack: Stack) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml())
    token = new_token(api, owner, app_id)
    listed = api.get(f"/api/apps/{app_id}/mcp/tokens", headers=owner)
    assert token["token"] not in listed.text
    assert [t["prefix"] for t in listed.json()["data"]] == [token["token"][:10]]

    engine = sa.create_engine(database_url(stack))
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT * FROM accesstoken WHERE id = :id"), {"id": token["id"]}).mappings().one()
    finally:
        engine.dispose()
    assert row["token_hash"] == hashlib.sha256(token["token"].encode()).hexdigest()
    assert all(token["token"] not in str(value) for value in row.values())


def test_token_names_are_unique_among_live_tokens(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml())
    first = new_token(api, owner, app_id, name="ci")
    clash = api.post(f"/api/apps/{app_id}/mcp/tokens", json={"name": "ci"}, headers=owner)
    assert clash.status_code == 409 and "ci" in clash.json()["detail"]
    api.delete(f"/api/apps/{app_id}/mcp/tokens/{first['id']}", headers=owner)
    assert api.post(f"/api/apps/{app_id}/mcp/tokens", json={"name": "ci"}, headers=owner).status_code == 201


def test_the_token_never_reaches_the_logs(api: httpx.Client, stack: Stack) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml())
    token = new_token(api, owner, app_id)
    assert initialize(token["url"], token["token"]).status_code == 200
    assert initialize(token["url"], token["token"] + "x").status_code == 401
    assert token["token"] not in stack.logs() and token["token"][4:] not in stack.logs()


def test_one_users_tokens_are_invisible_to_another(api: httpx.Client) -> None:
    alice, bob = new_user(api), new_user(api)
    app_id, _ = publish(api, alice, spec_yaml())
    token = new_token(api, alice, app_id)
    assert api.get(f"/api/apps/{app_id}/mcp/tokens", headers=bob).status_code == 404
    assert api.post(f"/api/apps/{app_id}/mcp/tokens", json={"name": "mine"}, headers=bob).status_code == 404
    assert api.delete(f"/api/apps/{app_id}/mcp/tokens/{token['id']}", headers=bob).status_code == 404
    bobs_app, _ = publish(api, bob, spec_yaml())
    assert api.delete(f"/api/apps/{bobs_app}/mcp/tokens/{token['id']}", headers=bob).status_code == 404
    assert initialize(token["url"], token["token"]).status_code == 200  # still alive: Bob could not revoke it


def test_an_event_stream_opened_with_a_token_closes_when_the_token_is_revoked(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml())
    token = new_token(api, owner, app_id)
    headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {token['token']}"}
    with httpx.stream("GET", token["url"], headers=headers, timeout=httpx.Timeout(30, read=20)) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        chunks = stream.iter_bytes()
        assert b"stream open" in next(chunks)
        assert api.delete(f"/api/apps/{app_id}/mcp/tokens/{token['id']}", headers=owner).status_code == 200
        rest = b"".join(chunks)  # ends when the server closes the stream (the read timeout would fail the test)
    assert b"stream open" not in rest
