"""The database restarts under a running deployment: requests during the outage fail fast and clearly;
the first requests after it is back succeed, without restarting Toolpress.

The machine's PostgreSQL is shared, so the restart is simulated from the client side: Toolpress (API and
worker) reaches PostgreSQL through a TCP relay that the test cuts (every open connection dropped, new
ones refused) and restores, and, separately, every server connection to the stack's database is killed
with `pg_terminate_backend`. Either way each pooled connection in each process is dead afterwards. Last, the
relay kills the connections on PostgreSQL's side only, so Toolpress learns they are dead only when it uses one.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx
import psycopg
from mcp import Client
from mcp.shared.exceptions import MCPError

from backend.core.db import DATABASE_UNAVAILABLE
from support.apps import published_app
from support.stack import POSTGRES_ADMIN_URL, REDIS_URL, Stack, create_database, stop_stack

from .conftest import Gates, TcpProxy, gated_spec, run_row, start_on_broker

SPEC = (Path(__file__).parents[2] / "fixtures" / "three_steps.yaml").read_text()
LIMIT = 30  # no request or call below may take longer: the outage must never turn into a hang


async def _call(url: str, text: str) -> tuple[object, list[float]]:
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    with anyio.fail_after(LIMIT):
        async with Client(url, mode="2026-07-28") as client:
            result = await client.call_tool("word_report", {"text": text}, progress_callback=on_progress)
    return result, progress


async def _call_error(url: str, text: str) -> str:
    """The message of the MCP error a call ends with (the SDK raises it inside an exception group)."""
    try:
        await _call(url, text)
    except Exception as exc:  # noqa: BLE001 - looked into below
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]
        assert isinstance(exc, MCPError), repr(exc)
        return exc.error.message
    raise AssertionError("the call succeeded during the outage")


async def _assert_everything_works(api: httpx.AsyncClient, headers: dict[str, str], app_id: str, url: str, text: str) -> None:
    """The very first requests succeed: REST reads and writes, and an MCP call run by the worker."""
    listed = await api.get("/api/apps", headers=headers)
    assert listed.status_code == 200, listed.text
    assert [a["id"] for a in listed.json()["data"]] == [int(app_id)]
    draft = SPEC.replace("description: Cleans up", f"description: ({text}) Cleans up")
    updated = await api.patch(f"/api/apps/{app_id}", json={"yaml": draft}, headers=headers)
    assert updated.status_code == 200, updated.text
    assert text in (await api.get(f"/api/apps/{app_id}/export", headers=headers)).text
    await _assert_a_call_works(url, text)


async def _assert_a_call_works(url: str, text: str) -> None:
    result, progress = await _call(url, text)
    assert result.is_error is False, result.content[0].text
    assert result.structured_content["words"] == len(text.split())
    assert progress == [1, 2, 3]


def _terminate_backends(database: str) -> int:
    """Kill every server connection to `database` (what a PostgreSQL restart does); return how many."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


def _behind_proxy(tmp_path: Path, **extra: str) -> tuple[Stack, TcpProxy, str]:
    """A deployment whose API and worker reach a fresh database through a TcpProxy; (stack, proxy, db name)."""
    postgres = urlsplit(POSTGRES_ADMIN_URL)
    proxy = TcpProxy(postgres.port or 5432, postgres.hostname or "127.0.0.1")
    proxy.start()
    direct = create_database()
    through_proxy = direct.replace(f"@{postgres.hostname}:{postgres.port or 5432}/", f"@127.0.0.1:{proxy.port}/")
    assert through_proxy != direct
    try:
        return start_on_broker(tmp_path, REDIS_URL, database_url=through_proxy, **extra), proxy, direct.rsplit("/", 1)[1]
    except BaseException:
        proxy.cut()
        raise


def test_a_database_restart_fails_requests_clearly_and_then_they_succeed_without_a_restart(tmp_path: Path) -> None:
    stack, proxy, name = _behind_proxy(tmp_path)
    processes = list(stack.processes)

    async def scenario() -> str:
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=LIMIT) as api:
            app_id, url, headers = await published_app(api, SPEC)
            app_id = str(app_id)
            await _assert_everything_works(api, headers, app_id, url, "before the outage")

            proxy.cut()
            listed = await api.get("/api/apps", headers=headers)
            assert listed.status_code == 503
            assert listed.json() == {"detail": DATABASE_UNAVAILABLE}
            assert await _call_error(url, "during the outage") == DATABASE_UNAVAILABLE
            ready = await api.get("/readyz")
            assert ready.status_code == 503 and ready.json()["failed"] == ["database"]
            assert (await api.get("/healthz")).status_code == 200

            proxy.start()  # the database is back
            await _assert_everything_works(api, headers, app_id, url, "right after it came back")
            assert (await api.get("/readyz")).status_code == 200

            pooled = proxy.relays()
            assert _terminate_backends(name) > 0  # the API's and the worker's pooled connections die
            proxy.wait_closed(pooled)  # as after a restart: the server has closed them before the next request
            await _assert_everything_works(api, headers, app_id, url, "after every backend was terminated")

            # Dead without a sign: the URL lookup (API) and the claim (worker) find out on first use and try
            # once more on a fresh connection, so the very first call succeeds.
            proxy.sever()
            await _assert_a_call_works(url, "after the connections died unseen")
            await _assert_everything_works(api, headers, app_id, url, "and after that")
            return app_id

    try:
        app_id = anyio.run(scenario)
        assert all(proc.poll() is None for proc in processes), "a Toolpress process exited"
        assert run_row(stack, app_id)["status"] == "succeeded"
    finally:
        stop_stack(stack)
        proxy.cut()


def test_a_call_in_flight_while_the_database_restarts_still_returns_its_result(tmp_path: Path) -> None:
    """The run is inside a step when the database goes away and comes back; the API process following the
    call keeps waiting through the outage (its polls fail) and relays the result once the run ends."""
    gates = Gates("slow")
    stack, proxy, _ = _behind_proxy(tmp_path, TOOLPRESS_HTTP_ALLOW=json.dumps([f"127.0.0.1:{gates.port}"]))

    async def scenario() -> tuple[str, object]:
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=LIMIT) as api:
            app_id, url, _ = await published_app(api, gated_spec(gates.port, "slow"))
        outcome: list[object] = []

        async def call() -> None:
            with anyio.fail_after(LIMIT + 30):
                async with Client(url, mode="2026-07-28") as client:
                    outcome.append(await client.call_tool("gated_slow", {}))

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            assert await anyio.to_thread.run_sync(gates.arrived["slow"].wait, LIMIT)  # the run is in its step
            proxy.cut()
            await anyio.sleep(3)  # the outage itself: the call's database polls fail meanwhile
            proxy.start()
            gates.opened["slow"].set()
        return str(app_id), outcome[0]

    try:
        app_id, result = anyio.run(scenario)
        assert result.is_error is False, result.content[0].text
        assert result.structured_content == {"status": 200}
        assert run_row(stack, app_id)["status"] == "succeeded"
    finally:
        stop_stack(stack)
        proxy.cut()
        gates.close()
