"""The ``map`` node: run a sub-sequence of steps once per list item, a few items at a time."""

from __future__ import annotations

import builtins
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, ClassVar

from pydantic import Field

from workflows.errors import NodeError, NodeFailure, RunCancelled, RunTimedOut
from workflows.nodes.base import Children, Node, NodeConfig, NodeContext
from workflows.results import StepTrace
from workflows.spec import StepSpec

__all__ = ["MAX_CONCURRENCY", "MAX_ITEMS", "MapConfig", "MapNode"]

MAX_CONCURRENCY = 16
MAX_ITEMS = 10_000


class MapConfig(NodeConfig):
    """Fields of a map step."""

    items: Any = Field(description="A list, usually one reference such as {{ steps.fetch.json.results }}.")
    steps: list[StepSpec] = Field(min_length=1, description="Steps run per item; they see item and index.")
    concurrency: int = Field(default=4, ge=1, le=MAX_CONCURRENCY, description="Items run at the same time.")
    max_items: int = Field(default=1000, ge=1, le=MAX_ITEMS, description="Longer lists fail the step.")


class MapNode(Node[MapConfig]):
    """Run the same steps for every item of a list, with bounded concurrency.

    Each item runs the nested steps in its own scope: they see ``item`` and ``index``
    (0-based) plus everything visible before the map, and results never leak between
    items. Items run on a thread pool of ``concurrency`` workers because the steps worth
    mapping wait on I/O (HTTP, LLM); the first failing item stops new items from starting
    and fails the map naming the item. Progress counts items: the item count is added to
    the run's ``total`` when the list is known and each finished item reports once;
    nested steps do not report. Per-item traces are appended in item order with
    ``parent = "<map id>[<index>]"``. Result: ``items`` (the last nested step's result for
    each item, in order) and ``count``. An ``output`` step inside a map is rejected.
    """

    type: ClassVar[str] = "map"
    description: ClassVar[str] = "Run steps for each item of a list (bounded concurrency)."
    Config: ClassVar[builtins.type[NodeConfig]] = MapConfig
    resolved_fields: ClassVar[tuple[str, ...]] = ("items",)
    result_fields: ClassVar[tuple[str, ...] | None] = ("items", "count")
    expected_types: ClassVar[dict[str, tuple[str, ...]]] = {"items": ("array",)}

    @classmethod
    def children(cls, config: NodeConfig) -> list[Children]:
        """Return the per-item steps; they may use ``item`` and ``index``."""
        assert isinstance(config, MapConfig)
        return [Children("steps", config.steps, ("item", "index"))]

    def run(self, config: MapConfig, ctx: NodeContext) -> dict[str, Any]:
        """Run the steps per item on a bounded thread pool; return the per-item results in order."""
        items = config.items
        if not isinstance(items, list):
            raise NodeFailure(f"'items' must be a list, got {type(items).__name__}")
        if len(items) > config.max_items:
            raise NodeFailure(f"'items' has {len(items)} entries, more than max_items ({config.max_items})")
        count = len(items)
        ctx.grow_total(count)
        results: list[Any] = [None] * count
        traces: list[list[StepTrace]] = [[] for _ in range(count)]
        stop = threading.Event()

        def one(index: int) -> None:
            if stop.is_set():
                return
            try:
                own = ctx.run_steps(config.steps, parent=f"{ctx.step_id}[{index}]",
                                    extras={"item": items[index], "index": index},
                                    emit_progress=False, trace=traces[index])
            except BaseException:
                stop.set()
                raise
            results[index] = next(reversed(own.values()), None) if own else None
            ctx.report(f"{ctx.step_id} item {index + 1}/{count}")

        failure: BaseException | None = None
        if count:
            with ThreadPoolExecutor(max_workers=min(config.concurrency, count),
                                    thread_name_prefix=f"toolpress-map-{ctx.step_id}") as pool:
                futures = [pool.submit(one, index) for index in range(count)]
                wait(futures, return_when=FIRST_EXCEPTION)
                stop.set()
            errors = [(i, f.exception()) for i, f in enumerate(futures) if f.exception() is not None]
            failure = errors[0][1] if errors else None
            failed_at = errors[0][0] if errors else -1
        sink = ctx.sink if ctx.sink is not None else getattr(ctx.runtime, "trace", None)
        if sink is not None:
            for item_trace in traces:
                sink.extend(item_trace)
        if isinstance(failure, (RunCancelled, RunTimedOut)):
            raise failure
        if isinstance(failure, NodeError):
            raise NodeFailure(f"item {failed_at}: {failure.message}")
        if failure is not None:
            raise failure
        return {"items": results, "count": count}
