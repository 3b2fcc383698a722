"""The MCP Inspector CLI (a real third-party client on Node 22) against the URL the CLI prints."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from support.stack import REPO, Stack

NODE_BIN = REPO / "node_modules" / ".bin"


def run_inspector(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `mcp-inspector --cli ARGS` with the project's Node 22 first on PATH."""
    exe = NODE_BIN / "mcp-inspector"
    if not exe.exists():
        pytest.fail("the MCP Inspector is not installed: run `npm install` in the repository (the README's test command does)")
    env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([str(exe), "--cli", *args], env=env, capture_output=True, text=True, timeout=120)


def inspector(*args: str) -> dict:
    """Run the Inspector CLI; return its JSON output (it must succeed)."""
    result = run_inspector(*args)
    assert result.returncode == 0, f"inspector failed:\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def url(stack: Stack) -> str:
    """The URL `toolpress mcp enable` printed for the three-step fixture app."""
    return stack.publish_and_enable("three_steps.yaml")[1]


def test_the_inspector_lists_the_app_as_one_tool(url: str) -> None:
    listing = inspector(url, "--transport", "http", "--method", "tools/list")
    assert [tool["name"] for tool in listing["tools"]] == ["word_report"]
    assert listing["tools"][0]["inputSchema"]["required"] == ["text"]


def test_the_inspector_calls_the_tool_and_gets_its_result(url: str) -> None:
    result = inspector(
        url, "--transport", "http", "--method", "tools/call", "--tool-name", "word_report", "--tool-arg", "text=Hello inspector"
    )
    assert result.get("isError") in (None, False)
    assert result["structuredContent"] == {"words": 2, "report": "report: 2 words in 'hello inspector'"}


def test_strict_schema_portability_check_passes_for_every_input_type(stack: Stack) -> None:
    """`--strict` reports tool-schema portability problems; the schemas Toolpress exports have none."""
    url = stack.publish_and_enable("all_types.yaml")[1]
    result = run_inspector(url, "--transport", "http", "--method", "tools/list", "--strict")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert [tool["name"] for tool in json.loads(result.stdout)["tools"]] == ["all_types"]
