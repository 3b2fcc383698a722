"""Toolpress's own MCP server (`/mcp/platform`, `toolpress mcp platform`) through the official SDK client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

import workflows
from backend.platform_mcp.reference import ASKING_THE_CALLER

from support.probe import INIT, MCP_HEADERS as ACCEPT
from support.stack import BIN, Stack, running, start_embedded

pytestmark = pytest.mark.anyio

MODES = ["legacy", "2026-07-28"]
READ_TOOLS = {"list_apps", "get_app", "validate_app_spec", "list_versions", "list_runs", "get_run", "list_step_types"}
WRITE_TOOLS = {
    "create_app", "update_app", "test_run_app", "publish_app", "rollback_app", "enable_mcp", "disable_mcp",
    "regenerate_mcp_url", "delete_app",
}
DESTRUCTIVE = {"delete_app", "regenerate_mcp_url", "disable_mcp"}


def order_spec(name: str, *, greeting: str = "Order", typo: bool = False) -> str:
    """YAML of a two-step app; with `typo` the second step reads a step id that does not exist."""
    source = "steps.normalise.text" if typo else "steps.normalize.text"
    return yaml.safe_dump(
        {
            "name": name,
            "tool_name": "lookup_order",
            "description": "Looks up an order by id and describes it in one line.",
            "inputs": [{"name": "order_id", "type": "string", "description": "The order id.", "required": True}],
            "steps": [
                {"id": "normalize", "type": "template", "title": "normalize id", "template": "{{ inputs.order_id | upper }}"},
                {"id": "describe", "type": "template", "title": "describe order", "template": f"{greeting} {{{{ {source} }}}}"},
            ],
            "outputs": [{"name": "summary", "type": "string", "description": "One line.", "value": "{{ steps.describe.text }}"}],
        },
        sort_keys=False,
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One embedded Toolpress for the module."""
    with running(start_embedded(tmp_path_factory.mktemp("platform"))) as started:
        yield started


def sign_up(stack: Stack) -> tuple[str, str]:
    """A fresh account; returns (e-mail, API access token)."""
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    httpx.post(f"{stack.base_url}/api/auth/signup", json={"email": email, "password": "long enough pw"}, timeout=10)
    login = httpx.post(f"{stack.base_url}/api/auth/login", json={"email": email, "password": "long enough pw"}, timeout=10)
    return email, login.json()["access_token"]


def platform(stack: Stack, token: str, *, mode: str = "2026-07-28", headers: dict[str, str] | None = None,
             path: str = "/mcp/platform/mcp") -> Client:
    """An SDK client on the platform server, authenticated with a user API token."""
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}", **(headers or {})})
    return Client(streamable_http_client(f"{stack.base_url}{path}", http_client=http), mode=mode)  # type: ignore[arg-type]


async def call(client: Client, tool: str, arguments: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    """Call a tool that must succeed; its structured result."""
    result = await client.call_tool(tool, arguments or {}, **kw)
    assert result.is_error is False, result.content[0].text
    assert result.structured_content is not None
    return result.structured_content


async def refused(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    """Call a tool that must refuse; its message."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error is True
    return result.content[0].text


@pytest.fixture(scope="module")
def owner(live: Stack) -> tuple[str, str]:
    """The account that owns the apps the agent builds."""
    return sign_up(live)


async def test_an_agent_builds_tests_publishes_and_calls_an_app(live: Stack, owner: tuple[str, str]) -> None:
    name = f"Order lookup {uuid.uuid4().hex[:6]}"
    async with platform(live, owner[1]) as agent:
        reference = await call(agent, "list_step_types")
        assert "template" in {t["type"] for t in reference["step_types"]}

        # a spec with one mistake: the agent reads the validation message and fixes what it names
        message = await refused(agent, "create_app", {"spec_yaml": order_spec(name, typo=True)})
        assert "steps[1]" in message and "'describe'" in message and "normalise" in message
        check = await call(agent, "validate_app_spec", {"spec_yaml": order_spec(name, typo=True)})
        assert check["valid"] is False and len(check["errors"]) == 1
        assert check["errors"][0]["step"] == "describe" and check["errors"][0]["path"].startswith("steps[1]")
        fixed = order_spec(name, typo=True).replace("normalise", "normalize")
        assert (await call(agent, "validate_app_spec", {"spec_yaml": fixed}))["valid"] is True
        app = await call(agent, "create_app", {"spec_yaml": fixed})
        app_id = app["id"]
        assert app["published_version"] is None and app["input_schema"]["required"] == ["order_id"]

        progress: list[tuple[float, float | None, str | None]] = []

        async def on_progress(done: float, total: float | None, text: str | None) -> None:
            progress.append((done, total, text))

        run = await call(agent, "test_run_app", {"app_id": app_id, "arguments": {"order_id": "ab-1"}},
                         progress_callback=on_progress)
        assert run["status"] == "succeeded" and run["outputs"] == {"summary": "Order AB-1"}
        assert progress == [(1, 2, "step 1/2: normalize id"), (2, 2, "step 2/2: describe order")]
        assert (await call(agent, "get_run", {"run_id": run["run_id"]}))["inputs"] == {"order_id": "ab-1"}

        assert (await call(agent, "publish_app", {"app_id": app_id}))["published_version"] == 1
        server = await call(agent, "enable_mcp", {"app_id": app_id})
        url = server["url"]
        assert server["enabled"] is True and server["cursor_config"] == {"mcpServers": {"lookup_order": {"url": url}}}

    async with Client(url) as client:  # the new app's own endpoint, with the URL the agent got back
        assert [t.name for t in (await client.list_tools()).tools] == ["lookup_order"]
        result = await client.call_tool("lookup_order", {"order_id": "x9"})
    assert result.structured_content == {"summary": "Order X9"}

    # a second version, then back to the first
    async with platform(live, owner[1]) as agent:
        await call(agent, "update_app", {"app_id": app_id, "spec_yaml": order_spec(name, greeting="Parcel")})
        assert (await call(agent, "publish_app", {"app_id": app_id}))["published_version"] == 2
        async with Client(url) as client:
            assert (await client.call_tool("lookup_order", {"order_id": "x9"})).structured_content == {"summary": "Parcel X9"}
        assert (await call(agent, "rollback_app", {"app_id": app_id, "version": 1}))["published_version"] == 1
        versions = (await call(agent, "list_versions", {"app_id": app_id}))["versions"]
        assert [(v["number"], v["published"]) for v in versions] == [(2, False), (1, True)]
        async with Client(url) as client:
            assert (await client.call_tool("lookup_order", {"order_id": "x9"})).structured_content == {"summary": "Order X9"}
        listed = await call(agent, "list_apps")
        assert {"id": app_id, "published_version": 1, "mcp_enabled": True, "draft_changed": True}.items() <= next(
            a for a in listed["apps"] if a["id"] == app_id
        ).items()


@pytest.fixture(scope="module")
def owned_app(live: Stack, owner: tuple[str, str]) -> dict[str, Any]:
    """A published app with its MCP server on, made through the REST API; its id and URL."""
    headers = {"Authorization": f"Bearer {owner[1]}"}
    api = httpx.Client(base_url=live.base_url, headers=headers, timeout=30)
    app_id = api.post("/api/apps", json={"yaml": order_spec(f"Owned {uuid.uuid4().hex[:6]}")}).json()["id"]
    api.post(f"/api/apps/{app_id}/publish")
    url = api.post(f"/api/apps/{app_id}/mcp/enable").json()["url"]
    return {"id": app_id, "url": url}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", ["/mcp/platform/mcp", "/mcp/platform"])
async def test_tools_carry_schemas_and_hints_in_both_generations(live: Stack, owner: tuple[str, str], mode: str, path: str) -> None:
    async with platform(live, owner[1], mode=mode, path=path) as agent:
        tools = {t.name: t for t in (await agent.list_tools()).tools}
    assert set(tools) == READ_TOOLS | WRITE_TOOLS
    for name, tool in tools.items():
        assert tool.description and tool.output_schema and tool.input_schema["type"] == "object"
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (name in READ_TOOLS)
        if name in WRITE_TOOLS:
            assert tool.annotations.destructive_hint is (name in DESTRUCTIVE)
        if name in DESTRUCTIVE:
            assert "confirm" in tool.input_schema["properties"]


async def test_destructive_tools_refuse_without_confirm(live: Stack, owner: tuple[str, str], owned_app: dict[str, Any]) -> None:
    async with platform(live, owner[1]) as agent:
        for tool in sorted(DESTRUCTIVE):
            for arguments in ({"app_id": owned_app["id"]}, {"app_id": owned_app["id"], "confirm": False}):
                message = await refused(agent, tool, arguments)
                assert "confirm: true" in message and "Nothing was changed" in message
        still = await call(agent, "get_app", {"app_id": owned_app["id"]})
    assert still["mcp_enabled"] is True
    async with Client(owned_app["url"]) as client:  # neither regenerated nor switched off
        assert [t.name for t in (await client.list_tools()).tools] == ["lookup_order"]


def read_only_token(stack: Stack, email: str) -> str:
    """An API token of `email` issued read-only (its scope, not a header, makes it so)."""
    login = httpx.post(f"{stack.base_url}/api/auth/login", json={"email": email, "password": "long enough pw", "read_only": True},
                       timeout=10)
    assert login.status_code == 200 and login.json()["read_only"] is True, login.text
    return login.json()["access_token"]


@pytest.mark.parametrize("how", ["header", "query", "token scope"])
async def test_read_only_mode_hides_and_refuses_every_writing_tool(live: Stack, owner: tuple[str, str], how: str) -> None:
    token, headers, path = {
        "header": (owner[1], {"X-Toolpress-Read-Only": "true"}, "/mcp/platform/mcp"),
        "query": (owner[1], {}, "/mcp/platform/mcp?read_only=true"),
        "token scope": (read_only_token(live, owner[0]), {}, "/mcp/platform/mcp"),
    }[how]
    async with platform(live, token, headers=headers, path=path) as agent:
        assert {t.name for t in (await agent.list_tools()).tools} == READ_TOOLS
        message = await refused(agent, "create_app", {"spec_yaml": order_spec(f"Nope {uuid.uuid4().hex[:6]}")})
        assert "read-only" in message
        assert (await call(agent, "list_apps"))["count"] >= 0
    async with platform(live, owner[1]) as agent:
        names = [a["name"] for a in (await call(agent, "list_apps"))["apps"]]
    assert not any(n.startswith("Nope ") for n in names)


async def test_a_read_only_token_reads_the_rest_api_but_cannot_change_it(live: Stack, owner: tuple[str, str]) -> None:
    headers = {"Authorization": f"Bearer {read_only_token(live, owner[0])}"}
    with httpx.Client(base_url=live.base_url, headers=headers, timeout=10) as api:
        assert api.get("/api/apps").status_code == 200
        created = api.post("/api/apps", json={"yaml": order_spec(f"Nope {uuid.uuid4().hex[:6]}")})
        assert created.status_code == 403 and "read-only" in created.json()["detail"]
        assert api.put("/api/secrets/RO_TEST", json={"value": "x"}).status_code == 403
        assert "RO_TEST" not in api.get("/api/secrets").text


async def test_another_users_token_sees_none_of_these_apps(live: Stack, owner: tuple[str, str], owned_app: dict[str, Any]) -> None:
    async with platform(live, owner[1]) as agent:
        mine = await call(agent, "list_apps")
        run = await call(agent, "test_run_app", {"app_id": owned_app["id"], "arguments": {"order_id": "q"}})
    assert owned_app["id"] in {a["id"] for a in mine["apps"]}
    app_name = next(a["name"] for a in mine["apps"] if a["id"] == owned_app["id"])

    _, stranger = sign_up(live)
    async with platform(live, stranger) as other:
        assert (await call(other, "list_apps")) == {"apps": [], "count": 0}
        assert (await call(other, "list_runs"))["runs"] == []
        for tool, arguments in (
            ("get_app", {"app_id": owned_app["id"]}),
            ("list_versions", {"app_id": owned_app["id"]}),
            ("test_run_app", {"app_id": owned_app["id"], "arguments": {"order_id": "q"}}),
            ("delete_app", {"app_id": owned_app["id"], "confirm": True}),
            ("regenerate_mcp_url", {"app_id": owned_app["id"], "confirm": True}),
            ("get_run", {"run_id": run["run_id"]}),
        ):
            message = await refused(other, tool, arguments)
            assert "you have no" in message and app_name not in message and owned_app["url"] not in message
        resources = (await other.list_resources()).resources
        assert [str(r.uri) for r in resources] == ["toolpress://reference/step-types"]
        with pytest.raises(MCPError, match="you have no app"):
            await other.read_resource(f"toolpress://apps/{owned_app['id']}/spec")
    async with Client(owned_app["url"]) as client:  # the stranger's confirmed delete and regenerate did nothing
        assert (await client.call_tool("lookup_order", {"order_id": "z"})).structured_content == {"summary": "Order Z"}


async def test_specs_and_step_reference_are_resources_and_the_prompt_guides_a_design(
    live: Stack, owner: tuple[str, str], owned_app: dict[str, Any]
) -> None:
    uri = f"toolpress://apps/{owned_app['id']}/spec"
    async with platform(live, owner[1]) as agent:
        uris = {str(r.uri) for r in (await agent.list_resources()).resources}
        spec = (await agent.read_resource(uri)).contents[0]
        reference = (await agent.read_resource("toolpress://reference/step-types")).contents[0]
        prompts = (await agent.list_prompts()).prompts
        prompt = await agent.get_prompt("design_toolpress_app", {"goal": "look up an order by id from our API"})
    assert {uri, "toolpress://reference/step-types"} <= uris
    assert spec.mime_type == "application/yaml" and yaml.safe_load(spec.text)["tool_name"] == "lookup_order"
    assert "## `http_request`" in reference.text and '"template"' in reference.text
    assert [p.name for p in prompts] == ["design_toolpress_app"]
    text = prompt.messages[0].content.text
    assert "look up an order by id from our API" in text
    assert "inputs" in text and "outputs" in text and "## `transform`" in text and "validate_app_spec" in text


async def test_requests_without_a_valid_token_get_401_with_a_challenge(live: Stack) -> None:
    for headers, error in (({}, False), ({"Authorization": "Bearer not-a-token"}, True)):
        response = httpx.post(f"{live.base_url}/mcp/platform/mcp", json=INIT, headers={**ACCEPT, **headers}, timeout=10)
        assert response.status_code == 401
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer") and ('error="invalid_token"' in challenge) is error


async def test_invalid_arguments_are_refused_with_each_problem(live: Stack, owner: tuple[str, str]) -> None:
    async with platform(live, owner[1]) as agent:
        message = await refused(agent, "rollback_app", {"app_id": "seven", "colour": "red"})
    assert "app_id" in message and "version" in message and "colour" in message


async def test_stdio_server_lists_tools_and_acts_as_the_chosen_user(live: Stack, owner: tuple[str, str], owned_app: dict[str, Any]) -> None:
    params = StdioServerParameters(command=str(BIN / "toolpress"), args=["mcp", "platform", "--email", owner[0]],
                                   env=live.env, cwd=str(live.workdir))
    async with Client(params) as agent:
        names = {t.name for t in (await agent.list_tools()).tools}
        listed = await call(agent, "list_apps")
    assert names == READ_TOOLS | WRITE_TOOLS
    assert owned_app["id"] in {a["id"] for a in listed["apps"]}

    read_only = StdioServerParameters(command=str(BIN / "toolpress"), args=["mcp", "platform", "--read-only"],
                                      env=live.env, cwd=str(live.workdir))
    async with Client(read_only) as agent:  # the local admin: none of the owner's apps
        assert {t.name for t in (await agent.list_tools()).tools} == READ_TOOLS
        assert owned_app["id"] not in {a["id"] for a in (await call(agent, "list_apps"))["apps"]}


async def test_a_draft_test_run_reports_progress_and_its_result_on_both_deployments(stack: Stack) -> None:
    _, token = sign_up(stack)
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, text: str | None) -> None:
        progress.append((done, total, text))

    async with platform(stack, token, mode="legacy") as agent:
        app = await call(agent, "create_app", {"spec_yaml": order_spec(f"Deployed {uuid.uuid4().hex[:6]}")})
        run = await call(agent, "test_run_app", {"app_id": app["id"], "arguments": {"order_id": "k7"}},
                         progress_callback=on_progress)
        runs = await call(agent, "list_runs", {"app_id": app["id"]})
    assert run["status"] == "succeeded" and run["outputs"] == {"summary": "Order K7"}
    assert [step["step_id"] for step in run["trace"]] == ["normalize", "describe"]
    assert progress == [(1, 2, "step 1/2: normalize id"), (2, 2, "step 2/2: describe order")]
    assert [(r["id"], r["status"]) for r in runs["runs"]] == [(run["run_id"], "succeeded")]


async def test_confirmed_destructive_tools_regenerate_disable_and_delete(live: Stack, owner: tuple[str, str]) -> None:
    async with platform(live, owner[1]) as agent:
        app = await call(agent, "create_app", {"spec_yaml": order_spec(f"Doomed {uuid.uuid4().hex[:6]}")})
        await call(agent, "publish_app", {"app_id": app["id"]})
        old_url = (await call(agent, "enable_mcp", {"app_id": app["id"]}))["url"]
        fresh = await call(agent, "regenerate_mcp_url", {"app_id": app["id"], "confirm": True})
        assert fresh["url"] != old_url and fresh["cursor_config"]["mcpServers"]["lookup_order"]["url"] == fresh["url"]
        assert httpx.post(old_url, json=INIT, headers=ACCEPT, timeout=10).status_code == 404
        assert httpx.post(fresh["url"], json=INIT, headers=ACCEPT, timeout=10).status_code == 200
        off = await call(agent, "disable_mcp", {"app_id": app["id"], "confirm": True})
        assert off == {"app_id": app["id"], "enabled": False, "url": None, "cursor_config": None}
        assert httpx.post(fresh["url"], json=INIT, headers=ACCEPT, timeout=10).status_code == 404
        assert await call(agent, "delete_app", {"app_id": app["id"], "confirm": True}) == {"app_id": app["id"], "deleted": True}
        assert "you have no app" in await refused(agent, "get_app", {"app_id": app["id"]})


async def test_an_agent_adds_prompts_and_resources_and_validation_names_their_mistakes(
    live: Stack, owner: tuple[str, str]
) -> None:
    spec = yaml.safe_load(order_spec(f"Prompted {uuid.uuid4().hex[:6]}"))
    spec["prompts"] = [{"name": "ask", "arguments": [{"name": "order"}], "messages": [{"text": "Where is {{ inputs.oder }}?"}]}]
    spec["resources"] = [{"uri": "orders://policy", "name": "policy", "text": "Refunds within 30 days."}]
    async with platform(live, owner[1]) as agent:
        reference = (await agent.read_resource("toolpress://reference/step-types")).contents[0]
        check = await call(agent, "validate_app_spec", {"spec_yaml": yaml.safe_dump(spec)})
        assert check["valid"] is False
        assert [e["path"] for e in check["errors"]] == ["prompts[0].messages[0].text"]
        spec["prompts"][0]["messages"][0]["text"] = "Where is {{ inputs.order }}?"
        app = await call(agent, "create_app", {"spec_yaml": yaml.safe_dump(spec)})
        got = await call(agent, "get_app", {"app_id": app["id"]})
    assert "# Prompts and resources" in reference.text and "resource_templates:" in reference.text
    assert "# Asking the caller" in reference.text and "provider: client" in reference.text
    assert "orders://policy" in yaml.safe_dump(got)


def test_the_asking_example_of_the_step_reference_is_a_valid_app() -> None:
    block = ASKING_THE_CALLER.split("```yaml", 1)[1].split("```", 1)[0]
    spec = workflows.spec_from_dict({
        "name": "Booking", "inputs": [{"name": "room", "type": "string"}], **yaml.safe_load(block),
        "outputs": [{"name": "booked", "type": "boolean", "value": "true"}],
    })
    assert [step.type for step in spec.steps] == ["ask", "llm"]
