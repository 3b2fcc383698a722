"""Live progress in the console on the production deployment: PostgreSQL, Redis and a separate Celery worker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
from playwright.sync_api import Browser, expect

from support.stack import Stack, running, start_production

if TYPE_CHECKING:
    from conftest import Gate


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One API process, one `toolpress worker`, Redis as broker and progress bus."""
    with running(start_production(tmp_path_factory.mktemp("console-production"))) as stack:
        yield stack


def test_a_test_run_on_a_separate_worker_shows_live_progress_and_can_be_cancelled(
    production: Stack, browser: Browser, gate: Gate
) -> None:
    email, password = f"prod-{uuid.uuid4().hex[:10]}@example.com", "a long enough password"
    key = f"prod-{uuid.uuid4().hex[:6]}"
    spec = {
        "name": "Gated on Redis",
        "inputs": [{"name": "word", "type": "string", "required": True}],
        "steps": [
            {"id": "first", "type": "template", "title": "first", "template": "{{ inputs.word }}"},
            {"id": "wait", "type": "http_request", "title": "wait", "url": gate.url(key) + "?w={{ inputs.word }}"},
        ],
        "outputs": [{"name": "word", "type": "string", "value": "{{ steps.wait.json.w }}"}],
    }
    with httpx.Client(base_url=production.base_url, timeout=10) as api:
        api.post("/api/auth/signup", json={"email": email, "password": password}).raise_for_status()
        token = api.post("/api/auth/login", json={"email": email, "password": password}).json()["access_token"]
        app = api.post("/api/apps", json={"spec": spec}, headers={"Authorization": f"Bearer {token}"}).json()

    context = browser.new_context(base_url=production.base_url)
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        page.goto(f"/login?next=/apps/{app['id']}/test")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.get_by_label("word").fill("kettle")

        gate.hold(key)
        try:
            page.get_by_role("button", name="Run", exact=True).click()
            expect(page.locator("#run-status")).to_have_text("running")
            expect(page.locator("#run-progress")).to_have_attribute("value", "1")
            expect(page.locator("#run-message")).to_have_text("step 1/2: first")
        finally:
            gate.release(key)
        expect(page.locator("#run-status")).to_have_text("succeeded")
        expect(page.locator("#run-result")).to_contain_text('"word": "kettle"')

        gate.hold(key)
        try:
            page.get_by_role("button", name="Run", exact=True).click()
            expect(page.locator("#run-message")).to_have_text("step 1/2: first")
            page.get_by_role("button", name="Cancel run").click()
            expect(page.locator("#run-status")).to_have_text("cancelled")
        finally:
            gate.release(key)
    finally:
        context.close()
