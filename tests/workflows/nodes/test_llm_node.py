"""The llm node (workflows/nodes/llm.py) against a local server speaking the chat-completions API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workflows import NodeError, ProgressEvent, SpecError, execute, spec_from_dict

KEY = "sk-test-1234567890"
SECRETS = {"OPENAI_KEY": KEY}


def _completion(content: str) -> Any:
    def reply(request: Any) -> Any:
        body = {"model": request.json()["model"], "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
    return reply


def _app(server: Any, **llm: Any) -> Any:
    return spec_from_dict({"name": "T", "inputs": [{"name": "text", "type": "text"}], "steps": [
        {"id": "ask", "type": "llm", "title": "ask the model", "base_url": server.url + "/v1", "model": "tiny",
         "api_key": "{{ secrets.OPENAI_KEY }}", "system": "Be brief.", "user": "Summarise: {{ inputs.text }}",
         **llm}]})


def test_sends_an_openai_chat_request_and_returns_the_answer(server: Any) -> None:
    server.route("/v1/chat/completions", _completion("Short."))
    result = execute(_app(server, temperature=0.1), {"text": "long text"}, http_allow=server.allow,
                     secrets={"OPENAI_KEY": KEY})
    out = result.trace[0].output
    assert out == {"text": "Short.", "model": "tiny", "finish_reason": "stop",
                   "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}
    [request] = server.requests
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json() == {"model": "tiny", "temperature": 0.1, "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Summarise: long text"}]}


def test_json_mode_parses_and_checks_the_schema(server: Any) -> None:
    schema = {"type": "object", "required": ["summary"], "properties": {"summary": {"type": "string"}}}
    server.route("/v1/chat/completions", _completion('{"summary": "ok"}'))
    result = execute(_app(server, json=True, schema=schema), {"text": "t"}, http_allow=server.allow, secrets=SECRETS)
    assert result.trace[0].output["json"] == {"summary": "ok"}  # type: ignore[index]
    assert server.requests[0].json()["response_format"] == {"type": "json_object"}
    server.route("/v1/chat/completions", _completion('{"summary": 3}'))
    with pytest.raises(NodeError, match="does not match the schema at summary: 3 is not of type 'string'"):
        execute(_app(server, json=True, schema=schema), {"text": "t"}, http_allow=server.allow, secrets=SECRETS)
    server.route("/v1/chat/completions", _completion("not json"))
    with pytest.raises(NodeError, match="the model's answer is not valid JSON"):
        execute(_app(server, json=True), {"text": "t"}, http_allow=server.allow, secrets=SECRETS)


def test_a_missing_secret_fails_with_its_name(server: Any) -> None:
    with pytest.raises(NodeError) as caught:
        execute(_app(server), {"text": "t"}, http_allow=server.allow)
    assert str(caught.value) == "step 'ask' (llm) failed: secret 'OPENAI_KEY' is not set; add it to the owner's secrets"


def test_the_key_is_masked_in_the_trace_and_scrubbed_from_the_endpoints_answer(server: Any) -> None:
    server.route("/v1/chat/completions", lambda r: (401, {"Content-Type": "application/json"}, json.dumps(
        {"error": {"message": f"invalid key {KEY}"}}).encode()))
    events: list[ProgressEvent] = []
    with pytest.raises(NodeError) as caught:
        execute(_app(server), {"text": "t"}, http_allow=server.allow, secrets={"OPENAI_KEY": KEY},
                on_progress=events.append)
    error = caught.value
    assert str(error) == "step 'ask' (llm) failed: the model endpoint answered HTTP 401: invalid key [secret OPENAI_KEY]"
    dumped = json.dumps([t.to_dict() for t in error.trace])
    assert KEY not in dumped and error.trace[0].input["api_key"] == "[secret OPENAI_KEY]"  # type: ignore[index]


def test_a_prompt_may_not_use_a_secret() -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_dict({"name": "T", "steps": [
            {"id": "ask", "type": "llm", "model": "m", "api_key": "{{ secrets.KEY }}",
             "user": "my key is {{ secrets.KEY|upper }}"}]})
    [issue] = caught.value.errors
    assert issue.path == "steps[0].user" and issue.step == "ask"
    assert issue.message.startswith("step 'ask' › user uses secrets.KEY: a secret may only be sent to the outside")


def test_a_schema_requires_json_mode_and_must_be_valid(server: Any) -> None:
    with pytest.raises(SpecError) as caught:
        _app(server, schema={"type": "object"})
    assert [(i.path, i.message) for i in caught.value.errors] == [("steps[0].schema", "a schema needs json: true")]
    with pytest.raises(SpecError, match="invalid JSON Schema"):
        _app(server, json=True, schema={"type": 3})


def test_a_non_completion_answer_fails_clearly(server: Any) -> None:
    server.route("/v1/chat/completions", {"hello": "world"})
    with pytest.raises(NodeError, match=r"not a chat completion \(no choices\[0\].message.content\)"):
        execute(_app(server), {"text": "t"}, http_allow=server.allow, secrets=SECRETS)
