"""``llm`` with ``provider: client``: the prompt goes to the calling agent's own model (MCP sampling).

The step builds a ``sampling/createMessage`` request (messages, system prompt, max tokens, temperature and
the builder's model preferences), asks the caller through the engine (the run parks until the answer comes,
``workflows.parking``) and reads the answer back into the same result an OpenAI-compatible call gives.
"""

from __future__ import annotations

from typing import Any

from workflows.errors import NodeFailure

__all__ = ["DEFAULT_MAX_TOKENS", "answer_text", "sampling_params"]

DEFAULT_MAX_TOKENS = 1000


def sampling_params(*, system: str | None, user: str, max_tokens: int | None, temperature: float | None,
                    preferences: dict[str, Any] | None) -> dict[str, Any]:
    """The params of a ``sampling/createMessage`` request."""
    params: dict[str, Any] = {
        "messages": [{"role": "user", "content": {"type": "text", "text": user}}],
        "maxTokens": max_tokens or DEFAULT_MAX_TOKENS,
    }
    if system:
        params["systemPrompt"] = system
    if temperature is not None:
        params["temperature"] = temperature
    if preferences:
        params["modelPreferences"] = preferences
    return params


def answer_text(answer: Any) -> dict[str, Any]:
    """The step's result from the caller's answer (``text``, ``model``, ``finish_reason``, ``usage``).

    An answer that is a refusal or an error (the host records ``{"action": "decline"|"error", "message"}``)
    fails the step with what the caller said.
    """
    if not isinstance(answer, dict) or answer.get("action", "accept") != "accept":
        said = answer.get("message") if isinstance(answer, dict) else None
        raise NodeFailure(f"the caller's model did not answer: {said or 'the request was refused'}")
    content = answer.get("content")
    blocks = content if isinstance(content, list) else [content]
    texts = [b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
    if not texts:
        raise NodeFailure("the caller's model answered without text")
    return {"text": "".join(texts), "model": answer.get("model"), "finish_reason": answer.get("stopReason"),
            "usage": None}
