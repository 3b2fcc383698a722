"""Access tokens for the bearer way in, and call limits shared by endpoints, toolkits and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field as PField
from sqlmodel import Field, SQLModel

from backend.models.base import TZ, utcnow

TOKEN_NAME_MAX = 100


class AccessToken(SQLModel, table=True):
    """A named bearer token for one app endpoint or one toolkit.

    Only a SHA-256 of the token is stored (the token carries 256 random bits, so the hash cannot be
    reversed or guessed): a copy of the database cannot call. `prefix` is the first characters, kept so
    the owner can tell tokens apart in a list. Tokens are revoked, never deleted, so runs keep their name.
    """

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id", index=True)
    endpoint_id: int | None = Field(default=None, foreign_key="mcpendpoint.id", index=True)
    toolkit_id: int | None = Field(default=None, foreign_key="toolkit.id", index=True)
    name: str = Field(max_length=TOKEN_NAME_MAX)
    prefix: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    calls_per_minute: int | None = None
    max_concurrent_runs: int | None = None
    expires_at: datetime | None = Field(default=None, sa_type=TZ)
    revoked_at: datetime | None = Field(default=None, sa_type=TZ)
    last_used_at: datetime | None = Field(default=None, sa_type=TZ)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class LimitsUpdate(BaseModel):
    """New limits for an endpoint, toolkit or token; null means the server default, 0 means no limit."""

    model_config = ConfigDict(extra="forbid")
    calls_per_minute: int | None = PField(default=None, ge=0, le=1_000_000)
    max_concurrent_runs: int | None = PField(default=None, ge=0, le=100_000)


class LimitsPublic(BaseModel):
    """Limits as configured (null: the default applies) and as enforced (0: no limit)."""

    calls_per_minute: int | None
    max_concurrent_runs: int | None
    effective_calls_per_minute: int
    effective_max_concurrent_runs: int


class AccessTokenCreate(BaseModel):
    """Create a token: a name unique among the live tokens of the endpoint, an optional expiry and limits."""

    model_config = ConfigDict(extra="forbid")
    name: str = PField(min_length=1, max_length=TOKEN_NAME_MAX)
    expires_at: datetime | None = None
    expires_in_days: float | None = PField(default=None, gt=0, le=3650)
    calls_per_minute: int | None = PField(default=None, ge=0, le=1_000_000)
    max_concurrent_runs: int | None = PField(default=None, ge=0, le=100_000)


class AccessTokenPublic(BaseModel):
    """A token as its owner sees it; `token` is set only in the answer to its creation."""

    id: int
    name: str
    prefix: str
    token: str | None = None
    status: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime
    limits: LimitsPublic
    url: str


class AccessTokensPublic(BaseModel):
    """The tokens of an endpoint or toolkit, and the URL they are used with."""

    data: list[AccessTokenPublic]
    count: int
    url: str
