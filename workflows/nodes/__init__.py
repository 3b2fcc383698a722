"""Node types by key; one module per node type."""

from __future__ import annotations

from typing import Any

from workflows.nodes.ask import AskConfig, AskNode
from workflows.nodes.base import Children, Node, NodeConfig, NodeContext
from workflows.nodes.code import CodeConfig, CodeNode
from workflows.nodes.condition import ConditionConfig, ConditionNode
from workflows.nodes.http_request import HttpRequestConfig, HttpRequestNode
from workflows.nodes.llm import LlmConfig, LlmNode
from workflows.nodes.log import LogConfig, LogNode
from workflows.nodes.map import MapConfig, MapNode
from workflows.nodes.mcp_tool import McpToolConfig, McpToolNode
from workflows.nodes.output import OutputConfig, OutputNode
from workflows.nodes.sql import SqlConfig, SqlNode
from workflows.nodes.sub_app import CallApp, SubAppCall, SubAppConfig, SubAppNode
from workflows.nodes.template import TemplateConfig, TemplateNode
from workflows.nodes.transform import TransformConfig, TransformNode

__all__ = [
    "REGISTRY",
    "AskConfig",
    "AskNode",
    "CallApp",
    "Children",
    "CodeConfig",
    "CodeNode",
    "ConditionConfig",
    "ConditionNode",
    "HttpRequestConfig",
    "HttpRequestNode",
    "LlmConfig",
    "LlmNode",
    "LogConfig",
    "LogNode",
    "MapConfig",
    "MapNode",
    "McpToolConfig",
    "McpToolNode",
    "Node",
    "NodeConfig",
    "NodeContext",
    "OutputConfig",
    "OutputNode",
    "SqlConfig",
    "SqlNode",
    "SubAppCall",
    "SubAppConfig",
    "SubAppNode",
    "TemplateConfig",
    "TemplateNode",
    "TransformConfig",
    "TransformNode",
    "get_node_type",
    "node_types",
]

REGISTRY: dict[str, type[Node[Any]]] = {
    node.type: node
    for node in (TemplateNode, TransformNode, CodeNode, ConditionNode, MapNode, HttpRequestNode, LlmNode,
                 McpToolNode, SqlNode, SubAppNode, LogNode, AskNode, OutputNode)
}


def get_node_type(key: str) -> type[Node[Any]] | None:
    """Return the node class registered under ``key``, or None."""
    return REGISTRY.get(key)


def node_types() -> list[str]:
    """Return the registered node type keys, sorted."""
    return sorted(REGISTRY)
