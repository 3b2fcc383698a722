"""Parking: `ask` and `llm` with `provider: client` stop the run with a question; a resume goes on from there."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workflows import REGISTRY, NeedsInput, ParkedState, SpecError, execute, spec_from_dict
from workflows.nodes.base import Node

from .conftest import LocalServer

FIELDS = {"username": {"type": "string", "description": "User's response"},
          "email": {"type": "string", "format": "email"}}


def _spec(steps: list[dict[str, Any]], value: str, outputs: list[dict[str, Any]] | None = None) -> Any:
    return spec_from_dict({"name": "Ask", "inputs": [{"name": "who", "type": "string", "default": "Ada"}],
                           "steps": steps,
                           "outputs": outputs or [{"name": "text", "type": "string", "value": value}]})


def _ask(**extra: Any) -> dict[str, Any]:
    return {"id": "form", "type": "ask", "message": "Hello {{ inputs.who }}, who are you?", "fields": FIELDS,
            "required": ["username", "email"], **extra}


def _park(spec: Any, **kwargs: Any) -> NeedsInput:
    with pytest.raises(NeedsInput) as caught:
        execute(spec, {}, **kwargs)
    return caught.value


def _roundtrip(state: ParkedState) -> ParkedState:
    return ParkedState.from_dict(json.loads(json.dumps(state.to_dict())))


def test_an_ask_step_parks_after_the_earlier_steps_and_resumes_without_running_them_again(server: LocalServer) -> None:
    server.route("/count", {"n": 1})
    spec = _spec([{"id": "fetch", "type": "http_request", "url": f"{server.url}/count"}, _ask()],
                 "{{ steps.fetch.json.n }} {{ steps.form.action }} {{ steps.form.content.username }}")
    parked = _park(spec, http_allow=server.allow)
    assert parked.question.kind == "elicit" and parked.question.step_id == "form"
    assert parked.question.params["message"] == "Hello Ada, who are you?"
    assert parked.question.params["requestedSchema"] == {"type": "object", "properties": FIELDS,
                                                         "required": ["username", "email"]}
    assert [t["step_id"] for t in parked.state.trace] == ["fetch"] and parked.state.done == 1
    assert len(server.requests) == 1
    answer = {"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}}
    result = execute(spec, {}, http_allow=server.allow, resume=_roundtrip(parked.state), answers={"form": answer})
    assert result.outputs == {"text": "1 accept ada"}
    assert len(server.requests) == 1  # the HTTP step did not run twice
    assert [t.step_id for t in result.trace] == ["fetch", "form"]


def test_an_answer_that_does_not_fit_the_fields_fails_the_step_naming_the_field() -> None:
    spec = _spec([_ask()], "x")
    parked = _park(spec)
    with pytest.raises(Exception, match="at email"):
        execute(spec, {}, resume=parked.state, answers={"form": {"action": "accept",
                                                                 "content": {"username": "a", "email": 3}}})


def test_decline_and_cancel_follow_the_branch_the_builder_chose() -> None:
    outputs = [{"name": "text", "type": "string", "value": "{{ steps.form.action }}"}]
    spec = _spec([_ask(on_decline={"do": "fail", "message": "{{ inputs.who }} said no"},
                       on_cancel={"do": "end", "outputs": {"text": "nobody answered"}}),
                  {"id": "after", "type": "log", "message": "not reached"}], "", outputs)
    state = _park(spec).state
    with pytest.raises(Exception, match="Ada said no"):
        execute(spec, {}, resume=state, answers={"form": {"action": "decline"}})
    ended = execute(spec, {}, resume=state, answers={"form": {"action": "cancel"}})
    assert ended.outputs == {"text": "nobody answered"}
    assert [t.status for t in ended.trace] == ["succeeded", "skipped"]
    went_on = execute(_spec([_ask()], "{{ steps.form.action }}"), {}, resume=state,
                      answers={"form": {"action": "decline"}})
    assert went_on.outputs == {"text": "decline"}


def test_llm_with_provider_client_asks_the_callers_model_with_the_steps_settings() -> None:
    spec = _spec([{"id": "llm", "type": "llm", "provider": "client", "system": "Be brief.",
                   "user": "Say hi to {{ inputs.who }}", "max_tokens": 100, "model": "claude-sonnet",
                   "model_preferences": {"intelligencePriority": 0.8}}], "{{ steps.llm.text }}")
    parked = _park(spec)
    assert parked.question.kind == "sample"
    assert parked.question.params == {
        "messages": [{"role": "user", "content": {"type": "text", "text": "Say hi to Ada"}}], "maxTokens": 100,
        "systemPrompt": "Be brief.", "modelPreferences": {"hints": [{"name": "claude-sonnet"}],
                                                          "intelligencePriority": 0.8}}
    answer = {"role": "assistant", "content": {"type": "text", "text": "Hi Ada"}, "model": "m", "stopReason": "endTurn"}
    assert execute(spec, {}, resume=parked.state, answers={"llm": answer}).outputs == {"text": "Hi Ada"}
    with pytest.raises(Exception, match="did not answer: no model here"):
        execute(spec, {}, resume=parked.state, answers={"llm": {"action": "error", "message": "no model here"}})


def test_steps_that_ask_the_caller_are_refused_inside_containers_and_bad_fields_are_refused() -> None:
    with pytest.raises(SpecError, match="must be a top-level step"):
        _spec([{"id": "c", "type": "condition", "branches": [{"when": "{{ true }}", "steps": [_ask()]}]}], "x")
    with pytest.raises(SpecError, match=r"fields\.age.*type must be one of"):
        _spec([_ask(fields={"age": {"type": "object"}})], "x")
    with pytest.raises(SpecError, match="enumNames must have one title per enum value"):
        _spec([_ask(fields={"s": {"type": "string", "enum": ["a", "b"], "enumNames": ["A"]}}, required=[])], "x")
    with pytest.raises(SpecError, match="default 'z' is not valid"):
        _spec([_ask(fields={"s": {"type": "string", "enum": ["a"], "default": "z"}}, required=[])], "x")
    with pytest.raises(SpecError, match="'nope' is not one of the fields"):
        _spec([_ask(required=["nope"])], "x")
    with pytest.raises(SpecError, match="model is required"):
        _spec([{"id": "llm", "type": "llm", "user": "hi"}], "x")


def test_every_enum_form_of_sep_1330_and_defaults_of_sep_1034_are_accepted() -> None:
    fields = {
        "plain": {"type": "string", "enum": ["a", "b"], "default": "a"},
        "titled": {"type": "string", "oneOf": [{"const": "v1", "title": "One"}]},
        "legacy": {"type": "string", "enum": ["o1"], "enumNames": ["Option One"]},
        "multi": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "default": ["a"]},
        "titled_multi": {"type": "array", "items": {"anyOf": [{"const": "v1", "title": "One"}]}},
        "age": {"type": "integer", "default": 30}, "score": {"type": "number", "default": 95.5},
        "ok": {"type": "boolean", "default": True},
    }
    spec = _spec([_ask(fields=fields, required=[])],
                 "{{ steps.form.content.multi | join(',') }} {{ steps.form.content.age }} {{ steps.form.content.plain }}")
    state = _park(spec).state
    answer = {"action": "accept", "content": {"multi": ["a", "b"], "titled_multi": ["v1"], "legacy": "o1"}}
    assert execute(spec, {}, resume=state, answers={"form": answer}).outputs == {"text": "a,b 30 a"}  # defaults


def test_a_called_app_that_asks_fails_the_calling_step_instead_of_parking_the_caller() -> None:
    called = spec_from_dict({"name": "Inner", "inputs": [{"name": "who", "type": "string", "default": "Ada"}],
                             "steps": [_ask(id="call")],
                             "outputs": [{"name": "text", "type": "string", "value": "x"}]})

    def call_app(call: Any) -> dict[str, Any]:
        return dict(execute(called, call.inputs).outputs)

    spec = _spec([{"id": "call", "type": "sub_app", "app": "inner"}], "{{ steps.call.outputs.text }}")
    with pytest.raises(Exception, match="of the called app asks the caller, which an app called by another app cannot do"):
        execute(spec, {}, call_app=call_app)


def test_every_step_type_that_can_park_says_so_for_hosts_that_skip_the_others() -> None:
    parking = {key for key, node in REGISTRY.items() if node.parks.__func__ is not Node.parks.__func__}
    assert parking == {key for key, node in REGISTRY.items() if node.may_park} == {"ask", "llm"}
