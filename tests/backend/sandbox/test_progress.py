"""A sandbox process's progress messages: every step goes out once and in order; the one that completes the count
travels in the job's outcome message, unless something else has to go out first."""

from __future__ import annotations

from typing import Any

from backend.sandbox.progress import HeldProgress, carried


def _sent() -> tuple[HeldProgress, list[dict[str, Any]]]:
    return HeldProgress(), []


def test_steps_before_the_last_go_out_at_once_and_the_last_goes_with_the_outcome() -> None:
    held, sent = _sent()
    held.step(1, 2, "step 1/2: a", sent.append)
    held.step(2, 2, "step 2/2: b", sent.append)
    assert [(m["done"], m["total"]) for m in sent] == [(1, 2)]
    outcome = held.into({"type": "done", "outputs": {"text": "b"}})
    assert outcome["progress"] == {"done": 2, "total": 2, "message": "step 2/2: b"} and outcome["outputs"] == {"text": "b"}
    assert carried(outcome) == (2, 2, "step 2/2: b")


def test_a_held_step_goes_out_before_anything_else_that_goes_out() -> None:
    held, sent = _sent()
    held.step(1, 1, "step 1/1: a", sent.append)
    held.before(sent.append)  # a log line, say, is about to be sent
    held.step(2, 3, "step 2/3: b", sent.append)  # the count grew after all
    assert [(m["type"], m["done"], m["total"]) for m in sent] == [("progress", 1, 1), ("progress", 2, 3)]
    assert held.into({"type": "done"}) == {"type": "done"}


def test_an_outcome_without_a_well_formed_step_carries_none() -> None:
    assert carried({"type": "done"}) is None
    for bad in ({"done": "2", "total": 2}, {"done": 2, "total": None}, {"done": True, "total": 1}, "2/2",
                {"done": 1, "total": 1, "message": ["x"]}):
        assert carried({"type": "done", "progress": bad}) is None
