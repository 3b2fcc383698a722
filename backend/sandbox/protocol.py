"""The messages between a run's supervisor and the process executing it: JSON objects over a pipe.

JSON, not pickle: the supervisor reads what a process running user-supplied templates wrote, and
unpickling would let that process run code in the supervisor.

Supervisor → process: ``run`` (a job), ``spec`` (a spec document it asked for), ``app`` (the answer
to a sub-app lookup), ``cancel``.
Process → supervisor: ``accepted`` (the job arrived), ``need_spec``, ``progress``, ``call_app``, and one of
``done``, ``failed`` (``kind``: node, workflow, cancelled, crashed), ``parked`` or ``out_of_memory`` to end a job.
The job's last ``progress`` step comes inside the message that ends it, as its ``progress`` field
(backend.sandbox.progress).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

# The largest message either side accepts: a result this large is refused rather than buffered.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class MessageTooLarge(Exception):
    """A message over MAX_MESSAGE_BYTES (the pipe is unusable afterwards)."""


def encode(message: dict[str, Any], default: Callable[[Any], Any] = str) -> bytes:
    """A message as it goes over the pipe; `default` gives what JSON lacks a form for (text, unless told)."""
    return json.dumps(message, separators=(",", ":"), default=default).encode()


def send(conn: Connection, message: dict[str, Any], default: Callable[[Any], Any] = str) -> None:
    """Write one message; raise MessageTooLarge rather than send one the other side would refuse."""
    data = encode(message, default)
    if len(data) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"a message of {len(data)} bytes is over the limit of {MAX_MESSAGE_BYTES}")
    conn.send_bytes(data)


def receive(conn: Connection) -> dict[str, Any]:
    """Read one message (EOFError when the other side has gone; MessageTooLarge for an oversized one)."""
    try:
        data = conn.recv_bytes(MAX_MESSAGE_BYTES)
    except ConnectionError:  # the other side died (a reset rather than a clean end of file)
        raise EOFError from None
    except OSError as exc:  # multiprocessing's "bad message length": the writer sent more than we accept
        raise MessageTooLarge(str(exc)) from None
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object")
    return message
