"""Users and their schema family."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field as PField
from sqlmodel import Field, SQLModel

from backend.models.base import TZ, utcnow


class User(SQLModel, table=True):
    """A console user (owner of apps)."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True, max_length=320)
    password_hash: str | None = Field(default=None, max_length=255)
    is_admin: bool = False
    credential_version: int = Field(default=0, description="Raised to end every session and token issued before.")
    disabled_at: datetime | None = Field(default=None, sa_type=TZ)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class UserCreate(BaseModel):
    """Sign-up payload."""

    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    password: str = PField(min_length=8, max_length=256)


class UserLogin(BaseModel):
    """Log-in payload."""

    model_config = ConfigDict(extra="forbid")
    email: str = PField(max_length=320)
    password: str = PField(max_length=256)
    read_only: bool = PField(default=False, description="Issue a token that can only read: writes get 403, and the "
                                                         "platform MCP server offers only its reading tools.")
    name: str = PField(default="API log-in", min_length=1, max_length=100,
                       description="The token's name on the account page (where it can be revoked).")


class UserPublic(BaseModel):
    """A user as the API shows it."""

    id: int
    email: str
    created_at: datetime


class TokenPublic(BaseModel):
    """An API access token issued at log-in (it expires after 14 days; listed and revocable like any API token)."""

    access_token: str
    token_type: str = "bearer"
    read_only: bool = False
    id: int
    name: str
    expires_at: datetime | None
