"""backend.core.later: deferred callbacks on one shared thread."""

from __future__ import annotations

import threading

from backend.core.later import Later


def test_callbacks_run_once_each_in_the_order_they_fall_due_on_one_thread() -> None:
    later = Later()
    ran: list[tuple[str, str]] = []
    all_ran = threading.Event()

    def note(name: str) -> None:
        ran.append((name, threading.current_thread().name))
        if len(ran) == 3:
            all_ran.set()

    later.call_in(0.3, lambda: note("last"))
    later.call_in(0.0, lambda: note("first"))
    later.call_in(0.1, lambda: note("second"))
    assert all_ran.wait(10)
    assert [name for name, _ in ran] == ["first", "second", "last"]
    assert {thread for _, thread in ran} == {"toolpress-later"}


def test_a_callback_that_raises_does_not_stop_the_others() -> None:
    later = Later()
    after = threading.Event()

    def fail() -> None:
        raise RuntimeError("boom")

    later.call_in(0.0, fail)
    later.call_in(0.05, after.set)
    assert after.wait(10)
    # and the thread is still there for more
    again = threading.Event()
    later.call_in(0.0, again.set)
    assert again.wait(10)
