"""The app page's MCP panel in headless Chromium against a real server: client snippets, the install link, and the
tool description that MCP clients then list."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, expect
from support.console import api, in_thread, list_tools, log_in

if TYPE_CHECKING:
    from conftest import Account, Server


def open_with_mcp_on(page: Page, console_server: Server, owner: Account, app_id: int) -> str:
    """Turn the app's MCP server on (through the API), open its page as the owner; return the MCP URL."""
    with api(console_server, owner) as client:
        url = client.post(f"/api/apps/{app_id}/mcp/enable").json()["url"]
    log_in(page, owner, f"/apps/{app_id}")
    return url


def test_mcp_panel_gives_a_snippet_per_client_and_a_cursor_install_link(
    page: Page, console_server: Server, owner: Account, published_app: dict
) -> None:
    url = open_with_mcp_on(page, console_server, owner, published_app["id"])
    secret = url.split("/mcp/")[1].split("/")[0]
    for key in ("mcp-snippet", "snippet-vscode", "snippet-claude-code", "snippet-claude-desktop", "snippet-windsurf"):
        assert secret not in page.locator(f"#{key}").text_content()
    assert secret not in (page.get_by_role("link", name="Add to Cursor").get_attribute("href") or "")

    page.get_by_role("link", name="Add to Cursor").click()  # reveals the URL first instead of leaving the page
    expect(page.get_by_role("status").filter(has_text="URL revealed")).to_be_visible()
    expect(page.locator("#mcp-url")).to_have_text(url)
    expect(page.get_by_role("button", name="Hide")).to_be_visible()
    assert json.loads(page.locator("#mcp-snippet").text_content()) == {"mcpServers": {"greet": {"url": url}}}
    assert json.loads(page.locator("#snippet-vscode").text_content()) == {"servers": {"greet": {"type": "http", "url": url}}}
    assert page.locator("#snippet-claude-code").text_content() == f"claude mcp add --transport http greet {url}"
    assert json.loads(page.locator("#snippet-windsurf").text_content()) == {"mcpServers": {"greet": {"serverUrl": url}}}
    desktop = json.loads(page.locator("#snippet-claude-desktop").text_content())
    assert desktop == {"mcpServers": {"greet": {"command": "toolpress", "args": ["mcp", "stdio", "--url", url]}}}

    link = urlparse(page.get_by_role("link", name="Add to Cursor").get_attribute("href"))
    assert (link.scheme, link.netloc, link.path) == ("cursor", "anysphere.cursor-deeplink", "/mcp/install")
    query = parse_qs(link.query)
    assert query["name"] == ["greet"]
    assert json.loads(base64.b64decode(query["config"][0])) == {"url": url}

    page.get_by_role("button", name="Copy VS Code snippet").click()
    assert json.loads(page.evaluate("navigator.clipboard.readText()"))["servers"]["greet"]["url"] == url


def test_tool_description_parameters_and_annotations_reach_mcp_clients(
    page: Page, console_server: Server, owner: Account, published_app: dict
) -> None:
    url = open_with_mcp_on(page, console_server, owner, published_app["id"])
    tool = page.locator("#tool")
    tool.get_by_label("Tool name").fill("bad name!")
    tool.get_by_role("button", name="Save to draft").click()
    expect(page.locator("#tool .field-error")).to_contain_text("tool_name must start with a letter")
    expect(page.locator("#tool").get_by_label("Tool name")).to_have_value("bad name!")

    tool = page.locator("#tool")
    tool.get_by_label("Tool name").fill("say_hello")
    tool.get_by_label("Description", exact=True).fill("Greets someone. Use it when you must greet a named person.")
    tool.get_by_label("person").fill("Full name of the person, e.g. Ada Lovelace.")
    tool.get_by_label("Read-only").select_option("yes")
    tool.get_by_label("Destructive").select_option("no")
    tool.get_by_role("button", name="Save and publish").click()
    expect(page.get_by_text("Tool description saved and published.")).to_be_visible()
    expect(page.locator("#tool-name")).to_have_text("say_hello")

    (listed,) = in_thread(list_tools, url)
    assert listed.name == "say_hello"
    assert listed.description == "Greets someone. Use it when you must greet a named person."
    assert listed.input_schema["properties"]["person"]["description"] == "Full name of the person, e.g. Ada Lovelace."
    assert (listed.annotations.read_only_hint, listed.annotations.destructive_hint) == (True, False)
