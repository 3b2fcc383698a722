"""Secrets go only where they are sent out (workflows/secret_flow.py, the engine's sink handling).

A spec that routes a secret anywhere else is refused when it is loaded, naming the step and field; every sink
still receives the real value; the trace shows it masked; what a sending step gets back is scrubbed of it; and
nothing a caller sends is ever redacted, so no call can test a guess against a secret.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from workflows import NodeError, SpecError, execute, spec_from_dict
from workflows.secret_flow import reads_secrets

KEY = "sk-live-0123456789"
SECRETS = {"API_KEY": KEY, "OTHER": "unused-secret-value"}
TEXT_INPUT = [{"name": "text", "type": "string"}]


def _spec(steps: list[dict[str, Any]], outputs: list[dict[str, Any]] | None = None,
          inputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"name": "T", "inputs": TEXT_INPUT if inputs is None else inputs, "steps": steps,
            "outputs": outputs if outputs is not None else []}


def _issues(spec: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    with pytest.raises(SpecError) as caught:
        spec_from_dict(spec)
    return [(i.path, i.step, i.message) for i in caught.value.errors]


ROUTES = {
    "directly into an output": (
        _spec([], [{"name": "o", "type": "string", "value": "{{ secrets.API_KEY }}"}]),
        "outputs[0].value", None, "output 'o' uses secrets.API_KEY"),
    "through a filter": (
        _spec([{"id": "shout", "type": "template", "template": "{{ secrets.API_KEY|upper }}"}]),
        "steps[0].template", "shout", "step 'shout' › template uses secrets.API_KEY"),
    "reversed": (
        _spec([{"id": "flip", "type": "template", "template": "{{ secrets.API_KEY|reverse|join }}"}]),
        "steps[0].template", "flip", "step 'flip' › template uses secrets.API_KEY"),
    "through a slice": (
        _spec([{"id": "cut", "type": "template", "template": "{{ secrets['API_KEY'][::-1] }}"}]),
        "steps[0].template", "cut", "step 'cut' › template uses secrets.API_KEY"),
    "through a transform of a rendered secret": (
        _spec([{"id": "render", "type": "template", "template": "x{{ secrets.API_KEY }}", "output": "text"},
               {"id": "pick", "type": "transform", "expression": "steps.render.text"}],
              [{"name": "o", "type": "string", "value": "{{ steps.pick.value }}"}]),
        "steps[0].template", "render", "step 'render' › template uses secrets.API_KEY"),
    "into a condition": (
        _spec([{"id": "guess", "type": "condition",
                "branches": [{"when": "{{ inputs.text == secrets.API_KEY }}", "steps": []}]}]),
        "steps[0].branches[0].when", "guess", "step 'guess' › branches[0].when uses secrets.API_KEY"),
    "into a map's items": (
        _spec([{"id": "each", "type": "map", "items": "{{ secrets.API_KEY|list }}",
                "steps": [{"id": "t", "type": "template", "template": "{{ item }}"}]}]),
        "steps[0].items", "each", "step 'each' › items uses secrets.API_KEY"),
    "inside a map's steps": (
        _spec([{"id": "each", "type": "map", "items": [1],
                "steps": [{"id": "t", "type": "template", "template": "{{ item }}{{ secrets.API_KEY }}"}]}]),
        "steps[0].steps[0].template", "t", "step 't' › template uses secrets.API_KEY"),
    "inside a condition's branch": (
        _spec([{"id": "c", "type": "condition", "branches": [{"when": "{{ true if inputs.text else false }}", "steps": [
            {"id": "t", "type": "template", "template": "{{ secrets.API_KEY }}"}]}]}]),
        "steps[0].branches[0].steps[0].template", "t", "step 't' › template uses secrets.API_KEY"),
    "into a sub-app": (
        _spec([{"id": "call", "type": "sub_app", "app": "echo", "inputs": {"text": "{{ secrets.API_KEY }}"}}]),
        "steps[0].inputs.text", "call", "step 'call' › inputs.text uses secrets.API_KEY"),
    "into an output step": (
        _spec([{"id": "done", "type": "output", "values": {"o": "{{ secrets.API_KEY }}"}}],
              [{"name": "o", "type": "string"}]),
        "steps[0].values.o", "done", "step 'done' › values.o uses secrets.API_KEY"),
    "into a model's prompt": (
        _spec([{"id": "ask", "type": "llm", "model": "m", "user": "{{ secrets.API_KEY }}"}]),
        "steps[0].user", "ask", "step 'ask' › user uses secrets.API_KEY"),
    "into a request with a caller-chosen host": (
        _spec([{"id": "send", "type": "http_request", "url": "{{ inputs.text }}",
                "headers": {"Authorization": "Bearer {{ secrets.API_KEY }}"}}]),
        "steps[0].url", "send", "step 'send' sends a secret, so its url must name its host in plain text"),
    "into a host glued to a caller's text": (
        _spec([{"id": "send", "type": "http_request", "url": "https://api.example.com{{ inputs.text }}",
                "headers": {"X-Key": "{{ secrets.API_KEY }}"}}]),
        "steps[0].url", "send", "step 'send' sends a secret, so its url must name its host in plain text"),
    "chosen by the caller": (
        _spec([{"id": "send", "type": "http_request", "url": "https://api.example.com/",
                "headers": {"X-Key": "{{ secrets[inputs.text] }}"}}]),
        "steps[0].headers.X-Key", "send", "step 'send' › headers.X-Key reads secrets[…]: name the secret it sends"),
    "as the whole mapping": (
        _spec([{"id": "send", "type": "http_request", "method": "POST", "url": "https://api.example.com/",
                "json": {"all": "{{ secrets.items()|list }}"}}]),
        "steps[0].json.all", "send", "step 'send' › json.all reads secrets.items: name the secret it sends"),
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_spec_routing_a_secret_anywhere_but_a_sink_is_refused_naming_the_step_and_field(route: str) -> None:
    spec, path, step, start = ROUTES[route]
    issues = _issues(spec)
    assert [(p, s) for p, s, _ in issues] == [(path, step)], issues
    assert issues[0][2].startswith(start), issues[0][2]


def test_the_refusal_lists_the_places_a_secret_may_go() -> None:
    [(_, _, message)] = _issues(_spec([{"id": "t", "type": "template", "template": "{{ secrets.API_KEY }}"}]))
    assert message == ("step 't' › template uses secrets.API_KEY: a secret may only be sent to the outside "
                       "(http_request url, query, headers, json, form, body; llm base_url, api_key; mcp_tool url, "
                       "headers; sql connection), never into a step's result, an app output or the trace")


def _echo(request: Any) -> Any:
    """Answer with everything the request carried (the worst case: a service that reflects credentials)."""
    body = {"path": request.path, "headers": request.headers, "body": request.body.decode()}
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def test_every_sink_receives_the_secret_and_the_trace_shows_it_masked(server: Any) -> None:
    server.route("/echo", _echo)
    base = server.url
    spec = spec_from_dict(_spec([
        {"id": "q", "type": "http_request", "url": base + "/echo?key={{ secrets.API_KEY }}"},
        {"id": "h", "type": "http_request", "url": base + "/echo", "query": {"k": "{{ secrets.API_KEY }}"},
         "headers": {"Authorization": "Bearer {{ secrets.API_KEY }}"}},
        {"id": "j", "type": "http_request", "method": "POST", "url": base + "/echo",
         "json": {"auth": "{{ secrets.API_KEY }}", "text": "{{ inputs.text }}"}},
        {"id": "f", "type": "http_request", "method": "POST", "url": base + "/echo", "form": {"k": "{{ secrets.API_KEY }}"}},
        {"id": "b", "type": "http_request", "method": "PUT", "url": base + "/echo", "body": "k={{ secrets.API_KEY }}",
         "headers": {"Content-Type": "text/plain"}},
        {"id": "from_secret", "type": "http_request", "url": "{{ secrets.BASE }}/echo"},
    ], [{"name": "seen", "type": "object", "value": "{{ steps.j.json }}"}]))
    result = execute(spec, {"text": "hello"}, http_allow=server.allow, secrets={**SECRETS, "BASE": base})
    sent = [r.path + json.dumps(r.headers) + r.body.decode() for r in server.requests]
    assert all(KEY in s for s in sent[:5]) and len(sent) == 6
    assert server.requests[1].headers["authorization"] == f"Bearer {KEY}"
    traces = json.dumps([t.to_dict() for t in result.trace])
    assert KEY not in traces and base not in json.dumps(result.trace[5].to_dict()["input"])
    assert result.trace[0].input["url"] == base + "/echo?key=[secret API_KEY]"  # type: ignore[index]
    assert result.trace[1].input["headers"] == {"Authorization": "Bearer [secret API_KEY]"}  # type: ignore[index]
    assert result.trace[2].input["json"] == {"auth": "[secret API_KEY]", "text": "hello"}  # type: ignore[index]
    assert result.trace[5].input["url"] == "[secret BASE]/echo"  # type: ignore[index]
    assert json.loads(result.outputs["seen"]["body"]) == {"auth": "[redacted]", "text": "hello"}
    assert KEY not in json.dumps(result.outputs)


def test_sinks_inside_a_map_and_a_branch_send_the_secret(server: Any) -> None:
    server.route("/echo", _echo)
    spec = spec_from_dict(_spec([
        {"id": "each", "type": "map", "items": [1, 2], "steps": [
            {"id": "send", "type": "http_request", "url": server.url + "/echo?i={{ item }}",
             "headers": {"X-Key": "{{ secrets.API_KEY }}"}}]},
        {"id": "pick", "type": "condition", "branches": [{"when": "{{ inputs.text == 'go' }}", "steps": [
            {"id": "ask", "type": "http_request", "url": server.url + "/echo", "headers": {"X-Key": "{{ secrets.API_KEY }}"}}]}]},
    ]))
    result = execute(spec, {"text": "go"}, http_allow=server.allow, secrets=SECRETS)
    assert [r.headers["x-key"] for r in server.requests] == [KEY, KEY, KEY]
    assert KEY not in json.dumps([t.to_dict() for t in result.trace])


def test_an_echo_of_the_callers_guess_comes_back_unchanged_whatever_the_secrets(server: Any) -> None:
    server.route("/ping", {"ok": True})
    echo = spec_from_dict(_spec(
        [{"id": "ping", "type": "http_request", "url": server.url + "/ping", "headers": {"X-Key": "{{ secrets.API_KEY }}"}},
         {"id": "say", "type": "template", "template": "you said {{ inputs.text }}"}],
        [{"name": "echo", "type": "string", "value": "{{ inputs.text }}"},
         {"name": "said", "type": "string", "value": "{{ steps.say.text }}"}]))
    for guess in (SECRETS["OTHER"], KEY, "not-a-secret"):  # a secret the run never reads, one it sends, neither
        result = execute(echo, {"text": guess}, http_allow=server.allow, secrets=SECRETS)
        assert result.outputs == {"echo": guess, "said": f"you said {guess}"}
        assert "[redacted]" not in json.dumps([t.to_dict() for t in result.trace])


def test_a_failing_sink_names_its_url_masked_and_leaves_the_callers_part_alone(server: Any) -> None:
    server.route("/gone", lambda r: (404, {"Content-Type": "text/plain"}, b"no such thing"))
    spec = spec_from_dict(_spec([{"id": "fetch", "type": "http_request",
                                  "url": server.url + "/gone?q={{ inputs.text }}&key={{ secrets.API_KEY }}"}]))
    with pytest.raises(NodeError) as caught:
        execute(spec, {"text": KEY}, http_allow=server.allow, secrets=SECRETS)  # the guess equals the key
    assert str(caught.value) == (f"step 'fetch' (http_request) failed: GET {server.url}/gone?q={KEY}&key=[secret API_KEY] "
                                 "answered HTTP 404: no such thing")


def test_what_a_service_echoes_back_is_scrubbed_of_the_secret_it_was_sent(server: Any) -> None:
    server.route("/echo", _echo)
    spec = spec_from_dict(_spec([{"id": "fetch", "type": "http_request", "url": server.url + "/echo",
                                  "query": {"key": "{{ secrets.SPACED }}"}}],
                                [{"name": "o", "type": "object", "value": "{{ steps.fetch.json }}"}], inputs=[]))
    result = execute(spec, {}, http_allow=server.allow, secrets={"SPACED": "a key/with spaces&more"})
    assert result.outputs["o"]["path"] == "/echo?key=[redacted]"
    assert result.trace[0].output["url"].endswith("/echo?key=[redacted]")  # type: ignore[index]


def test_a_spec_stored_before_the_rule_cannot_read_a_secret_at_run_time() -> None:
    spec = spec_from_dict(_spec([{"id": "t", "type": "template", "template": "ok"}]))
    stored = spec.model_copy(update={"steps": [spec.steps[0].model_copy(update={
        "config": {"template": "{{ secrets.API_KEY }}"}})]})  # as if saved by an older version
    with pytest.raises(NodeError, match="secret 'API_KEY' can only be sent to the outside"):
        execute(stored, {"text": "x"}, secrets=SECRETS)


def test_a_models_key_and_base_url_may_come_from_secrets(server: Any) -> None:
    answer = {"model": "m", "choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}
    server.route("/v1/chat/completions", answer)
    spec = spec_from_dict(_spec([{"id": "ask", "type": "llm", "base_url": "{{ secrets.LLM_BASE }}/v1", "model": "m",
                                  "api_key": "{{ secrets.API_KEY }}", "user": "{{ inputs.text }}"}],
                                [{"name": "said", "type": "string", "value": "{{ steps.ask.text }}"}]))
    result = execute(spec, {"text": "hello"}, http_allow=server.allow, secrets={**SECRETS, "LLM_BASE": server.url})
    assert result.outputs == {"said": "hi"} and server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert result.trace[0].input["base_url"] == "[secret LLM_BASE]/v1"  # type: ignore[index]
    assert server.url not in json.dumps(result.trace[0].to_dict()["input"])


def _send(headers: dict[str, str]) -> dict[str, Any]:
    return {"id": "send", "type": "http_request", "url": "https://api.example.com/", "headers": headers}


@pytest.mark.parametrize(("steps", "reads"), [
    ([{"id": "say", "type": "template", "template": "{{ inputs.text }}"}, _send({"X-Text": "{{ inputs.text }}"})],
     False),
    ([_send({"X-Key": "{{ secrets.API_KEY }}"})], True),
    ([{"id": "each", "type": "map", "items": [1], "steps": [_send({"X-Key": "{{ secrets.API_KEY }}"})]}], True),
    ([{"id": "pick", "type": "condition", "branches": [{"when": "{{ inputs.text == 'go' }}", "steps": [
        {"id": "each", "type": "map", "items": [1], "steps": [_send({"X-Key": "{{ secrets['API_KEY'] }}"})]}]}]}],
     True),
    ([{"id": "call", "type": "sub_app", "app": "other", "inputs": {"text": "{{ inputs.text }}"}}], True),
], ids=["no secrets", "a sink", "in a map", "in a map in a branch", "a called app"])
def test_a_host_can_tell_whether_a_run_may_read_secrets(steps: list[dict[str, Any]], reads: bool) -> None:
    assert reads_secrets(spec_from_dict(_spec(steps))) is reads
