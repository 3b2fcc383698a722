"""Node types by key; one module per node type."""

from __future__ import annotations

from typing import Any

from workflows.nodes.base import Node, NodeConfig, NodeContext
from workflows.nodes.template import TemplateConfig, TemplateNode

__all__ = [
    "REGISTRY",
    "Node",
    "NodeConfig",
    "NodeContext",
    "TemplateConfig",
    "TemplateNode",
    "get_node_type",
    "node_types",
]

REGISTRY: dict[str, type[Node[Any]]] = {
    TemplateNode.type: TemplateNode,
}


def get_node_type(key: str) -> type[Node[Any]] | None:
    """Return the node class registered under ``key``, or None."""
    return REGISTRY.get(key)


def node_types() -> list[str]:
    """Return the registered node type keys, sorted."""
    return sorted(REGISTRY)
