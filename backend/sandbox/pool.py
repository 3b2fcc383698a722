"""A pool of sandbox processes that execute runs, each run supervised from outside its process.

Why processes: a template runs inside the interpreter that renders it, and one C-level operation
(a huge sum, a huge power) holds that interpreter's GIL for as long as it takes, while memory it
allocates is the process's. A thread or an in-interpreter budget cannot stop that; the kernel can.
So every run executes in a child process (backend.sandbox.child) that shares no GIL and no memory with
the worker or the API, and its supervisor (the thread that hands it the job):

- sets its CPU-time limit (RLIMIT_CPU: the kernel sends SIGXCPU, then SIGKILL) and its memory limit
  (RLIMIT_DATA: allocations beyond it fail, the run ends as out of memory) with prlimit before the job;
- watches its resident memory and the wall clock, and kills it (SIGKILL) when either goes over;
- relays its progress (a run's last step comes with its outcome: backend.sandbox.progress), answers its
  sub-app lookups, passes on a cancel, and kills it if it does not stop within a few seconds of one;
- replaces a process that was killed, crashed or ran out of memory, so the next run finds a fresh one.

Processes are forked from a fork server that has the engine imported (about 10 ms each), and a process
that ended its run normally is kept for the next (up to RETIRE_AFTER_RUNS runs, or until its memory has
grown past half its limit).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any, Literal

from backend.sandbox import child
from backend.sandbox.progress import Progress, carried
from backend.sandbox.limits import Limits
from backend.sandbox.protocol import MessageTooLarge, receive, send

logger = logging.getLogger(__name__)

RETIRE_AFTER_RUNS = 1000
LOOK_EVERY_SECONDS = 0.1  # how often the supervisor looks at memory, the clock and the cancel check
CANCEL_GRACE_SECONDS = 3.0  # a cancelled run that has not stopped by then is killed
WALL_GRACE_SECONDS = 5.0  # the engine stops a run at its time limit itself; this is the kill behind it
CPU_GRACE_SECONDS = 2.0  # the kernel stops a process at its CPU limit; this is the kill behind it
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_context = multiprocessing.get_context("forkserver")
# The fork server imports the engine once; "__main__" too, so forked processes need not import it again.
_context.set_forkserver_preload(["__main__", "backend.sandbox.child"])


class _NotAccepted(Exception):
    """A process could not take a job (it had died while idle)."""


class SubAppNotFound(Exception):
    """A sub_app step names an app the run's owner cannot call (the message says why)."""


@dataclass(frozen=True)
class SpecSource:
    """A spec by cache key, with a way to produce its document when the process does not have it yet."""

    key: str | None
    document: Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class SubApp:
    """An app a sub_app step calls, as the host found it."""

    name: str
    app_id: int
    spec: SpecSource


@dataclass(frozen=True)
class Job:
    """One run to execute: what the engine needs and nothing else."""

    run_id: str
    spec: SpecSource
    inputs: dict[str, Any]
    secrets: dict[str, str]
    http_allow: list[str]
    call_stack: list[str]
    timeout: float | None
    resume: dict[str, Any] | None = None  # a parked run's saved state (workflows.parking), when it resumes
    answers: dict[str, Any] | None = None  # step id -> the caller's answer


@dataclass
class Hooks:
    """How a run talks back to its host while it runs."""

    on_progress: Callable[[int, int, str | None], None]
    should_cancel: Callable[[], bool]
    find_app: Callable[[str], SubApp]
    on_log: Callable[[str, str, str], None] = lambda level, message, step_id: None  # a step's log message


@dataclass
class Outcome:
    """How a run ended. `limit` names the limit that stopped it (memory, cpu, wall); `detail` is for the log only."""

    status: Literal["succeeded", "failed", "cancelled", "waiting"]
    outputs: dict[str, Any] | None = None
    trace: list[dict[str, Any]] | None = None
    error: str | None = None
    limit: str | None = None
    detail: str | None = None
    crashed: bool = False
    question: dict[str, Any] | None = None  # waiting: what the run asks the caller
    parked: dict[str, Any] | None = None  # waiting: the run's saved state
    progress: Progress | None = None  # the run's last step, which came with the outcome (sandbox.progress)


@dataclass
class _Watch:
    """What the supervisor knows about the job in flight."""

    limits: Limits
    deadline: float
    specs: dict[str | None, SpecSource] = field(default_factory=dict)
    accepted: bool = False
    cancel_sent_at: float | None = None
    cpu_at_start: float = 0.0
    resident_at_start: int = 0
    cpu_seconds: float = 0.0
    measured_at: float = 0.0  # when cpu_seconds and the memory were last read (monotonic)


class _Process:
    """The supervisor's handle on one sandbox process."""

    def __init__(self) -> None:
        ours, theirs = _context.Pipe(duplex=True)
        self.process = _context.Process(target=child.main, args=(theirs,), name="toolpress-sandbox", daemon=True)
        self.process.start()
        theirs.close()
        self.conn = ours
        self.runs = 0
        self.known_specs: set[str] = set()
        self.resident_when_started = 0

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def _set_limit(self, which: int, soft: int, hard: int) -> None:
        resource.prlimit(self.pid, which, (soft, hard))

    def alive(self) -> bool:
        return self.process.is_alive()

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used (from /proc)."""
        with open(f"/proc/{self.pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def resident_bytes(self) -> int:
        """Memory the process holds in RAM now."""
        return self._memory()[0]

    def _memory(self) -> tuple[int, int]:
        """(resident, private writable) bytes of the process: what it holds in RAM, and what RLIMIT_DATA counts."""
        with open(f"/proc/{self.pid}/statm", "rb") as statm:
            fields = statm.read().split()
        return int(fields[1]) * _PAGE_SIZE, int(fields[5]) * _PAGE_SIZE

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(10)
        self.conn.close()

    # -- one job ------------------------------------------------------------------------------------
    def execute(self, job: Job, limits: Limits, hooks: Hooks) -> Outcome:
        """Run `job` in this process under `limits`; the process may be dead afterwards (see alive())."""
        watch = _Watch(limits=limits, deadline=time.monotonic() + limits.wall_seconds + WALL_GRACE_SECONDS)
        watch.specs[job.spec.key] = job.spec
        try:
            self._limit(limits, watch)
            self._send({
                "type": "run", "run_id": job.run_id, "spec_key": job.spec.key,
                "spec": self._document(job.spec), "inputs": job.inputs, "secrets": job.secrets,
                "http_allow": job.http_allow, "call_stack": job.call_stack, "timeout": job.timeout,
                "resume": job.resume, "answers": job.answers,
            })
        except OSError as exc:  # no such process, or its pipe is closed: it died while idle
            self.known_specs.clear()
            raise _NotAccepted(str(exc)) from None
        next_look = time.monotonic()  # the first look at once: a run cancelled while queued stops before its first step
        while True:
            ready = wait([self.conn, self.process.sentinel], timeout=LOOK_EVERY_SECONDS)
            if self.conn in ready:  # messages first: a process that ended may have said why
                try:
                    outcome = self._handle(receive(self.conn), watch, hooks)
                except EOFError:
                    if not watch.accepted:  # it died before it saw the job: not this run's doing
                        self.known_specs.clear()
                        raise _NotAccepted("the process ended before it took the job") from None
                    return self._died(watch)
                except (MessageTooLarge, ValueError) as exc:
                    self.kill()
                    return Outcome("failed", error="the run's result was too large to return", detail=str(exc))
                if outcome is not None:
                    return outcome
            elif self.process.sentinel in ready:
                if not watch.accepted:
                    self.known_specs.clear()
                    raise _NotAccepted("the process ended before it took the job")
                return self._died(watch)
            now = time.monotonic()
            if now >= next_look:  # looked at however busy the pipe is
                next_look = now + LOOK_EVERY_SECONDS
                outcome = self._look(watch, hooks, now)
                if outcome is not None:
                    return outcome

    def _limit(self, limits: Limits, watch: _Watch) -> None:
        """Set the process's limits for the next job; note where its CPU time and memory start from.

        Only soft limits change per job (a hard limit, once lowered, cannot be raised again without
        privilege). Past the soft CPU limit the kernel sends SIGXCPU, whose default action ends the process
        (_look kills one that goes on); past the soft memory limit allocations fail (MemoryError). The memory
        limit is what the run may add to the idle process, whose own modules do not count.
        """
        used = watch.cpu_at_start = watch.cpu_seconds = self.cpu_seconds()
        watch.measured_at = time.monotonic()
        self._set_limit(resource.RLIMIT_CPU, math.ceil(used + limits.cpu_seconds), resource.RLIM_INFINITY)
        watch.resident_at_start, data = self._memory()
        self.resident_when_started = self.resident_when_started or watch.resident_at_start
        self._set_limit(resource.RLIMIT_DATA, data + limits.memory_mb * 1024 * 1024, resource.RLIM_INFINITY)

    def _document(self, spec: SpecSource) -> dict[str, Any] | None:
        if spec.key is not None and spec.key in self.known_specs:
            return None
        if spec.key is not None:
            self.known_specs.add(spec.key)
        return spec.document()

    def _send(self, message: dict[str, Any]) -> None:
        send(self.conn, message)

    def _handle(self, message: dict[str, Any], watch: _Watch, hooks: Hooks) -> Outcome | None:
        kind = message.get("type")
        if kind == "accepted":
            watch.accepted = True
        elif kind == "progress":
            hooks.on_progress(int(message["done"]), int(message["total"]), message.get("message"))
        elif kind == "log":
            hooks.on_log(str(message.get("level")), str(message.get("message")), str(message.get("step_id")))
        elif kind == "need_spec":
            source = watch.specs.get(message.get("key"))
            if source is None:  # not a spec of this job: a broken or hostile process
                self.kill()
                return Outcome("failed", error="internal error while running the app", crashed=True,
                               detail=f"the sandbox asked for an unknown spec {message.get('key')!r}")
            self.known_specs.discard(source.key or "")
            self._send({"type": "spec", "id": message.get("id"), "spec": self._document(source)})
        elif kind == "call_app":
            self._send({"type": "app", "id": message.get("id"), **self._find_app(str(message.get("app")), watch, hooks)})
        elif kind in ("done", "failed", "parked"):
            self.runs += 1
            outcome = self._ended(message)
            outcome.progress = carried(message)
            return outcome
        elif kind == "out_of_memory":
            self.kill()  # its heap may be fragmented past use: a fresh process takes the next run
            return Outcome("failed", error=watch.limits.exceeded("memory"), limit="memory", progress=carried(message))
        return None

    def _find_app(self, ref: str, watch: _Watch, hooks: Hooks) -> dict[str, Any]:
        try:
            found = hooks.find_app(ref)
        except SubAppNotFound as exc:
            return {"error": str(exc)}
        except Exception:  # the host could not look (its database is away): the step fails, the run goes on
            logger.exception("looking up app %r for a sub_app step failed", ref)
            return {"error": f"app {ref!r} could not be looked up just now; try again"}
        watch.specs[found.spec.key] = found.spec
        return {"name": found.name, "app_id": found.app_id, "key": found.spec.key, "spec": self._document(found.spec)}

    @staticmethod
    def _ended(message: dict[str, Any]) -> Outcome:
        """The outcome a job's last message (done, failed or parked) reports."""
        if message["type"] == "done":
            return Outcome("succeeded", outputs=message.get("outputs") or {}, trace=message.get("trace"))
        if message["type"] == "parked":
            return Outcome("waiting", question=message.get("question"), parked=message.get("state"))
        kind, text = message.get("kind"), str(message.get("message") or "")
        if kind == "cancelled":
            return Outcome("cancelled", error="cancelled by the caller")
        if kind == "crashed":
            return Outcome("failed", error="internal error while running the app", detail=text, crashed=True)
        return Outcome("failed", error=text, trace=message.get("trace"))

    def _look(self, watch: _Watch, hooks: Hooks, now: float) -> Outcome | None:
        """The periodic look: memory, the clock, and the caller's cancel.

        The first look comes at once (for the cancel); what `_limit` read a moment before is not read again, so a
        short run costs two reads of /proc rather than four.
        """
        outcome = self._measure(watch, now) if now - watch.measured_at >= LOOK_EVERY_SECONDS else None
        if outcome is not None:
            return outcome
        if now > watch.deadline:
            self.kill()
            return Outcome("failed", error=watch.limits.exceeded("wall"), limit="wall")
        if watch.cancel_sent_at is None:
            if hooks.should_cancel():
                watch.cancel_sent_at = now
                self._send({"type": "cancel"})
        elif now - watch.cancel_sent_at > CANCEL_GRACE_SECONDS:
            self.kill()
            return Outcome("cancelled", error="cancelled by the caller")
        return None

    def _measure(self, watch: _Watch, now: float) -> Outcome | None:
        """Read the process's CPU time and memory; kill it past its memory or CPU limit."""
        try:
            watch.cpu_seconds = self.cpu_seconds()
            resident = self.resident_bytes()
        except OSError:  # it has just exited: the next wait() sees its sentinel
            return None
        watch.measured_at = now
        if resident - watch.resident_at_start > watch.limits.memory_mb * 1024 * 1024:
            self.kill()
            return Outcome("failed", error=watch.limits.exceeded("memory"), limit="memory")
        if watch.cpu_seconds - watch.cpu_at_start > watch.limits.cpu_seconds + CPU_GRACE_SECONDS:
            self.kill()
            return Outcome("failed", error=watch.limits.exceeded("cpu"), limit="cpu")
        return None

    def _died(self, watch: _Watch) -> Outcome:
        """The process ended mid-run: name the limit that ended it, or say it crashed."""
        self.kill()
        code = self.process.exitcode
        over_cpu = watch.cpu_seconds - watch.cpu_at_start >= watch.limits.cpu_seconds - 1
        if code == -signal.SIGXCPU or (code == -signal.SIGKILL and over_cpu):
            return Outcome("failed", error=watch.limits.exceeded("cpu"), limit="cpu")
        if code == -signal.SIGKILL:
            return Outcome("failed", error="the process running the app was killed (possibly by the operating "
                                           "system, for lack of memory); nothing was returned",
                           detail=f"sandbox process killed (exit code {code})", crashed=True)
        return Outcome("failed", error="internal error while running the app", crashed=True,
                       detail=f"sandbox process exited unexpectedly (exit code {code})")


class SandboxPool:
    """Sandbox processes for the runs of one worker: at most `capacity` at a time, each reused while healthy."""

    def __init__(self, *, capacity: int, memory_mb: int) -> None:
        self.capacity = max(1, capacity)
        # a process that kept more than half a run's memory allowance after its run is replaced
        self.retire_above_bytes = memory_mb * 1024 * 1024 // 2
        self._idle: list[_Process] = []
        self._count = 0  # processes alive or being started: idle + busy
        self._warm = 0
        self._changed = threading.Condition()
        self._spawning = threading.Lock()
        self._closed = False

    def start(self, warm: int = 0) -> None:
        """Start `warm` processes now (and keep that many ready after one is retired)."""
        if not (hasattr(resource, "prlimit") and os.path.isdir("/proc/self")):
            raise RuntimeError("sandbox processes need Linux (prlimit and /proc), which this system does not have")
        self._warm = min(warm, self.capacity)
        for _ in range(self._warm):
            process = self._spawn_counted()
            self._put_back(process)

    def run(self, job: Job, limits: Limits, hooks: Hooks) -> Outcome:
        """Execute one run in a sandbox process; never raises for what the run does.

        A process that died while idle (found when the job cannot be handed to it) is replaced and the job
        handed to a new one, once. The other idle processes go too: what killed one (the kernel's out-of-memory
        killer, an operator) may have killed them, and a process killed a moment ago can still look alive.
        """
        for attempt in (1, 2):
            process = self._take()
            reusable = False
            try:
                outcome = process.execute(job, limits, hooks)
                reusable = process.alive() and not outcome.crashed and self._healthy(process)
                return outcome
            except _NotAccepted:
                if attempt == 2:
                    raise
                logger.warning("a sandbox process had died while idle; handing the run to a new one")
                self._drop_idle()
            finally:
                if reusable:
                    self._put_back(process)
                else:
                    self._retire(process)
        raise AssertionError("unreachable")

    def _healthy(self, process: _Process) -> bool:
        try:
            grown = process.resident_bytes() - process.resident_when_started > self.retire_above_bytes
        except OSError:
            return False
        return process.runs < RETIRE_AFTER_RUNS and not grown

    def _take(self) -> _Process:
        with self._changed:
            while True:
                while self._idle:
                    process = self._idle.pop()
                    if process.alive():
                        return process
                    self._count -= 1
                    process.kill()
                if self._count < self.capacity:
                    self._count += 1
                    break
                self._changed.wait()
        try:
            return self._spawn()
        except BaseException:
            with self._changed:
                self._count -= 1
                self._changed.notify()
            raise

    def _put_back(self, process: _Process) -> None:
        with self._changed:
            if self._closed:
                self._count -= 1
                process.kill()
                return
            self._idle.append(process)
            self._changed.notify()

    def _retire(self, process: _Process) -> None:
        process.kill()
        with self._changed:
            self._count -= 1
            self._changed.notify()
            refill = not self._closed and self._count < self._warm
            if refill:
                self._count += 1
        if refill:  # started off the run's thread: its result is not held up by the fork
            threading.Thread(target=self._refill, name="toolpress-sandbox-refill", daemon=True).start()

    def _refill(self) -> None:
        try:
            process = self._spawn()
        except Exception:
            logger.exception("could not start a sandbox process")
            with self._changed:
                self._count -= 1
                self._changed.notify()
            return
        self._put_back(process)

    def _spawn_counted(self) -> _Process:
        with self._changed:
            self._count += 1
        return self._spawn()

    def _spawn(self) -> _Process:
        with self._spawning:
            return _Process()

    def close(self) -> None:
        """Stop every idle process; busy ones are stopped when their run ends."""
        with self._changed:
            self._closed = True
        self._drop_idle()

    def _drop_idle(self) -> None:
        with self._changed:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._changed.notify_all()
        for process in idle:
            process.kill()
