"""Toolkits and bearer tokens in the console, in a real browser: a toolkit is made from two published apps, served
with the MCP panel (switch, reveal, snippets, regenerate), edited and deleted; a token is created on an access
page, shown once with ready snippets, used by the SDK client, and revoked."""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from mcp import Client
from playwright.sync_api import Page, expect
from support.access import bearer_client
from support.console import api, create_app, in_thread, list_tools, log_in
from support.probe import initialize

if TYPE_CHECKING:
    from conftest import Account, Server


def _echo_spec(tool: str) -> dict[str, Any]:
    return {
        "name": f"Echo {tool} {uuid.uuid4().hex[:6]}",
        "tool_name": tool,
        "description": f"Echoes a word ({tool}).",
        "inputs": [{"name": "word", "type": "string", "required": True, "description": "A word."}],
        "steps": [{"id": "say", "type": "template", "template": f"{tool}: {{{{ inputs.word }}}}"}],
        "outputs": [{"name": "text", "type": "string", "value": "{{ steps.say.text }}"}],
    }


async def _bearer_call(url: str, token: str, tool: str, arguments: dict[str, Any]) -> Any:
    async with bearer_client(url, token) as client:
        return await client.call_tool(tool, arguments)


async def _call(url: str, tool: str, arguments: dict[str, Any]) -> Any:
    async with Client(url) as client:
        return await client.call_tool(tool, arguments)


def test_a_toolkit_is_made_served_regenerated_edited_and_deleted(
    page: Page, console_server: Server, owner: Account, screenshot: Any
) -> None:
    first = create_app(console_server, owner, _echo_spec("echo_one"), publish=True)
    second = create_app(console_server, owner, _echo_spec("echo_two"), publish=True)
    draft = create_app(console_server, owner, _echo_spec("echo_draft"))
    log_in(page, owner, "/toolkits")
    expect(page.get_by_text("No toolkits yet.")).to_be_visible()
    expect(page.get_by_label(draft["name"])).to_have_count(0)  # only published apps can be picked

    name = f"Support desk {uuid.uuid4().hex[:4]}"
    page.get_by_label("Name").fill(name)
    page.get_by_label(first["name"]).check()
    page.get_by_label(second["name"]).check()
    page.get_by_role("button", name="Create toolkit").click()
    expect(page.get_by_role("status").filter(has_text="Toolkit created")).to_be_visible()
    kit_id = page.url.split("/toolkits/")[1].split("?")[0]
    tools = page.locator("#tools tbody tr")
    expect(tools).to_have_count(2)
    expect(tools.nth(0)).to_contain_text("echo_one")
    expect(tools.nth(1)).to_contain_text("echo_two")

    page.get_by_role("switch").click()
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "true")
    masked = page.locator("#mcp-url").text_content() or ""
    page.get_by_role("button", name="Reveal").click()
    expect(page.locator("#mcp-url")).not_to_have_text(masked)
    url = (page.locator("#mcp-url").text_content() or "").strip()
    slug = name.lower().replace(" ", "-")
    assert json.loads(page.locator("#mcp-snippet").text_content() or "") == {"mcpServers": {slug: {"url": url}}}
    assert sorted(t.name for t in in_thread(list_tools, url)) == ["echo_one", "echo_two"]
    page.get_by_role("button", name="Hide").click()  # the screenshot shows the masked URL
    screenshot(page, "toolkit")
    result = in_thread(_call, url, "echo_two", {"word": "kettle"})
    assert result.is_error is False and result.structured_content == {"text": "echo_two: kettle"}

    page.get_by_role("button", name="Regenerate URL…").click()
    page.get_by_role("dialog").get_by_role("button", name="Regenerate URL").click()
    expect(page.locator("#new-url-notice")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/toolkits/{kit_id}#mcp-panel$"))
    new_url = (page.locator("#mcp-url").text_content() or "").strip()
    assert new_url != url and initialize(url).status_code == 404
    page.reload()
    expect(page.locator("#new-url-notice")).to_have_count(0)
    assert sorted(t.name for t in in_thread(list_tools, new_url)) == ["echo_one", "echo_two"]

    page.goto(f"/toolkits/{kit_id}")
    page.get_by_label(first["name"]).uncheck()
    page.get_by_role("button", name="Save toolkit").click()
    expect(page.get_by_role("status").filter(has_text="Toolkit saved")).to_be_visible()
    expect(tools).to_have_count(1)
    assert [t.name for t in in_thread(list_tools, new_url)] == ["echo_two"]

    page.get_by_role("button", name="Delete toolkit…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete toolkit").click()
    expect(page.get_by_role("status").filter(has_text="Toolkit deleted")).to_be_visible()
    expect(page.get_by_role("link", name=name)).to_have_count(0)
    assert initialize(new_url).status_code == 404


def test_a_toolkit_needs_a_name_and_keeps_what_was_typed(page: Page, console_server: Server, owner: Account) -> None:
    app = create_app(console_server, owner, _echo_spec("echo_kept"), publish=True)
    log_in(page, owner, "/toolkits")
    page.get_by_label("Name").fill("   ")
    page.get_by_label("Description").fill("Kept after the error.")
    page.get_by_label(app["name"]).check()
    page.get_by_role("button", name="Create toolkit").click()
    expect(page.get_by_role("alert")).to_contain_text("The toolkit was not created")
    expect(page.get_by_label("Description")).to_have_value("Kept after the error.")
    expect(page.get_by_label(app["name"])).to_be_checked()
    with api(console_server, owner) as client:
        assert client.get("/api/toolkits").json()["count"] == 0


def test_a_token_is_shown_once_with_snippets_works_and_is_revoked(
    page: Page, console_server: Server, owner: Account, screenshot: Any
) -> None:
    app = create_app(console_server, owner, _echo_spec("echo_token"), publish=True, enable=True)
    log_in(page, owner, f"/apps/{app['id']}")
    page.get_by_role("link", name="Tokens and OAuth clients").click()
    expect(page.get_by_role("heading", name=f"Access to {app['name']}")).to_be_visible()

    page.get_by_label("Expires in (days)").fill("soon")
    page.get_by_label("Name", exact=True).fill("laptop")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("alert")).to_contain_text("The token was not created")

    page.get_by_label("Name", exact=True).fill("laptop")
    page.get_by_label("Expires in (days)").fill("30")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="Token “laptop” created")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/apps/{app['id']}/access#created-token$"))  # the form redirected here
    token = (page.locator("#new-token").text_content() or "").strip()
    screenshot(page, "token")
    with api(console_server, owner) as client:
        token_url = client.get(f"/api/apps/{app['id']}/mcp/tokens").json()["url"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert json.loads(page.locator("#bearer-cursor").text_content() or "") == {
        "mcpServers": {"echo_token": {"url": token_url, "headers": bearer}}}
    assert json.loads(page.locator("#bearer-vscode").text_content() or "") == {
        "servers": {"echo_token": {"type": "http", "url": token_url, "headers": bearer}}}
    assert (page.locator("#bearer-claude-code").text_content() or "") == (
        f"claude mcp add --transport http echo_token {token_url} --header 'Authorization: Bearer {token}'")
    desktop = json.loads(page.locator("#bearer-claude-desktop").text_content() or "")
    assert desktop["mcpServers"]["echo_token"]["env"] == {"TOOLPRESS_MCP_TOKEN": token}
    page.get_by_role("button", name="Copy Cursor snippet").click()
    assert token in page.evaluate("navigator.clipboard.readText()")

    result = in_thread(_bearer_call, token_url, token, "echo_token", {"word": "tea"})
    assert result.is_error is False and result.structured_content == {"text": "echo_token: tea"}

    page.goto(f"/apps/{app['id']}")  # the MCP panel now offers the token variant, without any token in it
    assert json.loads(page.locator("#bearer-cursor").text_content() or "") == {
        "mcpServers": {"echo_token": {"url": token_url, "headers": {"Authorization": "Bearer <token>"}}}}
    assert token not in page.content()

    page.goto(f"/apps/{app['id']}/access")  # the token is never shown again
    assert token not in page.content()
    page.go_back()
    page.go_back()  # not even on the page that showed it (Back loads it afresh: it is never cached)
    expect(page).to_have_url(re.compile(rf"/apps/{app['id']}/access#created-token$"))
    assert token not in page.content()
    page.goto(f"/apps/{app['id']}/access")
    expect(page.locator("tbody tr").filter(has_text="laptop")).to_contain_text("active")
    page.get_by_role("button", name="Revoke laptop").click()
    expect(page.locator("tbody tr").filter(has_text="laptop")).to_contain_text("revoked")
    assert initialize(token_url, token).status_code == 401
    page.goto(f"/apps/{app['id']}")
    expect(page.locator("#bearer-cursor")).to_have_count(0)  # no live token, no token variant


def test_a_toolkit_has_its_own_tokens(page: Page, console_server: Server, owner: Account) -> None:
    app = create_app(console_server, owner, _echo_spec("echo_kit"), publish=True)
    with api(console_server, owner) as client:
        kit = client.post("/api/toolkits", json={"name": f"Kit {uuid.uuid4().hex[:4]}", "app_ids": [app["id"]]}).json()
        client.post(f"/api/toolkits/{kit['id']}/enable").raise_for_status()
    log_in(page, owner, f"/toolkits/{kit['id']}")
    page.get_by_role("link", name="Tokens and OAuth clients").click()
    page.get_by_label("Name", exact=True).fill("agent")
    page.get_by_role("button", name="Create token").click()
    token = (page.locator("#new-token").text_content() or "").strip()
    assert kit["token_url"] in (page.locator("#bearer-cursor").text_content() or "")
    result = in_thread(_bearer_call, kit["token_url"], token, "echo_kit", {"word": "oolong"})
    assert result.is_error is False and result.structured_content == {"text": "echo_kit: oolong"}
    assert initialize(kit["token_url"], "not-a-token").status_code == 401
