"""The app spec as pydantic models: typed inputs, a list of steps, typed outputs."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    SerializerFunctionWrapHandler,
    StrictBool,
    ValidationInfo,
    model_serializer,
    model_validator,
)

from workflows.errors import SpecIssue
from workflows.prompts import PromptSpec
from workflows.resources import ResourceSpec, ResourceTemplateSpec

__all__ = [
    "AppSpec",
    "InputField",
    "InputType",
    "ItemSpec",
    "OutputField",
    "OutputType",
    "RunLimits",
    "SpecIssuesError",
    "StepSpec",
]

InputType = Literal["string", "text", "number", "integer", "boolean", "enum", "array", "object", "file"]
OutputType = Literal["string", "number", "integer", "boolean", "array", "object", "image", "audio", "file", "resource"]
STEP_KEYS = ("id", "type", "title", "time_limit")
STORED = "stored"  # validation context key: the spec was saved earlier (see workflows.checks.check_spec)
MAX_TIME_LIMIT = 3600.0


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Number = Annotated[int | float, PlainValidator(_number, json_schema_input_type=int | float)]
Count = Annotated[int, Field(strict=True, ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")




class ItemSpec(_Model):
    """A value type with constraints; also the element type of ``array`` inputs (``items``).

    ``type`` is a built-in type or the name of one of the app's ``types`` (its constraints come from there).
    """

    type: str = Field(min_length=1, max_length=64, description="One of InputType, or a name from the app's types.")
    description: str | None = None
    # string / text
    min_length: Count | None = None
    max_length: Count | None = None
    pattern: str | None = None
    format: str | None = None
    # number / integer
    minimum: Number | None = None
    maximum: Number | None = None
    exclusive_minimum: Number | None = None
    exclusive_maximum: Number | None = None
    multiple_of: Number | None = None
    # enum
    values: list[Any] | None = None
    # array
    items: ItemSpec | None = None
    min_items: Count | None = None
    max_items: Count | None = None
    unique_items: StrictBool | None = None
    # object: a raw JSON Schema ``properties`` map
    properties: dict[str, Any] | None = None


_INPUT_HEAD = ("name", "type", "description", "required", "default")


class InputField(ItemSpec):
    """One named input argument of the app (a property of the tool's input schema)."""

    name: str
    required: StrictBool = False
    default: Any = None

    @model_serializer(mode="wrap")
    def _ordered(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        head = {key: data.pop(key) for key in _INPUT_HEAD if key in data}
        return {**head, **data}


class StepSpec(_Model):
    """One step: ``id``, ``type``, optional ``title``; the node type's fields sit alongside.

    On input every key other than id/type/title/config is gathered into ``config``; on
    output ``config`` is flattened back, so YAML reads ``{id, type, template}``.
    """

    id: str
    type: str
    title: str | None = None
    time_limit: float | None = Field(default=None, gt=0, le=MAX_TIME_LIMIT,
                                     description="Seconds this step may take (waits included).")
    config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather_config(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        own = {key: data[key] for key in (*STEP_KEYS, "config") if key in data}
        extra = {key: value for key, value in data.items() if key not in own}
        if extra:
            base = own.get("config")
            own["config"] = {**base, **extra} if isinstance(base, dict) else extra
        return own

    @model_serializer(mode="wrap")
    def _flatten(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        config = data.pop("config", None) or {}
        return {**data, **config}


class OutputField(_Model):
    """One typed output; ``value`` is a template over inputs and steps.

    ``value`` may be left out when an ``output`` step sets the output instead. ``image``, ``audio``,
    ``file`` and ``resource`` outputs carry bytes (see ``workflows.content``): ``mime_type`` names the
    type of a value that does not say (plain text such as a rendered SVG), ``uri`` is a resource's URI.
    """

    name: str
    type: OutputType
    description: str | None = None
    value: str | None = Field(default=None, min_length=1)
    mime_type: str | None = Field(default=None, max_length=200,
                                  description="MIME type of an image, audio, file or resource output.")
    uri: str | None = Field(default=None, min_length=1, max_length=2048,
                            description="The URI of a resource output (the value may give its own).")


class SpecIssuesError(ValueError):
    """Carries semantic issues out of pydantic validation (see ``AppSpec``)."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))


class ToolAnnotations(_Model):
    """Hints an MCP client shows its user or uses to decide whether to ask before calling (all optional)."""

    read_only: bool | None = Field(default=None, description="The app does not change anything outside itself.")
    destructive: bool | None = Field(default=None, description="The app may delete or overwrite things.")
    idempotent: bool | None = Field(default=None, description="Calling twice with the same arguments has no extra effect.")
    open_world: bool | None = Field(default=None, description="The app talks to systems outside Toolpress.")


class RunLimits(_Model):
    """Resources one run may use, enforced by the host from outside the interpreter (see ``workflows.engine``).

    An app can only ask for less than its host allows; the host's limits apply where these are not set.
    """

    cpu_seconds: float | None = Field(default=None, gt=0, le=MAX_TIME_LIMIT, description="CPU time of a whole run.")
    memory_mb: int | None = Field(default=None, ge=32, le=65_536, description="Memory of the process running it.")


class AppSpec(_Model):
    """A whole app. Validating it also runs the semantic checks in ``workflows.checks``."""

    name: str = Field(min_length=1, max_length=100)
    description: str | None = None
    tool_name: str | None = None
    title: str | None = None
    types: dict[str, ItemSpec] = Field(
        default_factory=dict,
        description="Named value types that inputs (and array items) can share; exported as the schema's `$defs`.",
    )
    inputs: list[InputField] = Field(default_factory=list)
    steps: list[StepSpec] = Field(default_factory=list)
    outputs: list[OutputField] = Field(default_factory=list)
    time_limit: float | None = Field(default=None, gt=0, le=MAX_TIME_LIMIT,
                                     description="Seconds a whole run may take.")
    limits: RunLimits | None = Field(default=None, description="CPU and memory a run may use (at most the host's).")
    annotations: ToolAnnotations | None = None
    tasks: Literal["auto", "always", "never"] = Field(
        default="auto",
        description=(
            "When a client that supports the MCP Tasks extension calls this app, answer with a task handle it "
            "polls: always, never, or auto (when the app's typical run takes longer than the server's threshold)."
        ),
    )
    prompts: list[PromptSpec] = Field(default_factory=list, description="Prompts served next to the tool.")
    resources: list[ResourceSpec] = Field(default_factory=list, description="Static resources served next to the tool.")
    resource_templates: list[ResourceTemplateSpec] = Field(
        default_factory=list, description="RFC 6570 resource templates whose content the workflow produces."
    )

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> AppSpec:
        from workflows.checks import check_spec  # noqa: PLC0415 - checks imports the node registry

        issues = check_spec(self, stored=bool(info.context and info.context.get(STORED)))
        if issues:
            raise SpecIssuesError(issues)
        return self

    @property
    def effective_tool_name(self) -> str:
        """Return ``tool_name`` or one derived from ``name`` (``Text Stats!`` → ``text_stats``)."""
        if self.tool_name:
            return self.tool_name
        slug = re.sub(r"[^a-z0-9]+", "_", self.name.lower()).strip("_")
        if not slug or not slug[0].isalpha():
            slug = f"app_{slug}".rstrip("_")
        return slug[:64]
