"""Spec problems read in the builder's words: "Step 2 (stats) › Fields", never `steps[1].fields` or "Value error, "."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from backend.console.spec_errors import readable_errors, where
from support.console import log_in

from .conftest import Account

SPEC = {"inputs": [{"name": "who"}], "steps": [{"id": "clean"}, {"id": "route", "branches": [{"steps": [{"id": "bug"}]}]}]}


def test_paths_become_the_names_the_form_uses() -> None:
    assert where("steps[1].branches[0].steps[0].template", SPEC) == "Step 2 (route) › Branch 1 › Step 1 (bug) › Template"
    assert where("inputs[0].max_length", SPEC) == "Input 1 (who) › Max length"
    assert where("outputs[2].value", SPEC) == "Output 3 › Value"
    assert where("(root)", SPEC) == where(None) == "App"
    assert where("steps[5].url", SPEC) == "Step 6 › Url"


def test_messages_lose_the_library_prefix_and_keep_their_path() -> None:
    [error] = readable_errors([{"path": "steps[0].fields", "message": "Value error, fields must be a mapping"}], SPEC)
    assert error == {"path": "steps[0].fields", "where": "Step 1 (clean) › Fields", "message": "fields must be a mapping"}


def test_the_editor_lists_problems_by_step_name(page: Page, owner: Account, published_app: dict) -> None:
    log_in(page, owner, f"/apps/{published_app['id']}/edit")
    page.locator("#steps > li").nth(0).get_by_label("Step id").fill("Bad id!")
    summary = page.locator("#error-list")
    expect(summary).to_contain_text(re.compile(r"Step 1 \(Bad id!\) › Id: "))
    assert "steps[0]" not in summary.inner_text() and "Value error" not in summary.inner_text()
