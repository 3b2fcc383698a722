"""Hostile app specs: YAML bombs, huge and deep documents, sandbox escapes, runaway templates, and
references to other users' apps and secrets. Each is refused with a clear error; the parser's memory
is measured with tracemalloc, and every test has a timeout as its time bound.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
import yaml
from mcp import Client

from security.accounts import User, new_user, publish
from workflows import NodeError, SpecError, execute, load_spec, spec_from_dict

pytestmark = pytest.mark.timeout(60)

MEMORY_LIMIT = 64 * 1024 * 1024

BILLION_LAUGHS = "\n".join(
    ["a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    + ["name: bomb", "steps: []"]
)
QUADRATIC_BLOWUP = "x: &x " + "y" * 200_000 + "\nname: &n [" + ", ".join(["*x"] * 99) + "]\nsteps: []"
HOSTILE_DOCUMENTS = {
    "billion laughs": (BILLION_LAUGHS, "alias bomb"),
    "alias expansion": (QUADRATIC_BLOWUP, "name"),
    "recursive alias": ("&a [*a]", "YAML"),
    "deep flow nesting": ("name: " + "[" * 50_000 + "]" * 50_000, "nested"),
    "deep block nesting": ("\n".join(" " * i + "a:" for i in range(1000)) + " 1", "nested"),
    "huge document": ("name: big\ndescription: " + "x" * 1_100_000 + "\nsteps: []", "larger than"),
    "python object tag": ("name: !!python/object/apply:os.system ['id']\nsteps: []", "YAML"),
    "not a mapping": ("- just\n- a list", "must be a mapping"),
}
ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ ''|attr('__class__') }}",
    "{{ [1]|map(attribute='__class__')|list }}",
    "{{ inputs['__class__'] }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{{ config }}",
    "{{ lipsum(10**9) }}",
]
RUNAWAY = [
    ("{% for i in range(10**9) %}x{% endfor %}", "range()"),
    ("{% for i in range(3000) %}{% for j in range(3000) %}{% endfor %}{% endfor %}", "range()"),
    ("{{ 'a' * 10**9 }}", "exceed"),
    ("{{ ('a' * 100000) | replace('a', 'a' * 100000) }}", "replace would produce"),
    ("{% set a = 'a' * 1000000 %}{{ a ~ a ~ a }}", "concatenation"),
    ("{{ ('{0}' * 300000).format('a' * 1000) }}", "format would produce"),
    ("{{ 'x' | center(10**9) }}", "larger than the limit"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursed"),
    ("{{ 10 ** 100000 }}", "exponent"),
]


def _peak_memory(action: Callable[[], Any]) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        action()
        error = None
    except Exception as exc:  # noqa: BLE001 - returned to the test
        error = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return error, peak


@pytest.mark.parametrize("name", list(HOSTILE_DOCUMENTS))
def test_hostile_yaml_is_refused_with_a_clear_error_in_bounded_memory(name: str) -> None:
    text, fragment = HOSTILE_DOCUMENTS[name]
    error, peak = _peak_memory(lambda: load_spec(text))
    assert isinstance(error, SpecError), repr(error)
    assert fragment in str(error)
    assert peak < MEMORY_LIMIT + 2 * len(text), f"{peak / 1e6:.1f} MB"


@pytest.mark.parametrize("name", ["billion laughs", "recursive alias", "deep flow nesting", "python object tag"])
def test_the_rest_api_answers_hostile_yaml_with_422(api: httpx.Client, name: str) -> None:
    user = new_user(api)
    response = api.post("/api/apps", json={"yaml": HOSTILE_DOCUMENTS[name][0]}, headers=user.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["path"] == "(document)"
    assert api.get("/api/apps", headers=user.headers).json()["count"] == 0


def test_an_oversized_or_deeply_nested_json_body_is_refused_not_a_server_error(api: httpx.Client) -> None:
    user = new_user(api)
    big = api.post("/api/apps", json={"spec": {"name": "big", "description": "x" * 5_000_000, "steps": []}},
                   headers=user.headers)
    assert big.status_code == 413, big.status_code
    deep = api.post("/api/apps", content='{"spec": ' + "[" * 100_000 + "]" * 100_000 + "}",
                    headers={**user.headers, "Content-Type": "application/json"})
    assert deep.status_code in (400, 413, 422), deep.status_code
    nested = json.dumps({"spec": {"name": "deep", "steps": [], "description": "d", "x": _nest(200)}})
    refused = api.post("/api/apps", content=nested, headers={**user.headers, "Content-Type": "application/json"})
    assert refused.status_code == 422 and "nested deeper" in refused.text


def _nest(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def _template_app(template: str) -> dict[str, Any]:
    return {"name": "Evil", "steps": [{"id": "t", "type": "template", "template": template}],
            "outputs": [{"name": "out", "type": "string", "value": "{{ steps.t.text }}"}]}


@pytest.mark.parametrize("template", ESCAPES)
def test_sandbox_escapes_are_refused_when_the_spec_is_saved(template: str) -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_dict(_template_app(template))
    assert "steps[0].template" in str(caught.value)


def test_a_dynamic_escape_is_refused_by_the_sandbox_at_run_time() -> None:
    spec = spec_from_dict({**_template_app("{{ (cycler | attr(inputs.a)) | attr(inputs.b) }}"),
                           "inputs": [{"name": "a", "type": "string"}, {"name": "b", "type": "string"}]})
    with pytest.raises(NodeError, match="unsafe attribute|has no attribute '__globals__'"):
        execute(spec, {"a": "__init__", "b": "__globals__"})


@pytest.mark.parametrize(("template", "fragment"), RUNAWAY)
def test_runaway_templates_stop_with_a_clear_reason_in_bounded_memory(template: str, fragment: str) -> None:
    spec = spec_from_dict(_template_app(template))
    error, peak = _peak_memory(lambda: execute(spec, {}))
    assert isinstance(error, NodeError), repr(error)
    assert fragment in str(error)
    assert peak < MEMORY_LIMIT, f"{peak / 1e6:.1f} MB"


def _call(url: str, tool: str, arguments: dict[str, Any]) -> Any:
    async def go() -> Any:
        async with Client(url, mode="legacy") as client:
            return await client.call_tool(tool, arguments)

    return anyio.run(go)


def test_a_runaway_template_in_a_published_app_fails_the_call_clearly(api: httpx.Client) -> None:
    spec = {**_template_app("{% for i in range(10**9) %}x{% endfor %}"), "tool_name": "spin"}
    _app_id, url = publish(api, new_user(api), yaml.safe_dump(spec))
    result = _call(url, "spin", {})
    assert result.is_error is True
    assert "range() items" in result.content[0].text


def _owner_with_app_and_secret(api: httpx.Client) -> tuple[User, int]:
    owner = new_user(api)
    spec = {"name": "Private", "tool_name": "private", "inputs": [],
            "steps": [{"id": "t", "type": "template", "template": "owner data"}],
            "outputs": [{"name": "out", "type": "string", "value": "{{ steps.t.text }}"}]}
    app_id, _url = publish(api, owner, yaml.safe_dump(spec))
    assert api.put("/api/secrets/OWNER_ONLY", json={"value": "owner-secret-value"},
                   headers=owner.headers).status_code == 200
    return owner, app_id


def test_a_sub_app_step_cannot_call_another_users_app(api: httpx.Client) -> None:
    owner, app_id = _owner_with_app_and_secret(api)
    spec = {"name": "Borrow", "tool_name": "borrow", "inputs": [],
            "steps": [{"id": "call", "type": "sub_app", "app": str(app_id)}],
            "outputs": [{"name": "out", "type": "object", "value": "{{ steps.call.outputs }}"}]}
    _id, url = publish(api, new_user(api), yaml.safe_dump(spec))
    result = _call(url, "borrow", {})
    assert result.is_error is True
    assert f"no app '{app_id}'" in result.content[0].text
    assert "owner data" not in result.content[0].text
    runs = api.get("/api/runs", params={"app_id": app_id}, headers=owner.headers).json()
    assert runs["count"] == 0  # the owner's app never ran


def test_a_request_cannot_send_another_users_secret(api: httpx.Client) -> None:
    _owner, _app_id = _owner_with_app_and_secret(api)
    spec = {"name": "Peek", "tool_name": "peek", "steps": [
        {"id": "send", "type": "http_request", "url": "https://api.example.com/", "headers": {"X": "{{ secrets.OWNER_ONLY }}"}}]}
    _id, url = publish(api, new_user(api), yaml.safe_dump(spec))
    result = _call(url, "peek", {})
    assert result.is_error is True
    assert "secret 'OWNER_ONLY' is not set" in result.content[0].text
    assert "owner-secret-value" not in result.content[0].text
