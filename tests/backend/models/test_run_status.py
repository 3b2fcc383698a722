"""The run status state machine, over every (from, to) pair."""

from __future__ import annotations

import itertools

import pytest

from backend.models import ALLOWED_TRANSITIONS, TERMINAL_STATUSES, InvalidTransition, Run, RunStatus, apply_transition

EXPECTED_ALLOWED = {
    (RunStatus.queued, RunStatus.running),
    (RunStatus.queued, RunStatus.cancelled),
    (RunStatus.queued, RunStatus.failed),
    (RunStatus.running, RunStatus.succeeded),
    (RunStatus.running, RunStatus.failed),
    (RunStatus.running, RunStatus.cancelled),
    (RunStatus.running, RunStatus.queued),  # re-run of an idempotent app after its worker was lost
    (RunStatus.running, RunStatus.waiting_for_input),  # a step asks the caller: the run parks
    (RunStatus.waiting_for_input, RunStatus.queued),  # the answer came: any worker resumes it
    (RunStatus.waiting_for_input, RunStatus.failed),  # no answer in time
    (RunStatus.waiting_for_input, RunStatus.cancelled),
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(RunStatus, RunStatus)))
def test_each_transition_is_applied_or_refused_as_the_table_says(source: RunStatus, target: RunStatus) -> None:
    run = Run(app_id=1, status=source)
    if (source, target) in EXPECTED_ALLOWED:
        apply_transition(run, target)
        assert run.status is target
        assert (run.ended_at is not None) == (target in TERMINAL_STATUSES)
    else:
        with pytest.raises(InvalidTransition):
            apply_transition(run, target)
        assert run.status is source


def test_terminal_states_have_no_way_out() -> None:
    for status in TERMINAL_STATUSES:
        assert ALLOWED_TRANSITIONS[status] == frozenset()


def test_starting_a_run_stamps_its_start_time() -> None:
    run = Run(app_id=1)
    apply_transition(run, RunStatus.running)
    assert run.started_at is not None and run.ended_at is None
