"""Apps (editable drafts) and app versions (immutable published snapshots)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field as PField
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.models.base import TZ, utcnow


class App(SQLModel, table=True):
    """An app owned by a user; `spec` is the editable draft (a workflows.AppSpec as a dict)."""

    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_app_owner_name"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=200)
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    published_version_id: int | None = Field(default=None, nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class AppVersion(SQLModel, table=True):
    """A published, immutable snapshot of an app's spec."""

    __table_args__ = (UniqueConstraint("app_id", "number", name="uq_appversion_app_number"),)

    id: int | None = Field(default=None, primary_key=True)
    app_id: int = Field(foreign_key="app.id", index=True)
    number: int
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class AppCreate(BaseModel):
    """Create an app from a spec (a workflows spec document as JSON) or from YAML text."""

    model_config = ConfigDict(extra="forbid")
    spec: dict[str, Any] | None = None
    yaml: str | None = PField(default=None, max_length=1024 * 1024)


class AppUpdate(BaseModel):
    """Replace the draft spec; every field optional."""

    model_config = ConfigDict(extra="forbid")
    spec: dict[str, Any] | None = None
    yaml: str | None = PField(default=None, max_length=1024 * 1024)


class AppPublic(BaseModel):
    """An app as the API shows it."""

    id: int
    name: str
    spec: dict[str, Any]
    published_version: int | None
    mcp_enabled: bool
    created_at: datetime
    updated_at: datetime


class AppsPublic(BaseModel):
    """A page of apps."""

    data: list[AppPublic]
    count: int


class AppVersionPublic(BaseModel):
    """A published version."""

    id: int
    number: int
    spec: dict[str, Any]
    created_at: datetime
