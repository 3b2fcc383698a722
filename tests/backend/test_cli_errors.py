"""The CLI from any folder: one per-user data folder by default, and errors as one line saying what to do."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from support.stack import BIN, REPO

GREETER = REPO / "workflows" / "examples" / "greeter.yaml"


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no TOOLPRESS_* settings and a per-user data folder (XDG_DATA_HOME) of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLPRESS_")}
    env.update(XDG_DATA_HOME=str(tmp_path / "xdg"), TOOLPRESS_LOAD_EXAMPLES="false")
    return env


def toolpress(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`toolpress ARGS` run in `cwd` (never the repository)."""
    assert REPO != cwd and REPO not in cwd.parents
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run([str(BIN / "toolpress"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The error a failed command printed, checked to be a single line and no traceback."""
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_every_folder_sees_the_same_data_in_the_per_user_folder(user_env: dict[str, str], tmp_path: Path) -> None:
    assert toolpress(user_env, tmp_path / "a", "db", "upgrade").returncode == 0
    imported = toolpress(user_env, tmp_path / "b", "apps", "import", str(GREETER))
    assert imported.returncode == 0, imported.stderr
    listed = toolpress(user_env, tmp_path / "a", "apps", "list")
    assert "Greeter" in listed.stdout
    assert (tmp_path / "xdg" / "toolpress" / "toolpress.db").is_file()
    assert not (tmp_path / "a" / ".toolpress").exists() and not (tmp_path / "b" / ".toolpress").exists()


def test_the_data_dir_setting_overrides_the_per_user_folder(user_env: dict[str, str], tmp_path: Path) -> None:
    env = {**user_env, "TOOLPRESS_DATA_DIR": str(tmp_path / "elsewhere")}
    assert toolpress(env, tmp_path / "a", "db", "upgrade").returncode == 0
    assert (tmp_path / "elsewhere" / "toolpress.db").is_file()
    assert not (tmp_path / "xdg").exists()


def test_a_database_never_set_up_says_how_to_set_it_up(user_env: dict[str, str], tmp_path: Path) -> None:
    for args in (("apps", "list"), ("mcp", "setup", "--client", "cursor", "Greeter"), ("mcp", "url", "1")):
        error = one_line_error(toolpress(user_env, tmp_path / "project", *args))
        assert "toolpress db upgrade" in error


def test_an_unreachable_database_is_named_without_its_password(user_env: dict[str, str], tmp_path: Path) -> None:
    env = {**user_env, "TOOLPRESS_DATABASE_URL": "postgresql+psycopg://toolpress:hunter2secret@127.0.0.1:1/toolpress"}
    error = one_line_error(toolpress(env, tmp_path, "apps", "list"))
    assert "127.0.0.1:1" in error and "TOOLPRESS_DATABASE_URL" in error
    assert "hunter2secret" not in error


def test_invalid_settings_and_unknown_apps_are_one_line(user_env: dict[str, str], tmp_path: Path) -> None:
    error = one_line_error(toolpress({**user_env, "TOOLPRESS_PORT": "eighty"}, tmp_path, "apps", "list"))
    assert "TOOLPRESS_PORT" in error
    assert toolpress(user_env, tmp_path, "db", "upgrade").returncode == 0
    assert "no app 'Nope'" in one_line_error(toolpress(user_env, tmp_path, "mcp", "url", "Nope"))
    assert "missing.yaml: no such file" in one_line_error(toolpress(user_env, tmp_path, "apps", "import", "missing.yaml"))
