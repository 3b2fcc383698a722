"""The prompts, resources and resource templates a URL serves: its app's, or the union of a toolkit's apps.

Prompt names and resource URIs are the client's handles, so they must be unique within what one URL
serves: an app's spec checks its own; a toolkit refuses apps whose prompts or resources would clash
(`backend.services.toolkits.catalog_conflicts`).
"""

from __future__ import annotations

from dataclasses import dataclass

from mcp.shared.uri_template import UriTemplate

import workflows
from backend.services.apps import version_spec
from backend.services.endpoints import EndpointTarget
from backend.services.toolkits import ServedTool, ToolkitTarget, served_tools
from workflows.prompts import PromptSpec
from workflows.resources import ResourceSpec, ResourceTemplateSpec

__all__ = [
    "Catalog",
    "ServedPrompt",
    "ServedResource",
    "ServedTemplate",
    "catalog_of",
]


@dataclass(frozen=True)
class ServedPrompt:
    """A prompt and the served app it belongs to."""

    prompt: PromptSpec
    tool: ServedTool
    spec: workflows.AppSpec


@dataclass(frozen=True)
class ServedResource:
    """A static resource and the served app it belongs to."""

    resource: ResourceSpec
    tool: ServedTool


@dataclass(frozen=True)
class ServedTemplate:
    """A resource template and the served app whose workflow produces its content."""

    template: ResourceTemplateSpec
    tool: ServedTool
    spec: workflows.AppSpec


@dataclass(frozen=True)
class Catalog:
    """Everything besides tools that one URL serves."""

    prompts: dict[str, ServedPrompt]
    resources: dict[str, ServedResource]
    templates: list[ServedTemplate]

    @property
    def has_prompts(self) -> bool:
        """Whether the URL declares the prompts capability."""
        return bool(self.prompts)

    @property
    def has_resources(self) -> bool:
        """Whether the URL declares the resources capability."""
        return bool(self.resources or self.templates)

    def match(self, uri: str) -> tuple[ServedTemplate, dict[str, str]] | None:
        """The first template `uri` matches, with its variables (as strings), or None."""
        for served in self.templates:
            found = UriTemplate.parse(served.template.uri_template).match(uri)
            if found is not None:
                return served, {k: v if isinstance(v, str) else ",".join(v) for k, v in found.items()}
        return None


def catalog_of(target: EndpointTarget | ToolkitTarget) -> Catalog:
    """The catalog behind a resolved target (from the live versions' parsed specs, cached per version)."""
    prompts: dict[str, ServedPrompt] = {}
    resources: dict[str, ServedResource] = {}
    templates: list[ServedTemplate] = []
    for tool in served_tools(target):
        spec = version_spec(tool.version)
        for prompt in spec.prompts:
            prompts.setdefault(prompt.name, ServedPrompt(prompt, tool, spec))
        for resource in spec.resources:
            resources.setdefault(resource.uri, ServedResource(resource, tool))
        templates += [ServedTemplate(template, tool, spec) for template in spec.resource_templates]
    return Catalog(prompts, resources, templates)
