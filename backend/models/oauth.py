"""OAuth 2.1 for MCP: registered clients, and the codes and tokens issued to them (hashes only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from backend.models.base import TZ, utcnow


class OAuthClient(SQLModel, table=True):
    """A client that registered itself (RFC 7591); `info` is its registration as the SDK models it."""

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64, unique=True, index=True)
    info: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class OAuthGrant(SQLModel, table=True):
    """An authorization code, access token or refresh token for one client, one owner and one app or toolkit.

    Only a SHA-256 of the code or token is kept. A refresh and the access tokens made from it share a
    `family`, so revoking one revokes the lot.
    """

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # code, access, refresh
    token_hash: str = Field(max_length=64, unique=True, index=True)
    family: str = Field(max_length=32, index=True)
    client_id: str = Field(max_length=64, index=True)
    owner_id: int = Field(foreign_key="user.id", index=True)
    endpoint_id: int | None = Field(default=None, foreign_key="mcpendpoint.id", index=True)
    toolkit_id: int | None = Field(default=None, foreign_key="toolkit.id", index=True)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    expires_at: datetime = Field(sa_type=TZ)
    revoked_at: datetime | None = Field(default=None, sa_type=TZ)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class OAuthGrantPublic(BaseModel):
    """A client's access to an app or toolkit, as its owner sees it."""

    family: str
    client_id: str
    client_name: str | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
