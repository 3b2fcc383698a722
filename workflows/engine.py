"""The executor: runs an app's steps in order, reports progress, honours cancellation."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from workflows.errors import NodeError, NodeFailure, RunCancelled
from workflows.nodes import NodeContext, get_node_type
from workflows.outputs import evaluate_outputs
from workflows.results import ProgressEvent, RunResult, StepTrace
from workflows.spec import AppSpec, StepSpec
from workflows.templating import describe_error

__all__ = ["execute"]

ProgressCallback = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]


def _now() -> datetime:
    return datetime.now(UTC)


def _skipped(steps: list[StepSpec]) -> list[StepTrace]:
    return [StepTrace(step_id=s.id, type=s.type, status="skipped") for s in steps]


def _json_safe(result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise NodeFailure(f"node returned {type(result).__name__}, expected a mapping")
    try:
        safe: dict[str, Any] = json.loads(json.dumps(result, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise NodeFailure(f"node result is not JSON-serialisable: {exc}") from None
    return safe


def _run_step(step: StepSpec, ctx: NodeContext, trace: StepTrace) -> dict[str, Any]:
    node_type = get_node_type(step.type)
    if node_type is None:
        raise NodeFailure(f"unknown step type '{step.type}'")
    try:
        config = node_type.Config.model_validate(step.config)
    except ValidationError as exc:
        raise NodeFailure(f"invalid step config: {exc.errors()[0]['msg']}") from None
    trace.input = config.model_dump(mode="json")
    return _json_safe(node_type().run(config, ctx))


def _fail(trace: StepTrace, started: float, message: str) -> None:
    trace.status = "failed"
    trace.error = message
    trace.ended_at = _now()
    trace.duration_ms = round((time.perf_counter() - started) * 1000, 3)


def execute(
    spec: AppSpec,
    inputs: Mapping[str, Any],
    *,
    on_progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    context: Mapping[str, Any] | None = None,
) -> RunResult:
    """Run the steps in order and return typed outputs; raise NodeError or RunCancelled."""
    values: dict[str, Any] = {f.name: copy.deepcopy(f.default) for f in spec.inputs}
    values.update(inputs)
    results: dict[str, dict[str, Any]] = {}
    run_context = dict(context or {})
    trace: list[StepTrace] = []
    total = len(spec.steps)
    for index, step in enumerate(spec.steps):
        if should_cancel is not None and should_cancel():
            raise RunCancelled(f"run cancelled before step '{step.id}'",
                               trace=trace + _skipped(spec.steps[index:]))
        entry = StepTrace(step_id=step.id, type=step.type, status="succeeded", started_at=_now())
        trace.append(entry)
        started = time.perf_counter()
        ctx = NodeContext(step_id=step.id, inputs=values, steps=results, context=run_context)
        try:
            output = _run_step(step, ctx, entry)
        except Exception as exc:  # noqa: BLE001 - a node's failure becomes a clean NodeError
            reason = exc.reason if isinstance(exc, NodeFailure) else describe_error(exc)
            message = f"step '{step.id}' ({step.type}) failed: {reason}"
            _fail(entry, started, message)
            raise NodeError(step.id, message, trace=trace + _skipped(spec.steps[index + 1:])) from None
        entry.output = output
        entry.ended_at = _now()
        entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        results[step.id] = output
        if on_progress is not None:
            label = step.title or step.id
            on_progress(ProgressEvent(done=index + 1, total=total,
                                      message=f"step {index + 1}/{total}: {label}", step_id=step.id))
    try:
        outputs = evaluate_outputs(spec, {"inputs": values, "steps": results, "context": run_context})
    except NodeFailure as exc:
        raise NodeError("outputs", f"outputs failed: {exc.reason}", trace=trace) from None
    return RunResult(outputs=outputs, trace=trace)
