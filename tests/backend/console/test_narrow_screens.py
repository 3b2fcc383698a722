"""Every console page fits a phone's width (375 px) and a desktop's with no horizontal scroll."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page

from support.console import call, in_thread, log_in

from .conftest import Account, Server


def overflowing(page: Page) -> list[str]:
    """Elements sticking out of the page sideways (those inside a box that scrolls or clips do not count)."""
    return page.evaluate("""() => {
      const width = document.documentElement.clientWidth, out = [];
      for (const el of document.querySelectorAll("body *")) {
        let boxed = false;
        for (let up = el.parentElement; up && !boxed; up = up.parentElement) {
          boxed = ["auto", "scroll", "hidden"].includes(getComputedStyle(up).overflowX);
        }
        const box = el.getBoundingClientRect();
        if (!boxed && box.width > 0 && box.right > width + 0.5) out.push(el.tagName + "#" + el.id + "." + el.className);
      }
      if (document.documentElement.scrollWidth > width) out.push("document: " + document.documentElement.scrollWidth);
      return out;
    }""")


@pytest.mark.parametrize("width", [1280, 375])
def test_every_page_fits_the_screen_width(
    page: Page, console_server: Server, owner: Account, published_app: dict, width: int
) -> None:
    app_id = published_app["id"]
    with httpx.Client(base_url=console_server.base_url, headers=owner.headers, timeout=10) as client:
        url = client.post(f"/api/apps/{app_id}/mcp/enable").json()["url"]
        client.post(f"/api/apps/{app_id}/mcp/tokens", json={"name": "laptop"}).raise_for_status()
    assert in_thread(call, url, "greet", {"person": "Ada"}).is_error is False
    with httpx.Client(base_url=console_server.base_url, headers=owner.headers, timeout=10) as client:
        run_id = client.get("/api/runs", params={"app_id": app_id}).json()["data"][0]["id"]

    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, owner, "/")
    pages = ["/", "/examples", f"/apps/{app_id}", f"/apps/{app_id}/edit", f"/apps/{app_id}/test",
             f"/apps/{app_id}/access", "/runs", f"/runs/{run_id}", "/toolkits", "/account"]
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert overflowing(page) == [], f"{path} at {width} px"
    page.goto(f"/apps/{app_id}")
    page.locator("#mcp-reveal").click()
    page.wait_for_function("document.getElementById('mcp-url').textContent.includes('/mcp/')")
    assert overflowing(page) == [], f"the MCP panel with its URL revealed at {width} px"
    logout = page.get_by_role("button", name="Log out").bounding_box()
    assert logout is not None and logout["x"] + logout["width"] <= width
