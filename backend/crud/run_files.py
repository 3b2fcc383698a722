"""Run file rows (the bytes of a run's content outputs)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import defer
from sqlmodel import Session, col, delete, select

from backend.models import RunFile


def add_run_files(*, session: Session, files: Sequence[RunFile]) -> None:
    """Stage run files in the caller's transaction (it commits them with the run's end)."""
    session.add_all(files)


def get_run_file(*, session: Session, run_id: str, output: str) -> RunFile | None:
    """One run file with its bytes, or None."""
    return session.get(RunFile, (run_id, output))


def list_run_files(*, session: Session, run_id: str) -> list[RunFile]:
    """A run's files in output order; their bytes load only when read (while the session is open)."""
    query = select(RunFile).where(RunFile.run_id == run_id).options(defer(RunFile.data))
    return list(session.exec(query).all())


def delete_run_files(*, session: Session, run_ids: Sequence[str]) -> None:
    """Delete the files of these runs (staged: the caller commits with the runs' deletion)."""
    session.exec(delete(RunFile).where(col(RunFile.run_id).in_(run_ids)))
