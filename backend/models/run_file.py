"""Bytes a run produced: the content of its image, audio, file and resource outputs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, LargeBinary, String
from sqlmodel import Field, SQLModel

from backend.models.base import TZ, utcnow


class RunFile(SQLModel, table=True):
    """One content output of a finished run, stored once.

    The run's `result` keeps only a description (name, MIME type, size, URI); the bytes live here, in the
    database every API process and worker shares, so any process can embed them in a tools/call result,
    answer `resources/read` of their URI, or serve a console download. Rows go with their run.
    """

    run_id: str = Field(sa_column=Column(String(32), ForeignKey("run.id", ondelete="CASCADE"), primary_key=True))
    output: str = Field(primary_key=True, max_length=200)  # the output's name
    kind: str = Field(max_length=16)  # the output's type: image, audio, file or resource
    name: str = Field(max_length=255)
    mime_type: str = Field(max_length=200)
    size: int
    uri: str | None = Field(default=None, max_length=2048)  # a resource output's own URI
    is_text: bool = False  # a text resource (UTF-8), served as text rather than a blob
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
