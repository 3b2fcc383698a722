"""What FastAPI's own OpenTelemetry instrumentation may record: no request whose URL holds a secret.

FastAPI records a span (and metrics) per request once a tracer provider is set (`opentelemetry-instrument
toolpress serve`, say), with the raw path as `url.path`. An MCP URL's path is its secret, so such a span would
hand the secret to every trace backend and everyone who reads it. Requests whose path or query holds what the
logs redact (backend.core.logging) are left out of FastAPI's telemetry; the MCP SDK's own span of each request
(method, tool name, request id: backend.mcp.tracing) still covers them, without the URL. Every other route keeps
its spans.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from fastapi.telemetry import TelemetryConfig

from backend.core.logging import redact


def carries_secret(scope: MutableMapping[str, Any]) -> bool:
    """Whether a request's path or query string holds something the logs would redact."""
    where = f"{scope.get('path', '')}?{scope.get('query_string', b'').decode('latin-1')}"
    return redact(where) != where


TELEMETRY: TelemetryConfig = {"exclude": carries_secret}
