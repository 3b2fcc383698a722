"""Per-user named secrets (values encrypted at rest) and their schema family."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field as PField
from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.models.base import TZ, utcnow

SECRET_NAME_PATTERN = r"^[A-Z][A-Z0-9_]{0,63}$"
MAX_SECRET_VALUE = 16 * 1024


class Secret(SQLModel, table=True):
    """A named secret of one user; `ciphertext` is a Fernet token, never the value itself."""

    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_secret_owner_name"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=64)
    ciphertext: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class SecretSet(BaseModel):
    """Body of PUT /api/secrets/{name}: the new value."""

    model_config = ConfigDict(extra="forbid")
    value: str = PField(min_length=1, max_length=MAX_SECRET_VALUE)


class SecretPublic(BaseModel):
    """A secret as the API shows it: its name and dates, never its value."""

    name: str
    created_at: datetime
    updated_at: datetime


class SecretsPublic(BaseModel):
    """All of a user's secrets."""

    data: list[SecretPublic]
    count: int
