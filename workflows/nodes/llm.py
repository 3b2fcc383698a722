"""The ``llm`` node: one OpenAI-compatible chat-completions call, optionally returning checked JSON."""

from __future__ import annotations

import builtins
import json
from typing import Any, ClassVar, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import Field, model_validator

from workflows.errors import NodeFailure
from workflows.http import HttpResponse, send
from workflows.nodes.base import Node, NodeConfig, NodeContext
from workflows.nodes.http_request import call_with_retries
from workflows.parking import Question
from workflows.sampling import answer_text, sampling_params
from workflows.spec import AppSpec
from workflows.templating import render

__all__ = ["LlmConfig", "LlmNode"]


class LlmConfig(NodeConfig):
    """Fields of an llm step; ``system``/``user`` are templates, ``api_key`` usually ``{{ secrets.X }}``."""

    provider: Literal["openai", "client"] = Field(
        default="openai", description="openai: any OpenAI-compatible endpoint; client: the calling agent's own "
                                      "model (MCP sampling; no key needed, the run waits for the answer).")
    base_url: str = Field(default="https://api.openai.com/v1", min_length=1)
    model: str | None = Field(default=None, min_length=1)
    model_preferences: dict[str, Any] | None = Field(
        default=None, description="provider client: MCP modelPreferences (hints, cost/speed/intelligencePriority).")
    api_key: str | None = Field(default=None, description="e.g. {{ secrets.OPENAI_API_KEY }}")
    system: str | None = None
    user: str = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    json_mode: bool = Field(default=False, alias="json", description="Ask for a JSON object and parse it.")
    schema_: dict[str, Any] | None = Field(default=None, alias="schema",
                                           description="JSON Schema the parsed JSON must satisfy.")
    timeout: float = Field(default=60.0, gt=0, le=600)
    retries: int = Field(default=2, ge=0, le=5)
    backoff: float = Field(default=1.0, ge=0, le=30)
    max_bytes: int = Field(default=4 * 1_048_576, ge=1, le=16 * 1_048_576)

    @model_validator(mode="after")
    def _model_for_endpoint(self) -> LlmConfig:
        if self.provider == "openai" and not self.model:
            raise ValueError("model is required (unless provider is client)")
        if self.provider == "client" and self.api_key:
            raise ValueError("provider client uses the caller's model: it takes no api_key")
        return self


class LlmNode(Node[LlmConfig]):
    """Ask a chat model, through any OpenAI-compatible ``/chat/completions`` endpoint.

    One wire format covers OpenAI, Azure-style gateways, vLLM, Ollama and LiteLLM, so the
    node takes a ``base_url`` instead of a provider list. The key comes from a named secret
    (``api_key: "{{ secrets.OPENAI_API_KEY }}"``): it is sent only in the Authorization
    header, shown as ``[secret NAME]`` in the trace and scrubbed from what the endpoint answers. ``json: true`` sets
    ``response_format: {"type": "json_object"}``, parses the answer and, with ``schema``,
    validates it, failing the step with the first violation, because a model's "JSON"
    is a promise that needs checking. The call goes through the same SSRF guard, retries
    and cancellable waits as ``http_request``. Result: ``text``, ``json`` (json mode),
    ``model``, ``finish_reason`` and ``usage``.
    """

    type: ClassVar[str] = "llm"
    may_park: ClassVar[bool] = True
    description: ClassVar[str] = "Ask an OpenAI-compatible chat model (optionally for checked JSON)."
    Config: ClassVar[builtins.type[NodeConfig]] = LlmConfig
    template_fields: ClassVar[tuple[str, ...]] = ("system", "user")
    resolved_fields: ClassVar[tuple[str, ...]] = ("base_url", "model", "api_key")
    result_fields: ClassVar[tuple[str, ...] | None] = ("text", "json", "model", "finish_reason", "usage")
    secret_sinks: ClassVar[tuple[str, ...]] = ("base_url", "api_key")
    secret_destination: ClassVar[str | None] = "base_url"

    @classmethod
    def parks(cls, config: NodeConfig) -> bool:
        """With ``provider: client`` the run waits for the caller's model."""
        return isinstance(config, LlmConfig) and config.provider == "client"

    @classmethod
    def check(cls, config: NodeConfig, spec: AppSpec) -> list[tuple[str, str]]:
        """Reject an invalid JSON Schema, and a schema without json mode."""
        assert isinstance(config, LlmConfig)
        if config.schema_ is None:
            return []
        if not config.json_mode:
            return [("schema", "a schema needs json: true")]
        try:
            Draft202012Validator.check_schema(config.schema_)
        except SchemaError as exc:
            return [("schema", f"invalid JSON Schema: {exc.message}")]
        return []

    def run(self, config: LlmConfig, ctx: NodeContext) -> dict[str, Any]:
        """Render the prompts, call the endpoint, parse and check the answer."""
        variables = ctx.variables()
        messages = []
        if config.system:
            messages.append({"role": "system", "content": render(config.system, variables)})
        messages.append({"role": "user", "content": render(config.user, variables)})
        if config.provider == "client":
            return self._ask_caller(config, ctx, messages)
        payload: dict[str, Any] = {"model": config.model, "messages": messages}
        if config.temperature is not None:
            payload["temperature"] = config.temperature
        if config.max_tokens is not None:
            payload["max_tokens"] = config.max_tokens
        if config.json_mode:
            payload["response_format"] = {"type": "json_object"}
        headers = {"Accept": "application/json"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        url = config.base_url.rstrip("/") + "/chat/completions"
        allow = tuple(ctx.service("http_allow") or ())

        def attempt() -> HttpResponse:
            return send("POST", url, allow=allow, headers=headers, json=payload, timeout=config.timeout,
                        max_bytes=config.max_bytes)

        response = call_with_retries(ctx, retries=config.retries, backoff=config.backoff,
                                     what=f"the model '{config.model}'", attempt=attempt)
        return self._parse(config, response)

    def _ask_caller(self, config: LlmConfig, ctx: NodeContext, messages: list[dict[str, str]]) -> dict[str, Any]:
        """``provider: client``: the caller's model answers (workflows.sampling); the run parks until it does."""
        system = messages[0]["content"] if messages[0]["role"] == "system" else None
        hints = {"hints": [{"name": config.model}]} if config.model else {}
        params = sampling_params(system=system, user=messages[-1]["content"], max_tokens=config.max_tokens,
                                 temperature=config.temperature,
                                 preferences={**hints, **(config.model_preferences or {})} or None)
        question = Question(ctx.step_id, "sample", params, config.timeout)
        result = answer_text(ctx.ask_caller(question))
        if config.json_mode:
            result["json"] = self._checked_json(config, result["text"])
        return result

    @staticmethod
    def _checked_json(config: LlmConfig, content: str) -> Any:
        """The model's answer parsed as JSON and checked against the step's schema."""
        try:
            parsed = json.loads(content)
        except json.JSONDecodeError as exc:
            raise NodeFailure(f"the model's answer is not valid JSON ({exc.msg} at position {exc.pos})") from None
        if config.schema_ is not None:
            error = next(iter(Draft202012Validator(config.schema_).iter_errors(parsed)), None)
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                raise NodeFailure(f"the model's JSON does not match the schema at {where}: {error.message}")
        return parsed

    @classmethod
    def _parse(cls, config: LlmConfig, response: HttpResponse) -> dict[str, Any]:
        text = response.body.decode("utf-8", errors="replace")
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if response.status >= 400:
            detail = data.get("error", {}).get("message") if isinstance(data, dict) and isinstance(
                data.get("error"), dict) else text[:200]
            raise NodeFailure(f"the model endpoint answered HTTP {response.status}: {detail}")
        try:
            choice = data["choices"][0]
            content = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise NodeFailure("the model endpoint's answer is not a chat completion "
                              "(no choices[0].message.content)") from None
        result: dict[str, Any] = {"text": content, "model": data.get("model", config.model),
                                  "finish_reason": choice.get("finish_reason"), "usage": data.get("usage")}
        if config.json_mode:
            result["json"] = cls._checked_json(config, content)
        return result
