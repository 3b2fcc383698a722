"""What a client is told when the app (or toolkit) behind its URL is republished.

A `Fingerprint` is a digest of what a URL serves: its tools, its prompts, its resource list (static
resources and templates), and per resource the content a read would return. Each API process computes the
fingerprints of URLs with open streams once a second (backend.mcp.streams), so a republish through any
process is seen by every process; comparing two fingerprints gives the events to send:
`notifications/{tools,prompts,resources}/list_changed` and `notifications/resources/updated` for each
changed resource. A templated resource counts as changed when its template changed or its app has a new
version (the workflow that produces it may read differently).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from mcp.shared.uri_template import UriTemplate
from mcp.shared.subscriptions import (
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)

from backend.services.apps import describe_tool, version_spec
from backend.services.catalog import catalog_of
from backend.services.endpoints import EndpointTarget
from backend.services.toolkits import ToolkitTarget, served_tools

__all__ = ["Fingerprint", "fingerprint_of"]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """Digests of what one URL serves; equal fingerprints mean nothing a client sees has changed."""

    tools: str
    prompts: str
    resources: str
    contents: tuple[tuple[str, str], ...]  # (static resource URI, digest of its content)
    templates: tuple[tuple[str, str], ...]  # (URI template, digest of the template and its app's version)

    def list_events(self, after: Fingerprint) -> list[ServerEvent]:
        """The list-changed events that turn this fingerprint into `after`."""
        events: list[ServerEvent] = []
        if self.tools != after.tools:
            events.append(ToolsListChanged())
        if self.prompts != after.prompts:
            events.append(PromptsListChanged())
        if self.resources != after.resources:
            events.append(ResourcesListChanged())
        return events

    def content_of(self, uri: str) -> str | None:
        """The digest a read of `uri` depends on: its static content, or its template and version; None if unserved."""
        for served, digest in self.contents:
            if served == uri:
                return digest
        for template, digest in self.templates:
            if UriTemplate.parse(template).match(uri) is not None:
                return digest
        return None

    def updated(self, after: Fingerprint, uris: set[str] | frozenset[str]) -> list[ResourceUpdated]:
        """`resources/updated` events for the subscribed `uris` whose content changed between the two."""
        if self.contents == after.contents and self.templates == after.templates:
            return []
        return [ResourceUpdated(uri=uri) for uri in sorted(uris) if self.content_of(uri) != after.content_of(uri)]


def fingerprint_of(target: EndpointTarget | ToolkitTarget) -> Fingerprint:
    """The fingerprint of what a resolved target serves now."""
    tools = [
        {**dataclasses.asdict(describe_tool(version_spec(tool.version))), "name": tool.name}
        for tool in served_tools(target)
    ]
    catalog = catalog_of(target)
    prompts = [served.prompt.model_dump(exclude={"messages"}) for served in catalog.prompts.values()]
    listed = [served.resource.model_dump(exclude={"text", "blob"}) for served in catalog.resources.values()]
    listed += [served.template.model_dump(exclude={"completions", "output"}) for served in catalog.templates]
    contents = tuple(
        (uri, _digest([served.resource.text, served.resource.blob, served.resource.mime_type]))
        for uri, served in catalog.resources.items()
    )
    templates = tuple(
        (served.template.uri_template, _digest([served.template.model_dump(), served.tool.version.id]))
        for served in catalog.templates
    )
    return Fingerprint(_digest(tools), _digest(prompts), _digest(listed), contents, templates)
