"""Resources an app publishes next to its tool: static ones (text or a file) and RFC 6570 resource templates.

A static resource's content is in the spec (``text``, or ``blob`` in base64 for a file uploaded in the
console). A resource template's variables are inputs of the app; reading a URI that matches it runs the
app's workflow with those inputs (as strings) and answers with one of its outputs.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mcp.shared.uri_template import InvalidUriTemplate, UriTemplate
from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflows.errors import SpecIssue
from workflows.prompts import suggestion_source_issues

if TYPE_CHECKING:
    from workflows.spec import AppSpec

__all__ = [
    "MAX_RESOURCE_BYTES",
    "ResourceSpec",
    "ResourceTemplateSpec",
    "catalog_conflicts",
    "match_template",
    "resource_issues",
    "resource_size",
]

MAX_RESOURCE_BYTES = 1024 * 1024  # one static resource's content, decoded


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResourceSpec(_Model):
    """A static resource: its URI, name and MIME type, and exactly one of ``text`` or ``blob`` (base64)."""

    uri: str = Field(min_length=1, max_length=2048)
    name: str = Field(min_length=1, max_length=200)
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    text: str | None = None
    blob: str | None = Field(default=None, description="The content of a file, base64-encoded.")

    @model_validator(mode="after")
    def _one_content(self) -> ResourceSpec:
        if (self.text is None) == (self.blob is None):
            raise ValueError("a resource has exactly one of text or blob")
        return self


class ResourceTemplateSpec(_Model):
    """A resource template: reading a URI that matches ``uri_template`` runs the workflow; ``output`` is the content."""

    uri_template: str = Field(min_length=1, max_length=1024)
    name: str = Field(min_length=1, max_length=200)
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    output: str | None = Field(default=None, description="The output whose value is the content (default: the first).")
    completions: dict[str, list[str]] = Field(
        default_factory=dict, description="Values offered as completions, per template variable."
    )
    completions_from: dict[str, str] = Field(
        default_factory=dict,
        description="Per template variable, an array output of the workflow whose values are offered as completions "
        "(the workflow runs with that input set to what was typed).",
    )


def resource_size(resource: ResourceSpec) -> int:
    """The content's size in bytes (decoded)."""
    if resource.text is not None:
        return len(resource.text.encode())
    return len(base64.b64decode(resource.blob or ""))


def match_template(spec: AppSpec, uri: str) -> tuple[ResourceTemplateSpec, dict[str, str]] | None:
    """The first resource template of the spec that ``uri`` matches, with the variables, or None."""
    for template in spec.resource_templates:
        found = UriTemplate.parse(template.uri_template).match(uri)
        if found is not None:
            return template, {k: v if isinstance(v, str) else ",".join(v) for k, v in found.items()}
    return None


def resource_issues(spec: AppSpec) -> list[SpecIssue]:
    """URIs unique within the app, content that decodes, templates that parse and name the app's inputs."""
    issues: list[SpecIssue] = []
    seen: list[str] = []
    for index, resource in enumerate(spec.resources):
        path = f"resources[{index}]"
        if resource.uri in seen:
            issues.append(SpecIssue(f"{path}.uri", f"duplicate resource URI '{resource.uri}'"))
        seen.append(resource.uri)
        if ":" not in resource.uri:
            issues.append(SpecIssue(f"{path}.uri", "a resource URI has a scheme (such as 'docs://style-guide')"))
        if resource.blob is not None:
            try:
                size = len(base64.b64decode(resource.blob, validate=True))
            except (binascii.Error, ValueError):
                issues.append(SpecIssue(f"{path}.blob", "not valid base64"))
                continue
        else:
            size = len((resource.text or "").encode())
        if size > MAX_RESOURCE_BYTES:
            issues.append(SpecIssue(path, f"the content is larger than {MAX_RESOURCE_BYTES} bytes"))
    inputs = {field.name for field in spec.inputs}
    outputs = [output.name for output in spec.outputs]
    templates: list[str] = []
    for index, template in enumerate(spec.resource_templates):
        path = f"resource_templates[{index}]"
        if template.uri_template in templates:
            issues.append(SpecIssue(f"{path}.uri_template", f"duplicate resource template '{template.uri_template}'"))
        templates.append(template.uri_template)
        try:
            parsed = UriTemplate.parse(template.uri_template)
        except InvalidUriTemplate as exc:
            issues.append(SpecIssue(f"{path}.uri_template", f"not an RFC 6570 URI template: {exc}"))
            continue
        if not parsed.variable_names:
            issues.append(SpecIssue(f"{path}.uri_template", "a template has at least one {variable}; "
                                    "list a fixed URI under resources"))
        for name in parsed.variable_names:
            if name not in inputs:
                issues.append(SpecIssue(f"{path}.uri_template", f"variable '{name}' is not an input of the app"))
        for key, names in (("completions", template.completions), ("completions_from", template.completions_from)):
            for name in names:
                if name not in parsed.variable_names:
                    issues.append(SpecIssue(f"{path}.{key}.{name}", f"'{name}' is not a variable of the template"))
        for name, output in template.completions_from.items():
            issues += suggestion_source_issues(spec, name, output, f"{path}.completions_from.{name}")
        if template.output is not None and template.output not in outputs:
            issues.append(SpecIssue(f"{path}.output", f"the app has no output '{template.output}'"))
        elif not outputs:
            issues.append(SpecIssue(f"{path}.output", "the app has no output to serve as the content"))
    return issues


def catalog_conflicts(apps: Iterable[tuple[str, AppSpec]]) -> list[str]:
    """Readable clashes between apps served at one URL: a prompt name or resource URI (or template) used twice."""
    seen: dict[tuple[str, str], str] = {}
    problems = []
    for app_name, spec in apps:
        handles = [("prompt", p.name) for p in spec.prompts] + [("resource", r.uri) for r in spec.resources]
        handles += [("resource template", t.uri_template) for t in spec.resource_templates]
        for kind, handle in handles:
            key = ("prompt" if kind == "prompt" else "resource", handle)
            if key in seen and seen[key] != app_name:
                problems.append(f"{kind} '{handle}' of app '{app_name}' is also served by app '{seen[key]}'")
            seen.setdefault(key, app_name)
    return problems
