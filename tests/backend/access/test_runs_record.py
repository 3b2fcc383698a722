"""The record of every call: how it came in, redacted arguments, progress trail, filters, paging, usage."""

from __future__ import annotations

import uuid

import httpx
import pytest
import yaml
from mcp import Client
from mcp_types import Implementation

from support.access import new_user, publish, spec_yaml

pytestmark = pytest.mark.anyio

SECRET_VALUE = "sup3r-s3cret-" + uuid.uuid4().hex[:8]


def _credentials_app() -> str:
    return yaml.safe_dump(
        {
            "name": f"Credentials {uuid.uuid4().hex[:8]}",
            "description": "Takes credentials among its arguments.",
            "tool_name": "creds",
            "inputs": [
                {"name": "text", "type": "string", "required": True, "max_length": 10000},
                {"name": "api_key", "type": "string", "required": True},
                {"name": "db_password", "type": "string", "required": True},
                {"name": "note", "type": "string", "required": True},
            ],
            "steps": [
                {"id": "first", "type": "template", "title": "measure", "template": "{{ inputs.api_key | length }}"},
                {"id": "second", "type": "template", "title": "count", "template": "{{ inputs.text | length }}"},
            ],
            "outputs": [
                {"name": "key_length", "type": "integer", "value": "{{ steps.first.text }}"},
                {"name": "text_length", "type": "integer", "value": "{{ steps.second.text }}"},
            ],
        },
        sort_keys=False,
    )


async def test_a_run_records_how_the_call_came_and_redacts_credentials(api: httpx.Client) -> None:
    owner = new_user(api)
    assert api.put("/api/secrets/MY_KEY", json={"value": SECRET_VALUE}, headers=owner).status_code == 200
    app_id, url = publish(api, owner, _credentials_app())
    arguments = {"text": "w" * 5000, "api_key": "key-123456", "db_password": "4321-pw", "note": f"mine is {SECRET_VALUE}"}
    async with Client(url, mode="legacy", client_info=Implementation(name="recorder", version="9.1")) as client:
        result = await client.call_tool("creds", arguments)
    assert result.structured_content == {"key_length": 10, "text_length": 5000}  # the run saw the real values

    listed = api.get("/api/runs", params={"app_id": app_id}, headers=owner).json()["data"]
    run = api.get(f"/api/runs/{listed[0]['id']}", headers=owner).json()
    assert (run["client_name"], run["client_version"], run["access"], run["token_name"]) == ("recorder", "9.1", "url", None)
    assert run["status"] == "succeeded" and run["duration_ms"] > 0 and run["endpoint_id"] is not None
    recorded = run["inputs"]
    assert recorded["api_key"] == "[redacted]" and recorded["db_password"] == "[redacted]"
    assert recorded["note"] == f"mine is {SECRET_VALUE}"  # never matched against stored secrets: no oracle
    assert recorded["text"].startswith("w" * 2000) and recorded["text"].endswith("(5000 characters)")
    text = api.get(f"/api/runs/{run['id']}", headers=owner).text
    assert "key-123456" not in text and "4321-pw" not in text
    assert [(p["done"], p["total"], p["message"]) for p in run["progress_trail"]] == [
        (1, 2, "step 1/2: measure"),
        (2, 2, "step 2/2: count"),
    ]


async def test_runs_filter_by_app_status_time_and_client_and_page(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, url = publish(api, owner, spec_yaml())
    broken, broken_url = publish(api, owner, spec_yaml("failing.yaml"))
    for name in ("alpha", "alpha", "beta"):
        async with Client(url, mode="legacy", client_info=Implementation(name=name, version="1")) as client:
            assert (await client.call_tool("word_report", {"text": name})).is_error is False
    async with Client(broken_url, mode="legacy", client_info=Implementation(name="alpha", version="1")) as client:
        assert (await client.call_tool("broken_lookup", {"key": "k"})).is_error is True

    def runs(**params: object) -> dict:
        answer = api.get("/api/runs", params=params, headers=owner)
        assert answer.status_code == 200, answer.text
        return answer.json()

    everything = runs()
    assert everything["count"] == 4
    assert runs(app_id=app_id)["count"] == 3
    assert [r["app_id"] for r in runs(status="failed")["data"]] == [broken]
    assert runs(client="alpha")["count"] == 3 and runs(client="beta")["count"] == 1
    assert runs(client="alpha", app_id=app_id, status="succeeded")["count"] == 2

    newest_first = everything["data"]
    assert [r["created_at"] for r in newest_first] == sorted((r["created_at"] for r in newest_first), reverse=True)
    pivot = newest_first[1]["created_at"]
    assert {r["id"] for r in runs(since=pivot)["data"]} == {r["id"] for r in newest_first[:2]}
    assert {r["id"] for r in runs(until=pivot)["data"]} == {r["id"] for r in newest_first[2:]}
    assert runs(since=pivot, until=pivot) == {"data": [], "count": 0}  # an empty window

    pages = [runs(skip=0, limit=3), runs(skip=3, limit=3)]
    assert [p["count"] for p in pages] == [4, 4]
    assert [r["id"] for p in pages for r in p["data"]] == [r["id"] for r in newest_first]


async def test_usage_counts_calls_errors_and_durations(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, url = publish(api, owner, spec_yaml())
    broken, broken_url = publish(api, owner, spec_yaml("failing.yaml"))
    async with Client(url, mode="2026-07-28") as client:
        for _ in range(3):
            await client.call_tool("word_report", {"text": "a"})
    async with Client(broken_url, mode="2026-07-28") as client:
        await client.call_tool("broken_lookup", {"key": "k"})

    usage = api.get(f"/api/apps/{app_id}/usage", headers=owner).json()
    for period in ("day", "week"):
        figures = usage[period]
        assert (figures["calls"], figures["succeeded"], figures["errors"]) == (3, 3, 0)
        assert 0 < figures["p50_ms"] <= figures["p95_ms"]
    assert api.get(f"/api/apps/{broken}/usage", headers=owner).json()["day"]["errors"] == 1


async def test_one_users_runs_are_invisible_to_another(api: httpx.Client) -> None:
    alice, bob = new_user(api), new_user(api)
    app_id, url = publish(api, alice, spec_yaml())
    async with Client(url, mode="2026-07-28") as client:
        await client.call_tool("word_report", {"text": "private"})
    run_id = api.get("/api/runs", headers=alice).json()["data"][0]["id"]
    assert api.get("/api/runs", headers=bob).json() == {"data": [], "count": 0}
    assert api.get("/api/runs", params={"app_id": app_id}, headers=bob).json()["count"] == 0
    assert api.get(f"/api/runs/{run_id}", headers=bob).status_code == 404
    assert api.get(f"/api/apps/{app_id}/usage", headers=bob).status_code == 404
