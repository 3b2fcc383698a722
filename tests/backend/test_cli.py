"""The `toolpress` command through a subprocess, against a live stack's database."""

from __future__ import annotations

import uuid

import yaml

from support.stack import FIXTURES, Stack


def test_import_prints_the_new_app_id_and_list_shows_it(stack: Stack) -> None:
    app_id = stack.import_app("three_steps.yaml")
    assert app_id.isdigit()
    listing = stack.cli("apps", "list").stdout
    assert any(line.split("\t")[0] == app_id and "draft" in line for line in listing.splitlines())


def test_publish_creates_a_version_and_an_unchanged_draft_none(stack: Stack) -> None:
    app_id = stack.import_app("three_steps.yaml")
    assert stack.cli("apps", "publish", app_id).stdout.strip() == "published version 1"
    assert stack.cli("apps", "publish", app_id).stdout.strip() == "the draft is unchanged since version 1: nothing to publish"


def test_export_prints_yaml_equivalent_to_the_import(stack: Stack) -> None:
    app_id = stack.import_app("three_steps.yaml")
    exported = yaml.safe_load(stack.cli("apps", "export", app_id).stdout)
    original = yaml.safe_load((FIXTURES / "three_steps.yaml").read_text())
    assert exported["name"].startswith(original["name"])
    assert exported["description"] == original["description"]
    assert [s["id"] for s in exported["steps"]] == [s["id"] for s in original["steps"]]
    assert [i["name"] for i in exported["inputs"]] == [i["name"] for i in original["inputs"]]


def test_enable_requires_a_published_version(stack: Stack) -> None:
    app_id = stack.import_app("three_steps.yaml")
    result = stack.cli("mcp", "enable", app_id, check=False)
    assert result.returncode == 1
    assert "publish the app" in result.stderr


def test_an_unknown_app_is_a_clear_error(stack: Stack) -> None:
    result = stack.cli("mcp", "url", "no-such-app", check=False)
    assert result.returncode == 1
    assert "no app 'no-such-app'" in result.stderr


def test_an_app_can_be_named_instead_of_numbered(stack: Stack) -> None:
    app_id = stack.import_app("three_steps.yaml")
    name = next(line.split("\t")[1] for line in stack.cli("apps", "list").stdout.splitlines() if line.startswith(app_id + "\t"))
    assert stack.cli("apps", "publish", name).stdout.strip() == "published version 1"


def test_importing_an_app_twice_numbers_the_second_name(stack: Stack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "dupe.yaml"
    copy.write_text((FIXTURES / "three_steps.yaml").read_text().replace("name: Word Report", "name: Only Once"))
    first = stack.cli("apps", "import", str(copy)).stdout.strip()
    second = stack.cli("apps", "import", str(copy))
    assert second.stdout.strip() != first
    assert "imported as 'Only Once (2)'" in second.stderr
    listing = dict(line.split("\t")[:2] for line in stack.cli("apps", "list").stdout.splitlines())
    assert listing[first] == "Only Once" and listing[second.stdout.strip()] == "Only Once (2)"


def test_an_invalid_spec_lists_its_problems(stack: Stack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\ndescription: x\ninputs: []\nsteps:\n  - id: a\n    type: nope\noutputs: []\n")
    result = stack.cli("apps", "import", str(bad), check=False)
    assert result.returncode == 1
    assert "steps[0]" in result.stderr


def test_mcp_url_matches_enable(stack: Stack) -> None:
    app_id = stack.import_app("three_steps.yaml")
    stack.cli("apps", "publish", app_id)
    url = stack.cli("mcp", "enable", app_id).stdout.strip()
    assert stack.cli("mcp", "url", app_id).stdout.strip() == url
    assert url.startswith(stack.base_url + "/mcp/")


def test_users_disable_and_enable_name_the_account_and_a_disabled_one_serves_no_platform(stack: Stack) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    user_id = stack.cli("users", "create", email, "--password", "long enough pw").stdout.strip()
    assert stack.cli("users", "disable", email).stdout.strip() == user_id
    refused = stack.cli("mcp", "platform", "--email", email, check=False)
    assert refused.returncode == 1 and f"the account '{email}' is disabled" in refused.stderr
    assert stack.cli("users", "enable", email).stdout.strip() == user_id
    unknown = stack.cli("users", "disable", "nobody@example.com", check=False)
    assert unknown.returncode == 1 and "no user 'nobody@example.com'" in unknown.stderr
