"""The floor: the `mcp` SDK's low-level Server + StreamableHTTPSessionManager under uvicorn, echo in-process.

Run: python bench/servers/bare_sdk.py PORT [--stateful]. By default the same transport settings as Toolpress
(stateless, SSE responses); `--stateful` keeps a session per client (the SDK's default), for reference: what the
stateless manager builds per request that a session would build once.
"""

from __future__ import annotations

import contextlib
import sys

import uvicorn
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.routing import Mount

TOOL = types.Tool(
    name="echo",
    description="Returns the text it is given.",
    input_schema={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
)


async def on_list_tools(ctx, params):  # type: ignore[no-untyped-def]
    return types.ListToolsResult(tools=[TOOL])


async def on_call_tool(ctx, params):  # type: ignore[no-untyped-def]
    text = str((params.arguments or {}).get("text", ""))
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content={"text": text})


server = Server("bare-echo", version="0.1.0", on_list_tools=on_list_tools, on_call_tool=on_call_tool)
manager = StreamableHTTPSessionManager(app=server, stateless="--stateful" not in sys.argv, json_response=False)


@contextlib.asynccontextmanager
async def lifespan(_app):  # type: ignore[no-untyped-def]
    async with manager.run():
        yield


app = Starlette(routes=[Mount("/mcp", app=manager.handle_request)], lifespan=lifespan)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
