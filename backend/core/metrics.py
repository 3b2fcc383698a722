"""Prometheus metrics of one API process: calls, errors and durations per app, and scrape-time gauges.

Counters and the duration histogram are per process (scrape every replica, as Prometheus does); the
in-flight runs and the queue depth are read from the database and the broker at scrape time, so every
replica reports the same deployment-wide value.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

logger = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

CALLS = Counter("toolpress_calls", "Finished tool calls, by app and final run status.", ["app_id", "status"], registry=REGISTRY)
ERRORS = Counter("toolpress_call_errors", "Tool calls that did not succeed, by app.", ["app_id"], registry=REGISTRY)
DURATION = Histogram(
    "toolpress_call_duration_seconds",
    "Wall time of a tool call as the API saw it (queue + run), by app.",
    ["app_id"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
IN_FLIGHT = Gauge("toolpress_runs_in_flight", "Runs not yet ended (all processes), by status.", ["status"], registry=REGISTRY)
QUEUE_DEPTH = Gauge("toolpress_queue_depth", "Messages waiting in the Celery queue (-1: unknown).", ["queue"], registry=REGISTRY)
MCP_STREAMS = Gauge("toolpress_mcp_open_streams", "MCP HTTP requests and streams open on this process.", registry=REGISTRY)


def observe_call(app_id: Any, status: str, seconds: float) -> None:
    """Count one finished call."""
    app = str(app_id)
    CALLS.labels(app_id=app, status=status).inc()
    if status != "succeeded":
        ERRORS.labels(app_id=app).inc()
    DURATION.labels(app_id=app).observe(seconds)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class McpStreamCounter:
    """ASGI middleware counting open HTTP requests (SSE streams included) under /mcp/."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or not scope.get("path", "").startswith("/mcp/"):
            await self.app(scope, receive, send)
            return
        MCP_STREAMS.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            MCP_STREAMS.dec()
