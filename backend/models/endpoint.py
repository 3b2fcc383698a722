"""MCP endpoints: one per app, holding only what cannot be used to call it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from backend.models.base import TZ, utcnow


class McpEndpoint(SQLModel, table=True):
    """The app's MCP server switch and URL material.

    `nonce` alone is useless: the URL secret is HMAC(server key, nonce), and `secret_hash` is a one-way
    SHA-256 of that secret used as an index for lookup.
    """

    id: int | None = Field(default=None, primary_key=True)
    app_id: int = Field(foreign_key="app.id", unique=True, index=True)
    enabled: bool = False
    nonce: str = Field(max_length=128)
    secret_hash: str = Field(max_length=64, unique=True, index=True)
    calls_per_minute: int | None = None  # None: the server default (settings); 0: no limit
    max_concurrent_runs: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    rotated_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class EndpointPublic(BaseModel):
    """An endpoint as the owner sees it; `url` only when they asked to reveal it."""

    enabled: bool
    url: str | None = None
    masked_url: str
    created_at: datetime
    rotated_at: datetime
