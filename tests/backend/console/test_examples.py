"""The example gallery: a new account starts from an example in one click, at desktop and phone widths."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from support.console import api, log_in

from .conftest import REPO, Account, Server

EXAMPLE_COUNT = len(list((REPO / "workflows" / "examples").glob("*.yaml")))  # every shipped example


def fits_the_width(page: Page) -> bool:
    """True when the page has no horizontal scroll."""
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("width", [1280, 375])
def test_a_new_account_starts_from_an_example_in_one_click(
    page: Page, console_server: Server, make_account, width: int, screenshot: Any  # type: ignore[no-untyped-def]
) -> None:
    account: Account = make_account()
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, account, "/")
    empty = page.get_by_role("region", name="No apps yet")
    expect(empty.get_by_role("link", name="Create an app")).to_be_visible()
    empty.get_by_role("link", name="Start from an example").click()

    expect(page).to_have_url(re.compile(r"/examples$"))
    expect(page.get_by_role("button", name="Use this example")).to_have_count(EXAMPLE_COUNT)
    assert fits_the_width(page)
    screenshot(page, "examples" if width > 600 else "examples-phone")
    page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Greeter", exact=True)).get_by_role(
        "button", name="Use this example").click()

    expect(page).to_have_url(re.compile(r"/apps/\d+\?notice=example-copied$"))
    expect(page.locator(".alert.ok")).to_contain_text("Copied from the examples")
    with api(console_server, account) as client:
        mine = client.get("/api/apps").json()["data"]
    assert [(app["name"], app["published_version"]) for app in mine] == [("Greeter", None)]


def test_copying_an_example_twice_numbers_the_copy_and_an_unknown_example_is_not_found(
    page: Page, console_server: Server, make_account  # type: ignore[no-untyped-def]
) -> None:
    account: Account = make_account()
    log_in(page, account, "/examples")
    for _ in range(2):
        page.goto("/examples")
        page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Slugify", exact=True)).get_by_role(
            "button", name="Use this example").click()
        expect(page).to_have_url(re.compile(r"/apps/\d+\?notice=example-copied$"))
    with api(console_server, account) as client:
        names = sorted(app["name"] for app in client.get("/api/apps").json()["data"])
    assert names == ["Slugify", "Slugify (2)"]
    page.goto("/")
    expect(page.get_by_role("link", name="Start from an example")).to_be_visible()
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    missing = page.request.post("/examples/no-such-example/copy", form={"csrf_token": token or ""})
    assert missing.status == 404


def test_the_gallery_needs_a_log_in(console_server: Server) -> None:
    answer = httpx.get(f"{console_server.base_url}/examples", follow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303) and "/login" in answer.headers["location"]
