"""Toolkits: a named set of one owner's published apps served as one MCP server, one tool per app."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field as PField
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.models.access import LimitsPublic
from backend.models.base import MAX_ID, TZ, utcnow


class Toolkit(SQLModel, table=True):
    """A toolkit's switch, URL material and limits (the URL secret works as an app endpoint's does)."""

    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_toolkit_owner_name"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    enabled: bool = False
    nonce: str = Field(max_length=128)
    secret_hash: str = Field(max_length=64, unique=True, index=True)
    calls_per_minute: int | None = None
    max_concurrent_runs: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    rotated_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class ToolkitApp(SQLModel, table=True):
    """One app in a toolkit under a tool name fixed when it was added (unique inside the toolkit)."""

    __table_args__ = (
        UniqueConstraint("toolkit_id", "app_id", name="uq_toolkitapp_toolkit_app"),
        UniqueConstraint("toolkit_id", "tool_name", name="uq_toolkitapp_toolkit_tool"),
    )

    id: int | None = Field(default=None, primary_key=True)
    toolkit_id: int = Field(foreign_key="toolkit.id", index=True)
    app_id: int = Field(foreign_key="app.id", index=True)
    tool_name: str = Field(max_length=64)
    position: int = 0


AppRef = Annotated[int, PField(ge=1, le=MAX_ID)]


class ToolkitCreate(BaseModel):
    """Create a toolkit from some of your published apps."""

    model_config = ConfigDict(extra="forbid")
    name: str = PField(min_length=1, max_length=200)
    description: str | None = PField(default=None, max_length=2000)
    app_ids: list[AppRef] = PField(default_factory=list, max_length=200)


class ToolkitUpdate(BaseModel):
    """Rename, redescribe or change the apps of a toolkit; every field optional."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = PField(default=None, min_length=1, max_length=200)
    description: str | None = PField(default=None, max_length=2000)
    app_ids: list[AppRef] | None = PField(default=None, max_length=200)


class ToolkitToolPublic(BaseModel):
    """One tool of a toolkit."""

    tool_name: str
    app_id: int
    app_name: str
    published: bool


class ToolkitPublic(BaseModel):
    """A toolkit as its owner sees it; `url` only when asked to reveal it (or just enabled/regenerated)."""

    id: int
    name: str
    description: str | None
    enabled: bool
    url: str | None = None
    masked_url: str
    token_url: str
    tools: list[ToolkitToolPublic]
    limits: LimitsPublic
    created_at: datetime
    rotated_at: datetime


class ToolkitsPublic(BaseModel):
    """Your toolkits."""

    data: list[ToolkitPublic]
    count: int
