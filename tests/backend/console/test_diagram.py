"""The workflow diagram in the editor and on run pages: steps coloured live by state, a click opens the step."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import anyio
from playwright.sync_api import Page, expect

from support.console import api, call, create_app, log_in

from .conftest import Account, Gate, Server
from .test_pages import gated_spec


def box(page: Page, step: str):  # type: ignore[no-untyped-def]
    """The diagram box of a top-level step."""
    return page.locator(f'.dg-box[data-step="{step}"][data-parent=""]')


def test_a_test_run_colours_the_diagram_live_and_a_step_opens_its_trace(
    page: Page, console_server: Server, owner: Account, gate: Gate
) -> None:
    key = f"dg-{uuid.uuid4().hex[:6]}"
    app = create_app(console_server, owner, gated_spec(gate, key))
    log_in(page, owner, f"/apps/{app['id']}/test")
    gate.hold(key)
    try:
        page.get_by_label("word").fill("kettle")
        page.get_by_role("button", name="Run", exact=True).click()
        expect(box(page, "first")).to_have_attribute("data-state", "done")
        expect(box(page, "wait")).to_have_attribute("data-state", "running")
        expect(box(page, "wait")).to_have_class(re.compile(r"\bdg-running\b"))
    finally:
        gate.release(key)
    expect(box(page, "wait")).to_have_attribute("data-state", "done")
    box(page, "wait").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"#trace-wait$"))
    expect(page.locator("#trace-wait")).to_be_in_viewport()


def test_an_mcp_call_shows_live_on_the_run_pages_diagram(
    page: Page, console_server: Server, owner: Account, gate: Gate
) -> None:
    key = f"dg-mcp-{uuid.uuid4().hex[:6]}"
    app = create_app(console_server, owner, gated_spec(gate, key), publish=True, enable=True)
    log_in(page, owner, "/runs")
    gate.hold(key)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(anyio.run, call, app["url"], "gated", {"word": "teapot"})
        try:
            with api(console_server, owner) as client:
                def running_run() -> list:
                    return [r for r in client.get("/api/runs", params={"app_id": app["id"]}).json()["data"]
                            if r["status"] == "running"]
                expect(page.locator("#runs-table tbody tr .badge")).to_have_text("running")
                run_id = running_run()[0]["id"]
            page.goto(f"/runs/{run_id}")
            expect(box(page, "wait")).to_have_attribute("data-state", "running")
            expect(box(page, "first")).to_have_attribute("data-state", "done")
        finally:
            gate.release(key)
        assert pending.result(timeout=60).is_error is False
    expect(box(page, "wait")).to_have_attribute("data-state", "done")


def test_the_editor_shows_the_diagram_and_a_step_opens_its_form(
    page: Page, console_server: Server, owner: Account, gate: Gate
) -> None:
    app = create_app(console_server, owner, gated_spec(gate, "editor"))
    log_in(page, owner, f"/apps/{app['id']}/edit")
    diagram = page.get_by_role("figure")
    expect(diagram.locator(".dg-inputs")).to_contain_text("word")
    expect(diagram.locator(".dg-outputs")).to_contain_text("word")
    box(page, "wait").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"#step-wait$"))
    expect(page.locator("#step-wait")).to_be_in_viewport()
