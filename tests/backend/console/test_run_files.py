"""A run's image, audio, file and resource outputs in the console: images shown, files downloaded, by the owner only."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from playwright.sync_api import Browser, Page, expect
from support.console import api, call, create_app, in_thread, log_in

if TYPE_CHECKING:
    from conftest import Account, Server

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
CSV = "city,visits\nOslo,3\n"

STUDIO = {
    "name": "Pixel studio",
    "tool_name": "pixel_studio",
    "inputs": [{"name": "city", "type": "string", "required": True}],
    "steps": [{"id": "table", "type": "template", "template": "city,visits\n{{ inputs.city }},3\n"}],
    "outputs": [
        {"name": "pixel", "type": "image", "value": "data:image/png;base64," + base64.b64encode(PNG).decode()},
        {"name": "table", "type": "file", "mime_type": "text/csv", "value": "{{ steps.table.text }}"},
    ],
}


def _shows_the_pixel_and_offers_the_table(page: Page) -> None:
    expect(page.locator("#run-status")).to_have_text("succeeded")
    image = page.get_by_role("img", name="pixel: pixel")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('img.run-image').naturalWidth === 1")  # the PNG decoded
    with page.expect_download() as download:
        page.get_by_role("link", name="Download table").click()
    assert download.value.suggested_filename == "table"
    assert download.value.path().read_text() == CSV


def test_a_test_run_and_the_run_page_show_images_and_offer_files_for_download(
    page: Page, console_server: Server, owner: Account, make_account, browser: Browser  # type: ignore[no-untyped-def]
) -> None:
    app = create_app(console_server, owner, STUDIO, publish=True, enable=True)
    log_in(page, owner, f"/apps/{app['id']}/test")
    page.get_by_role("textbox", name="city").fill("Oslo")
    page.get_by_role("button", name="Run", exact=True).click()
    _shows_the_pixel_and_offers_the_table(page)

    result = in_thread(call, app["url"], "pixel_studio", {"city": "Oslo"})
    run_id = result.structured_content["table"]["resource_uri"].split("/")[3]
    page.goto(f"/runs/{run_id}")
    _shows_the_pixel_and_offers_the_table(page)
    direct = page.request.get(f"/runs/{run_id}/files/pixel")
    assert direct.status == 200 and direct.body() == PNG
    assert direct.headers["content-type"] == "image/png" and direct.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in direct.headers["content-security-policy"]
    assert direct.headers["content-disposition"].startswith("attachment")

    other = make_account()
    stranger = browser.new_context(base_url=console_server.base_url)
    try:
        their_page = stranger.new_page()
        log_in(their_page, other, "/")
        theirs = their_page.request.get(f"/runs/{run_id}/files/pixel")
        missing = their_page.request.get(f"/runs/{'f' * 32}/files/pixel")
        assert theirs.status == missing.status == 404 and theirs.text() == missing.text()
        assert page.request.get(f"/runs/{run_id}/files/nothing").status == 404
    finally:
        stranger.close()


def test_the_editor_asks_a_byte_output_for_its_mime_type_and_a_resource_for_its_uri(
    page: Page, console_server: Server, owner: Account
) -> None:
    app = create_app(console_server, owner, {**STUDIO, "name": "Pixel editor"})
    log_in(page, owner, f"/apps/{app['id']}/edit")
    table = page.locator("#outputs > li").nth(1)
    expect(table.get_by_label("MIME type")).to_have_value("text/csv")
    expect(table.get_by_label("URI")).to_have_count(0)
    table.get_by_role("combobox").select_option("resource")
    table.get_by_label("URI").fill("tables://visits")
    table = page.locator("#outputs > li").nth(1)
    table.get_by_role("combobox").select_option("string")
    expect(table.get_by_label("MIME type")).to_have_count(0)
    table.get_by_role("combobox").select_option("resource")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    with api(console_server, owner) as client:
        saved = client.get(f"/api/apps/{app['id']}").json()["spec"]["outputs"][1]
    assert (saved["type"], saved["uri"], saved["mime_type"]) == ("resource", "tables://visits", "text/csv")
