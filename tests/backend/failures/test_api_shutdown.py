"""An API process stopped gracefully (SIGTERM) while calls stream.

Stated outcome: the process stops taking connections and exits within its grace period; a call that
can finish within the grace period finishes with its result; a call that cannot gets a clean `isError`
result naming its run (not a dropped connection); the run itself is not cancelled: it goes on in the
worker, and its result is recorded and readable through the other API process.

The runs wait on a local HTTP server that the test opens per path, so which call can finish in time
does not depend on how fast the machine is.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import anyio
import httpx
from mcp import Client

from support.apps import published_app
from support.stack import REDIS_URL, free_port, stop_stack, wait_until

from .conftest import Gates, gated_spec, start_on_broker

GRACE = 8


def test_a_stopping_api_process_finishes_or_cleanly_closes_calls_and_the_runs_keep_their_results(tmp_path: Path) -> None:
    gates = Gates("short", "long")
    stack = start_on_broker(
        tmp_path, REDIS_URL,
        TOOLPRESS_SHUTDOWN_GRACE_SECONDS=str(GRACE),
        TOOLPRESS_HTTP_ALLOW=json.dumps([f"127.0.0.1:{gates.port}"]),
    )
    try:
        stopping = stack.processes[-1]  # the API process the calls go to
        other_port = free_port()
        stack.start_api(other_port)
        other = f"http://127.0.0.1:{other_port}"

        async def scenario() -> tuple[dict[str, object], dict[str, str], dict[str, str]]:
            async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as api:
                _, short_url, _ = await published_app(api, gated_spec(gates.port, "short"))
                long_id, long_url, headers = await published_app(api, gated_spec(gates.port, "long"))
            results: dict[str, object] = {}

            async def call(name: str, url: str, mode: str) -> None:
                with anyio.fail_after(GRACE + 30):
                    async with Client(url, mode=mode) as client:
                        # Listed first: the SDK client lists tools after a call to check structured
                        # output when it has not yet, and the stopped server could not answer that.
                        await client.list_tools()
                        results[name] = await client.call_tool(f"gated_{name}", {})

            async with anyio.create_task_group() as tg:
                tg.start_soon(call, "short", short_url, "legacy")  # handshake protocol, with its GET stream
                tg.start_soon(call, "long", long_url, "2026-07-28")
                for name in ("short", "long"):  # both runs are in the worker, both calls streaming
                    assert await anyio.to_thread.run_sync(gates.arrived[name].wait, 30)
                stopping.send_signal(signal.SIGTERM)
                await anyio.sleep(0.5)
                gates.opened["short"].set()  # this run can now finish well within the grace period
            return results, {"long": str(long_id), "long_url": long_url}, headers

        results, app, headers = anyio.run(scenario)

        # uvicorn re-raises the SIGTERM it handled once its graceful shutdown is complete
        assert stopping.wait(timeout=GRACE + 10) in (0, -signal.SIGTERM)
        stopped_log = (tmp_path / f"api-{stack.base_url.rsplit(':', 1)[1]}.log").read_text()
        assert "Application shutdown complete" in stopped_log
        short, long = results["short"], results["long"]
        assert short.is_error is False, short.content[0].text
        assert short.structured_content == {"status": 200}
        assert long.is_error is True
        text = long.content[0].text
        assert "restarting" in text and "goes on in a worker" in text, text

        def newest_run() -> dict:
            response = httpx.get(f"{other}/api/runs", params={"app_id": app["long"]}, headers=headers, timeout=10)
            return response.json()["data"][0]

        assert newest_run()["status"] == "running"  # not cancelled by the stopping process
        gates.opened["long"].set()  # only now can the long run finish: the API process that held it is gone
        wait_until(lambda: newest_run()["status"] == "succeeded", 60, "the interrupted run to finish in the worker")
        run = newest_run()
        assert run["id"] in text
        assert run["result"] == {"status": 200} and run["error"] is None

        async def call_again() -> object:
            with anyio.fail_after(30):
                async with Client(app["long_url"].replace(stack.base_url, other), mode="2026-07-28") as client:
                    return await client.call_tool("gated_long", {})

        again = anyio.run(call_again)
        assert again.is_error is False and again.structured_content == {"status": 200}
    finally:
        stop_stack(stack)
        gates.close()
