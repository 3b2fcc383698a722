"""The console in a real browser against a real server: log-in, the app list, the MCP server panel."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from typing import TYPE_CHECKING

import httpx
from playwright.sync_api import BrowserContext, Page, expect
from support.probe import MCP_HEADERS

if TYPE_CHECKING:  # the fixtures' types, from this directory's conftest
    from conftest import Account, Server

MCP_PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


def log_in(page: Page, account: Account, next_path: str | None = None) -> None:
    """Fill in and submit the console's log-in form."""
    page.goto("/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("E-mail").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Log in").click()


def mcp_status(url: str) -> int:
    """The status a plain HTTP POST to an MCP URL gets."""
    return httpx.post(url, json=MCP_PING, headers=MCP_HEADERS, timeout=10).status_code


def secret_of(url: str) -> str:
    """The secret path segment of an MCP URL (`…/mcp/<secret>` or `…/mcp/<secret>/mcp`)."""
    match = re.search(r"/mcp/([^/]+)", url)
    assert match is not None and len(match.group(1)) >= 32, url
    return match.group(1)


def api_mcp_url(server: Server, account: Account, app_id: int) -> str:
    """The full MCP URL as the REST API reveals it to the owner."""
    resp = httpx.get(f"{server.base_url}/api/apps/{app_id}/mcp", params={"reveal": "true"}, headers=account.headers)
    resp.raise_for_status()
    return resp.json()["url"]


def test_owner_enables_reveals_copies_and_regenerates_the_mcp_url(
    page: Page, console_server: Server, owner: Account, published_app: dict
) -> None:
    app_id = published_app["id"]
    log_in(page, owner)
    expect(page).to_have_url(f"{console_server.base_url}/")
    row = page.get_by_role("row").filter(has_text=published_app["name"])
    expect(row).to_contain_text("Published v1")
    expect(row).to_contain_text("Off")

    row.get_by_role("link", name=published_app["name"]).click()
    expect(page).to_have_url(f"{console_server.base_url}/apps/{app_id}")
    schema = httpx.get(f"{console_server.base_url}/api/apps/{app_id}/schema", headers=owner.headers).json()
    expect(page.locator("#tool-name")).to_have_text(schema["name"])
    assert json.loads(page.locator("#input-schema").text_content()) == schema["inputSchema"]
    assert json.loads(page.locator("#output-schema").text_content()) == schema["outputSchema"]

    toggle = page.get_by_role("switch", name=re.compile("Serve this app as an MCP server"))
    expect(toggle).to_have_attribute("aria-checked", "false")
    toggle.click()
    expect(page.get_by_text("MCP server turned on.")).to_be_visible()
    expect(toggle).to_have_attribute("aria-checked", "true")

    old_url = api_mcp_url(console_server, owner, app_id)
    old_secret = secret_of(old_url)
    masked = page.locator("#mcp-url").text_content().strip()
    assert masked.startswith(f"{console_server.base_url}/mcp/") and old_secret not in masked
    assert old_secret not in page.content()

    page.get_by_role("button", name="Reveal").click()
    expect(page.locator("#mcp-url")).to_have_text(old_url)
    snippet = json.loads(page.locator("#mcp-snippet").text_content())
    assert snippet == {"mcpServers": {schema["name"]: {"url": old_url}}}

    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == old_url
    assert mcp_status(old_url) != 404

    page.get_by_role("button", name="Regenerate URL…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("stops working immediately")
    expect(dialog).to_contain_text("must be updated")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert mcp_status(old_url) != 404

    page.get_by_role("button", name="Regenerate URL…").click()
    page.get_by_role("dialog").get_by_role("button", name="Regenerate URL").click()
    expect(page.locator("#new-url-notice")).to_contain_text("old URL stopped working")
    expect(page).to_have_url(re.compile(rf"/apps/{app_id}#mcp-panel$"))  # a normal page, not the form's answer
    new_url = page.locator("#mcp-url").text_content().strip()
    assert new_url.startswith(f"{console_server.base_url}/mcp/") and new_url != old_url
    assert json.loads(page.locator("#mcp-snippet").text_content())["mcpServers"][schema["name"]]["url"] == new_url
    page.reload()  # reloading repeats nothing and shows the usual page, the URL masked again
    expect(page.locator("#new-url-notice")).to_have_count(0)
    expect(page.locator("#mcp-url")).not_to_have_text(new_url)
    assert mcp_status(new_url) != 404

    assert mcp_status(old_url) == 404
    assert mcp_status(new_url) != 404

    page.goto(f"/apps/{app_id}")
    assert secret_of(new_url) not in page.content()


def test_turning_on_an_unpublished_app_shows_the_reason(
    page: Page, console_server: Server, owner: Account, greeter_yaml: str
) -> None:
    created = httpx.post(f"{console_server.base_url}/api/apps", json={"yaml": greeter_yaml}, headers=owner.headers)
    created.raise_for_status()
    created = created.json()
    log_in(page, owner, next_path=f"/apps/{created['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    page.get_by_role("switch").click()
    expect(page.get_by_role("alert")).to_contain_text("publish the app before enabling its MCP server")
    page.get_by_role("button", name="Publish draft…").click()
    page.get_by_role("dialog").get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Draft published.")).to_be_visible()
    page.get_by_role("switch").click()
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "true")


def test_a_post_without_the_csrf_token_is_refused(
    page: Page, context: BrowserContext, console_server: Server, owner: Account, published_app: dict
) -> None:
    app_id = published_app["id"]
    log_in(page, owner)
    expect(page).to_have_url(f"{console_server.base_url}/")

    for form in ({}, {"csrf_token": "forged"}):
        resp = context.request.post(f"/apps/{app_id}/mcp/enable", form=form, max_redirects=0)
        assert resp.status == 403
        assert "could not be verified" in resp.text()
    assert context.request.post("/logout", form={}, max_redirects=0).status == 403
    api_app = httpx.get(f"{console_server.base_url}/api/apps/{app_id}", headers=owner.headers).json()
    assert api_app["mcp_enabled"] is False


def test_another_user_gets_404_for_the_app_page_and_the_reveal_endpoint(
    page: Page, context: BrowserContext, console_server: Server, owner: Account, published_app: dict, make_account
) -> None:
    app_id = published_app["id"]
    httpx.post(f"{console_server.base_url}/api/apps/{app_id}/mcp/enable", headers=owner.headers).raise_for_status()
    secret = secret_of(api_mcp_url(console_server, owner, app_id))

    log_in(page, make_account())
    expect(page.get_by_text("No apps yet")).to_be_visible()
    response = page.goto(f"/apps/{app_id}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    not_yours = page.locator("main").inner_text()
    missing = page.goto("/apps/987654")
    assert missing is not None and missing.status == 404
    assert page.locator("main").inner_text() == not_yours

    reveal = context.request.get(f"/apps/{app_id}/mcp/url", headers={"Accept": "application/json"})
    assert reveal.status == 404 and secret not in reveal.text()
    assert context.request.get(f"/apps/{app_id}/mcp/url").status == 404


def test_login_errors_do_not_say_whether_the_email_exists(page: Page, owner: Account) -> None:
    messages = []
    for email in (owner.email, "nobody-here@example.com"):
        log_in(page, dataclasses.replace(owner, email=email, password="wrong password"))
        messages.append(page.get_by_role("alert").inner_text())
        expect(page.get_by_label("E-mail")).to_have_value(email)
    assert messages[0] == messages[1] == "Wrong e-mail or password."


def test_login_ignores_a_next_target_that_leaves_the_site(page: Page, console_server: Server, owner: Account) -> None:
    for target in ("//evil.example/steal", "/\\evil.example", "https://evil.example/"):
        page.context.clear_cookies()
        log_in(page, owner, next_path=target)
        expect(page).to_have_url(f"{console_server.base_url}/")


def test_signed_out_visitors_log_in_and_return_to_the_page_they_asked_for(
    page: Page, console_server: Server, owner: Account, published_app: dict
) -> None:
    app_path = f"/apps/{published_app['id']}"
    page.goto(app_path)
    expect(page).to_have_url(f"{console_server.base_url}/login?next={app_path}")
    page.get_by_label("E-mail").fill(owner.email)
    page.get_by_label("Password").fill(owner.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{console_server.base_url}{app_path}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(published_app["name"])


def test_sign_up_sets_a_safe_session_cookie_and_log_out_ends_it(
    page: Page, context: BrowserContext, console_server: Server
) -> None:
    page.goto("/signup")
    page.get_by_label("E-mail").fill(f"new-{uuid.uuid4().hex[:12]}@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_label("Password").evaluate("el => el.removeAttribute('minlength')")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 8 characters")

    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(f"{console_server.base_url}/")
    empty = page.get_by_role("region", name="No apps yet")
    expect(empty.get_by_role("link", name="Start from an example")).to_be_visible()
    expect(empty.get_by_role("link", name="Create an app")).to_be_visible()

    cookie = next(c for c in context.cookies() if c["name"] == "toolpress_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax" and cookie["secure"] is False

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{console_server.base_url}/login?notice=logged-out")
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    assert not [c for c in context.cookies() if c["name"] == "toolpress_session"]
    page.goto("/")
    expect(page).to_have_url(f"{console_server.base_url}/login")
    context.add_cookies([cookie])  # the old cookie, put back (as a thief who copied it would): it opens nothing
    page.goto("/account")
    expect(page).to_have_url(f"{console_server.base_url}/login?next=/account")
