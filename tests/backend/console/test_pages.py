"""Each console page in headless Chromium against a real server: editor, test runs, versions, lists, account.

The MCP panel has its own module (test_mcp_panel.py)."""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import yaml
from playwright.sync_api import BrowserContext, Page, expect
from support.console import api, call, create_app, in_thread, list_tools, log_in

if TYPE_CHECKING:
    from conftest import Account, Gate, Server


def gated_spec(gate: Gate, key: str) -> dict[str, Any]:
    """One template step, then an http_request step that waits while gate `key` is held."""
    return {
        "name": f"Gated {uuid.uuid4().hex[:8]}",
        "tool_name": "gated",
        "description": "Echoes a word after asking the gate.",
        "inputs": [{"name": "word", "type": "string", "required": True, "description": "A word."}],
        "steps": [
            {"id": "first", "type": "template", "title": "first", "template": "{{ inputs.word }}"},
            {"id": "wait", "type": "http_request", "title": "wait", "url": gate.url(key) + "?w={{ inputs.word }}"},
        ],
        "outputs": [{"name": "word", "type": "string", "value": "{{ steps.wait.json.w }}"}],
    }


# ---- editor -----------------------------------------------------------------------------------------------


def test_yaml_view_edits_the_same_draft_and_bad_yaml_is_refused_without_losing_it(
    page: Page, console_server: Server, owner: Account, published_app: dict
) -> None:
    app_id = published_app["id"]
    log_in(page, owner, f"/apps/{app_id}/edit")
    page.get_by_role("tab", name="YAML").click()
    box = page.get_by_label("The same draft as YAML")
    expect(box).to_be_visible()
    expect(box).to_have_value(re.compile(r"name: person"))
    doc = yaml.safe_load(box.input_value())
    assert [f["name"] for f in doc["inputs"]] == ["person", "style", "times"]

    doc["inputs"][0]["description"] = "Who to greet, from YAML."
    box.fill(yaml.safe_dump(doc, sort_keys=False))
    expect(page.locator("#live-input-schema")).to_contain_text("Who to greet, from YAML.")

    box.fill("name: [unclosed")
    expect(page.locator("#error-list")).to_contain_text("line")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Not saved")).to_be_visible()
    expect(box).to_have_value("name: [unclosed")
    page.get_by_role("tab", name="Form").click()
    expect(page.get_by_role("status").filter(has_text="Fix the YAML")).to_be_visible()
    expect(page.get_by_role("tab", name="YAML")).to_have_attribute("aria-selected", "true")

    box.fill(yaml.safe_dump(doc, sort_keys=False))
    page.get_by_role("tab", name="Form").click()
    expect(page.locator("#inputs > li").nth(0).get_by_label("Description")).to_have_value("Who to greet, from YAML.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    with api(console_server, owner) as client:
        spec = client.get(f"/api/apps/{app_id}").json()["spec"]
    assert spec["inputs"][0]["description"] == "Who to greet, from YAML."


def test_inputs_and_steps_reorder_and_delete_and_every_step_type_has_a_form(
    page: Page, console_server: Server, owner: Account, published_app: dict
) -> None:
    app_id = published_app["id"]
    log_in(page, owner, f"/apps/{app_id}/edit")
    palette = page.locator("#palette button")
    types = [t.strip().split("\n")[0] for t in palette.all_inner_texts()]
    assert types == ["ask", "code", "condition", "http_request", "llm", "log", "map", "mcp_tool", "output", "sql",
                     "sub_app", "template", "transform"]

    page.get_by_role("button", name="Move input times up").click()
    expect(page.locator("#live-input-schema")).to_have_text(re.compile(r'"person".*"times".*"style"', re.S))

    page.get_by_role("button", name="llm").click()
    llm = page.locator("#steps > li").nth(2)
    expect(llm.locator("legend")).to_contain_text("llm")
    for label in ("provider", "model", "model preferences", "user", "api key", "temperature"):
        expect(llm.get_by_label(re.compile(rf"^{label}( \*)?$"))).to_be_visible()
    expect(page.locator('[data-path="steps[2].model"] .field-error, [data-path="steps[2].user"] .field-error')).not_to_have_count(0)
    page.get_by_role("button", name="Remove step llm_1").click()
    expect(page.locator("#steps > li")).to_have_count(2)
    palette.filter(has=page.locator("strong", has_text=re.compile(r"^log$"))).click()
    log = page.locator("#steps > li").nth(2)
    expect(log.get_by_label(re.compile(r"^message"))).to_be_visible()
    log.get_by_label(re.compile(r"^level")).select_option("warning")
    page.get_by_role("button", name="Remove step log_1").click()
    expect(page.locator("#steps > li")).to_have_count(2)
    palette.filter(has=page.locator("strong", has_text=re.compile(r"^ask$"))).click()
    ask = page.locator("#steps > li").nth(2)
    for label in ("message", "fields", "required", "on decline", "on cancel", "timeout"):
        expect(ask.get_by_label(re.compile(rf"^{label}( \*)?$"))).to_be_visible()
    page.get_by_role("button", name="Remove step ask_1").click()
    expect(page.locator("#steps > li")).to_have_count(2)
    expect(page.locator("#error-summary")).to_be_hidden()

    page.get_by_role("button", name="Move step repeat up").click()
    expect(page.locator('[data-path="steps[0]"] .field-error').first).to_contain_text("greet")
    page.get_by_role("button", name="Move step repeat down").click()
    expect(page.locator("#error-summary")).to_be_hidden()
    page.get_by_label("Long runs").select_option("always")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    with api(console_server, owner) as client:
        spec = client.get(f"/api/apps/{app_id}").json()["spec"]
    assert [f["name"] for f in spec["inputs"]] == ["person", "times", "style"]
    assert [s["id"] for s in spec["steps"]] == ["greet", "repeat"]
    assert spec["tasks"] == "always"


def test_the_editor_json_endpoints_need_the_csrf_header(
    context: BrowserContext, page: Page, console_server: Server, owner: Account, published_app: dict
) -> None:
    app_id = published_app["id"]
    log_in(page, owner)
    body = {"yaml": "name: Hijacked\n"}
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        for path in (f"/apps/{app_id}/draft", f"/apps/{app_id}/test-runs"):
            resp = context.request.post(path, data=json.dumps(body), headers={"Content-Type": "application/json", **headers})
            assert resp.status == 403, path
    with api(console_server, owner) as client:
        assert client.get(f"/api/apps/{app_id}").json()["name"] == published_app["name"]


# ---- test runs, runs list and run detail -----------------------------------------------------------------


def test_a_test_run_can_be_cancelled_and_bad_arguments_are_shown_next_to_their_field(
    page: Page, console_server: Server, owner: Account, gate: Gate
) -> None:
    key = f"cancel-{uuid.uuid4().hex[:6]}"
    app = create_app(console_server, owner, gated_spec(gate, key))
    log_in(page, owner, f"/apps/{app['id']}/test")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator('[data-path="word"] .field-error')).to_be_visible()
    expect(page.get_by_label("word")).to_have_attribute("aria-invalid", "true")

    gate.hold(key)
    try:
        page.get_by_label("word").fill("kettle")
        page.get_by_role("button", name="Run", exact=True).click()
        expect(page.locator("#run-status")).to_have_text("running")
        expect(page.locator("#run-message")).to_have_text("step 1/2: first")
        page.get_by_role("button", name="Cancel run").click()
        expect(page.locator("#run-status")).to_have_text("cancelled")
        expect(page.locator("#run-error")).to_contain_text("cancelled")
    finally:
        gate.release(key)
    with api(console_server, owner) as client:
        runs = client.get("/api/runs", params={"app_id": app["id"]}).json()["data"]
    assert [r["status"] for r in runs] == ["cancelled"]


def test_a_test_run_shows_what_its_steps_logged(page: Page, console_server: Server, owner: Account) -> None:
    spec = {
        "name": f"Logger {uuid.uuid4().hex[:6]}", "inputs": [{"name": "word", "type": "string"}],
        "steps": [{"id": "note", "type": "log", "message": "heard {{ inputs.word }}"},
                  {"id": "warn", "type": "log", "level": "warning", "message": "{{ inputs.word }} is loud"}],
        "outputs": [{"name": "said", "type": "string", "value": "{{ steps.note.message }}"}],
    }
    app = create_app(console_server, owner, spec)
    log_in(page, owner, f"/apps/{app['id']}/test")
    page.get_by_label("word").fill("gong")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#run-status")).to_have_text("succeeded")
    entries = page.locator("#run-logs li")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_have_text("info note heard gong")
    expect(entries.nth(1).locator(".badge")).to_have_text("warning")
    expect(entries.nth(1)).to_contain_text("gong is loud")


def test_runs_list_filters_updates_live_and_run_detail_shows_the_call(
    page: Page, console_server: Server, owner: Account, gate: Gate, screenshot: Any
) -> None:
    key = f"live-{uuid.uuid4().hex[:6]}"
    app = create_app(console_server, owner, gated_spec(gate, key), publish=True, enable=True)
    failing = create_app(console_server, owner, {
        "name": f"Failing {uuid.uuid4().hex[:6]}", "inputs": [],
        "steps": [{"id": "boom", "type": "template", "output": "json", "template": "not json"}],
        "outputs": [{"name": "x", "type": "string", "value": "{{ steps.boom.text }}"}],
    }, publish=True, enable=True)
    assert in_thread(call, failing["url"], failing["name"].replace(" ", "_"), {}).is_error is True

    log_in(page, owner, "/runs")
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#runs-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(failing["name"])

    page.goto(f"/runs?app_id={app['id']}")
    expect(rows).to_have_count(0)
    gate.hold(key)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(anyio.run, call, app["url"], "gated", {"word": "teapot"})
        try:
            expect(rows).to_have_count(1)
            expect(rows.first.locator(".badge")).to_have_text("running")
            expect(rows.first).to_contain_text("1/2")
        finally:
            gate.release(key)
        assert pending.result(timeout=60).structured_content == {"word": "teapot"}
    expect(rows.first.locator(".badge")).to_have_text("succeeded")
    expect(rows.first).to_contain_text("mcp")
    screenshot(page, "runs")

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Run ")
    assert json.loads(page.locator("#run-args").text_content()) == {"word": "teapot"}
    expect(page.locator("#run-client")).to_contain_text("mcp")
    expect(page.locator("#run-status")).to_have_text("succeeded")
    assert json.loads(page.locator("#run-result").text_content()) == {"word": "teapot"}
    expect(page.locator("#run-trace tr")).to_have_count(2)
    screenshot(page, "run-detail")

    page.goto(f"/runs?app_id={failing['id']}")
    rows.first.get_by_role("link").click()
    expect(page.locator("#run-error")).to_contain_text("not valid JSON")

    page.goto(f"/apps/{app['id']}")
    expect(page.locator("#usage-total")).to_have_text("1")
    expect(page.locator("#usage-succeeded")).to_have_text("1")
    page.goto(f"/apps/{failing['id']}")
    expect(page.locator("#usage-failed")).to_have_text("1")
    page.goto("/")
    expect(page.get_by_role("row").filter(has=page.get_by_role("link", name=failing["name"]))).to_contain_text("failed")


# ---- publish, versions, rollback, and the MCP panel ------------------------------------------------------


def test_rollback_serves_an_earlier_version_again(page: Page, console_server: Server, owner: Account) -> None:
    spec = {
        "name": f"Versioned {uuid.uuid4().hex[:6]}", "tool_name": "versioned", "description": "First version.",
        "inputs": [], "steps": [],
        "outputs": [{"name": "v", "type": "string", "value": "one"}],
    }
    app = create_app(console_server, owner, spec, publish=True, enable=True)
    with api(console_server, owner) as client:
        client.patch(f"/api/apps/{app['id']}", json={"spec": {**spec, "description": "Second version.",
                                                              "outputs": [{"name": "v", "type": "string", "value": "two"}]}}
                     ).raise_for_status()
    log_in(page, owner, f"/apps/{app['id']}")
    expect(page.get_by_text("The draft has unpublished changes.")).to_be_visible()
    page.get_by_role("button", name="Publish draft…").click()
    page.get_by_role("dialog").get_by_role("button", name="Publish version 2").click()
    expect(page.locator('tr[data-version="2"]')).to_contain_text("Live")
    expect(page.locator("#publish-unchanged")).to_be_visible()  # nothing new to publish until the draft changes
    assert in_thread(call, app["url"], "versioned", {}).structured_content == {"v": "two"}

    page.get_by_role("button", name="Roll back to v1").click()
    expect(page.get_by_text("Rolled back")).to_be_visible()
    expect(page.locator('tr[data-version="1"]')).to_contain_text("Live")
    expect(page.locator('tr[data-version="2"]')).not_to_contain_text("Live")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Published v1")
    assert in_thread(call, app["url"], "versioned", {}).structured_content == {"v": "one"}
    assert in_thread(list_tools, app["url"])[0].description == "First version."

    page.get_by_role("button", name="Copy v1 into the draft").click()
    expect(page.get_by_text("The draft now holds that version")).to_be_visible()
    with api(console_server, owner) as client:
        assert client.get(f"/api/apps/{app['id']}").json()["spec"]["outputs"][0]["value"] == "one"


# ---- apps list and account -----------------------------------------------------------------------------


def test_apps_list_creates_imports_exports_duplicates_and_deletes_after_confirmation(
    page: Page, console_server: Server, owner: Account, published_app: dict, greeter_yaml: str, screenshot: Any
) -> None:
    log_in(page, owner)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=published_app["name"], exact=True))
    expect(row).to_contain_text("Published v1")
    expect(row).to_contain_text("never")

    with page.expect_download() as download:
        row.get_by_role("link", name="Export YAML").click()
    exported = yaml.safe_load(open(download.value.path(), encoding="utf-8").read())
    assert exported["name"] == published_app["name"] and exported["tool_name"] == "greet"

    page.get_by_label("…or paste the spec").fill("name: Broken\ninputs:\n  - name: x\n    type: nope\n")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert")).to_contain_text("nothing was imported")
    expect(page.get_by_role("alert")).to_contain_text("Input 1 › Type: unknown type")
    expect(page.get_by_label("…or paste the spec")).to_have_value(re.compile("type: nope"))

    page.get_by_label("…or paste the spec").fill("")
    page.get_by_label("YAML file").set_input_files(
        files=[{"name": "greeter.yaml", "mimeType": "application/yaml", "buffer": greeter_yaml.encode()}]
    )
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{published_app['name']} (2)")
    page.goto("/")

    row.get_by_role("button", name="Duplicate").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{published_app['name']} (copy)")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    page.goto("/")
    screenshot(page, "apps")

    copy_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"{published_app['name']} (copy)"))
    copy_row.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(copy_row).to_have_count(1)
    copy_row.get_by_role("button", name="Delete…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete app").click()
    expect(page.get_by_text("App deleted")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=f"{published_app['name']} (copy)")).to_have_count(0)
    with api(console_server, owner) as client:
        names = [a["name"] for a in client.get("/api/apps").json()["data"]]
    assert sorted(names) == sorted([published_app["name"], f"{published_app['name']} (2)"])


def test_create_app_opens_the_editor_with_a_working_starter(page: Page, console_server: Server, owner: Account) -> None:
    log_in(page, owner)
    page.get_by_label("Name", exact=True).fill("")
    page.get_by_label("Name", exact=True).evaluate("el => el.removeAttribute('required')")
    page.get_by_role("button", name="Create app").click()
    expect(page.get_by_role("alert")).to_contain_text("Give the app a name")
    page.get_by_label("Name", exact=True).fill("Starter app")
    page.get_by_role("button", name="Create app").click()
    expect(page).to_have_url(re.compile(r"/apps/\d+/edit$"))
    expect(page.get_by_placeholder(re.compile("Describe what it does"))).to_have_value("")  # a hint, not a saved value
    page.get_by_role("link", name="Test run").click()
    page.get_by_label("text").fill("hello")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#run-status")).to_have_text("succeeded")
    assert json.loads(page.locator("#run-result").text_content()) == {"result": "hello"}


def test_account_secrets_are_never_shown_back_and_api_tokens_work(
    page: Page, console_server: Server, owner: Account, screenshot: Any
) -> None:
    log_in(page, owner, "/account")
    value = f"sk-{uuid.uuid4().hex}"
    page.get_by_label("Name", exact=True).fill("bad-name")
    page.get_by_label("Value").fill(value)
    page.get_by_label("Name", exact=True).evaluate("el => el.removeAttribute('pattern')")
    page.get_by_role("button", name="Save secret").click()
    expect(page.get_by_role("alert")).to_contain_text("upper case letters")
    assert value not in page.content()

    page.get_by_label("Name", exact=True).fill("OPENAI_API_KEY")
    page.get_by_label("Value").fill(value)
    page.get_by_role("button", name="Save secret").click()
    expect(page.get_by_text("Secret saved.")).to_be_visible()
    expect(page.locator('tr[data-secret="OPENAI_API_KEY"]')).to_be_visible()
    assert value not in page.content()

    page.get_by_role("button", name="Replace…").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("OPENAI_API_KEY")
    expect(page.get_by_label("Value")).to_be_focused()
    page.get_by_label("Value").fill("second value")
    page.get_by_role("button", name="Save secret").click()
    expect(page.locator('tr[data-secret="OPENAI_API_KEY"]')).to_have_count(1)
    assert "second value" not in page.content()

    page.get_by_label("Token name").fill("deploy script")
    page.get_by_label("Expires in (days)").fill("30")
    page.get_by_role("button", name="Create API token").click()
    expect(page).to_have_url(re.compile(r"/account#new-token$"))  # the form redirected to the account page
    token = page.locator("#new-token").text_content().strip()
    me = httpx.get(f"{console_server.base_url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 200 and me.json()["email"] == owner.email
    page.reload()  # shown once: a reload shows it no more
    expect(page.locator("#new-token")).to_have_count(0)
    assert token not in page.content()
    row = page.locator("#account-tokens tbody tr").filter(has_text="deploy script")
    expect(row).to_contain_text("active")
    expect(row.locator("td").nth(6)).not_to_have_text("never")  # last used: just now, by the call above
    expect(row.locator("td").nth(5)).not_to_have_text("never")  # it expires in 30 days
    screenshot(page, "account")
    page.get_by_role("button", name="Revoke deploy script").click()
    expect(page.get_by_text("Token revoked")).to_be_visible()
    expect(row).to_contain_text("revoked")
    me = httpx.get(f"{console_server.base_url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 401

    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete secret").click()
    expect(page.get_by_text("Secret deleted.")).to_be_visible()
    expect(page.get_by_text("No secrets yet.")).to_be_visible()
    with api(console_server, owner) as client:
        assert client.get("/api/secrets").json()["count"] == 0


def test_another_user_cannot_see_runs_editor_or_test_page(
    page: Page, context: BrowserContext, console_server: Server, owner: Account, published_app: dict, make_account
) -> None:
    app_id = published_app["id"]
    with api(console_server, owner) as client:
        url = client.post(f"/api/apps/{app_id}/mcp/enable").json()["url"]
    in_thread(call, url, "greet", {"person": "Ada"})
    with api(console_server, owner) as client:
        run_id = client.get("/api/runs", params={"app_id": app_id}).json()["data"][0]["id"]

    log_in(page, make_account())
    for path in (f"/apps/{app_id}/edit", f"/apps/{app_id}/test", f"/runs/{run_id}", f"/runs/{run_id}/events",
                 f"/runs/{run_id}.json", f"/apps/{app_id}/export.yaml"):
        resp = context.request.get(path)
        assert resp.status == 404, path
        assert "Ada" not in resp.text()
    page.goto("/runs")
    expect(page.locator("#runs-table tbody tr")).to_have_count(0)


def test_keyboard_users_reach_and_toggle_the_mcp_switch_with_a_visible_focus(
    page: Page, console_server: Server, owner: Account, published_app: dict
) -> None:
    log_in(page, owner, f"/apps/{published_app['id']}")
    switch = page.get_by_role("switch", name=re.compile("Serve this app as an MCP server"))
    for _ in range(60):
        page.keyboard.press("Tab")
        if switch.evaluate("el => el === document.activeElement"):
            break
    expect(switch).to_be_focused()
    outline = switch.evaluate("el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth")
    assert outline.startswith("solid") and outline != "solid 0px"
    page.keyboard.press("Enter")
    expect(page.get_by_text("MCP server turned on.")).to_be_visible()
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "true")
