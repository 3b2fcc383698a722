"""The editor's prompts and resources sections, their live preview, and "try this prompt", in headless Chromium."""

from __future__ import annotations

import base64
import re
import uuid
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page, expect
from support.console import api, create_app, log_in

if TYPE_CHECKING:
    from conftest import Account, Server

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def prompt_app() -> dict[str, Any]:
    """A one-step app with a templated prompt, a static prompt with an image, and two resources."""
    return {
        "name": f"Prompted {uuid.uuid4().hex[:8]}",
        "inputs": [{"name": "word", "type": "string", "required": True}],
        "steps": [{"id": "echo", "type": "template", "template": "{{ inputs.word }}"}],
        "outputs": [{"name": "word", "type": "string", "value": "{{ steps.echo.text }}"}],
        "prompts": [
            {"name": "explain", "title": "Explain", "description": "Explain a word.",
             "arguments": [{"name": "word", "required": True, "suggestions": ["entropy", "enthalpy"]}],
             "messages": [{"role": "user", "text": "Explain {{ inputs.word | upper }} simply."},
                          {"role": "user", "resource": {"uri": "docs://tone"}}]},
            {"name": "look", "description": "Look at the logo.", "messages": [{"image": {"uri": "docs://logo"}}]},
        ],
        "resources": [
            {"uri": "docs://tone", "name": "tone", "mime_type": "text/plain", "text": "Be kind."},
            {"uri": "docs://logo", "name": "logo", "mime_type": "image/png", "blob": PNG},
        ],
    }


def test_prompts_and_resources_are_edited_in_the_form_with_a_live_preview(
    page: Page, console_server: Server, owner: Account, published_app: dict
) -> None:
    app_id = published_app["id"]
    log_in(page, owner, f"/apps/{app_id}/edit")
    page.get_by_role("button", name="Add prompt").click()
    prompt = page.locator("#prompts > li").nth(0)
    prompt.get_by_label(re.compile(r"^Name")).first.fill("welcome")
    prompt.get_by_label("Description", exact=True).fill("Welcome someone.")
    prompt.get_by_role("button", name="Add argument").click()
    argument = prompt.locator('[data-path="prompts[0].arguments[0]"]')
    argument.get_by_label(re.compile(r"^Name")).fill("who")
    text = prompt.locator('[data-path="prompts[0].messages[0].text"] textarea')
    text.fill("Welcome {{ inputs.whom }}!")
    expect(page.locator('[data-path="prompts[0].messages[0].text"] .field-error')).to_contain_text("whom")
    text.fill("Welcome {{ inputs.who }}!")
    expect(page.locator("#error-summary")).to_be_hidden()
    expect(page.locator("#live-prompts")).to_contain_text('"name": "welcome"')
    expect(page.locator("#live-prompts")).to_contain_text('"name": "who"')

    page.get_by_role("button", name="Add resource", exact=True).click()
    first = page.locator("#resources > li").nth(0)
    first.get_by_label(re.compile(r"^URI")).fill("docs://house-rules")
    first.get_by_label("Text", exact=True).fill("No shoes inside.")
    page.get_by_role("button", name="Add resource", exact=True).click()
    second = page.locator("#resources > li").nth(1)
    second.get_by_label(re.compile(r"^URI")).fill("docs://logo")
    second.get_by_label(re.compile(r"^MIME type")).fill("")
    second.get_by_label("Or upload a file").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": base64.b64decode(PNG)}
    )
    preview = page.locator("#live-resources")
    expect(preview).to_contain_text('"uri": "docs://house-rules"')
    expect(preview).to_contain_text('"mimeType": "image/png"')
    expect(preview).to_contain_text('"size": 70')

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    with api(console_server, owner) as client:
        spec = client.get(f"/api/apps/{app_id}").json()["spec"]
    assert spec["prompts"][0]["messages"] == [{"role": "user", "text": "Welcome {{ inputs.who }}!"}]
    assert [(r["uri"], r.get("text"), r.get("blob")) for r in spec["resources"]] == [
        ("docs://house-rules", "No shoes inside.", None), ("docs://logo", None, PNG),
    ]


def test_try_this_prompt_renders_templates_in_a_test_run_and_static_prompts_at_once(
    page: Page, console_server: Server, owner: Account, screenshot: Any
) -> None:
    app = create_app(console_server, owner, prompt_app())
    log_in(page, owner, f"/apps/{app['id']}/edit")
    panel = page.locator("#try-prompt")
    expect(panel.get_by_label("Prompt")).to_have_value("explain")

    panel.get_by_role("button", name="Render prompt").click()
    expect(panel.get_by_role("status")).to_contain_text("missing required argument 'word'")

    panel.get_by_label("word *").fill("entropy")
    panel.get_by_role("button", name="Render prompt").click()
    expect(panel.get_by_role("status")).to_have_text("Rendered in a test run.")
    messages = panel.locator("#try-messages > li")
    expect(messages.nth(0)).to_contain_text("Explain ENTROPY simply.")
    expect(messages.nth(1)).to_contain_text("[docs://tone] Be kind.")
    screenshot(page, "prompts")

    panel.get_by_label("Prompt").select_option("look")
    panel.get_by_role("button", name="Render prompt").click()
    expect(panel.get_by_role("status")).to_contain_text("no run needed")
    expect(panel.get_by_role("img", name=re.compile("Image 1"))).to_be_visible()

    with api(console_server, owner) as client:
        runs = client.get("/api/runs", params={"app_id": app["id"]}).json()["data"]
    assert [(r["purpose"], r["source"], r["status"]) for r in runs] == [("prompt:explain", "console", "succeeded")]
    page.goto(f"{console_server.base_url}/runs")
    expect(page.locator("#runs-table tbody tr").first.locator(".purpose")).to_have_text("prompt:explain")
