"""Short reads from the event loop (backend.core.loop_reads): inline for a local SQLite file, on a thread otherwise.

An inline read must never hold the loop while the file is locked: it gives up quickly and waits on a thread.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import anyio
import pytest
from sqlmodel import SQLModel

from backend.core import loop_reads
from backend.core.db import get_autocommit_engine, get_engine, session_scope
from backend.core.statements import Statements
from backend.models import App, AppVersion, User

pytestmark = pytest.mark.anyio


def _app_name(app_id: int, seen: list[int]):  # type: ignore[no-untyped-def]
    """A read of the app's name that notes the thread it ran on."""

    def work(db: Statements) -> str:
        seen.append(threading.get_ident())
        app = db.session.get(App, app_id)
        assert app is not None
        return app.name

    return work


async def test_a_sqlite_read_runs_on_the_loop_and_any_other_on_a_thread(url: str, version: AppVersion) -> None:
    seen: list[int] = []
    name = await loop_reads.read(url, _app_name(version.app_id, seen))
    with session_scope(url) as session:
        app = session.get(App, version.app_id)
        assert app is not None and name == app.name
    loop_thread = threading.get_ident()
    if url.startswith("sqlite"):
        assert seen == [loop_thread]
    else:  # a round trip over the network must not stop the loop
        assert len(seen) == 1 and seen[0] != loop_thread


@pytest.fixture
def sqlite_file(tmp_path: Path) -> tuple[str, Path, int]:
    """A SQLite database of its own (URL, file) with one app; returns the app's id too."""
    path = tmp_path / "loop.db"
    url = f"sqlite:///{path}"
    SQLModel.metadata.create_all(get_engine(url))
    with session_scope(url) as session:
        user = User(email="loop@example.com", password_hash="x")
        session.add(user)
        session.commit()
        app = App(owner_id=user.id, name="before", spec={"name": "loop"})
        session.add(app)
        session.commit()
        assert app.id is not None
        return url, path, app.id


async def test_an_inline_read_sees_the_last_commit_without_waiting_for_a_writer(sqlite_file: tuple[str, Path, int]) -> None:
    url, path, app_id = sqlite_file
    seen: list[int] = []
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE app SET name = 'after' WHERE id = ?", (app_id,))
        assert await loop_reads.read(url, _app_name(app_id, seen)) == "before"  # WAL: the writer's work is not committed
        writer.execute("COMMIT")
        assert await loop_reads.read(url, _app_name(app_id, seen)) == "after"
    finally:
        writer.close()
    assert seen == [threading.get_ident()] * 2


async def test_a_locked_file_sends_the_read_to_a_thread_while_the_loop_runs_on(sqlite_file: tuple[str, Path, int]) -> None:
    url, path, app_id = sqlite_file
    seen: list[int] = []
    assert await loop_reads.read(url, _app_name(app_id, seen)) == "before"  # inline, before the lock
    # Another process takes the file for itself (exclusive locking mode keeps the lock after its write) while this
    # process has no connection open: it can then open none until that process lets go.
    for engine in (get_engine(url), get_autocommit_engine(url), loop_reads._loop_engine(url)):
        assert engine is not None
        engine.dispose()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("UPDATE app SET name = 'locked' WHERE id = ?", (app_id,))
    ticks = 0
    result: list[str] = []

    async def ticker() -> None:
        nonlocal ticks
        while not result:
            ticks += 1
            await anyio.sleep(0.005)

    async def reader() -> None:
        result.append(await loop_reads.read(url, _app_name(app_id, seen)))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(ticker)
            group.start_soon(reader)
            while ticks < 20:  # the loop keeps running while the read waits for the lock
                await anyio.sleep(0.005)
            assert not result
            locker.close()  # the lock goes with the connection; its write was committed
    assert result == ["locked"]
    assert seen[0] == threading.get_ident()  # the first read ran inline
    assert seen[-1] != threading.get_ident()  # the read that met the lock was answered from a thread


async def test_a_file_locked_before_the_first_read_is_read_on_a_thread_then_inline(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'first.db'}"
    SQLModel.metadata.create_all(get_engine(url))
    get_engine(url).dispose()
    locker = sqlite3.connect(tmp_path / "first.db", isolation_level=None)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("CREATE TABLE probe (x INTEGER)")  # a write: the lock is taken and kept
    seen: list[int] = []

    def work(db: Statements) -> int:
        seen.append(threading.get_ident())
        return db.session.connection().exec_driver_sql("SELECT count(*) FROM app").scalar_one()

    async def unlock_soon() -> None:
        while not seen:  # the read has started (on a thread, since the file is locked)
            await anyio.sleep(0.005)
        locker.close()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(unlock_soon)
            assert await loop_reads.read(url, work) == 0
    assert seen[-1] != threading.get_ident()
    assert await loop_reads.read(url, work) == 0  # the lock gone, the next read is inline
    assert seen[-1] == threading.get_ident()


async def test_a_database_in_memory_is_read_on_a_thread() -> None:
    seen: list[int] = []

    def work(db: Statements) -> int:
        seen.append(threading.get_ident())
        return db.session.connection().exec_driver_sql("SELECT 1").scalar_one()

    assert await loop_reads.read("sqlite://", work) == 1
    assert len(seen) == 1 and seen[0] != threading.get_ident()
