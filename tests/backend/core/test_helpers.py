"""Helper tasks of a request (backend.core.helpers): they run beside it, a failure is logged, the rest is cancelled."""

from __future__ import annotations

import asyncio
import logging

import pytest

from backend.core.helpers import Helpers

pytestmark = pytest.mark.anyio


async def test_helpers_run_beside_the_request_and_are_cancelled_when_it_ends() -> None:
    helpers = Helpers("test request")
    started, finished = asyncio.Event(), asyncio.Event()
    cancelled: list[str] = []

    async def waits_for_ever(name: str) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    async def returns() -> None:
        finished.set()

    helpers.start(waits_for_ever("first"))
    helpers.start(returns())
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(finished.wait(), 5)
    helpers.cancel()
    for _ in range(3):
        await asyncio.sleep(0)
    assert cancelled == ["first"]
    assert not helpers._running  # both have ended and are no longer held


async def test_a_failing_helper_is_logged_and_leaves_the_others_running(caplog: pytest.LogCaptureFixture) -> None:
    helpers = Helpers("test request")
    other = asyncio.Event()

    async def fails() -> None:
        raise RuntimeError("the helper broke")

    async def goes_on() -> None:
        await asyncio.sleep(0.05)
        other.set()

    with caplog.at_level(logging.ERROR, logger="backend.core.helpers"):
        helpers.start(fails())
        helpers.start(goes_on())
        await asyncio.wait_for(other.wait(), 5)
    failures = [r for r in caplog.records if "a helper task of a test request failed" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None and "the helper broke" in str(failures[0].exc_info[1])
