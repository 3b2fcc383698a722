"""What a run is for besides a tool call: rendering a prompt, reading a templated resource, suggesting completions.

The purpose is recorded on the run (`Run.purpose`), shown on the runs page, and decides which spec the worker
runs: a prompt with templated messages runs its derived spec (`workflows.prompts.prompt_spec`); a dynamic
prompt, a templated resource and completion suggestions (`completion:<argument>`) run the app's own workflow.
"""

from __future__ import annotations

import workflows
from workflows.prompts import prompt_spec

__all__ = ["PROMPT", "RESOURCE", "prompt_purpose", "resource_purpose", "spec_for_purpose"]

PROMPT = "prompt:"
RESOURCE = "resource:"


def prompt_purpose(name: str) -> str:
    """The purpose of a run that renders prompt `name`."""
    return f"{PROMPT}{name}"


def resource_purpose(uri: str) -> str:
    """The purpose of a run that reads the templated resource at `uri`."""
    return f"{RESOURCE}{uri}"[:2100]


def spec_for_purpose(spec: workflows.AppSpec, purpose: str | None) -> workflows.AppSpec:
    """The spec a run with `purpose` executes; raise WorkflowError when its prompt is gone from the spec."""
    if purpose is None or not purpose.startswith(PROMPT):
        return spec
    name = purpose[len(PROMPT):]
    prompt = next((p for p in spec.prompts if p.name == name), None)
    if prompt is None:
        raise workflows.WorkflowError(f"the app has no prompt '{name}'")
    return spec if prompt.dynamic else prompt_spec(spec, name)
