"""Bounding a run's trace: oversized step payloads become markers, then the tail is cut."""

from __future__ import annotations

import json
from typing import Any

from workflows.results import StepTrace

__all__ = ["DEFAULT_TRACE_LIMIT", "TRUNCATED_STEP_ID", "limit_trace"]

DEFAULT_TRACE_LIMIT = 262_144  # bytes of JSON for all inputs/outputs/errors together
TRUNCATED_STEP_ID = "(trace truncated)"
_PREVIEW = 200
_ENTRY_OVERHEAD = 200  # ids, type, status, timestamps


def _size(value: Any) -> int:
    return 0 if value is None else len(json.dumps(value, ensure_ascii=False, default=str))


def _marker(value: Any, size: int) -> dict[str, Any]:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return {"truncated": True, "bytes": size, "preview": text[:_PREVIEW]}


def limit_trace(trace: list[StepTrace], limit: int) -> list[StepTrace]:
    """Return the trace within ``limit`` bytes: biggest payloads replaced by markers, then entries cut.

    A replaced payload reads ``{"truncated": true, "bytes": N, "preview": "…"}``; cut
    entries are summarised by one last entry with step_id ``(trace truncated)``.
    """
    slots: list[tuple[int, int, str]] = []  # (size, index, attribute)
    total = 0
    for index, entry in enumerate(trace):
        total += _ENTRY_OVERHEAD + len(entry.error or "")
        for attr in ("input", "output", "logs"):
            size = _size(getattr(entry, attr))
            total += size
            if size > _PREVIEW * 2:
                slots.append((size, index, attr))
    if total <= limit:
        return trace
    for size, index, attr in sorted(slots, reverse=True):
        if total <= limit:
            break
        setattr(trace[index], attr, _marker(getattr(trace[index], attr), size))
        total -= size - _PREVIEW * 2
    if total <= limit:
        return trace
    kept: list[StepTrace] = []
    used = 0
    for entry in trace:
        cost = _ENTRY_OVERHEAD + len(entry.error or "") + _size(entry.input) + _size(entry.output) + _size(entry.logs)
        if used + cost > limit - _ENTRY_OVERHEAD:
            break
        kept.append(entry)
        used += cost
    omitted = len(trace) - len(kept)
    kept.append(StepTrace(step_id=TRUNCATED_STEP_ID, type="marker", status="skipped",
                          error=f"{omitted} more trace entries omitted (trace limit {limit} bytes)"))
    return kept
