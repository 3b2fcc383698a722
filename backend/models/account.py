"""Credentials that act as a user: console sessions and REST API tokens, and their schema family."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field as PField
from sqlmodel import Field, SQLModel

from backend.models.base import TZ, utcnow

ACCOUNT_TOKEN_NAME_MAX = 100
SESSION = "session"
API = "api"


class AccountToken(SQLModel, table=True):
    """A console session (`kind` session) or a REST API token (`kind` api) of one user.

    Only a SHA-256 of the token is stored (it carries 256 random bits), so a copy of the database cannot act
    as anyone. A token is good while it is not revoked, not expired, its user is not disabled, and its
    `credential_version` is still the user's: changing the password, "log out everywhere" and disabling the
    account raise the user's version, which ends every token issued before in every API process at its next
    request (each request reads the row).
    """

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=ACCOUNT_TOKEN_NAME_MAX)
    prefix: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    read_only: bool = False
    credential_version: int = 0
    expires_at: datetime | None = Field(default=None, sa_type=TZ)
    revoked_at: datetime | None = Field(default=None, sa_type=TZ)
    last_used_at: datetime | None = Field(default=None, sa_type=TZ)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class AccountTokenCreate(BaseModel):
    """A new API token: a name, an optional expiry (a time or a number of days) and whether it may only read."""

    model_config = ConfigDict(extra="forbid")
    name: str = PField(min_length=1, max_length=ACCOUNT_TOKEN_NAME_MAX)
    expires_at: datetime | None = None
    expires_in_days: float | None = PField(default=None, gt=0, le=3650)
    read_only: bool = PField(default=False, description="Writes get 403; the platform MCP server offers only its reading tools.")


class AccountTokenPublic(BaseModel):
    """An API token as its owner sees it; `token` is set only in the answer that creates it."""

    id: int
    name: str
    prefix: str
    token: str | None = None
    read_only: bool
    status: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class AccountTokensPublic(BaseModel):
    """The user's API tokens, newest first."""

    data: list[AccountTokenPublic]
    count: int
