"""A newcomer's first tool, in the browser at desktop and phone widths: new account → example → publish → MCP on →
copy → call from an MCP client → see the call in the runs and on the diagram; no page scrolls sideways."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from support.console import call, in_thread, log_in

from .conftest import Account, Server
from .test_narrow_screens import overflowing


@pytest.mark.parametrize("width", [1280, 375])
def test_from_a_new_account_to_a_called_tool_through_an_example(
    context: BrowserContext, page: Page, console_server: Server, make_account, width: int  # type: ignore[no-untyped-def]
) -> None:
    account: Account = make_account()
    page.set_viewport_size({"width": width, "height": 900})

    def fits(where: str) -> None:
        assert overflowing(page) == [], f"{where} at {width} px"

    log_in(page, account, "/")
    fits("the empty apps page")
    page.get_by_role("region", name="No apps yet").get_by_role("link", name="Start from an example").click()
    fits("the gallery")
    page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Greeter", exact=True)).get_by_role(
        "button", name="Use this example").click()
    expect(page).to_have_url(re.compile(r"/apps/\d+\?notice=example-copied$"))
    app_path = re.sub(r"\?.*$", "", page.url.removeprefix(console_server.base_url))

    page.get_by_role("button", name="Publish draft…").click()
    page.get_by_role("dialog").get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Draft published.")).to_be_visible()
    page.get_by_role("switch", name="Serve this app as an MCP server").click()
    expect(page.get_by_text("MCP server turned on.")).to_be_visible()
    fits("the MCP panel")

    page.get_by_role("button", name="Copy Cursor snippet").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    (name, entry), = json.loads(page.evaluate("navigator.clipboard.readText()"))["mcpServers"].items()
    assert name == "greet" and entry["url"].startswith(f"{console_server.base_url}/mcp/")
    result = in_thread(call, entry["url"], "greet", {"person": "Ada", "times": 2})
    assert result.structured_content == {"greeting": "Hi, Ada! Hi, Ada!"}

    page.get_by_role("link", name="Runs").first.click()
    rows = page.locator("#runs-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".badge")).to_have_text("succeeded")
    fits("the runs list")
    rows.first.get_by_role("link").first.click()
    expect(page.locator("#run-status")).to_have_text("succeeded")
    for step in ("greet", "repeat"):
        expect(page.locator(f'.dg-box[data-step="{step}"]')).to_have_attribute("data-state", "done")
    fits("the run page")
    page.goto(app_path)
    expect(page.locator("#publish-unchanged")).to_be_visible()
