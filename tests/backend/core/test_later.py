"""backend.core.later: deferred callbacks on one shared thread."""

from __future__ import annotations

import threading
import time

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


def test_a_callback_due_before_the_one_the_thread_sleeps_until_runs_on_time() -> None:
    later = Later()
    later.call_in(3600, lambda: None)  # the thread now sleeps until this one
    soon = threading.Event()
    later.call_in(0.0, soon.set)
    assert soon.wait(10)


def test_a_cancelled_callback_never_runs_and_is_dropped_unrun() -> None:
    later = Later()
    ran: list[str] = []
    later.call_in(0.05, lambda: ran.append("cancelled")).cancel()
    kept = later.call_in(3600, lambda: ran.append("far off"))
    kept.cancel()
    done = threading.Event()
    later.call_in(0.1, done.set)
    assert done.wait(10)
    assert ran == []
    # the one far off is dropped once it comes to the front (the thread's next look), not kept until it falls due
    deadline = time.monotonic() + 10
    while later.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert later.pending() == 0
