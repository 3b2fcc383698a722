"""Rendering a prompt: its arguments checked, and its messages assembled from what its run (if any) produced.

Shared by the MCP endpoint (prompts/get on a published version) and the console ("try this prompt" on the
draft). A prompt without templates needs no run; a templated one runs its derived spec, a dynamic one the
app's workflow (backend.services.purposes decides which).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import workflows
from backend.services.errors import ServiceError
from workflows.prompts import DYNAMIC_OUTPUT, PromptSpec, content_of, messages_from_output, templated_fields
from workflows.resources import ResourceSpec

__all__ = ["InvalidPromptArguments", "PromptUnavailable", "assemble_messages", "check_arguments", "needs_run", "resource_lookup",
           "run_inputs"]

Lookup = Callable[[str], tuple[str, str | None, str | None]]


class InvalidPromptArguments(ServiceError):
    """The arguments of a prompts/get do not fit the prompt; the message names each problem."""


class PromptUnavailable(ServiceError):
    """The prompt could not be assembled (a dynamic prompt's output is not a message list, an unknown resource)."""


def check_arguments(prompt: PromptSpec, arguments: Mapping[str, str] | None) -> dict[str, str]:
    """The arguments as given, or InvalidPromptArguments naming what is unknown, missing or not allowed."""
    given = dict(arguments or {})
    declared = {a.name for a in prompt.arguments}
    problems = [f"unknown argument '{name}'" for name in given if name not in declared]
    for argument in prompt.arguments:
        value = given.get(argument.name)
        if value is None:
            if argument.required:
                problems.append(f"missing required argument '{argument.name}'")
        elif argument.values is not None and value not in argument.values:
            problems.append(f"'{argument.name}' must be one of {', '.join(argument.values)}")
    if problems:
        raise InvalidPromptArguments(f"invalid arguments for prompt '{prompt.name}': {'; '.join(problems)}")
    return given


def run_inputs(spec: workflows.AppSpec, prompt: PromptSpec, arguments: dict[str, str]) -> dict[str, Any]:
    """The inputs of the run that renders the prompt: its arguments, validated as the app's inputs when dynamic."""
    if not prompt.dynamic:
        return dict(arguments)
    try:
        return workflows.validate_inputs(spec, arguments)
    except workflows.InvalidInputs as exc:
        issues = "; ".join(f"{issue.path}: {issue.message}" for issue in exc.errors)
        raise InvalidPromptArguments(f"invalid arguments for prompt '{prompt.name}': {issues}") from None


def needs_run(prompt: PromptSpec) -> bool:
    """Whether rendering the prompt runs anything (templates in its messages, or a dynamic prompt)."""
    return prompt.dynamic or bool(templated_fields(prompt))


def resource_lookup(resources: Mapping[str, ResourceSpec]) -> Lookup:
    """`(uri) -> (mime type, text, blob)` of one of these static resources; PromptUnavailable for any other URI."""

    def lookup(uri: str) -> tuple[str, str | None, str | None]:
        resource = resources.get(uri)
        if resource is None:
            raise PromptUnavailable(f"the prompt embeds '{uri[:200]}', which is not served here")
        default = "text/plain" if resource.text is not None else "application/octet-stream"
        return resource.mime_type or default, resource.text, resource.blob

    return lookup


def assemble_messages(prompt: PromptSpec, outputs: Mapping[str, Any], lookup: Lookup) -> list[dict[str, Any]]:
    """The prompt's messages (MCP wire dicts) from its run's outputs (empty when it needed no run)."""
    try:
        if prompt.dynamic:
            return messages_from_output(outputs.get(DYNAMIC_OUTPUT))
        rendered = dict(outputs)
        return [content_of(message, rendered, index, lookup) for index, message in enumerate(prompt.messages)]
    except ValueError as exc:
        raise PromptUnavailable(str(exc)) from None
