"""Prompts an app publishes next to its tool: typed arguments and messages written as templates.

A prompt's messages are templates over its arguments (``{{ inputs.topic }}``: the arguments are the inputs of
the run that renders them). Rendering is a run of a small derived spec (``prompt_spec``): no steps, one
string output per templated field, so it goes through the same template sandbox and limits as a step. A
*dynamic* prompt instead runs the app's own workflow with the arguments as inputs; its ``messages`` output
is the message list (``messages_from_output``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from workflows.errors import SpecIssue

if TYPE_CHECKING:
    from workflows.spec import AppSpec

__all__ = [
    "DYNAMIC_OUTPUT",
    "MAX_SUGGESTIONS",
    "MessageSpec",
    "PromptArgument",
    "PromptSpec",
    "content_of",
    "messages_from_output",
    "prompt_issues",
    "prompt_spec",
    "suggestion_source_issues",
    "templated_fields",
]

MAX_SUGGESTIONS = 100  # completion/complete answers at most this many values (the spec's cap)
DYNAMIC_OUTPUT = "messages"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptArgument(_Model):
    """One argument of a prompt; ``values`` (a closed list) and ``suggestions`` (an open one) feed completions."""

    name: str
    description: str | None = None
    required: StrictBool = False
    values: list[str] | None = Field(default=None, description="The only values allowed (offered as completions).")
    suggestions: list[str] | None = Field(default=None, description="Values offered as completions.")
    suggestions_from: str | None = Field(
        default=None,
        description="An array output of the app's workflow: completing this argument runs the workflow with the "
        "input of the same name set to what was typed, and offers that output's values.",
    )


class ImageSpec(_Model):
    """An image: base64 ``data`` with its ``mime_type``, or the ``uri`` of one of the app's binary resources."""

    data: str | None = None
    mime_type: str | None = None
    uri: str | None = None


class EmbeddedResourceSpec(_Model):
    """An embedded resource: a ``uri`` (template) with ``text`` (template), or naming one of the app's resources."""

    uri: str = Field(min_length=1)
    text: str | None = None
    mime_type: str | None = None


class MessageSpec(_Model):
    """One message: a role and exactly one of text (template), image or an embedded resource."""

    role: Literal["user", "assistant"] = "user"
    text: str | None = None
    image: ImageSpec | None = None
    resource: EmbeddedResourceSpec | None = None

    @model_validator(mode="after")
    def _one_content(self) -> MessageSpec:
        given = [key for key in ("text", "image", "resource") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError("a message has exactly one of text, image or resource")
        return self


class PromptSpec(_Model):
    """A prompt: listed by prompts/list, rendered by prompts/get (as a run when it has templates or is dynamic)."""

    name: str = Field(min_length=1, max_length=64)
    title: str | None = None
    description: str | None = None
    arguments: list[PromptArgument] = Field(default_factory=list)
    messages: list[MessageSpec] = Field(default_factory=list)
    dynamic: StrictBool = Field(
        default=False,
        description="Run the app's workflow with the arguments as inputs; its `messages` output is the message list.",
    )


def templated_fields(prompt: PromptSpec) -> dict[str, str]:
    """The message fields that are templates, keyed by the output name that carries each rendered value."""
    fields: dict[str, str] = {}
    for index, message in enumerate(prompt.messages):
        if message.text is not None and _is_template(message.text):
            fields[f"m{index}_text"] = message.text
        if message.resource is not None:
            if _is_template(message.resource.uri):
                fields[f"m{index}_uri"] = message.resource.uri
            if message.resource.text is not None and _is_template(message.resource.text):
                fields[f"m{index}_text"] = message.resource.text
    return fields


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def prompt_spec(spec: AppSpec, name: str) -> AppSpec:
    """The spec of the run that renders prompt ``name``: its arguments as string inputs, its templates as outputs."""
    from workflows.spec import AppSpec  # noqa: PLC0415 - spec.py imports this module

    prompt = _find(spec, name)
    return AppSpec.model_validate({
        "name": f"{spec.name} · prompt {prompt.name}"[:100],
        "inputs": [
            {"name": a.name, "type": "string", "required": a.required, "description": a.description}
            for a in prompt.arguments
        ],
        "outputs": [{"name": key, "type": "string", "value": value} for key, value in templated_fields(prompt).items()],
        "limits": spec.limits.model_dump() if spec.limits else None,
        "time_limit": spec.time_limit,
    })


def _find(spec: AppSpec, name: str) -> PromptSpec:
    for prompt in spec.prompts:
        if prompt.name == name:
            return prompt
    raise KeyError(name)


def messages_from_output(value: Any) -> list[dict[str, Any]]:
    """A dynamic prompt's ``messages`` output as MCP messages; raise ValueError naming what is wrong.

    Each item is ``{role, text}``, ``{role, image: {data, mime_type}}`` or ``{role, resource: {uri, text,
    mime_type}}`` (the spec's own message format, without templates).
    """
    if not isinstance(value, list) or not value:
        raise ValueError(f"the workflow's '{DYNAMIC_OUTPUT}' output must be a non-empty list of messages")
    messages = []
    for index, item in enumerate(value):
        try:
            message = MessageSpec.model_validate(item)
        except ValueError as exc:
            raise ValueError(f"message {index} of the '{DYNAMIC_OUTPUT}' output is not a message: {exc}") from None
        messages.append(message)
    return [content_of(message, {}, index) for index, message in enumerate(messages)]


def content_of(message: MessageSpec, rendered: dict[str, Any], index: int,
               resource_text: Callable[[str], tuple[str, str | None, str | None]] | None = None) -> dict[str, Any]:
    """One MCP PromptMessage (as a dict) from a message spec and the rendered values of its templated fields.

    ``resource_text(uri)`` returns ``(mime_type, text_or_None, blob_or_None)`` of one of the app's resources,
    for an embedded resource or image that names one.
    """
    content: dict[str, Any]
    if message.text is not None:
        content = {"type": "text", "text": rendered.get(f"m{index}_text", message.text)}
    elif message.image is not None:
        image = message.image
        if image.uri is not None and resource_text is not None:
            mime, _, blob = resource_text(image.uri)
            content = {"type": "image", "data": blob, "mimeType": mime}
        else:
            content = {"type": "image", "data": image.data, "mimeType": image.mime_type}
    else:
        assert message.resource is not None
        uri = rendered.get(f"m{index}_uri", message.resource.uri)
        if message.resource.text is not None:
            text = rendered.get(f"m{index}_text", message.resource.text)
            body = {"uri": uri, "mimeType": message.resource.mime_type or "text/plain", "text": text}
        elif resource_text is not None:
            mime, text, blob = resource_text(uri)
            body = {"uri": uri, "mimeType": mime, **({"text": text} if text is not None else {"blob": blob})}
        else:
            raise ValueError(f"message {index} embeds '{uri}' without text")
        content = {"type": "resource", "resource": body}
    return {"role": message.role, "content": content}


def prompt_issues(spec: AppSpec) -> list[SpecIssue]:
    """Names, arguments, templates and images of the spec's prompts."""
    from workflows.checks import NAME_PATTERN, TOOL_NAME_PATTERN  # noqa: PLC0415
    from workflows.templating import check_template  # noqa: PLC0415

    issues: list[SpecIssue] = []
    names: list[str] = []
    static_uris = {r.uri for r in spec.resources}
    for index, prompt in enumerate(spec.prompts):
        path = f"prompts[{index}]"
        if not TOOL_NAME_PATTERN.match(prompt.name):
            issues.append(SpecIssue(f"{path}.name", "a prompt name starts with a letter and contains only letters, "
                                    "digits, '_' and '-' (at most 64)"))
        elif prompt.name in names:
            issues.append(SpecIssue(f"{path}.name", f"duplicate prompt name '{prompt.name}'"))
        names.append(prompt.name)
        arguments = [a.name for a in prompt.arguments]
        for a_index, argument in enumerate(prompt.arguments):
            a_path = f"{path}.arguments[{a_index}]"
            if argument.suggestions_from is not None:
                issues += suggestion_source_issues(spec, argument.name, argument.suggestions_from, f"{a_path}.suggestions_from")
            if not NAME_PATTERN.match(argument.name):
                issues.append(SpecIssue(f"{a_path}.name", f"argument name '{argument.name}' must start with a letter "
                                        "or underscore and contain only letters, digits and underscores"))
            elif argument.name in arguments[:a_index]:
                issues.append(SpecIssue(f"{a_path}.name", f"duplicate argument '{argument.name}'"))
        if prompt.dynamic:
            issues += _dynamic_issues(spec, prompt, path)
            continue
        if not prompt.messages:
            issues.append(SpecIssue(f"{path}.messages", "a prompt needs at least one message (or dynamic: true)"))
        for key, source in templated_fields(prompt).items():
            m_index, field = key[1:].split("_", 1)
            where = f"{path}.messages[{m_index}].{'text' if field == 'text' and prompt.messages[int(m_index)].text is not None else 'resource.' + field}"
            for problem in check_template(source, inputs=arguments, earlier_steps=[], step_fields={}):
                issues.append(SpecIssue(where, problem))
        for m_index, message in enumerate(prompt.messages):
            issues += _message_issues(message, f"{path}.messages[{m_index}]", static_uris, spec)
    return issues


def suggestion_source_issues(spec: AppSpec, variable: str, output: str, path: str) -> list[SpecIssue]:
    """A workflow that suggests values for `variable`: the app has an input of that name and an array `output`."""
    issues = []
    if not any(o.name == output and o.type == "array" for o in spec.outputs):
        issues.append(SpecIssue(path, f"the app has no array output '{output}' to take suggestions from"))
    if not any(f.name == variable for f in spec.inputs):
        issues.append(SpecIssue(path, f"suggestions from the workflow need an input named '{variable}' (what was typed)"))
    return issues


def _dynamic_issues(spec: AppSpec, prompt: PromptSpec, path: str) -> list[SpecIssue]:
    issues = []
    if prompt.messages:
        issues.append(SpecIssue(f"{path}.messages", "a dynamic prompt's messages come from the workflow; leave this out"))
    if not any(o.name == DYNAMIC_OUTPUT and o.type == "array" for o in spec.outputs):
        issues.append(SpecIssue(f"{path}.dynamic", f"a dynamic prompt needs an array output named '{DYNAMIC_OUTPUT}'"))
    inputs = {f.name for f in spec.inputs}
    for a_index, argument in enumerate(prompt.arguments):
        if argument.name not in inputs:
            issues.append(SpecIssue(f"{path}.arguments[{a_index}].name",
                                    f"a dynamic prompt's arguments are the app's inputs; there is no input '{argument.name}'"))
    return issues


def _message_issues(message: MessageSpec, path: str, static_uris: set[str], spec: AppSpec) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    if message.image is not None:
        image = message.image
        if image.uri is not None:
            if image.data is not None:
                issues.append(SpecIssue(f"{path}.image", "give either data or uri, not both"))
            found = next((r for r in spec.resources if r.uri == image.uri), None)
            if found is None or found.blob is None:
                issues.append(SpecIssue(f"{path}.image.uri", f"'{image.uri}' is not one of the app's binary resources"))
        elif image.data is None or not image.mime_type:
            issues.append(SpecIssue(f"{path}.image", "an image needs data (base64) and mime_type, or a resource uri"))
        else:
            issues += _base64_issues(image.data, f"{path}.image.data")
            if not image.mime_type.startswith("image/"):
                issues.append(SpecIssue(f"{path}.image.mime_type", "an image's MIME type starts with 'image/'"))
    if message.resource is not None and message.resource.text is None:
        uri = message.resource.uri
        if not _is_template(uri) and uri not in static_uris:
            issues.append(SpecIssue(f"{path}.resource", f"'{uri}' is not one of the app's resources; give its text"))
    return issues


def _base64_issues(data: str, path: str) -> list[SpecIssue]:
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return [SpecIssue(path, "not valid base64")]
    return []
