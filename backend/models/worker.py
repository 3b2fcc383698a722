"""The workers that run calls, as they report themselves (a heartbeat row each)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from backend.models.base import TZ, utcnow


class Worker(SQLModel, table=True):
    """One worker process: a `toolpress worker` or the embedded worker of a `toolpress serve`.

    It writes `last_seen` every few seconds while it lives and deletes its row when it stops. `host`,
    `boot_id`, `pid` and `process_started` identify its process, so another process on the same machine
    can tell at once that it is gone (no such pid, or a pid reused by a newer process).
    """

    name: str = Field(primary_key=True, max_length=255)  # the Celery node name, e.g. toolpress-4242@host
    kind: str = Field(max_length=16)  # celery or embedded
    host: str = Field(max_length=255)
    boot_id: str = Field(default="", max_length=64)
    pid: int
    process_started: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    concurrency: int = 0
    started_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    last_seen: datetime = Field(default_factory=utcnow, sa_type=TZ, index=True)


class WorkerPublic(BaseModel):
    """A worker as /readyz reports it."""

    name: str
    kind: str
    concurrency: int
    last_seen: datetime
