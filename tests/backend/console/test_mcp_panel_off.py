"""An MCP server that is off shows no live-looking URL: the URL is struck through and there are no client snippets."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from support.console import api, log_in

from .conftest import Account, Server


def expect_off(page: Page) -> None:
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "false")
    expect(page.locator(".url-row.off #mcp-url")).to_be_visible()
    expect(page.locator("#mcp-off-note")).to_be_visible()
    expect(page.locator("#cursor-install")).to_have_count(0)
    expect(page.locator(".snippets")).to_have_count(0)


def test_an_app_and_a_toolkit_that_are_off_show_no_snippets(
    page: Page, console_server: Server, owner: Account, published_app: dict
) -> None:
    app_id = published_app["id"]
    with api(console_server, owner) as client:
        client.post(f"/api/apps/{app_id}/mcp/enable").raise_for_status()
        client.post(f"/api/apps/{app_id}/mcp/disable").raise_for_status()
        kit = client.post("/api/toolkits", json={"name": f"Kit {uuid.uuid4().hex[:6]}", "app_ids": [app_id]})
        kit.raise_for_status()
    log_in(page, owner, f"/apps/{app_id}")
    expect_off(page)
    page.get_by_role("switch").click()
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "true")
    expect(page.locator("#cursor-install")).to_be_visible()
    expect(page.locator(".url-row.off")).to_have_count(0)

    page.goto(f"/toolkits/{kit.json()['id']}")
    expect_off(page)
