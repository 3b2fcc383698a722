"""Fixtures of the access tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from support.stack import Stack


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client on the stack's API."""
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        yield client
