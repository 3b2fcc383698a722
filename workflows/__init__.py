"""Toolpress workflow engine: app specs, JSON Schema export, input validation, execution.

Pure Python; imports nothing from ``backend``.
"""

from workflows.engine import execute
from workflows.errors import (
    InputIssue,
    InvalidInputs,
    NodeError,
    RunCancelled,
    RunTimedOut,
    SpecError,
    SpecIssue,
    WorkflowError,
)
from workflows.inputs import validate_inputs
from workflows.loader import dump_spec, load_spec, load_value, spec_from_dict, spec_to_dict
from workflows.logs import LOG_LEVELS, LogEntry, at_least
from workflows.parking import NeedsInput, ParkedState, Question
from workflows.nodes import REGISTRY, CallApp, Node, NodeContext, SubAppCall, get_node_type, node_types
from workflows.resources import catalog_conflicts
from workflows.results import ProgressEvent, RunResult, StepTrace
from workflows.schema import input_schema, output_schema
from workflows.spec import AppSpec, InputField, ItemSpec, OutputField, RunLimits, StepSpec, ToolAnnotations

__all__ = [
    "LOG_LEVELS",
    "REGISTRY",
    "AppSpec",
    "CallApp",
    "InputField",
    "InputIssue",
    "InvalidInputs",
    "ItemSpec",
    "LogEntry",
    "NeedsInput",
    "Node",
    "NodeContext",
    "NodeError",
    "OutputField",
    "ParkedState",
    "ProgressEvent",
    "Question",
    "RunCancelled",
    "RunLimits",
    "RunResult",
    "RunTimedOut",
    "SpecError",
    "SpecIssue",
    "StepSpec",
    "StepTrace",
    "SubAppCall",
    "ToolAnnotations",
    "WorkflowError",
    "at_least",
    "dump_spec",
    "execute",
    "get_node_type",
    "input_schema",
    "load_spec",
    "load_value",
    "node_types",
    "output_schema",
    "spec_from_dict",
    "spec_to_dict",
    "catalog_conflicts",
    "validate_inputs",
]
