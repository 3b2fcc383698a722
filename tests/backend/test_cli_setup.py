"""`toolpress mcp setup` (client config files) and `toolpress mcp stdio` (the stdio bridge), as real processes."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from support.stack import BIN, FIXTURES, Stack, free_port, running, start_embedded


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One `toolpress serve` (embedded mode) for this module."""
    with running(start_embedded(tmp_path_factory.mktemp("cli-setup"))) as stack:
        yield stack


@pytest.fixture(scope="module")
def greet(embedded: Stack) -> tuple[str, str]:
    """The three-step fixture app, published with its MCP server on: (app id, URL)."""
    return embedded.publish_and_enable("three_steps.yaml")


def setup(stack: Stack, cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `toolpress mcp setup ARGS` in `cwd` with `home` as the home directory."""
    return subprocess.run(
        [str(BIN / "toolpress"), "mcp", "setup", *args], env={**stack.env, "HOME": str(home)}, cwd=cwd,
        capture_output=True, text=True, timeout=60,
    )


def test_cursor_setup_merges_into_an_existing_config_and_keeps_other_servers(
    embedded: Stack, greet: tuple[str, str], tmp_path: Path
) -> None:
    app_id, url = greet
    config = tmp_path / ".cursor" / "mcp.json"
    config.parent.mkdir()
    other = {"command": "npx", "args": ["-y", "some-server"]}
    config.write_text(json.dumps({"mcpServers": {"other": other}, "theme": "dark"}))

    first = setup(embedded, tmp_path, tmp_path / "home", "--client", "cursor", app_id)
    assert first.returncode == 0, first.stderr
    assert "added server 'word_report'" in first.stdout and "kept 1 other server(s): other" in first.stdout
    assert str(config) in first.stdout
    assert json.loads(config.read_text()) == {
        "mcpServers": {"other": other, "word_report": {"url": url}}, "theme": "dark",
    }
    again = setup(embedded, tmp_path, tmp_path / "home", "--client", "cursor", app_id)
    assert "already had server 'word_report'" in again.stdout


def test_each_client_gets_its_own_file_and_shape(embedded: Stack, greet: tuple[str, str], tmp_path: Path) -> None:
    app_id, url = greet
    home = tmp_path / "home"
    assert setup(embedded, tmp_path, home, "--client", "vscode", app_id).returncode == 0
    assert json.loads((tmp_path / ".vscode" / "mcp.json").read_text()) == {
        "servers": {"word_report": {"type": "http", "url": url}}
    }
    assert setup(embedded, tmp_path, home, "--client", "claude-code", app_id).returncode == 0
    assert json.loads((tmp_path / ".mcp.json").read_text()) == {"mcpServers": {"word_report": {"type": "http", "url": url}}}
    assert setup(embedded, tmp_path, home, "--client", "windsurf", app_id, "--name", "words").returncode == 0
    assert json.loads((home / ".codeium" / "windsurf" / "mcp_config.json").read_text()) == {
        "mcpServers": {"words": {"serverUrl": url}}
    }
    assert setup(embedded, tmp_path, home, "--client", "cursor", app_id, "--scope", "user").returncode == 0
    assert json.loads((home / ".cursor" / "mcp.json").read_text()) == {"mcpServers": {"word_report": {"url": url}}}
    assert setup(embedded, tmp_path, home, "--client", "claude-desktop", app_id).returncode == 0
    desktop = json.loads((home / ".config" / "Claude" / "claude_desktop_config.json").read_text())
    assert desktop == {"mcpServers": {"word_report": {"command": str(BIN / "toolpress"), "args": ["mcp", "stdio", "--url", url]}}}


def test_claude_code_user_scope_prints_the_claude_command_and_writes_nothing(
    embedded: Stack, greet: tuple[str, str], tmp_path: Path
) -> None:
    app_id, url = greet
    result = setup(embedded, tmp_path, tmp_path / "home", "--client", "claude-code", app_id, "--scope", "user")
    assert result.returncode == 0
    assert f"claude mcp add --transport http --scope user word_report {url}" in result.stdout
    assert not any(tmp_path.rglob("*.json"))


def test_a_broken_config_file_is_left_untouched(embedded: Stack, greet: tuple[str, str], tmp_path: Path) -> None:
    config = tmp_path / ".vscode" / "mcp.json"
    config.parent.mkdir()
    config.write_text('{"servers": {"mine": ')
    result = setup(embedded, tmp_path, tmp_path / "home", "--client", "vscode", greet[0])
    assert result.returncode == 1
    assert "is not valid JSON" in result.stderr
    assert config.read_text() == '{"servers": {"mine": '


def test_setup_refuses_an_app_whose_mcp_server_is_off(embedded: Stack, tmp_path: Path) -> None:
    app_id = embedded.import_app("three_steps.yaml")
    embedded.cli("apps", "publish", app_id)
    result = setup(embedded, tmp_path, tmp_path / "home", "--client", "cursor", app_id)
    assert result.returncode == 1
    assert f"toolpress mcp enable {app_id}" in result.stderr
    assert not (tmp_path / ".cursor").exists()


@pytest.mark.anyio
async def test_the_stdio_bridge_relays_tools_calls_and_progress(embedded: Stack, greet: tuple[str, str]) -> None:
    app_id, url = greet
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    bridge = StdioServerParameters(command=str(BIN / "toolpress"), args=["mcp", "stdio", app_id], env=embedded.env)
    async with Client(bridge) as client:
        tools = (await client.list_tools()).tools
        result = await client.call_tool("word_report", {"text": "  Hello BIG world "}, progress_callback=on_progress)
        invalid = await client.call_tool("word_report", {"text": 5})

    assert [t.name for t in tools] == ["word_report"]
    assert set(tools[0].input_schema["properties"]) == {"text", "label", "repeat"}
    assert result.is_error is False
    assert result.structured_content == {"words": 3, "report": "report: 3 words in 'hello big world'"}
    assert progress == [(1, 3, "step 1/3: clean text"), (2, 3, "step 2/3: count words"), (3, 3, "step 3/3: write report")]
    assert invalid.is_error is True and "text" in invalid.content[0].text


@pytest.mark.anyio
async def test_the_stdio_bridge_to_a_regenerated_url_exits_with_a_clear_error(embedded: Stack) -> None:
    app_id, url = embedded.publish_and_enable("three_steps.yaml")
    embedded.cli("mcp", "regenerate", app_id)
    result = subprocess.run(
        [str(BIN / "toolpress"), "mcp", "stdio", "--url", url], env=embedded.env, capture_output=True, text=True,
        timeout=60, input="",
    )
    assert result.returncode == 1
    assert "cannot connect" in result.stderr
    assert url.split("/mcp/")[1].split("/")[0] not in result.stderr


def platform_env(home: Path) -> dict[str, str]:
    """A bare environment, as an AI client starting a server has: no TOOLPRESS_* settings, no venv on PATH."""
    return {"HOME": str(home), "PATH": "/usr/bin:/bin"}


def test_platform_setup_writes_a_stdio_entry_in_each_clients_shape(
    embedded: Stack, greet: tuple[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    command = str(BIN / "toolpress")
    data_dir = str(Path(embedded.env["TOOLPRESS_DATA_DIR"]).resolve())
    plain = ["mcp", "platform"]

    assert setup(embedded, tmp_path, home, "--client", "vscode", "platform", "--read-only").returncode == 0
    vscode = json.loads((tmp_path / ".vscode" / "mcp.json").read_text())["servers"]["toolpress"]
    assert {k: vscode[k] for k in ("type", "command", "args")} == {
        "type": "stdio", "command": command, "args": ["mcp", "platform", "--read-only"],
    }
    assert vscode["env"]["TOOLPRESS_DATA_DIR"] == data_dir
    for client, file in (("cursor", tmp_path / ".cursor" / "mcp.json"), ("claude-code", tmp_path / ".mcp.json"),
                         ("claude-desktop", home / ".config" / "Claude" / "claude_desktop_config.json"),
                         ("windsurf", home / ".codeium" / "windsurf" / "mcp_config.json")):
        result = setup(embedded, tmp_path, home, "--client", client, "platform")
        assert result.returncode == 0, result.stderr
        assert f"{file}: added server 'toolpress'" in result.stdout
        entry = json.loads(file.read_text())["mcpServers"]["toolpress"]
        assert set(entry) == {"command", "args", "env"}
        assert (entry["command"], entry["args"], entry["env"]["TOOLPRESS_DATA_DIR"]) == (command, plain, data_dir)

    user = setup(embedded, tmp_path, home, "--client", "claude-code", "platform", "--scope", "user", "--name", "tp")
    assert user.returncode == 0
    assert "claude mcp add --transport stdio --scope user" in user.stdout
    assert f" tp -- {command} mcp platform" in user.stdout


def test_platform_setup_merges_with_existing_servers_and_takes_email_and_name(
    embedded: Stack, greet: tuple[str, str], tmp_path: Path
) -> None:
    app_id, url = greet
    email = "platform-setup@example.com"
    embedded.cli("users", "create", email, "--password", "a-long-password")
    config = tmp_path / ".cursor" / "mcp.json"
    assert setup(embedded, tmp_path, tmp_path / "home", "--client", "cursor", app_id).returncode == 0

    result = setup(embedded, tmp_path, tmp_path / "home", "--client", "cursor", "platform", "--email", email,
                   "--read-only", "--name", "tp")
    assert result.returncode == 0, result.stderr
    assert "added server 'tp'" in result.stdout and "kept 1 other server(s): word_report" in result.stdout
    servers = json.loads(config.read_text())["mcpServers"]
    assert servers["word_report"] == {"url": url}
    assert servers["tp"]["args"] == ["mcp", "platform", "--email", email, "--read-only"]
    again = setup(embedded, tmp_path, tmp_path / "home", "--client", "cursor", "platform", "--email", email,
                  "--read-only", "--name", "tp")
    assert "already had server 'tp'" in again.stdout


def test_platform_setup_refuses_an_unknown_user_and_app_only_options(
    embedded: Stack, greet: tuple[str, str], tmp_path: Path
) -> None:
    unknown = setup(embedded, tmp_path, tmp_path / "home", "--client", "cursor", "platform", "--email", "nobody@x.org")
    assert unknown.returncode == 1 and "no user 'nobody@x.org'" in unknown.stderr
    with_url = setup(embedded, tmp_path, tmp_path / "home", "--client", "cursor", "platform", "--url", greet[1])
    assert with_url.returncode == 2 and "--url is for app servers" in with_url.stderr
    email_for_app = setup(embedded, tmp_path, tmp_path / "home", "--client", "cursor", greet[0], "--email", "a@b.c")
    assert email_for_app.returncode == 2 and "for the platform server" in email_for_app.stderr
    assert not (tmp_path / ".cursor").exists()


def test_platform_setup_leaves_secrets_out_of_the_config(embedded: Stack, tmp_path: Path) -> None:
    secret = "s3cr3t-key-" + "x" * 32
    result = subprocess.run(
        [str(BIN / "toolpress"), "mcp", "setup", "--client", "cursor", "platform"],
        env={**embedded.env, "HOME": str(tmp_path / "home"), "TOOLPRESS_SECRET_KEY": secret,
             "TOOLPRESS_LIMITS_URL": "redis://:hunter22@127.0.0.1:6379/9"},
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / ".cursor" / "mcp.json").read_text()
    assert secret not in text and "hunter22" not in text
    assert "TOOLPRESS_LIMITS_URL, TOOLPRESS_SECRET_KEY" in result.stderr
    assert secret not in result.stderr + result.stdout and "hunter22" not in result.stderr + result.stdout


@pytest.mark.anyio
async def test_the_written_cursor_entry_starts_a_working_platform_server(
    embedded: Stack, greet: tuple[str, str], tmp_path: Path
) -> None:
    result = setup(embedded, tmp_path, tmp_path / "home", "--client", "cursor", "platform", "--read-only")
    assert result.returncode == 0, result.stderr
    entry = json.loads((tmp_path / ".cursor" / "mcp.json").read_text())["mcpServers"]["toolpress"]
    elsewhere = tmp_path / "client-cwd"
    elsewhere.mkdir()
    server = StdioServerParameters(command=entry["command"], args=entry["args"],
                                   env={**platform_env(tmp_path / "home"), **entry["env"]}, cwd=elsewhere)
    async with Client(server) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        listed = await client.call_tool("list_apps", {})
    assert "list_apps" in names
    assert "publish_app" not in names  # --read-only was written into the entry
    assert listed.is_error is False
    assert greet[0] in json.dumps(listed.structured_content if listed.structured_content is not None
                                  else [c.text for c in listed.content])


def _owner_with_toolkit(stack: Stack) -> tuple[dict[str, str], int, dict]:
    """A user (REST headers) with the fixture app published and a toolkit of it switched on."""
    with httpx.Client(base_url=stack.base_url, timeout=30) as api:
        email = f"kit-{uuid.uuid4().hex[:10]}@example.com"
        api.post("/api/auth/signup", json={"email": email, "password": "long enough pw"}).raise_for_status()
        login = api.post("/api/auth/login", json={"email": email, "password": "long enough pw"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        app = api.post("/api/apps", json={"yaml": (FIXTURES / "three_steps.yaml").read_text()}, headers=headers)
        app.raise_for_status()
        app_id = app.json()["id"]
        api.post(f"/api/apps/{app_id}/publish", headers=headers).raise_for_status()
        kit = api.post("/api/toolkits", json={"name": f"Word kit {uuid.uuid4().hex[:4]}", "app_ids": [app_id]},
                       headers=headers)
        kit.raise_for_status()
        enabled = api.post(f"/api/toolkits/{kit.json()['id']}/enable", headers=headers)
        enabled.raise_for_status()
    return headers, app_id, enabled.json()


def test_setup_and_stdio_take_a_toolkit(embedded: Stack, tmp_path: Path) -> None:
    _, _, kit = _owner_with_toolkit(embedded)
    slug = kit["name"].lower().replace(" ", "-")
    result = setup(embedded, tmp_path, tmp_path / "home", "--client", "cursor", f"toolkit:{kit['id']}")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / ".cursor" / "mcp.json").read_text()) == {"mcpServers": {slug: {"url": kit["url"]}}}
    by_name = setup(embedded, tmp_path, tmp_path / "home", "--client", "vscode", f"toolkit:{kit['name']}")
    assert by_name.returncode == 0, by_name.stderr
    assert json.loads((tmp_path / ".vscode" / "mcp.json").read_text())["servers"][slug]["url"] == kit["url"]
    missing = setup(embedded, tmp_path, tmp_path / "home", "--client", "cursor", "toolkit:no such kit")
    assert missing.returncode == 1 and "no toolkit 'no such kit'" in missing.stderr

    async def through_bridge() -> list[str]:
        bridge = StdioServerParameters(command=str(BIN / "toolpress"), args=["mcp", "stdio", f"toolkit:{kit['id']}"],
                                       env=embedded.env)
        async with Client(bridge) as client:
            return [t.name for t in (await client.list_tools()).tools]

    assert anyio.run(through_bridge) == ["word_report"]


def test_the_stdio_bridge_sends_a_token_to_a_token_url(embedded: Stack) -> None:
    headers, app_id, _ = _owner_with_toolkit(embedded)
    with httpx.Client(base_url=embedded.base_url, headers=headers, timeout=30) as api:
        api.post(f"/api/apps/{app_id}/mcp/enable").raise_for_status()
        created = api.post(f"/api/apps/{app_id}/mcp/tokens", json={"name": "bridge"}).json()
        token_url = api.get(f"/api/apps/{app_id}/mcp/tokens").json()["url"]

    async def call(token: str) -> object:
        bridge = StdioServerParameters(command=str(BIN / "toolpress"), args=["mcp", "stdio", "--url", token_url],
                                       env={**embedded.env, "TOOLPRESS_MCP_TOKEN": token})
        async with Client(bridge) as client:
            return await client.call_tool("word_report", {"text": "green tea"})

    result = anyio.run(call, created["token"])
    assert result.is_error is False and result.structured_content["words"] == 2  # type: ignore[attr-defined]
    refused = subprocess.run(
        [str(BIN / "toolpress"), "mcp", "stdio", "--url", token_url], env={**embedded.env, "TOOLPRESS_MCP_TOKEN": "wrong"},
        capture_output=True, text=True, timeout=60, input="",
    )
    assert refused.returncode == 1 and "cannot connect" in refused.stderr


def test_the_stdio_bridge_names_the_address_that_refused_it_and_logs_no_requests(
    embedded: Stack, greet: tuple[str, str]
) -> None:
    port = free_port()
    refused = subprocess.run(
        [str(BIN / "toolpress"), "mcp", "stdio", "--url", f"http://127.0.0.1:{port}/mcp/x/mcp"], env=embedded.env,
        capture_output=True, text=True, timeout=60, input="",
    )
    assert refused.returncode == 1
    assert f"connection refused on 127.0.0.1:{port}" in refused.stderr
    assert "ExceptionGroup" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1

    async def list_through_bridge() -> list[str]:
        bridge = StdioServerParameters(command=str(BIN / "toolpress"), args=["mcp", "stdio", greet[0]], env=embedded.env,
                                       cwd=str(embedded.workdir))
        with (embedded.workdir / "bridge-stderr.log").open("w") as errlog:
            async with Client(stdio_client(bridge, errlog=errlog)) as client:
                return [tool.name for tool in (await client.list_tools()).tools]

    assert anyio.run(list_through_bridge) == ["word_report"]
    logged = (embedded.workdir / "bridge-stderr.log").read_text()
    assert "HTTP Request" not in logged and " INFO " not in logged, logged
