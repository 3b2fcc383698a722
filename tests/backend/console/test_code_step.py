"""The console's code box (Tab indents, monospace) and a test run showing what the code printed."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from playwright.sync_api import Page, expect
from support.console import api, create_app, log_in

if TYPE_CHECKING:
    from conftest import Account, Server


def test_the_code_box_indents_with_tab_and_a_test_run_shows_the_printed_output(
    page: Page, console_server: Server, owner: Account
) -> None:
    app = create_app(console_server, owner, {
        "name": "Squares", "inputs": [{"name": "n", "type": "integer", "required": True}],
        "steps": [{"id": "sq", "type": "code", "code": "def main(inputs):\n    return 0\n"}],
        "outputs": [{"name": "total", "type": "integer", "value": "{{ steps.sq.result }}"}],
    })
    log_in(page, owner, f"/apps/{app['id']}/edit")
    box = page.get_by_label(re.compile(r"^code"))
    expect(box).to_have_class(re.compile(r"\bcode\b"))
    assert "monospace" in box.evaluate("el => getComputedStyle(el).fontFamily")
    box.fill("")
    box.press_sequentially("def main(inputs):\n")
    box.press("Tab")
    box.press_sequentially("total = sum(i * i for i in range(inputs['n'] + 1))\n")
    box.press("Tab")
    box.press_sequentially("print('sum of squares up to', inputs['n'], 'is', total)\n")
    box.press("Tab")
    box.press_sequentially("return total")
    expect(box).to_have_value("def main(inputs):\n    total = sum(i * i for i in range(inputs['n'] + 1))\n"
                              "    print('sum of squares up to', inputs['n'], 'is', total)\n    return total")
    expect(box).to_be_focused()  # Tab stayed in the box
    box.press("Escape")
    box.press("Tab")
    expect(box).not_to_be_focused()  # Esc, then Tab, leaves it
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    with api(console_server, owner) as client:
        assert "    return total" in client.get(f"/api/apps/{app['id']}").json()["spec"]["steps"][0]["code"]

    page.goto(f"/apps/{app['id']}/test")
    page.get_by_role("spinbutton", name=re.compile(r"^n\b")).fill("3")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#run-status")).to_have_text("succeeded")
    expect(page.locator("#run-result")).to_contain_text('"total": 14')
    printed = page.locator("#run-printed-box")
    expect(printed).to_be_visible()
    expect(printed.locator("pre")).to_have_text("sum of squares up to 3 is 14\n")
