"""Toolkits: several published apps as one MCP server, with its own switch, URL, tokens and limits."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from support.access import bearer_client, new_user, publish, spec_yaml
from support.probe import initialize

pytestmark = pytest.mark.anyio


def _status(url: str, token: str | None = None) -> int:
    return initialize(url, token).status_code


def _toolkit(api: httpx.Client, headers: dict[str, str], app_ids: list[int], name: str = "Kit") -> dict[str, Any]:
    created = api.post("/api/toolkits", json={"name": name, "app_ids": app_ids}, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()


def _enable(api: httpx.Client, headers: dict[str, str], toolkit_id: int) -> str:
    answer = api.post(f"/api/toolkits/{toolkit_id}/enable", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["url"]


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_toolkit_serves_one_tool_per_app_under_unique_names(api: httpx.Client, mode: str) -> None:
    owner = new_user(api)
    first, _ = publish(api, owner, spec_yaml(), enable=False)
    second, _ = publish(api, owner, spec_yaml(description="The second copy."), enable=False)
    kit = _toolkit(api, owner, [first, second])
    assert [(t["tool_name"], t["app_id"]) for t in kit["tools"]] == [("word_report", first), ("word_report_2", second)]
    assert kit["enabled"] is False and kit["url"] is None
    url = _enable(api, owner, kit["id"])

    async with Client(url, mode=mode) as client:
        tools = (await client.list_tools()).tools
        result = await client.call_tool("word_report_2", {"text": "x y z"})
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("word_report_3", {"text": "x"})
    assert [(t.name, t.description) for t in tools][1] == ("word_report_2", "The second copy.")
    assert len(tools) == 2 and tools[0].input_schema["required"] == ["text"]
    assert result.is_error is False and result.structured_content["words"] == 3
    assert "'word_report', 'word_report_2'" in unknown.value.message

    runs = api.get("/api/runs", params={"toolkit_id": kit["id"]}, headers=owner).json()["data"]
    assert [(r["app_id"], r["toolkit_id"], r["access"]) for r in runs] == [(second, kit["id"], "url")]


async def test_tool_names_stay_put_when_the_apps_of_a_toolkit_change(api: httpx.Client) -> None:
    owner = new_user(api)
    a, _ = publish(api, owner, spec_yaml(), enable=False)
    b, _ = publish(api, owner, spec_yaml(), enable=False)
    c, _ = publish(api, owner, spec_yaml(), enable=False)
    kit = _toolkit(api, owner, [a, b])
    changed = api.patch(f"/api/toolkits/{kit['id']}", json={"app_ids": [b, c]}, headers=owner)
    assert changed.status_code == 200, changed.text
    assert [(t["tool_name"], t["app_id"]) for t in changed.json()["tools"]] == [("word_report_2", b), ("word_report", c)]
    # republishing an app does not rename its tool either
    assert api.post(f"/api/apps/{b}/publish", headers=owner).status_code == 201
    async with Client(_enable(api, owner, kit["id"]), mode="2026-07-28") as client:
        assert sorted(t.name for t in (await client.list_tools()).tools) == ["word_report", "word_report_2"]


async def test_the_switch_regenerate_and_tokens_of_a_toolkit(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, _ = publish(api, owner, spec_yaml(), enable=False)
    kit = _toolkit(api, owner, [app_id])
    assert _status(kit["masked_url"].replace("•", "x")) == 404
    first_url = _enable(api, owner, kit["id"])
    token = api.post(f"/api/toolkits/{kit['id']}/tokens", json={"name": "agent"}, headers=owner).json()
    assert token["url"] == kit["token_url"] and token["url"].endswith(f"/mcp/t/{kit['id']}/mcp")

    async with bearer_client(token["url"], token["token"], mode="2026-07-28") as client:
        assert (await client.call_tool("word_report", {"text": "by token"})).is_error is False
    runs = api.get("/api/runs", params={"toolkit_id": kit["id"]}, headers=owner).json()["data"]
    assert [(r["access"], r["token_name"]) for r in runs] == [("token", "agent")]

    second_url = api.post(f"/api/toolkits/{kit['id']}/regenerate", headers=owner).json()["url"]
    assert second_url != first_url
    assert (_status(first_url), _status(second_url), _status(token["url"], token["token"])) == (404, 200, 200)

    api.post(f"/api/toolkits/{kit['id']}/disable", headers=owner)
    assert (_status(second_url), _status(token["url"], token["token"])) == (404, 404)
    assert _enable(api, owner, kit["id"]) == second_url and _status(second_url) == 200

    api.delete(f"/api/toolkits/{kit['id']}/tokens/{token['id']}", headers=owner)
    assert _status(token["url"], token["token"]) == 401
    app_token = api.post(f"/api/apps/{app_id}/mcp/tokens", json={"name": "app only"}, headers=owner).json()
    assert _status(token["url"], app_token["token"]) == 401  # an app's token does not open a toolkit


async def test_a_toolkit_has_its_own_rate_limit(api: httpx.Client) -> None:
    owner = new_user(api)
    app_id, app_url = publish(api, owner, spec_yaml())
    kit = _toolkit(api, owner, [app_id])
    limits = api.put(f"/api/toolkits/{kit['id']}/limits", json={"calls_per_minute": 1}, headers=owner)
    assert limits.json()["effective_calls_per_minute"] == 1
    async with Client(_enable(api, owner, kit["id"]), mode="2026-07-28") as client:
        assert (await client.call_tool("word_report", {"text": "a"})).is_error is False
        with pytest.raises(MCPError) as refused:
            await client.call_tool("word_report", {"text": "a"})
    assert "this toolkit allows 1 calls per minute" in refused.value.message
    async with Client(app_url, mode="2026-07-28") as client:  # the app's own server counts apart
        assert (await client.call_tool("word_report", {"text": "a"})).is_error is False


def test_only_your_own_published_apps_can_join_and_only_you_see_the_toolkit(api: httpx.Client) -> None:
    alice, bob = new_user(api), new_user(api)
    published, _ = publish(api, alice, spec_yaml(), enable=False)
    draft = api.post("/api/apps", json={"yaml": spec_yaml()}, headers=alice).json()["id"]
    unpublished = api.post("/api/toolkits", json={"name": "K", "app_ids": [published, draft]}, headers=alice)
    assert unpublished.status_code == 409 and "not published" in unpublished.json()["detail"]
    assert api.get("/api/toolkits", headers=alice).json()["count"] == 0  # nothing half-made

    kit = _toolkit(api, alice, [published])
    assert api.post("/api/toolkits", json={"name": "Kit"}, headers=alice).status_code == 409
    stolen = api.post("/api/toolkits", json={"name": "Mine", "app_ids": [published]}, headers=bob)
    assert stolen.status_code == 404
    assert api.get("/api/toolkits", headers=bob).json() == {"data": [], "count": 0}
    base = f"/api/toolkits/{kit['id']}"
    for method, path, body in [
        ("GET", base, None),
        ("PATCH", base, {"name": "x"}),
        ("DELETE", base, None),
        ("POST", f"{base}/enable", None),
        ("POST", f"{base}/regenerate", None),
        ("GET", f"{base}/tokens", None),
        ("POST", f"{base}/tokens", {"name": "x"}),
        ("PUT", f"{base}/limits", {"calls_per_minute": 1}),
    ]:
        answer = api.request(method, path, json=body, headers=bob)
        assert answer.status_code == 404, (method, path, answer.status_code)
    assert api.get(f"/api/toolkits/{kit['id']}", headers=alice).status_code == 200


async def test_deleting_an_app_or_the_toolkit_takes_their_tools_and_urls_away(api: httpx.Client) -> None:
    owner = new_user(api)
    kept, _ = publish(api, owner, spec_yaml(), enable=False)
    doomed, _ = publish(api, owner, spec_yaml(), enable=False)
    kit = _toolkit(api, owner, [doomed, kept])
    url = _enable(api, owner, kit["id"])
    token = api.post(f"/api/toolkits/{kit['id']}/tokens", json={"name": "t"}, headers=owner).json()
    assert api.delete(f"/api/apps/{doomed}", headers=owner).status_code == 204
    async with Client(url, mode="2026-07-28") as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["word_report_2"]
    assert api.delete(f"/api/toolkits/{kit['id']}", headers=owner).status_code == 204
    assert (_status(url), _status(token["url"], token["token"])) == (404, 401)
    assert api.get(f"/api/apps/{kept}", headers=owner).status_code == 200


async def test_a_toolkit_serves_the_union_of_its_apps_prompts_and_resources_and_refuses_clashes(api: httpx.Client) -> None:
    owner = new_user(api)

    def with_catalog(prompt: str, uri: str) -> str:
        return spec_yaml(
            prompts=[{"name": prompt, "description": f"The {prompt} prompt.", "messages": [{"text": f"Hello from {prompt}."}]}],
            resources=[{"uri": uri, "name": uri.split("//")[1], "text": f"Content of {uri}."}],
        )

    first, _ = publish(api, owner, with_catalog("alpha", "docs://alpha"), enable=False)
    second, _ = publish(api, owner, with_catalog("beta", "docs://beta"), enable=False)
    clashing, _ = publish(api, owner, with_catalog("gamma", "docs://alpha"), enable=False)
    refused = api.post("/api/toolkits", json={"name": "Clash", "app_ids": [first, clashing]}, headers=owner)
    assert refused.status_code == 409
    assert "resource 'docs://alpha'" in refused.json()["detail"] and "is also served by app" in refused.json()["detail"]

    kit = _toolkit(api, owner, [first, second])
    url = _enable(api, owner, kit["id"])
    for mode in ("legacy", "auto"):
        async with Client(url, mode=mode) as client:
            assert client.server_capabilities.prompts is not None
            prompts = [p.name for p in (await client.list_prompts()).prompts]
            resources = [str(r.uri) for r in (await client.list_resources()).resources]
            beta = await client.get_prompt("beta")
            alpha = await client.read_resource("docs://alpha")
        assert prompts == ["alpha", "beta"] and resources == ["docs://alpha", "docs://beta"]
        assert beta.messages[0].content.text == "Hello from beta."
        assert alpha.contents[0].text == "Content of docs://alpha."
    adding = api.patch(f"/api/toolkits/{kit['id']}", json={"app_ids": [first, second, clashing]}, headers=owner)
    assert adding.status_code == 409
    # a member app republished with a resource another member serves is refused; the toolkit keeps serving
    assert api.patch(f"/api/apps/{second}", json={"yaml": with_catalog("beta", "docs://alpha")}, headers=owner).status_code == 200
    republish = api.post(f"/api/apps/{second}/publish", headers=owner)
    assert republish.status_code == 409 and "docs://alpha" in republish.json()["detail"]
