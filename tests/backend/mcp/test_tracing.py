"""OpenTelemetry through its own start-up (`opentelemetry-instrument toolpress serve`): each MCP request has the SDK's
span, and no exported span or metric holds an MCP URL's secret."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from support.console import call, in_thread
from support.stack import BIN, Stack, _base_env, free_port, running, wait_until

# Spans printed to standard output as they end (a tenth of a second at most), metrics and logs not exported.
OTEL = {"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
        "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_SERVICE_NAME": "toolpress"}


def _instrumented(workdir: Path) -> tuple[Stack, Path]:
    """An embedded stack whose server runs under `opentelemetry-instrument`; the file its spans are printed to."""
    port = free_port()
    stack = Stack("embedded", f"http://127.0.0.1:{port}", {**_base_env(workdir, port), **OTEL}, workdir)
    spans, log = workdir / "spans.txt", workdir / "api.log"
    stack.log_files.append(log)
    with open(spans, "wb") as out, open(log, "wb") as err:
        stack.processes.append(subprocess.Popen(
            [str(BIN / "opentelemetry-instrument"), str(BIN / "toolpress"), "serve", "--port", str(port)],
            env=stack.env, cwd=workdir, stdout=out, stderr=err))
    return stack, spans


def test_an_instrumented_server_exports_the_call_span_and_never_the_url_secret(tmp_path: Path) -> None:
    stack, spans = _instrumented(tmp_path)
    with running(stack):
        wait_until(lambda: _healthy(stack), 90, "the instrumented server")
        _, url = stack.publish_and_enable("three_steps.yaml")
        result = in_thread(call, url, "word_report", {"text": "one two three"})
        assert not result.is_error, result.content
        wait_until(lambda: '"name": "tools/call word_report"' in spans.read_text(), 30, "the tools/call span")
        wait_until(lambda: '"name": "GET /healthz"' in spans.read_text(), 30, "the span of a route without a secret")
    secret = url.split("/mcp/")[1].split("/")[0]
    text = spans.read_text()
    assert '"mcp.method.name": "tools/call"' in text and '"gen_ai.tool.name": "word_report"' in text
    assert secret not in text
    assert secret not in stack.logs()


def _healthy(stack: Stack) -> bool:
    if stack.processes[0].poll() is not None:
        raise RuntimeError(f"the instrumented server exited early:\n{stack.logs()[-3000:]}")
    try:
        return httpx.get(f"{stack.base_url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
