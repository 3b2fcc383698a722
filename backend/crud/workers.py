"""Worker heartbeat rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, delete, select

from backend.models import Worker
from backend.models.base import utcnow


def save_worker_heartbeat(*, session: Session, worker: Worker) -> None:
    """Insert the worker's row or refresh its `last_seen` (one row per worker name)."""
    row = session.get(Worker, worker.name)
    if row is None:
        session.add(worker)
    else:
        row.last_seen = utcnow()
        session.add(row)
    session.commit()


def list_workers(*, session: Session) -> list[Worker]:
    """Every worker row, most recently seen first."""
    return list(session.exec(select(Worker).order_by(col(Worker.last_seen).desc())))


def delete_workers(*, session: Session, names: Sequence[str]) -> None:
    """Delete the rows of these workers (gone, or stopping)."""
    if names:
        session.exec(delete(Worker).where(col(Worker.name).in_(list(names))))
        session.commit()
