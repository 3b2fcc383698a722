"""The example apps in workflows/examples/ load, round-trip and run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import workflows
from workflows import ProgressEvent, dump_spec, execute, load_spec, output_schema, validate_inputs

EXAMPLES = Path(workflows.__file__).parent / "examples"
SAMPLES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "greeter.yaml": ({"person": "Ada", "style": "formal", "times": 2},
                     {"greeting": "Good day, Ada! Good day, Ada!"}),
    "text_stats.yaml": ({"text": "Hello  big\nworld\n"},
                        {"words": 3, "characters": 15, "lines": 2,
                         "summary": "The text has 3 words, 15 characters and 2 lines."}),
    "slugify.yaml": ({"text": "Hello, World 2024!", "max_length": 11}, {"slug": "hello-world", "length": 11}),
    "business_days.yaml": ({"start": "2024-12-20", "end": "2025-01-03", "holidays": ["2024-12-25", "2025-01-01"]},
                           {"count": 9, "summary": "9 working days from 2024-12-20 to 2025-01-03."}),
}


NETWORKED = {"exchange_rate.yaml", "repo_stats.yaml", "summarize.yaml", "issue_triage.yaml", "order_lookup.yaml",
             "remote_calculator.yaml", "title_kit.yaml"}  # test_examples.py


def test_every_example_has_sample_inputs() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted([*SAMPLES, *NETWORKED])


@pytest.mark.parametrize("name", sorted(NETWORKED))
def test_new_examples_round_trip_too(name: str) -> None:
    spec = load_spec((EXAMPLES / name).read_text())
    assert load_spec(dump_spec(spec)) == spec
    assert spec.description and all(f.description for f in spec.inputs)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_example_round_trips_through_dump_and_load(name: str) -> None:
    spec = load_spec((EXAMPLES / name).read_text())
    assert load_spec(dump_spec(spec)) == spec
    assert spec.description


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_example_runs_with_sample_inputs(name: str) -> None:
    spec = load_spec((EXAMPLES / name).read_text())
    arguments, expected = SAMPLES[name]
    events: list[ProgressEvent] = []
    result = execute(spec, validate_inputs(spec, arguments), on_progress=events.append)
    assert result.outputs == expected
    assert [e.done for e in events] == list(range(1, len(spec.steps) + 1))
    assert set(result.outputs) == set(output_schema(spec)["properties"])


def test_text_stats_has_exactly_three_steps() -> None:
    assert len(load_spec((EXAMPLES / "text_stats.yaml").read_text()).steps) == 3


def test_greeter_uses_its_defaults() -> None:
    spec = load_spec((EXAMPLES / "greeter.yaml").read_text())
    assert execute(spec, validate_inputs(spec, {"person": "Bo"})).outputs == {"greeting": "Hi, Bo!"}
