"""Old runs are deleted periodically: by the embedded worker's loop, and by Celery beat in `toolpress worker --beat`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client
from sqlalchemy import create_engine, text

from support.access import database_url, new_user, publish, spec_yaml
from support.stack import Stack, _base_env, free_port, start_production, stop_stack, wait_until

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(300)]

# Runs older than about two seconds go, checked twice a second.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
RETENTION = {"TOOLPRESS_RUN_RETENTION_DAYS": str(2 / 86400), "TOOLPRESS_RETENTION_INTERVAL_SECONDS": "0.5"}


def _embedded(workdir: Path) -> Stack:
    port = free_port()
    env = {**_base_env(workdir, port), **RETENTION}
    stack = Stack("embedded", f"http://127.0.0.1:{port}", env, workdir)
    stack.start_api(port)
    return stack


def _production_with_beat(workdir: Path) -> Stack:
    stack = start_production(workdir, workers=0)
    stack.env.update(RETENTION)
    proc = stack._spawn("worker-beat", "worker", "--beat", "--concurrency", "2")
    log = stack.log_files[-1]

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text(errors="replace")[-3000:])
        return "ready." in log.read_text(errors="replace")

    wait_until(ready, 90, "the Celery worker with beat")
    return stack


@pytest.fixture(scope="module", params=["embedded", "redis-postgres"])
def short_memory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack that keeps runs for about two seconds."""
    workdir = tmp_path_factory.mktemp(f"retention-{request.param}")
    stack = _embedded(workdir) if request.param == "embedded" else _production_with_beat(workdir)
    try:
        yield stack
    finally:
        stop_stack(stack)


async def test_runs_past_the_retention_period_are_deleted(short_memory: Stack) -> None:
    with httpx.Client(base_url=short_memory.base_url, timeout=30) as api:
        owner = new_user(api)
        app_id, url = publish(api, owner, spec_yaml())
        async with Client(url, mode="2026-07-28") as client:
            assert (await client.call_tool("word_report", {"text": "soon gone"})).is_error is False
        assert api.get("/api/runs", params={"app_id": app_id}, headers=owner).json()["count"] == 1

        def purged() -> bool:
            return api.get("/api/runs", params={"app_id": app_id}, headers=owner).json()["count"] == 0

        wait_until(purged, 60, "the clean-up of old runs", interval=0.5)
        assert api.get(f"/api/apps/{app_id}", headers=owner).status_code == 200  # only the runs went


def _run_files(stack: Stack, run_id: str) -> int:
    engine = create_engine(database_url(stack))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM runfile WHERE run_id = :r"), {"r": run_id}).scalar_one()
    finally:
        engine.dispose()


async def test_a_deleted_run_takes_its_files_with_it(short_memory: Stack) -> None:
    pixel = {"name": "pixel", "type": "image", "value": f"data:image/png;base64,{PNG}"}
    with httpx.Client(base_url=short_memory.base_url, timeout=30) as api:
        owner = new_user(api)
        purged_app, purged_url = publish(api, owner, spec_yaml(outputs=[pixel]))
        deleted_app, deleted_url = publish(api, owner, spec_yaml(outputs=[pixel]))
        run_ids = []
        for url in (purged_url, deleted_url):
            async with Client(url, mode="2026-07-28") as client:
                result = await client.call_tool("word_report", {"text": "a picture"})
            run_ids.append(result.structured_content["pixel"]["resource_uri"].split("/")[3])
        # the app goes at once (with its runs); the other app's run goes with the clean-up of old runs
        assert api.delete(f"/api/apps/{deleted_app}", headers=owner).status_code == 204
        assert _run_files(short_memory, run_ids[1]) == 0

        def purged() -> bool:
            return api.get("/api/runs", params={"app_id": purged_app}, headers=owner).json()["count"] == 0

        wait_until(purged, 60, "the clean-up of old runs", interval=0.5)
        assert _run_files(short_memory, run_ids[0]) == 0
