"""Arguments and results of the platform tools; their JSON Schemas are the tools' input and output schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from backend.models import RunStatus

_SPEC_YAML = Field(
    min_length=1,
    max_length=1024 * 1024,
    description="The whole app spec as YAML: name, description, tool_name, inputs, steps, outputs, and "
    "optionally prompts, resources and resource_templates "
    "(see the toolpress://reference/step-types resource and the design_toolpress_app prompt).",
)
_APP_ID = Field(ge=1, description="The app's id, as list_apps returns it.")
_CONFIRM = Field(
    default=False,
    description="Must be true: this cannot be undone. Ask the user before setting it.",
)


class Params(BaseModel):
    """Base of every tool's arguments: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class NoParams(Params):
    """A tool without arguments."""


class AppRef(Params):
    """Arguments naming one app."""

    app_id: int = _APP_ID


class SpecParams(Params):
    """Arguments carrying a spec."""

    spec_yaml: str = _SPEC_YAML


class UpdateParams(Params):
    """update_app's arguments."""

    app_id: int = _APP_ID
    spec_yaml: str = _SPEC_YAML


class TestRunParams(Params):
    """test_run_app's arguments."""

    app_id: int = _APP_ID
    arguments: dict[str, Any] = Field(
        default_factory=dict, description="The app's input arguments, checked against the draft's input schema."
    )


class RollbackParams(Params):
    """rollback_app's arguments."""

    app_id: int = _APP_ID
    version: int = Field(ge=1, description="The version number to serve again, as list_versions returns it.")


class ConfirmedAppRef(Params):
    """Arguments of a destructive tool."""

    app_id: int = _APP_ID
    confirm: bool = _CONFIRM


class ListRunsParams(Params):
    """list_runs' arguments."""

    app_id: int | None = Field(default=None, ge=1, description="Only this app's runs (default: all your apps).")
    status: RunStatus | None = Field(default=None, description="Only runs in this status.")
    limit: int = Field(default=20, ge=1, le=200, description="At most this many runs, newest first.")


class RunRef(Params):
    """get_run's arguments."""

    run_id: str = Field(min_length=1, max_length=64, description="The run's id, as list_runs or test_run_app return it.")


class AppSummary(BaseModel):
    """One app as list_apps shows it."""

    id: int
    name: str
    tool_name: str = Field(description="The tool name its MCP server offers.")
    description: str
    published_version: int | None = Field(description="The version its MCP server serves; null when never published.")
    mcp_enabled: bool
    draft_changed: bool = Field(description="The draft differs from the published version (publish to serve it).")
    updated_at: datetime


class AppList(BaseModel):
    """list_apps' result."""

    apps: list[AppSummary]
    count: int


class AppDetail(AppSummary):
    """get_app's result: the draft spec and the schemas MCP clients will see."""

    spec_yaml: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


class SpecProblem(BaseModel):
    """One validation error in a spec."""

    path: str = Field(description="Where in the spec, e.g. steps[1].template or inputs[0].default.")
    step: str | None = Field(default=None, description="The id of the step it is in, if any.")
    message: str


class Validation(BaseModel):
    """validate_app_spec's result."""

    valid: bool
    errors: list[SpecProblem]
    tool_name: str | None = None
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None


class TestRunResult(BaseModel):
    """test_run_app's result."""

    run_id: str
    status: RunStatus
    outputs: dict[str, Any] | None = None
    error: str | None = None
    trace: list[dict[str, Any]] | None = Field(default=None, description="Each step's result and timing.")


class PublishResult(BaseModel):
    """publish_app's and rollback_app's result."""

    app_id: int
    published_version: int


class VersionInfo(BaseModel):
    """One published version."""

    number: int
    created_at: datetime
    published: bool = Field(description="This is the version the MCP server serves.")


class VersionList(BaseModel):
    """list_versions' result."""

    app_id: int
    versions: list[VersionInfo]


class McpServerState(BaseModel):
    """The state of an app's MCP server."""

    app_id: int
    enabled: bool
    url: str | None = Field(default=None, description="The secret-bearing URL; treat it like a password.")
    cursor_config: dict[str, Any] | None = Field(
        default=None, description="A ready .cursor/mcp.json document (merge its mcpServers entry into yours)."
    )


class RunSummary(BaseModel):
    """One run as list_runs shows it."""

    id: str
    app_id: int
    status: RunStatus
    source: str
    client_name: str | None
    error: str | None
    created_at: datetime
    duration_ms: float | None


class RunList(BaseModel):
    """list_runs' result."""

    runs: list[RunSummary]
    count: int


class RunDetail(RunSummary):
    """get_run's result."""

    version_id: int | None
    inputs: dict[str, Any]
    result: dict[str, Any] | None
    trace: list[dict[str, Any]] | None
    progress_done: int | None
    progress_total: int | None
    progress_message: str | None


class StepTypeInfo(BaseModel):
    """One step type of the engine."""

    type: str
    description: str
    config_schema: dict[str, Any] = Field(description="JSON Schema of the step's fields (they sit next to id/type/title).")
    results: list[str] | None = Field(description="The fields later steps can read as steps.<id>.<field>; null when open.")


class StepTypeList(BaseModel):
    """list_step_types' result."""

    step_types: list[StepTypeInfo]


class Deleted(BaseModel):
    """delete_app's result."""

    app_id: int
    deleted: bool
