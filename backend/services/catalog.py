"""The prompts, resources and resource templates a URL serves: its app's, or the union of a toolkit's apps.

Prompt names and resource URIs are the client's handles, so they must be unique within what one URL
serves: an app's spec checks its own; a toolkit refuses apps whose prompts or resources would clash
(`backend.services.toolkits.catalog_conflicts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.shared.uri_template import UriTemplate

import workflows
from backend.services.apps import version_spec
from backend.services.endpoints import EndpointTarget
from backend.services.toolkits import ServedTool, ToolkitTarget, served_tools
from workflows.content import CONTENT_TYPES
from workflows.prompts import PromptSpec
from workflows.resources import ResourceSpec, ResourceTemplateSpec, resource_size

__all__ = [
    "Catalog",
    "listing",
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
    run_files: bool = False  # an app returns image, audio, file or resource outputs, readable as run files

    @property
    def has_prompts(self) -> bool:
        """Whether the URL declares the prompts capability."""
        return bool(self.prompts)

    @property
    def has_resources(self) -> bool:
        """Whether the URL declares the resources capability (also to read run files that results link to)."""
        return bool(self.resources or self.templates or self.run_files)

    def listing(self) -> dict[str, list[dict[str, Any]]]:
        """What the list methods show of this catalog (see `listing`)."""
        return listing((
            [p.prompt for p in self.prompts.values()],
            [r.resource for r in self.resources.values()],
            [t.template for t in self.templates],
        ))

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
    run_files = False
    for tool in served_tools(target):
        spec = version_spec(tool.version)
        run_files = run_files or any(out.type in CONTENT_TYPES for out in spec.outputs)
        for prompt in spec.prompts:
            prompts.setdefault(prompt.name, ServedPrompt(prompt, tool, spec))
        for resource in spec.resources:
            resources.setdefault(resource.uri, ServedResource(resource, tool))
        templates += [ServedTemplate(template, tool, spec) for template in spec.resource_templates]
    return Catalog(prompts, resources, templates, run_files)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def listing(spec_parts: tuple[list[PromptSpec], list[ResourceSpec], list[ResourceTemplateSpec]]) -> dict[str, list[dict[str, Any]]]:
    """What prompts/list, resources/list and resources/templates/list show of these (MCP wire format)."""
    prompts, resources, templates = spec_parts
    return {
        "prompts": [
            _clean({
                "name": p.name,
                "title": p.title,
                "description": p.description or p.title or p.name,
                "arguments": [_clean({"name": a.name, "description": a.description, "required": a.required})
                              for a in p.arguments] or None,
            })
            for p in prompts
        ],
        "resources": [
            _clean({"uri": r.uri, "name": r.name, "title": r.title, "description": r.description,
                    "mimeType": r.mime_type, "size": resource_size(r)})
            for r in resources
        ],
        "resourceTemplates": [
            _clean({"uriTemplate": t.uri_template, "name": t.name, "title": t.title, "description": t.description,
                    "mimeType": t.mime_type})
            for t in templates
        ],
    }
