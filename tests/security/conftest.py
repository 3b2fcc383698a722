"""One live embedded stack for the security suite, with no loopback allow-list."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.stack import Stack, free_port, running, start_production


def start_hardened(workdir: Path, **overrides: str) -> Stack:
    """`toolpress serve` (SQLite, in-memory broker, embedded worker) that lets apps reach no private address."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLPRESS_")}
    env.update(
        TOOLPRESS_DATA_DIR=str(workdir / "data"),
        TOOLPRESS_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TOOLPRESS_LOG_LEVEL="INFO",
        TOOLPRESS_LOAD_EXAMPLES="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    stack = Stack("embedded", f"http://127.0.0.1:{port}", env, workdir)
    stack.start_api(port)
    return stack


@pytest.fixture(scope="session")
def secure_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A live embedded Toolpress shared by the security tests (TOOLPRESS_HTTP_ALLOW is empty)."""
    with running(start_hardened(tmp_path_factory.mktemp("security"))) as stack:
        yield stack


@pytest.fixture(scope="module")
def api(secure_stack: Stack) -> Iterator[httpx.Client]:
    """One keep-alive HTTP client on the shared stack."""
    with httpx.Client(base_url=secure_stack.base_url, timeout=30) as client:
        yield client


# Behind a proxy at 127.0.0.1 (the tests play it, sending X-Forwarded-For), with a small per-address budget.
BEHIND_PROXY = {"trusted_proxies": '["127.0.0.1"]', "login_failures_per_address": "8"}


@pytest.fixture(scope="session")
def two_apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """PostgreSQL + Redis and two API processes (`stack.api`) behind a trusted proxy; no worker (nothing runs)."""
    with running(start_production(tmp_path_factory.mktemp("two-apis"), api_processes=2, workers=0, **BEHIND_PROXY)) as stack:
        yield stack
