"""The builder's whole journey in headless Chromium, ending with a real MCP client calling the published tool."""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import pytest
from mcp import Client
from playwright.sync_api import Page, expect
from support.probe import MCP_HEADERS

if TYPE_CHECKING:
    from conftest import Gate, Server

MCP_PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


def in_thread(fn: Any, *args: Any) -> Any:
    """Run an async MCP client call on its own event loop, away from Playwright's."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, fn, *args).result(timeout=60)


async def call_tool(url: str, name: str, arguments: dict[str, Any]) -> tuple[Any, list[tuple[float, float | None, str | None]]]:
    """Call one tool with the official SDK client, collecting progress notifications."""
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(url) as client:
        result = await client.call_tool(name, arguments, progress_callback=on_progress)
    return result, progress


async def list_tool_names(url: str) -> list[str]:
    """tools/list through the SDK client."""
    async with Client(url) as client:
        return [t.name for t in (await client.list_tools()).tools]


def sign_up(page: Page) -> str:
    """Create an account through the sign-up form; return its e-mail."""
    email = f"builder-{uuid.uuid4().hex[:10]}@example.com"
    page.goto("/signup")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Your apps")).to_be_visible()
    return email


def item(page: Page, section: str, index: int):  # type: ignore[no-untyped-def]
    """The index-th entry (0-based) of the editor's inputs, steps or outputs list."""
    return page.locator(f"#{section} > li").nth(index)


def test_sign_up_build_test_publish_connect_and_regenerate(
    page: Page, console_server: Server, gate: Gate, screenshot: Any
) -> None:
    base = console_server.base_url
    sign_up(page)

    # Create an app: the starter has one input, one step and one output.
    app_name = f"Tea brief {uuid.uuid4().hex[:6]}"
    page.get_by_label("Name").fill(app_name)
    page.get_by_role("button", name="Create app").click()
    expect(page).to_have_url(f"{base}/apps/" + page.url.split("/apps/")[1])
    expect(page.get_by_role("heading", name="About the app")).to_be_visible()
    app_id = int(page.url.split("/apps/")[1].split("/")[0])

    page.get_by_label("Tool name").fill("tea_brief")
    page.locator("#details").get_by_label("Description").fill(
        "Writes a short brief about a tea. Use it when the user asks for a tea summary."
    )

    # Three inputs: rename the starter's, then add two more with constraints and defaults.
    first = item(page, "inputs", 0)
    first.get_by_label("Name").fill("topic")
    first.get_by_label("Description").fill("The tea to write about, e.g. sencha.")

    page.get_by_role("button", name="Add input").click()
    times = item(page, "inputs", 1)
    times.get_by_label("Name").fill("times")
    times.get_by_label("Type").select_option("integer")
    times = item(page, "inputs", 1)
    times.get_by_label("Minimum", exact=True).fill("1")
    times.get_by_label("Maximum", exact=True).fill("3")
    times.get_by_label("Default").fill("1")
    times.get_by_label("Description").fill("How many times to repeat the topic.")

    page.get_by_role("button", name="Add input").click()
    style = item(page, "inputs", 2)
    style.get_by_label("Name").fill("style")
    style.get_by_label("Type").select_option("enum")
    style = item(page, "inputs", 2)
    style.get_by_label("Allowed values").fill("plain\nloud")
    style.get_by_label("Default").fill("plain")

    # A bad name is reported next to the field it concerns, then fixed.
    style.get_by_label("Name").fill("2style")
    error = style.locator('[data-path="inputs[2].name"] .field-error')
    expect(error).to_contain_text("must start with a letter")
    expect(style.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    style.get_by_label("Name").fill("style")
    expect(error).to_have_count(0)

    # Two steps: edit the starter template, add an http_request step from the palette.
    step = item(page, "steps", 0)
    step.get_by_label("Title").fill("compose the brief")
    step.get_by_label("template").fill(
        "{{ ((inputs.topic ~ ' ') * inputs.times) | trim }}{{ '!' if inputs.style == 'loud' else '' }}"
    )
    page.get_by_role("button", name="http_request").click()
    fetch = item(page, "steps", 1)
    fetch.get_by_label("Step id").fill("lookup")
    fetch.get_by_label("Title").fill("look up the tea")
    fetch.get_by_label(re.compile(r"^url\b")).fill(gate.url("journey") + "?tea={{ inputs.topic }}")

    # The output refers to a step that does not exist: the error sits under the Value field.
    out = item(page, "outputs", 0)
    out.get_by_label("Name").fill("brief")
    out.get_by_label("Value").fill("{{ steps.nope.text }}")
    expect(out.locator('[data-path="outputs[0].value"] .field-error')).to_contain_text("nope")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Not saved")).to_be_visible()
    out.get_by_label("Value").fill("{{ steps.echo.text }} ({{ steps.lookup.json.tea }})")
    expect(out.locator(".field-error")).to_have_count(0)

    # The live schema is exactly what clients will get.
    live = page.locator("#live-input-schema")
    expect(live).to_contain_text('"maximum": 3')
    schema = json.loads(live.text_content())
    assert list(schema["properties"]) == ["topic", "times", "style"]
    assert schema["properties"]["style"]["enum"] == ["plain", "loud"]
    assert schema["properties"]["times"]["default"] == 1
    expect(page.locator("#live-tool-name")).to_have_text("tea_brief")

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    screenshot(page, "editor")

    # The YAML view shows the same draft.
    page.get_by_role("tab", name="YAML").click()
    expect(page.get_by_label("The same draft as YAML")).to_have_value(re.compile(r"name: times"))
    page.get_by_role("tab", name="Form").click()
    expect(item(page, "inputs", 1).get_by_label("Name")).to_have_value("times")

    # Test run: the form comes from the input schema; progress shows while the second step waits.
    page.get_by_role("link", name="Test run").click()
    page.get_by_label("topic").fill("sencha")
    page.get_by_label("times").fill("2")
    page.get_by_label("style").select_option(label="loud")
    gate.hold("journey")
    try:
        page.get_by_role("button", name="Run", exact=True).click()
        expect(page.locator("#run-status")).to_have_text("running")
        expect(page.locator("#run-progress")).to_have_attribute("value", "1")
        expect(page.locator("#run-progress")).to_have_attribute("max", "2")
        expect(page.locator("#run-trail")).to_contain_text("step 1/2: compose the brief")
        expect(page.get_by_role("button", name="Cancel run")).to_be_enabled()
        screenshot(page, "test-run")
    finally:
        gate.release("journey")
    expect(page.locator("#run-status")).to_have_text("succeeded")
    expect(page.locator("#run-progress")).to_have_attribute("value", "2")
    assert json.loads(page.locator("#run-result").text_content()) == {"brief": "sencha sencha! (sencha)"}
    expect(page.locator("#run-trace tr")).to_have_count(2)
    expect(page.get_by_role("button", name="Cancel run")).to_be_disabled()

    # Publish, then switch the MCP server on.
    page.get_by_role("link", name="Overview & MCP server").click()
    page.get_by_role("button", name="Publish draft…").click()
    page.get_by_role("dialog").get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Draft published.")).to_be_visible()
    expect(page.locator('tr[data-version="1"]')).to_contain_text("Live")
    page.get_by_role("switch", name="Serve this app as an MCP server").click()
    expect(page.get_by_text("MCP server turned on.")).to_be_visible()
    screenshot(page, "mcp-panel")

    # Copy the Cursor snippet; the URL in it calls the tool through the official SDK client.
    page.get_by_role("button", name="Copy Cursor snippet").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    snippet = json.loads(page.evaluate("navigator.clipboard.readText()"))
    assert snippet == json.loads(page.locator("#mcp-snippet").text_content())
    (name, entry), = snippet["mcpServers"].items()
    assert name == "tea_brief"
    old_url = entry["url"]
    assert old_url.startswith(f"{base}/mcp/") and old_url.endswith("/mcp")

    result, progress = in_thread(call_tool, old_url, "tea_brief", {"topic": "oolong"})
    assert result.is_error is False
    assert result.structured_content == {"brief": "oolong (oolong)"}
    assert [p[2] for p in progress] == ["step 1/2: compose the brief", "step 2/2: look up the tea"]

    # Regenerate: the old URL stops working and the page shows the new one.
    page.get_by_role("button", name="Regenerate URL…").click()
    page.get_by_role("dialog").get_by_role("button", name="Regenerate URL").click()
    expect(page.locator("#new-url-notice")).to_contain_text("old URL stopped working")
    new_url = page.locator("#mcp-url").text_content().strip()
    assert new_url != old_url and new_url.startswith(f"{base}/mcp/")
    assert json.loads(page.locator("#mcp-snippet").text_content())["mcpServers"]["tea_brief"]["url"] == new_url
    assert httpx.post(old_url, json=MCP_PING, headers=MCP_HEADERS, timeout=10).status_code == 404
    with pytest.raises(Exception):
        in_thread(list_tool_names, old_url)
    assert in_thread(list_tool_names, new_url) == ["tea_brief"]

    # The runs list shows the console test run and the MCP call.
    page.goto(f"/runs?app_id={app_id}")
    rows = page.locator("#runs-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("console test")

