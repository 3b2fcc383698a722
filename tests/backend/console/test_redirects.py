"""Opening or reloading a form's action address in the browser lands on the form's page, not a bare 405."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from support.console import log_in

from .conftest import Account, Server


def test_reloading_a_form_action_lands_on_its_page(page: Page, owner: Account, published_app: dict) -> None:
    app_id = published_app["id"]
    log_in(page, owner, f"/apps/{app_id}")
    for action, landing in ((f"/apps/{app_id}/mcp/regenerate", rf"/apps/{app_id}$"), ("/account/tokens", r"/account$"),
                            (f"/apps/{app_id}/access/tokens", rf"/apps/{app_id}/access$")):
        page.goto(action)
        expect(page).to_have_url(re.compile(landing))
        assert "Method Not Allowed" not in page.content()


def test_the_api_still_answers_405_in_json(console_server: Server, owner: Account, published_app: dict) -> None:
    answer = httpx.get(f"{console_server.base_url}/api/apps/{published_app['id']}/publish", headers=owner.headers,
                       timeout=10)
    assert answer.status_code == 405 and answer.json() == {"detail": "Method Not Allowed"}
    script = httpx.get(f"{console_server.base_url}/apps/{published_app['id']}/mcp/regenerate",
                       headers={"Accept": "application/json"}, timeout=10, follow_redirects=False)
    assert script.status_code == 405
