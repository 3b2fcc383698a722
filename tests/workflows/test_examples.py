"""The step-library examples run offline against a local server standing in for the remote API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import workflows
from workflows import NodeError, ProgressEvent, execute, load_spec, validate_inputs

EXAMPLES = Path(workflows.__file__).parent / "examples"


def _spec(name: str) -> Any:
    return load_spec((EXAMPLES / name).read_text())


def test_exchange_rate_converts_with_the_fetched_rate(server: Any) -> None:
    server.route("/latest", {"amount": 1.0, "base": "EUR", "date": "2026-05-08", "rates": {"USD": 1.0823}})
    spec = _spec("exchange_rate.yaml")
    events: list[ProgressEvent] = []
    result = execute(spec, validate_inputs(spec, {"amount": 250, "from_currency": "EUR", "to_currency": "USD"}),
                     context={"rates_api": server.url}, http_allow=server.allow, on_progress=events.append)
    assert result.outputs == {"rate": 1.0823, "converted": 270.57, "date": "2026-05-08",
                              "summary": "250 EUR is 270.57 USD at the 2026-05-08 rate of 1.0823."}
    assert server.requests[0].path == "/latest?from=EUR&to=USD"
    assert [e.message for e in events] == ["step 1/3: fetch the rate", "step 2/3: pick the rate",
                                           "step 3/3: write the summary"]


def test_exchange_rate_without_the_allow_list_is_refused(server: Any) -> None:
    spec = _spec("exchange_rate.yaml")
    with pytest.raises(NodeError, match="refusing to connect"):
        execute(spec, validate_inputs(spec, {"from_currency": "EUR", "to_currency": "USD"}),
                context={"rates_api": server.url})


def test_repo_stats_fetches_every_repo_and_ranks_them(server: Any) -> None:
    data = {"pallets/flask": (68000, 16000, 10, "Python"), "django/django": (80000, 32000, 200, "Python"),
            "tiny/tool": (5, 0, 1, None)}
    for repo, (stars, forks, issues, language) in data.items():
        server.route(f"/repos/{repo}", {"full_name": repo, "stargazers_count": stars, "forks_count": forks,
                                        "open_issues_count": issues, "language": language, "other": "x"})
    spec = _spec("repo_stats.yaml")
    events: list[ProgressEvent] = []
    result = execute(spec, validate_inputs(spec, {"repos": list(data)}), context={"github_api": server.url},
                     http_allow=server.allow, on_progress=events.append)
    assert [r["repo"] for r in result.outputs["repositories"]] == ["django/django", "pallets/flask", "tiny/tool"]
    assert result.outputs["repositories"][0] == {"repo": "django/django", "stars": 80000, "forks": 32000,
                                                 "open_issues": 200, "language": "Python"}
    assert result.outputs["total_stars"] == 148005
    assert [(e.done, e.total) for e in events] == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_repo_stats_names_the_repo_that_failed(server: Any) -> None:
    spec = _spec("repo_stats.yaml")
    with pytest.raises(NodeError) as caught:
        execute(spec, validate_inputs(spec, {"repos": ["no/such"]}), context={"github_api": server.url},
                http_allow=server.allow)
    assert "item 0: step 'fetch' (http_request) failed: GET" in str(caught.value)
    assert "answered HTTP 404" in str(caught.value)


@pytest.mark.parametrize(("arguments", "expected"), [
    ({"title": "Possible data loss when syncing", "labels": ["bug"]},
     {"priority": "p0", "team": "security", "needs_info": False}),
    ({"title": "App crashes on save", "labels": ["bug", "ui"]},
     {"priority": "p1", "team": "frontend", "needs_info": True}),
    ({"title": "Login broken", "body": "Steps to reproduce: open /login", "labels": ["bug"]},
     {"priority": "p2", "team": "core", "needs_info": False}),
    ({"title": "Add dark mode"}, {"priority": "p3", "team": "core", "needs_info": False}),
])
def test_issue_triage_routes_by_rules(arguments: dict[str, Any], expected: dict[str, Any]) -> None:
    spec = _spec("issue_triage.yaml")
    outputs = execute(spec, validate_inputs(spec, arguments)).outputs
    assert {k: outputs[k] for k in expected} == expected and outputs["reason"]


def test_summarize_returns_checked_json_from_the_model(server: Any) -> None:
    answer = {"summary": "Q3 revenue grew 12%.", "key_points": ["revenue +12%", "costs flat"],
              "sentiment": "positive"}

    def completion(request: Any) -> Any:
        body = request.json()
        assert body["response_format"] == {"type": "json_object"} and body["model"] == "gpt-4o-mini"
        reply = {"choices": [{"message": {"role": "assistant", "content": json.dumps(answer)},
                              "finish_reason": "stop"}], "model": "gpt-4o-mini"}
        return 200, {"Content-Type": "application/json"}, json.dumps(reply).encode()

    server.route("/v1/chat/completions", completion)
    spec = _spec("summarize.yaml")
    result = execute(spec, validate_inputs(spec, {"text": "Revenue grew 12% in Q3 while costs stayed flat."}),
                     context={"llm_base_url": server.url + "/v1"}, http_allow=server.allow,
                     secrets={"OPENAI_API_KEY": "sk-example-key"})
    assert result.outputs == answer
    assert server.requests[0].headers["authorization"] == "Bearer sk-example-key"
    assert "sk-example-key" not in json.dumps(result.to_dict())


def _examples_by_name() -> dict[str, Any]:
    return {spec.name: spec for spec in (load_spec(p.read_text()) for p in EXAMPLES.glob("*.yaml"))}


def _call_examples(call: workflows.SubAppCall) -> dict[str, Any]:
    """A host callback that resolves apps by name among the examples, like the backend does for the admin."""
    spec = _examples_by_name().get(call.app)
    if spec is None:
        raise workflows.WorkflowError(f"no app {call.app!r}")
    return dict(execute(spec, validate_inputs(spec, call.inputs), call_app=_call_examples,
                        call_stack=call.call_stack, should_cancel=call.should_cancel,
                        timeout=call.timeout).outputs)


def test_title_kit_calls_two_other_examples_by_name() -> None:
    spec = _spec("title_kit.yaml")
    events: list[ProgressEvent] = []
    result = execute(spec, validate_inputs(spec, {"title": "Ten Tips for Faster  Python Tests"}),
                     call_app=_call_examples, call_stack=("Title Kit",), on_progress=events.append)
    assert result.outputs == {
        "slug": "ten-tips-for-faster-python-tests", "words": 6, "characters": 32,
        "summary": "Slug 'ten-tips-for-faster-python-tests'. The title has 6 words, 32 characters and 1 line.",
    }
    assert [e.message for e in events] == ["step 1/2: make the slug", "step 2/2: measure the title"]


def test_every_sub_app_example_names_an_existing_example() -> None:
    names = _examples_by_name()
    called = {step.config["app"] for spec in names.values() for step in spec.steps if step.type == "sub_app"}
    assert called and called <= set(names)


def test_order_lookup_queries_the_owners_database_with_bound_parameters(tmp_path: Path) -> None:
    import sqlite3  # noqa: PLC0415

    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER, customer_email TEXT, total REAL, placed_at TEXT)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", [
            (1, "ada@example.com", 12.5, "2026-01-02"), (2, "ada@example.com", 30.0, "2026-03-04"),
            (3, "alan@example.com", 99.0, "2026-02-01"), (4, "ada@example.com", 7.5, "2026-02-10")])
    spec = _spec("order_lookup.yaml")
    result = execute(spec, validate_inputs(spec, {"email": "ada@example.com", "limit": 2}),
                     secrets={"DATABASE_URL": f"sqlite:///{path}"}, http_allow=[f"sqlite:{tmp_path}"])
    assert result.outputs == {"orders": [{"id": 2, "total": 30.0, "placed_at": "2026-03-04"},
                                         {"id": 4, "total": 7.5, "placed_at": "2026-02-10"}], "spent": 37.5}
    assert result.trace[0].input is not None and result.trace[0].input["connection"] == "[secret DATABASE_URL]"


def test_remote_calculator_calls_the_tool_of_another_mcp_server() -> None:
    from support.remote_mcp import TOKEN, remote_mcp_server  # noqa: PLC0415

    spec = _spec("remote_calculator.yaml")
    with remote_mcp_server() as remote:
        result = execute(spec, validate_inputs(spec, {"a": 20, "b": 22}), context={"calculator_mcp": remote.url},
                         secrets={"CALCULATOR_TOKEN": TOKEN}, http_allow=remote.allow)
        assert remote.headers[-1]["authorization"] == f"Bearer {TOKEN}"
    assert result.outputs == {"total": 42}
