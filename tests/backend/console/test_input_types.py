"""String vs text inputs: the type picker says which is which, and a text input gets a multi-line box."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from support.console import api, create_app, log_in

from .conftest import Account, Server

SPEC = {
    "name": "Notes", "description": "Counts the lines of a note.",
    "inputs": [{"name": "title", "type": "string", "required": True}, {"name": "note", "type": "text", "required": True}],
    "steps": [{"id": "join", "type": "template", "template": "{{ inputs.title }}: {{ inputs.note }}"}],
    "outputs": [{"name": "joined", "type": "string", "value": "{{ steps.join.text }}"}],
}


def test_the_type_picker_explains_string_and_text(page: Page, console_server: Server, owner: Account) -> None:
    app = create_app(console_server, owner, {**SPEC, "name": "Notes picker"})
    log_in(page, owner, f"/apps/{app['id']}/edit")
    inputs = page.locator("#inputs > li")
    expect(inputs.nth(0)).to_contain_text("One line of text")
    expect(inputs.nth(1)).to_contain_text("Several lines of text")
    inputs.nth(0).get_by_label("Type").select_option("text")
    expect(inputs.nth(0)).to_contain_text("Several lines of text")


def test_a_text_input_is_a_multi_line_box_where_enter_adds_a_line(
    page: Page, console_server: Server, owner: Account
) -> None:
    app = create_app(console_server, owner, {**SPEC, "name": "Notes form"})
    log_in(page, owner, f"/apps/{app['id']}/test")
    page.get_by_label("title").fill("Groceries")
    note = page.get_by_label("note")
    assert note.evaluate("el => el.tagName") == "TEXTAREA"
    note.fill("milk")
    note.press("Enter")
    note.type("eggs")
    expect(page.locator("#run-live")).to_be_hidden()  # Enter did not start a run
    expect(note).to_have_value("milk\neggs")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#run-status")).to_have_text("succeeded")
    expect(page.locator("#run-result")).to_contain_text(re.compile(r"Groceries: milk\\neggs"))


def with_a_new_transform(page: Page, server: Server, owner: Account, name: str) -> dict[str, Any]:
    """An app named `name` open in the editor with a transform step just added from the palette: {app, step}."""
    app = create_app(server, owner, {**SPEC, "name": name})
    log_in(page, owner, f"/apps/{app['id']}/edit")
    page.get_by_role("button", name="transform").click()
    return {"app": app, "step": page.locator("#steps > li").nth(1)}


def test_a_new_transform_step_is_not_flagged_before_it_is_touched(
    page: Page, console_server: Server, owner: Account
) -> None:
    added = with_a_new_transform(page, console_server, owner, "Notes transform")["step"]
    expect(added.locator("legend")).to_contain_text("transform")
    expect(added.get_by_label("expression")).to_have_value("inputs")
    expect(page.locator("#schema-note")).to_have_text("Updated as you type.")  # the check ran and found nothing
    expect(added.locator(".field-error")).to_have_count(0)
    expect(page.locator("#error-summary")).to_be_hidden()


def test_a_transforms_fields_box_takes_the_yaml_mapping_the_yaml_view_shows(
    page: Page, console_server: Server, owner: Account
) -> None:
    made = with_a_new_transform(page, console_server, owner, "Notes fields")
    app, added = made["app"], made["step"]
    added.get_by_label("expression").fill("")
    added.get_by_label("fields").fill("title: inputs.title\nnote: inputs.note")
    expect(page.locator("#schema-note")).to_have_text("Updated as you type.")
    expect(page.locator("#error-summary")).to_be_hidden()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    with api(console_server, owner) as client:
        saved = client.get(f"/api/apps/{app['id']}").json()["spec"]["steps"][1]
    assert saved["fields"] == {"title": "inputs.title", "note": "inputs.note"} and "expression" not in saved


def test_renaming_an_input_or_a_step_offers_to_update_what_refers_to_it(
    page: Page, console_server: Server, owner: Account
) -> None:
    app = create_app(console_server, owner, {**SPEC, "name": "Notes rename"})
    log_in(page, owner, f"/apps/{app['id']}/edit")
    title = page.locator("#inputs > li").nth(0).get_by_label("Name")
    title.fill("heading")
    title.blur()
    page.get_by_role("button", name="Update to inputs.heading").click()
    step = page.locator("#steps > li").nth(0)
    expect(step.get_by_label("template")).to_have_value("{{ inputs.heading }}: {{ inputs.note }}")

    step_id = page.locator("#steps > li").nth(0).get_by_label("Step id")
    step_id.fill("combine")
    step_id.blur()
    offer = page.locator(".rename-offer")
    expect(offer).to_contain_text("1 reference still uses steps.join")
    page.get_by_role("button", name="Update to steps.combine").click()
    expect(page.locator("#error-summary")).to_be_hidden()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    with api(console_server, owner) as client:
        saved = client.get(f"/api/apps/{app['id']}").json()["spec"]
    assert saved["outputs"][0]["value"] == "{{ steps.combine.text }}"
    assert saved["steps"][0]["template"] == "{{ inputs.heading }}: {{ inputs.note }}"
