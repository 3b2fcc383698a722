"""Resource subscriptions of handshake-protocol sessions (`resources/subscribe`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.models.base import TZ, utcnow


class ResourceSubscription(SQLModel, table=True):
    """One session's subscription to one resource URI.

    A session lives in its signed id, not in a process, so the subscription is a row keyed by the session's
    nonce: whichever API process holds the session's GET stream reads it to send `notifications/resources/updated`.
    """

    __table_args__ = (UniqueConstraint("session_key", "uri"),)

    id: int | None = Field(default=None, primary_key=True)
    session_key: str = Field(max_length=64, index=True)
    uri: str = Field(max_length=2048)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ, index=True)
