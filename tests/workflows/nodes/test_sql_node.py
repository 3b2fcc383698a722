"""The sql node (workflows/nodes/sql.py, workflows/sqldb) against a real PostgreSQL database and SQLite files."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from support.stack import create_database, drop_database
from workflows import NodeError, RunCancelled, SpecError, execute, spec_from_dict

PG_ALLOW = ["127.0.0.1:5432"]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    url = create_database()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("CREATE TABLE people (id serial PRIMARY KEY, name text NOT NULL, born date, score numeric(5,2),"
                     " tags jsonb, seen timestamptz, ref uuid, blob bytea, active boolean)")
        conn.execute("INSERT INTO people (name, born, score, tags, seen, ref, blob, active) VALUES "
                     "('Ada', '1815-12-10', 99.50, '[\"math\"]', '2024-01-02T03:04:05Z',"
                     " '12345678-1234-5678-1234-567812345678', '\\x0102', true),"
                     "('Alan', '1912-06-23', 100, '{\"field\": \"logic\"}', NULL, NULL, NULL, false)")
    yield url
    drop_database(url)


def _spec(statement: str, params: dict[str, Any] | None = None, **fields: Any) -> Any:
    return spec_from_dict({
        "name": "Q", "inputs": [{"name": "who", "type": "string", "required": False}],
        "steps": [{"id": "q", "type": "sql", "connection": "{{ secrets.DB_URL }}", "statement": statement,
                   "params": params or {}, **fields}],
        "outputs": [],
    })


def _query(url: str, statement: str, params: dict[str, Any] | None = None, *, inputs: dict[str, Any] | None = None,
           allow: list[str] = PG_ALLOW, **fields: Any) -> dict[str, Any]:
    result = execute(_spec(statement, params, **fields), inputs or {}, secrets={"DB_URL": url}, http_allow=allow)
    [step] = result.trace
    assert step.output is not None
    return step.output


def _fails(url: str, statement: str, params: dict[str, Any] | None = None, *, inputs: dict[str, Any] | None = None,
           allow: list[str] = PG_ALLOW, **fields: Any) -> str:
    with pytest.raises(NodeError) as caught:
        _query(url, statement, params, inputs=inputs, allow=allow, **fields)
    return caught.value.message


def test_rows_come_back_as_objects_with_column_types_mapped_to_json(pg_url: str) -> None:
    out = _query(pg_url, "SELECT name, born, score, tags, seen, ref, blob, active, NULL AS nothing "
                         "FROM people WHERE name = :who", {"who": "{{ inputs.who }}"}, inputs={"who": "Ada"})
    assert out == {"columns": ["name", "born", "score", "tags", "seen", "ref", "blob", "active", "nothing"],
                   "rows": [{"name": "Ada", "born": "1815-12-10", "score": 99.5, "tags": ["math"],
                             "seen": "2024-01-02T03:04:05+00:00", "ref": "12345678-1234-5678-1234-567812345678",
                             "blob": "AQI=", "active": True, "nothing": None}],
                   "row_count": 1, "truncated": False}
    whole = _query(pg_url, "SELECT score, tags FROM people WHERE name = :who", {"who": "Alan"})
    assert whole["rows"] == [{"score": 100, "tags": {"field": "logic"}}]


def test_an_injection_attempt_through_a_parameter_stays_data(pg_url: str) -> None:
    attack = "x' OR '1'='1'; DROP TABLE people; --"
    out = _query(pg_url, "SELECT name FROM people WHERE name = :who", {"who": "{{ inputs.who }}"},
                 inputs={"who": attack})
    assert out["rows"] == []
    written = _query(pg_url, "INSERT INTO people (name) VALUES (:who) RETURNING name", {"who": "{{ inputs.who }}"},
                     inputs={"who": attack}, read_only=False)
    assert written["rows"] == [{"name": attack}]
    count = _query(pg_url, "SELECT count(*) AS n FROM people WHERE name = :who", {"who": attack})
    assert count["rows"] == [{"n": 1}]  # the table is still there, the attack is a name in it
    _query(pg_url, "DELETE FROM people WHERE name = :who", {"who": attack}, read_only=False)


def test_a_write_is_refused_in_read_only_mode_and_allowed_when_switched_off(pg_url: str) -> None:
    for statement in ("INSERT INTO people (name) VALUES (:who)", "UPDATE people SET name = :who",
                      "WITH x AS (DELETE FROM people RETURNING 1) SELECT :who AS w FROM x"):
        message = _fails(pg_url, statement, {"who": "Eve"})
        assert "refused: the step is read_only" in message, message
    assert _query(pg_url, "SELECT count(*) AS n FROM people", {})["rows"] == [{"n": 2}]
    out = _query(pg_url, "UPDATE people SET active = :a WHERE name = :who", {"a": True, "who": "Alan"}, read_only=False)
    assert out["row_count"] == 1 and out["rows"] == []
    _query(pg_url, "UPDATE people SET active = false WHERE name = :who", {"who": "Alan"}, read_only=False)


def test_row_and_byte_limits_truncate_the_result(pg_url: str) -> None:
    out = _query(pg_url, "SELECT g AS n FROM generate_series(1, 500) g", max_rows=10)
    assert out["row_count"] == 10 and out["truncated"] is True and out["rows"][-1] == {"n": 10}
    out = _query(pg_url, "SELECT repeat('x', 100) AS s FROM generate_series(1, 500) g", max_bytes=1000)
    assert out["truncated"] is True and 0 < out["row_count"] < 10


def test_a_slow_statement_is_stopped_by_its_timeout(pg_url: str) -> None:
    message = _fails(pg_url, "SELECT pg_sleep(20)", timeout=0.5)
    assert "took longer than its 0.5 s timeout" in message


def test_cancelling_the_run_cancels_the_statement_on_the_server(pg_url: str) -> None:
    admin = pg_url.replace("postgresql+psycopg://", "postgresql://")
    marker = "toolpress_cancel_probe"
    cancel = threading.Event()

    def sleeping() -> int:
        with psycopg.connect(admin, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s",
                               (f"%{marker}%pg_sleep%",)).fetchone()
            return int(row[0]) if row else 0

    def cancel_once_running() -> None:
        end = time.monotonic() + 20
        while time.monotonic() < end and not sleeping():
            time.sleep(0.05)
        cancel.set()

    threading.Thread(target=cancel_once_running, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(RunCancelled):
        execute(_spec(f"SELECT '{marker}' AS m, pg_sleep(60)", timeout=120), {}, secrets={"DB_URL": pg_url},
                http_allow=PG_ALLOW, should_cancel=cancel.is_set, cancel_poll_interval=0.05)
    assert time.monotonic() - started < 30
    end = time.monotonic() + 10
    while sleeping() and time.monotonic() < end:
        time.sleep(0.05)
    assert sleeping() == 0  # the server stopped the statement, not only the step


def test_a_private_host_is_refused_unless_allowed_and_errors_never_show_the_url(pg_url: str) -> None:
    message = _fails(pg_url, "SELECT 1 AS one", allow=[])
    assert "refusing to connect to '127.0.0.1'" in message
    wrong = make_url(pg_url).set(password="hunter2-secret", username="nobody").render_as_string(hide_password=False)
    message = _fails(wrong, "SELECT 1 AS one")
    assert "hunter2-secret" not in message and wrong not in message
    result = execute(_spec("SELECT 1 AS one"), {}, secrets={"DB_URL": pg_url}, http_allow=PG_ALLOW)
    assert result.trace[0].input is not None and result.trace[0].input["connection"] == "[secret DB_URL]"


def test_sqlite_files_are_read_only_by_default_and_only_inside_an_allowed_directory(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE items (name TEXT, price REAL, qty INTEGER)")
        conn.execute("INSERT INTO items VALUES ('pen', 1.5, 3), ('ink', 7.25, 1)")
    url = f"sqlite:///{path}"
    allow = [f"sqlite:{tmp_path}"]
    out = _query(url, "SELECT name, price * qty AS total FROM items WHERE qty >= :q ORDER BY name", {"q": 1},
                 allow=allow)
    assert out["rows"] == [{"name": "ink", "total": 7.25}, {"name": "pen", "total": 4.5}]
    assert "refused: the step is read_only" in _fails(url, "DELETE FROM items WHERE qty = :q", {"q": 3}, allow=allow)
    assert _query(url, "DELETE FROM items WHERE qty = :q", {"q": 3}, allow=allow, read_only=False)["row_count"] == 1
    message = _fails(url, "SELECT 1 AS one", allow=[])
    assert "refusing to open a SQLite file outside the directories the operator allowed" in message
    outside = tmp_path.parent / "elsewhere.db"
    message = _fails(f"sqlite:///{tmp_path}/../{outside.name}", "SELECT 1 AS one", allow=allow)
    assert "refusing to open a SQLite file" in message


def test_a_runaway_sqlite_query_is_stopped_by_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    forever = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) AS m FROM c")
    message = _fails(f"sqlite:///{path}", forever, allow=[f"sqlite:{tmp_path}"], timeout=0.5)
    assert "took longer than its 0.5 s timeout" in message


def test_the_spec_is_checked_when_saved() -> None:
    with pytest.raises(SpecError, match="no value for placeholder :who"):
        _spec("SELECT :who AS w")
    with pytest.raises(SpecError, match="no placeholder for extra"):
        _spec("SELECT 1 AS one", {"extra": 1})
    with pytest.raises(SpecError, match="the statement is not a template"):
        _spec("SELECT * FROM t WHERE name = '{{ inputs.who }}'")
    with pytest.raises(SpecError, match="secret"):
        spec_from_dict({"name": "Q", "inputs": [{"name": "url", "type": "string"}],
                        "steps": [{"id": "q", "type": "sql", "connection": "{{ inputs.url }}{{ secrets.PW }}",
                                   "statement": "SELECT 1 AS one"}], "outputs": []})


def test_an_unsupported_database_or_a_missing_driver_is_a_clear_failure() -> None:
    assert "unsupported database 'oracle'" in _fails("oracle://u:p@db.example.com/x", "SELECT 1 AS one")
    assert "not a database URL" in _fails("not a url", "SELECT 1 AS one")


def test_mysql_goes_through_its_driver_extra() -> None:
    """MySQL's driver is the `mysql` extra: without it the step says so; with it, it reaches the server."""
    message = _fails("mysql://u:p@127.0.0.1:1/x", "SELECT 1 AS one", allow=["127.0.0.1:1"], timeout=2)
    try:
        import pymysql  # noqa: F401, PLC0415
    except ModuleNotFoundError:
        assert "the driver for mysql+pymysql is not installed on this server (pymysql)" in message
    else:
        assert "OperationalError" in message and "p@" not in message  # port 1: nothing listens
