"""Reading a server-sent events stream of an MCP URL from a test thread."""

from __future__ import annotations

import json
import queue
import threading

import httpx


def read_stream(url: str, headers: dict[str, str], into: queue.Queue, stop: threading.Event) -> None:
    """Read a GET stream (run it in a thread): put ("status", code), then ("message", JSON-RPC message) per event."""
    with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(10, read=60)) as response:
        into.put(("status", response.status_code))
        for line in response.iter_lines():
            if line.startswith("data:"):
                into.put(("message", json.loads(line[5:])))
            if stop.is_set():
                return
