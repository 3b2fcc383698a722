"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from support.stack import Stack, running, start_embedded, start_production

_DATA_HOME = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Point the per-user data folder (and the setting) at a temporary folder: tests never touch the real one."""
    home = tempfile.mkdtemp(prefix="toolpress-test-data-")
    config.stash[_DATA_HOME] = home
    os.environ["XDG_DATA_HOME"] = home
    os.environ["TOOLPRESS_DATA_DIR"] = os.path.join(home, "toolpress")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the temporary data folder."""
    home = config.stash.get(_DATA_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the server's loop too)."""
    return "asyncio"


@pytest.fixture(scope="session", params=["embedded", "redis-postgres"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A live Toolpress: the embedded default, and PostgreSQL + Redis + a separate Celery worker."""
    workdir = tmp_path_factory.mktemp(request.param)
    with running(start_embedded(workdir) if request.param == "embedded" else start_production(workdir)) as started:
        yield started
