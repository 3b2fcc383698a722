"""The process that executes runs: the engine, fed jobs over a pipe by its supervisor (backend.sandbox.pool).

It imports the engine and the standard library only, holds no database connection and no settings, and
learns of a run only what its job carries (spec, arguments, the owner's secrets for the steps that send
them out, the HTTP allow-list). Its supervisor sets its CPU and memory limits (setrlimit, enforced by the
kernel), watches the clock and kills it when a run goes over; it dies with its parent, ignores Ctrl+C
(the supervisor stops it) and runs at a lower CPU priority than the process serving requests.

A job ends with exactly one of ``done``, ``failed``, ``parked`` (a step needs the caller's answer: the question
and the run's saved state go back, workflows.parking) or ``out_of_memory``. Running out of memory (the
kernel refused an allocation: ``MemoryError``) is reported after the job's objects are released; the
supervisor then retires this process.
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import itertools
import os
import resource
import signal
import threading
from collections import OrderedDict
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import workflows
from backend.sandbox.progress import HeldProgress
from backend.sandbox.protocol import MessageTooLarge, receive, send

# What a job's process environment keeps: nothing of the server's configuration (keys, database URLs).
_ENVIRONMENT_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR",
                     "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
_PR_SET_PDEATHSIG = 1
NICENESS = 5
SPEC_CACHE_SIZE = 256


def _harden() -> None:
    """Die with the parent, no core files, no inherited configuration, no Ctrl+C, a lower priority."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the supervisor's pipe closing still ends the process
        pass
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _forget_environment()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(NICENESS)


def _forget_environment() -> None:
    """Keep only _ENVIRONMENT_KEPT: in os.environ, and in the process's initial environment block too.

    Clearing os.environ leaves the strings the process was started with in its memory, where
    /proc/self/environ still shows them; they are zeroed (no pointer into them is left once every
    variable has been unset and the kept ones set again from copies).
    """
    kept = {key: os.environ[key] for key in _ENVIRONMENT_KEPT if key in os.environ}
    os.environ.clear()
    os.environ.update(kept)
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (fields 50 and 51 of proc(5))
    except (OSError, IndexError, ValueError):
        return
    if 0 < start < end:
        ctypes.memset(start, 0, end - start)


def _plain(value: Any) -> Any:
    """json.dumps's `default`: a dataclass as its fields (the encoder goes on into them), anything else as text.

    Not `dataclasses.asdict`, which deep-copies every value on the way: a third of a short run's CPU here.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return str(value)


def _trace(trace: Any) -> list[Any] | None:
    return list(trace) if trace else None


class _Reply:
    """A request to the supervisor waiting for its answer."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.message: dict[str, Any] = {}


class _Runtime:
    """One sandbox process: a reader thread takes messages, the main thread runs one job at a time."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._send_lock = threading.Lock()
        self._jobs: list[dict[str, Any]] = []
        self._job_ready = threading.Condition()
        self._cancelled = threading.Event()
        self._pending: dict[int, _Reply] = {}
        self._ids = itertools.count(1)
        self._specs: OrderedDict[str, workflows.AppSpec] = OrderedDict()
        self._job: dict[str, Any] = {}
        self._progress = HeldProgress()  # the job's last step goes with its outcome (backend.sandbox.progress)

    # -- messages -----------------------------------------------------------------------------------
    def send(self, message: dict[str, Any], default: Callable[[Any], Any] = str) -> None:
        with self._send_lock:
            self._progress.before(self._send_now)
            send(self._conn, message, default)

    def _send_now(self, message: dict[str, Any]) -> None:
        send(self._conn, message)

    def _send_outcome(self, message: dict[str, Any], default: Callable[[Any], Any] = str) -> None:
        """The job's last message, with its held progress step (kept for a fallback should this one fail)."""
        with self._send_lock:
            send(self._conn, self._progress.into(message), default)
            self._progress.held = None

    def _read_forever(self) -> None:
        while True:
            try:
                message = receive(self._conn)
            except (EOFError, OSError, MessageTooLarge, ValueError):
                os._exit(0)  # the supervisor is gone (or broke the protocol): nothing left to do
            kind = message.get("type")
            if kind == "run":
                self.send({"type": "accepted"})
                with self._job_ready:
                    self._cancelled.clear()
                    self._jobs.append(message)
                    self._job_ready.notify()
            elif kind == "cancel":
                self._cancelled.set()
            elif kind in ("spec", "app"):
                reply = self._pending.pop(int(message.get("id", 0)), None)
                if reply is not None:
                    reply.message = message
                    reply.arrived.set()

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send a request and wait for its answer; a cancel of the run interrupts the wait."""
        request_id = next(self._ids)
        reply = self._pending[request_id] = _Reply()
        self.send({**message, "id": request_id})
        while not reply.arrived.wait(0.1):
            if self._cancelled.is_set():
                self._pending.pop(request_id, None)
                raise workflows.RunCancelled("run cancelled while waiting for the server")
        return reply.message

    def _spec(self, key: str | None, document: dict[str, Any] | None) -> workflows.AppSpec:
        """The parsed spec for a key: from this process's cache, the document given, or asked for."""
        if key is not None and key in self._specs:
            self._specs.move_to_end(key)
            return self._specs[key]
        if document is None:
            document = self._ask({"type": "need_spec", "key": key})["spec"]
        spec = workflows.spec_from_dict(document, stored=True)
        if key is not None:
            self._specs[key] = spec
            while len(self._specs) > SPEC_CACHE_SIZE:
                self._specs.popitem(last=False)
        return spec

    # -- jobs -------------------------------------------------------------------------------------------
    def serve(self) -> None:
        threading.Thread(target=self._read_forever, name="toolpress-sandbox-reader", daemon=True).start()
        while True:
            with self._job_ready:
                while not self._jobs:
                    self._job_ready.wait()
                job = self._jobs.pop(0)
            self._run(job)

    def _on_progress(self, event: workflows.ProgressEvent) -> None:
        with self._send_lock:
            self._progress.step(event.done, event.total, event.message, self._send_now)

    def _log(self, entry: workflows.LogEntry) -> None:
        self.send({"type": "log", "level": entry.level, "message": entry.message, "step_id": entry.step_id})

    def _call_app(self, call: workflows.SubAppCall) -> dict[str, Any]:
        """A sub_app step: the supervisor finds the app (same owner, published); it runs here, in this process."""
        answer = self._ask({"type": "call_app", "app": call.app})
        if "error" in answer:
            raise workflows.WorkflowError(str(answer["error"]))
        if {str(answer["name"]), str(answer["app_id"])} & set(call.call_stack[:-1]):
            raise workflows.WorkflowError(f"call cycle: {' → '.join(call.call_stack)}")
        spec = self._spec(answer.get("key"), answer.get("spec"))
        arguments = workflows.validate_inputs(spec, call.inputs)
        result = workflows.execute(
            spec, arguments, should_cancel=call.should_cancel, secrets=self._job["secrets"],
            http_allow=self._job["http_allow"], call_app=self._call_app, call_stack=call.call_stack,
            timeout=call.timeout,
        )
        return dict(result.outputs)

    def _run(self, job: dict[str, Any]) -> None:
        self._job = job
        self._progress.held = None
        message: dict[str, Any] | None = None
        try:
            message = self._outcome(job)
            # the outcome's dataclasses (trace steps, log entries) and values go out as plain JSON in this one encoding
            self._send_outcome(message, default=_plain)
            return
        except MemoryError:  # handled below, outside this block: the exception's frames still hold the run's objects
            message = None
        except MessageTooLarge as exc:
            message = {"type": "failed", "kind": "crashed", "message": f"the run's result is too large ({exc})"}
        except (TypeError, ValueError, RecursionError) as exc:  # an outcome JSON cannot hold (nested too deep)
            message = {"type": "failed", "kind": "crashed", "message": f"{type(exc).__name__}: {exc}"[:2000]}
        finally:
            self._job = {}
        if message is None:
            gc.collect()  # the run's objects are released now: there is room to say what happened
            message = {"type": "out_of_memory"}
        self._send_outcome(message)

    def _outcome(self, job: dict[str, Any]) -> dict[str, Any]:
        try:
            spec = self._spec(job.get("spec_key"), job.get("spec"))
            result = workflows.execute(
                spec, job["inputs"], on_progress=self._on_progress, on_log=self._log, should_cancel=self._cancelled.is_set,
                secrets=job["secrets"], http_allow=job["http_allow"], call_app=self._call_app,
                call_stack=tuple(job["call_stack"]), timeout=job.get("timeout"),
                resume=workflows.ParkedState.from_dict(job["resume"]) if job.get("resume") else None,
                answers=job.get("answers") or {},
            )
        except workflows.NeedsInput as parked:
            return {"type": "parked", "question": parked.question.to_dict(), "state": parked.state.to_dict()}
        except workflows.RunCancelled:
            return {"type": "failed", "kind": "cancelled", "message": "cancelled by the caller"}
        except workflows.NodeError as exc:
            return {"type": "failed", "kind": "node", "message": str(exc), "trace": _trace(getattr(exc, "trace", None))}
        except workflows.WorkflowError as exc:
            return {"type": "failed", "kind": "workflow", "message": str(exc)}
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the supervisor, which logs it; never to the caller
            return {"type": "failed", "kind": "crashed", "message": f"{type(exc).__name__}: {exc}"[:2000]}
        return {"type": "done", "outputs": result.outputs, "trace": _trace(result.trace)}


def main(conn: Connection) -> None:
    """Entry point of a sandbox process (started by the pool through the fork server)."""
    _harden()
    _Runtime(conn).serve()
