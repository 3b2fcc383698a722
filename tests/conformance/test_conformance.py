"""The official MCP conformance suite (npm `@modelcontextprotocol/conformance`) against a live Toolpress.

Toolpress serves one app per URL, and each tool scenario calls one tool by name, so every scenario gets
the URL of a fixture app (Toolpress YAML under `fixtures/`) whose tool has the name the scenario expects;
the prompt, resource and completion scenarios share one app that declares all of them. Every server
scenario of the suite must pass: a scenario added by a new release of the suite fails the coverage test
until it has a fixture here.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.apps import ApiUser
from support.stack import REPO, Stack, start_embedded, stop_stack

NODE_BIN = REPO / "node_modules" / ".bin"
FIXTURES = Path(__file__).parent / "fixtures"

# scenario -> fixture app whose URL it runs against
PASSING: dict[str, str] = {
    "server-initialize": "simple_text",
    "ping": "simple_text",
    "tools-list": "simple_text",
    "server-sse-multiple-streams": "simple_text",
    "dns-rebinding-protection": "simple_text",
    "tools-call-simple-text": "simple_text",
    "tools-call-error": "error_handling",
    "tools-call-with-progress": "with_progress",
    "json-schema-2020-12": "json_schema_2020_12",
    "logging-set-level": "simple_text",
    "tools-call-with-logging": "with_logging",
    "prompts-list": "prompts_and_resources",
    "prompts-get-simple": "prompts_and_resources",
    "prompts-get-with-args": "prompts_and_resources",
    "prompts-get-embedded-resource": "prompts_and_resources",
    "prompts-get-with-image": "prompts_and_resources",
    "resources-list": "prompts_and_resources",
    "resources-read-text": "prompts_and_resources",
    "resources-read-binary": "prompts_and_resources",
    "resources-templates-read": "prompts_and_resources",
    "resources-subscribe": "prompts_and_resources",
    "resources-unsubscribe": "prompts_and_resources",
    "completion-complete": "prompts_and_resources",
    "tools-call-image": "image_content",
    "tools-call-audio": "audio_content",
    "tools-call-embedded-resource": "embedded_resource",
    "tools-call-mixed-content": "mixed_content",
    "server-sse-polling": "reconnection",
    "tools-call-elicitation": "elicitation",
    "elicitation-sep1034-defaults": "elicitation_defaults",
    "elicitation-sep1330-enums": "elicitation_enums",
    "tools-call-sampling": "sampling",
}

# The first scenario's time includes starting the module's stack and publishing its fixture apps (pytest-timeout
# counts fixtures): on a loaded machine that plus one CLI run (up to 180 s) can outgrow the suite's 120 s default.
pytestmark = pytest.mark.timeout(400)


def conformance(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the conformance CLI with the project's Node 22 first on PATH."""
    exe = NODE_BIN / "conformance"
    if not exe.exists():
        pytest.fail("the conformance suite is not installed: run `npm install` in the repository (./scripts/test does)")
    env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([str(exe), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180)


def run_scenario(url: str, scenario: str, out: Path) -> tuple[int, list[dict]]:
    """Run one server scenario; return the exit code and its checks."""
    target = out / scenario
    out.mkdir(parents=True, exist_ok=True)
    result = conformance("server", "--url", url, "--scenario", scenario, "--output-dir", str(target), cwd=out)
    files = list(target.glob("*/checks.json"))
    assert files, f"no results for {scenario}:\n{result.stdout}\n{result.stderr}"
    return result.returncode, json.loads(files[0].read_text())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, dict[str, str], Path]]:
    """A live embedded Toolpress with every fixture app published and enabled: (stack, fixture -> URL, out dir)."""
    workdir = tmp_path_factory.mktemp("conformance")
    # streams close after 4 s for polling: the reconnection app's call (6 s) is resumed once, the others end sooner
    stack = start_embedded(workdir, stream_poll_seconds="4")
    try:
        builder = ApiUser(stack.base_url)  # through the REST API: a CLI process per step would take a minute
        try:
            urls = {fixture.stem: builder.publish(fixture.read_text())[1] for fixture in sorted(FIXTURES.glob("*.yaml"))}
        finally:
            builder.close()
        out = workdir / "results"
        out.mkdir()
        yield stack, urls, out
    finally:
        stop_stack(stack)


def _summary(checks: list[dict]) -> str:
    return "\n".join(f"{c['status']:8} {c['id']}: {c.get('errorMessage') or ''}" for c in checks)


def test_every_server_scenario_has_a_fixture_and_is_run(tmp_path: Path) -> None:
    listing = conformance("list", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    server_part = listing.stdout.split("Client scenarios")[0]
    scenarios = {line.strip()[2:].split(" ")[0] for line in server_part.splitlines() if line.strip().startswith("- ")}
    assert scenarios, listing.stdout
    assert scenarios == set(PASSING)


@pytest.mark.parametrize("scenario", sorted(PASSING))
def test_scenario_passes(served: tuple[Stack, dict[str, str], Path], scenario: str) -> None:
    _, urls, out = served
    code, checks = run_scenario(urls[PASSING[scenario]], scenario, out)
    assert checks, scenario
    assert all(c["status"] in ("SUCCESS", "INFO") for c in checks), _summary(checks)
    assert any(c["status"] == "SUCCESS" for c in checks), _summary(checks)
    assert code == 0, _summary(checks)
