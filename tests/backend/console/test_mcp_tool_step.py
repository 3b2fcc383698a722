"""The editor lists another MCP server's tools for an mcp_tool step and builds its argument form from inputSchema."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from playwright.sync_api import Page, expect
from support.console import api, create_app, log_in
from support.remote_mcp import TOKEN, Remote

if TYPE_CHECKING:
    from conftest import Account, Server


def test_the_editor_lists_the_remote_tools_and_fills_the_arguments_from_the_input_schema(
    page: Page, console_server: Server, owner: Account, remote_mcp: Remote
) -> None:
    with api(console_server, owner) as client:
        client.put("/api/secrets/REMOTE_TOKEN", json={"value": TOKEN}).raise_for_status()
    app = create_app(console_server, owner, {
        "name": "Remote Sum", "inputs": [{"name": "x", "type": "integer", "required": True}],
        "steps": [{"id": "call", "type": "mcp_tool", "url": remote_mcp.url, "tool": "echo",
                   "headers": {"Authorization": "Bearer {{ secrets.REMOTE_TOKEN }}"}}],
        "outputs": [{"name": "total", "type": "integer", "value": "{{ steps.call.result.total }}"}],
    })
    log_in(page, owner, f"/apps/{app['id']}/edit")
    seen_before = len(remote_mcp.headers)
    page.get_by_role("button", name="List the server's tools").click()
    tool = page.get_by_label("Remote tool")
    expect(tool).to_be_focused()
    assert sorted(tool.locator("option").all_inner_texts()) == ["add", "broken", "count", "echo", "wait"]
    expect(tool).to_have_value("echo")
    expect(page.get_by_role("status").filter(has_text="5 tools on this server.")).to_be_visible()
    assert len(remote_mcp.headers) == seen_before  # listing calls no tool
    tool.select_option("add")
    arguments = page.get_by_role("group", name="Arguments of add")
    expect(arguments.get_by_label(re.compile(r"^a \*$"))).to_be_visible()
    expect(page.get_by_text("Add two integers.")).to_be_visible()
    arguments.get_by_label(re.compile(r"^a \*$")).fill("{{ inputs.x }}")
    arguments.get_by_label(re.compile(r"^b \*$")).fill("2")
    expect(page.get_by_label("arguments", exact=True)).to_have_value(re.compile(r'"b": "2"'))
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    with api(console_server, owner) as client:
        step = client.get(f"/api/apps/{app['id']}").json()["spec"]["steps"][0]
    assert (step["tool"], step["arguments"]) == ("add", {"a": "{{ inputs.x }}", "b": "2"})


def test_listing_tools_of_a_refused_address_says_why(page: Page, console_server: Server, owner: Account) -> None:
    app = create_app(console_server, owner, {
        "name": "Refused", "steps": [{"id": "call", "type": "mcp_tool", "url": "http://10.1.2.3/mcp", "tool": "t"}],
        "outputs": [],
    })
    log_in(page, owner, f"/apps/{app['id']}/edit")
    page.get_by_role("button", name="List the server's tools").click()
    expect(page.get_by_role("status").filter(has_text="refusing to connect to '10.1.2.3'")).to_be_visible()
