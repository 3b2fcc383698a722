"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.stack import Stack, running, start_embedded, start_production


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
