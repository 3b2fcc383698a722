"""Fixtures of the MCP endpoint tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.proxy import RoundRobin, round_robin
from support.stack import Stack, start_production, stop_stack


def _balanced(tmp_path_factory: pytest.TempPathFactory, workers: int) -> Iterator[tuple[Stack, str, RoundRobin]]:
    stack = start_production(Path(tmp_path_factory.mktemp("round-robin")), api_processes=2, workers=workers)
    try:
        with round_robin(list(stack.api)) as (url, balancer):
            yield stack, url, balancer
    finally:
        stop_stack(stack)


@pytest.fixture(scope="module")
def balanced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str, RoundRobin]]:
    """PostgreSQL + Redis, one worker, two API processes, and a round-robin balancer in front of them."""
    yield from _balanced(tmp_path_factory, workers=1)


@pytest.fixture(scope="module")
def two_by_two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str, RoundRobin]]:
    """The same with two workers (a run may park on one and resume on the other)."""
    yield from _balanced(tmp_path_factory, workers=2)
