"""/healthz, /readyz and /metrics over HTTP on live stacks, and the per-call log line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families

from support.stack import BIN, Stack, _base_env, create_database, drop_database, free_port, stop_stack, wait_until

pytestmark = pytest.mark.anyio


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    out: dict[tuple[str, frozenset], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def _value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def test_healthz_says_the_process_is_up(stack: Stack) -> None:
    response = httpx.get(f"{stack.base_url}/healthz", timeout=5)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_checks_database_migrations_and_broker(stack: Stack) -> None:
    response = httpx.get(f"{stack.base_url}/readyz", timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert body["checks"]["database"]["ok"] is True and body["checks"]["database"]["revision"]
    assert body["checks"]["broker"] == {"ok": True, "transport": "memory" if stack.name == "embedded" else "redis"}
    workers = body["checks"]["workers"]
    assert workers["ok"] is True and workers["alive"] >= 1
    assert all(name.startswith("embedded-" if stack.name == "embedded" else "toolpress-") for name in workers["names"])


async def test_metrics_count_calls_errors_and_durations_per_app(stack: Stack) -> None:
    good_app, good_url = stack.publish_and_enable("three_steps.yaml")
    bad_app, bad_url = stack.publish_and_enable("failing.yaml")
    async with Client(good_url, mode="legacy") as client:
        for _ in range(2):
            assert (await client.call_tool("word_report", {"text": "a b"})).is_error is False
    async with Client(bad_url, mode="legacy") as client:
        tool = (await client.list_tools()).tools[0].name
        failed = await client.call_tool(tool, {"key": "x"})
    assert failed.is_error is True

    response = httpx.get(f"{stack.base_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert _value(samples, "toolpress_calls_total", app_id=good_app, status="succeeded") == 2
    assert _value(samples, "toolpress_calls_total", app_id=bad_app, status="failed") == 1
    assert _value(samples, "toolpress_call_errors_total", app_id=bad_app) == 1
    assert _value(samples, "toolpress_call_errors_total", app_id=good_app) is None
    assert _value(samples, "toolpress_call_duration_seconds_count", app_id=good_app) == 2
    assert _value(samples, "toolpress_call_duration_seconds_sum", app_id=good_app) > 0
    assert _value(samples, "toolpress_runs_in_flight", status="running") is not None
    assert _value(samples, "toolpress_runs_in_flight", status="queued") is not None
    # a stream the client has closed ends on the server once it notices the disconnect: wait for that, not a clock
    wait_until(lambda: _value(_samples(httpx.get(f"{stack.base_url}/metrics", timeout=10).text),
                              "toolpress_mcp_open_streams") == 0, 10, "the closed clients' streams to end")
    depth = _value(samples, "toolpress_queue_depth", queue=stack.env.get("TOOLPRESS_QUEUE", "toolpress"))
    if stack.name == "embedded":
        assert depth is None  # the in-memory queue is not measured
    else:
        assert depth == 0


async def test_one_log_line_per_call_and_no_secret_in_logs(stack: Stack) -> None:
    app_id, url = stack.publish_and_enable("three_steps.yaml")
    secret = url.split("/mcp/", 1)[1].removesuffix("/mcp")
    async with Client(url, mode="2026-07-28") as client:
        assert (await client.call_tool("word_report", {"text": "log me"})).is_error is False
    wait_until(lambda: f"app={app_id} status=succeeded" in stack.logs(), 10, "the per-call log line")
    lines = [line for line in stack.logs().splitlines() if f"app={app_id} " in line and "call finished" in line]
    assert len(lines) == 1, lines
    assert "run=" in lines[0] and "duration_ms=" in lines[0]
    assert secret not in stack.logs()


def test_readyz_names_the_unreachable_broker_and_stale_schema(tmp_path: Path) -> None:
    """An API whose broker is down answers 503 naming it; a database behind on migrations is named too."""
    port, dead = free_port(), free_port()
    env = _base_env(tmp_path, port)
    env.update(TOOLPRESS_BROKER_URL=f"redis://127.0.0.1:{dead}/0", TOOLPRESS_EMBEDDED_WORKER="false",
               TOOLPRESS_LOAD_EXAMPLES="false", TOOLPRESS_READINESS_TIMEOUT_SECONDS="1")
    stack = Stack("dead-broker", f"http://127.0.0.1:{port}", env, tmp_path)
    try:
        stack.start_api(port)
        response = httpx.get(f"{stack.base_url}/readyz", timeout=10)
        assert response.status_code == 503
        body = response.json()
        # no worker could start without a broker either: both are named
        assert body["status"] == "unavailable" and body["failed"] == ["broker", "workers"]
        assert body["checks"]["database"]["ok"] is True
        assert "no worker is alive" in body["checks"]["workers"]["error"]
        assert body["checks"]["broker"]["ok"] is False and "Connection" in body["checks"]["broker"]["error"]
        metrics = httpx.get(f"{stack.base_url}/metrics", timeout=10)
        assert metrics.status_code == 200
        assert _value(_samples(metrics.text), "toolpress_queue_depth", queue="toolpress") == -1
    finally:
        stop_stack(stack)

    from backend.api.routes.ops import check_database
    from backend.core.settings import Settings

    url = create_database()
    try:
        result = check_database(Settings(database_url=url, data_dir=tmp_path))
        assert result["ok"] is False and "toolpress db upgrade" in result["error"] and result["current"] == []
        subprocess.run([str(BIN / "toolpress"), "db", "upgrade"], env={**env, "TOOLPRESS_DATABASE_URL": url},
                       check=True, capture_output=True, timeout=60)
        assert check_database(Settings(database_url=url, data_dir=tmp_path))["ok"] is True
    finally:
        drop_database(url)


def test_json_log_format_writes_one_object_per_line(tmp_path: Path) -> None:
    import anyio

    port = free_port()
    env = _base_env(tmp_path, port)
    env.update(TOOLPRESS_LOG_FORMAT="json", TOOLPRESS_LOAD_EXAMPLES="false")
    stack = Stack("json-logs", f"http://127.0.0.1:{port}", env, tmp_path)
    try:
        stack.start_api(port)
        app_id, url = stack.publish_and_enable("three_steps.yaml")
        secret = url.split("/mcp/", 1)[1].removesuffix("/mcp")

        async def call() -> None:
            async with Client(url, mode="legacy") as client:
                assert (await client.call_tool("word_report", {"text": "json"})).is_error is False

        anyio.run(call)
        wait_until(lambda: '"duration_ms"' in stack.logs(), 10, "the per-call log line")
        entries = []
        for line in stack.logs().splitlines():
            if not line.strip() or line.startswith("Toolpress on http"):  # the CLI's banner is a print
                continue
            entries.append(json.loads(line))
        assert {"ts", "level", "logger", "message"} <= set(entries[0])
        calls = [e for e in entries if e.get("run_id") and e.get("duration_ms") is not None]
        assert len(calls) == 1
        assert calls[0]["app_id"] == int(app_id) and calls[0]["status"] == "succeeded"
        assert any("POST /mcp/[redacted]" in e["message"] for e in entries)
        assert secret not in stack.logs()
    finally:
        stop_stack(stack)
