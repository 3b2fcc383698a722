"""The ``http_request`` node: call an HTTP API with retries, size limits and an SSRF guard."""

from __future__ import annotations

import builtins
import json
import time
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, model_validator

from workflows.errors import NodeFailure
from workflows.files import response_file
from workflows.http import HttpResponse, send
from workflows.nodes.base import Node, NodeConfig, NodeContext

__all__ = ["HttpRequestConfig", "HttpRequestNode", "call_with_retries", "decode_body"]

MAX_BODY_BYTES = 10 * 1_048_576


class HttpRequestConfig(NodeConfig):
    """Fields of an http_request step; url, query, headers and bodies are templatable."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: str = Field(min_length=1)
    query: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, Any] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json", description="JSON request body.")
    form: dict[str, Any] | None = Field(default=None, description="Form-encoded request body.")
    body: str | None = Field(default=None, description="Raw request body (set a content-type header).")
    timeout: float = Field(default=10.0, gt=0, le=120, description="Seconds per attempt.")
    retries: int = Field(default=2, ge=0, le=5, description="Extra attempts on 5xx and connection errors.")
    backoff: float = Field(default=0.5, ge=0, le=30, description="First retry delay; doubles each retry.")
    max_bytes: int = Field(default=1_048_576, ge=1, le=MAX_BODY_BYTES, description="Largest body read.")
    follow_redirects: bool = True
    fail_on_status: bool = Field(default=True, description="Fail the step on a 4xx/5xx final status.")
    as_file: bool = Field(default=False, description="Also give the body as a file (`file`: name, mime_type, "
                          "size, base64), for an image, audio or file output.")

    @model_validator(mode="after")
    def _one_body(self) -> HttpRequestConfig:
        if sum(x is not None for x in (self.json_body, self.form, self.body)) > 1:
            raise ValueError("set at most one of 'json', 'form' and 'body'")
        return self


def decode_body(response: HttpResponse) -> dict[str, Any]:
    """Return ``text`` (UTF-8, replacement on bad bytes) and ``json`` when the body parses as JSON."""
    text = response.body.decode("utf-8", errors="replace")
    result: dict[str, Any] = {"text": text}
    if text.strip() and ("json" in response.content_type or text.lstrip()[:1] in "{["):
        try:
            result["json"] = json.loads(text)
        except json.JSONDecodeError:
            if "json" in response.content_type:
                raise NodeFailure("the response says it is JSON but does not parse") from None
    return result


def call_with_retries(ctx: NodeContext, *, retries: int, backoff: float, what: str,
                      attempt: Any) -> HttpResponse:
    """Run ``attempt`` (a blocking call returning HttpResponse) with cancellable waits and backoff."""
    last: str = ""
    for number in range(retries + 1):
        if number:
            ctx.sleep(backoff * 2 ** (number - 1))
        started = time.perf_counter()
        try:
            response: HttpResponse = ctx.wait(attempt, what=what)
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            ctx.log("debug", f"{what}: attempt {number + 1} of {retries + 1} failed ({last})")
            continue
        ctx.log("debug", f"{what}: HTTP {response.status} in {(time.perf_counter() - started) * 1000:.0f} ms, "
                         f"{len(response.body)} bytes (attempt {number + 1} of {retries + 1})")
        if response.status >= 500 and number < retries:
            last = f"HTTP {response.status}"
            continue
        return response
    raise NodeFailure(f"{what} failed after {retries + 1} attempt{'s' if retries else ''}: {last}")


class HttpRequestNode(Node[HttpRequestConfig]):
    """Call an HTTP API and expose the response as ``status``, ``headers``, ``text`` and ``json``.

    Retries cover what retrying can fix (5xx answers and transport errors: refused or
    reset connections, timeouts), with exponential backoff; a 4xx is the caller's fault
    and fails at once. Set ``retries: 0`` for requests that must not repeat. The body is
    read as a stream and the step fails once it passes ``max_bytes``, so a huge answer
    cannot exhaust a worker. Every hop passes the SSRF guard in ``workflows.http``
    (private, loopback, link-local and metadata addresses refused after DNS resolution,
    unless the run's ``http_allow`` list names the target). Waiting polls the run's
    cancellation, so a cancel interrupts a slow server. ``json`` is present when the body
    parses as JSON; ``url`` is the final URL after redirects.
    """

    type: ClassVar[str] = "http_request"
    description: ClassVar[str] = "Call an HTTP API (retries, size limit, private addresses refused)."
    Config: ClassVar[builtins.type[NodeConfig]] = HttpRequestConfig
    resolved_fields: ClassVar[tuple[str, ...]] = ("url", "query", "headers", "json", "form", "body")
    result_fields: ClassVar[tuple[str, ...] | None] = ("status", "headers", "text", "json", "url", "file")
    expected_types: ClassVar[dict[str, tuple[str, ...]]] = {"url": ("string", "text")}
    secret_sinks: ClassVar[tuple[str, ...]] = ("url", "query", "headers", "json", "form", "body")
    secret_destination: ClassVar[str | None] = "url"

    def run(self, config: HttpRequestConfig, ctx: NodeContext) -> dict[str, Any]:
        """Send the request with retries; fail on 4xx/5xx unless ``fail_on_status`` is false."""
        allow = tuple(ctx.service("http_allow") or ())
        headers = {str(k): str(v) for k, v in config.headers.items()}

        def attempt() -> HttpResponse:
            return send(config.method, str(config.url), allow=allow, params=config.query, headers=headers,
                        json=config.json_body, data=config.form, content=config.body, timeout=config.timeout,
                        max_bytes=config.max_bytes, follow_redirects=config.follow_redirects)

        response = call_with_retries(ctx, retries=config.retries, backoff=config.backoff,
                                     what=f"{config.method} {config.url}", attempt=attempt)
        decoded = decode_body(response)
        if config.fail_on_status and response.status >= 400:
            snippet = decoded["text"][:200]
            raise NodeFailure(f"{config.method} {config.url} answered HTTP {response.status}: {snippet}")
        if config.as_file:
            decoded["file"] = response_file(response, "download")
        return {"status": response.status, "headers": response.headers, "url": response.url, **decoded}
