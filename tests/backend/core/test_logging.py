"""Secrets never reach the logs."""

from __future__ import annotations

import logging

import pytest
from mcp import Client

from backend.core.logging import RedactingFilter, redact
from support.stack import Stack


def test_redact_removes_url_secrets_and_bearer_tokens() -> None:
    secret = "Zx9" * 15
    line = f'127.0.0.1:5000 - "POST /mcp/{secret} HTTP/1.1" 200 Authorization: Bearer {secret}'
    cleaned = redact(line)
    assert secret not in cleaned
    assert "/mcp/[redacted]" in cleaned


def test_the_filter_rewrites_formatted_records() -> None:
    secret = "Qw8" * 15
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s "%s %s"', ("1.2.3.4", "GET", f"/sse/{secret}"), None)
    RedactingFilter().filter(record)
    assert secret not in record.getMessage()


@pytest.mark.anyio
async def test_the_secret_never_appears_in_server_logs_during_a_call(stack: Stack) -> None:
    _app_id, url = stack.publish_and_enable("three_steps.yaml")
    secret = url.split("/mcp/", 1)[1].removesuffix("/mcp")
    async with Client(url, mode="legacy") as client:
        result = await client.call_tool("word_report", {"text": "secret test"})
    assert result.is_error is False
    logs = stack.logs()
    assert "POST /mcp/[redacted]" in logs  # the access log ran and was scrubbed
    assert secret not in logs


def test_uvicorn_access_lines_are_scrubbed_and_still_format() -> None:
    from uvicorn.logging import AccessFormatter

    secret = "Zk3v0b7Qw9Lr2Xy5Tn8Pq1Hs4Jd6Mf0"
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/mcp/{secret}/mcp", "1.1", 200), None,
    )
    assert RedactingFilter().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert secret not in line and "/mcp/[redacted]/mcp" in line and "200" in line
