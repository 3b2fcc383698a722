"""A console test run of an app that asks: the question is shown in the page and answered there; the run goes on."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from playwright.sync_api import Page, expect
from support.console import create_app, log_in

if TYPE_CHECKING:
    from conftest import Account, Server


def _asking_app(console_server: Server, owner: Account) -> dict[str, object]:
    return create_app(console_server, owner, {
        "name": "Room booking", "inputs": [{"name": "room", "type": "string", "default": "Blue"}],
        "steps": [
            {"id": "confirm", "type": "ask", "message": "Book {{ inputs.room }}?",
             "fields": {"size": {"type": "string", "title": "Size",
                                 "oneOf": [{"const": "s", "title": "Small"}, {"const": "l", "title": "Large"}]},
                        "people": {"type": "integer", "title": "People", "default": 2}},
             "required": ["size"], "on_decline": {"do": "fail", "message": "not booked"}},
            {"id": "note", "type": "llm", "provider": "client", "user": "Write a note for {{ inputs.room }}"},
        ],
        "outputs": [{"name": "booking", "type": "string",
                     "value": "{{ inputs.room }} {{ steps.confirm.content.size }} x{{ steps.confirm.content.people }}: "
                              "{{ steps.note.text }}"}],
    })


def _start_a_waiting_test_run(page: Page, console_server: Server, owner: Account) -> None:
    app = _asking_app(console_server, owner)
    log_in(page, owner, f"/apps/{app['id']}/test")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#run-status")).to_have_text("waiting_for_input")


def test_a_test_run_asks_its_question_in_the_page_and_resumes_with_the_answer(
    page: Page, console_server: Server, owner: Account
) -> None:
    _start_a_waiting_test_run(page, console_server, owner)
    expect(page.locator("#question-message")).to_have_text("Book Blue?")
    expect(page.get_by_label("People")).to_have_value("2")
    page.get_by_label("Size *").select_option(label="Large")
    page.get_by_role("button", name="Answer").click()
    # the next step asks the caller's model: the person answers in its place
    expect(page.locator("#question-prompt")).to_have_text("Write a note for Blue")
    page.get_by_label("The model's reply").fill("Enjoy the room.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#run-status")).to_have_text("succeeded")
    assert json.loads(page.locator("#run-result").text_content() or "") == {"booking": "Blue l x2: Enjoy the room."}
    expect(page.locator("#run-question-box")).to_be_hidden()


def test_a_waiting_run_shows_its_question_in_the_runs_list_and_a_decline_fails_it(
    page: Page, console_server: Server, owner: Account
) -> None:
    _start_a_waiting_test_run(page, console_server, owner)
    page.goto("/runs")
    expect(page.locator("#runs-table tbody tr").first).to_contain_text("asks: Book Blue?")
    page.locator("#runs-table tbody tr a").first.click()
    page.get_by_role("button", name="Decline").click()
    expect(page.locator("#run-status")).to_have_text("failed")
    expect(page.locator("#run-error")).to_contain_text("not booked")
