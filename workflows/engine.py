"""The executor: runs an app's steps in order, reports progress, honours cancellation and time limits.

Progress rule: ``total`` counts the steps that will run, as far as they are known. At the
start every top-level step counts once (a ``condition`` or ``map`` counts as one step).
When a condition picks its branch, the branch's steps are added to ``total``; when a map
knows its list, its items are added (one event per finished item). So ``done`` always
grows by one per event and ``total`` only grows, except that a terminal ``output`` step
closes the run with ``done == total``.

Waiting (HTTP, LLM, sub-apps, backoff sleeps) happens through ``_Run.wait``: the blocking
call runs in a helper thread while the run's thread polls ``should_cancel`` and the
deadlines every ``cancel_poll_interval`` seconds, so a cancel interrupts the wait at once.
CPU-bound steps (templates) are bounded by the sandbox's own budget and checked afterwards.

Secrets: only a step's sink fields (``Node.secret_sinks``: what an HTTP request or a model call sends) are
resolved with the real ``secrets``; every other template sees ``WithheldSecrets``, and the spec checks refuse
such reads when the spec is saved (``workflows.secret_flow``). So the run reads exactly the secrets its sinks
send, and those are all it keeps out of what it reports: the trace shows each sink field rendered with
``[secret NAME]``, and the values are scrubbed from what that step got back. Nothing else is redacted by value.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from pydantic import ValidationError

from workflows.errors import NodeError, NodeFailure, RunCancelled, RunTimedOut
from workflows.files import resolve_file
from workflows.logs import LOG_LEVELS, MAX_LOG_CHARS, MAX_LOGS_PER_RUN, LogCallback, LogEntry
from workflows.nodes import NodeContext, get_node_type
from workflows.outputs import evaluate_outputs
from workflows.parking import NeedsInput, ParkedState
from workflows.references import MaskedSecrets, Secrets, WithheldSecrets, resolve, template_strings
from workflows.results import ProgressEvent, RunResult, StepTrace
from workflows.secret_flow import Redactor, sent_secrets, uses_secrets
from workflows.spec import AppSpec, StepSpec
from workflows.templating import describe_error
from workflows.tracing import DEFAULT_TRACE_LIMIT, limit_trace

__all__ = ["DEFAULT_TRACE_LIMIT", "CancelCheck", "ProgressCallback", "execute"]

ProgressCallback = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]
T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def _json_safe(result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise NodeFailure(f"node returned {type(result).__name__}, expected a mapping")
    try:
        safe: dict[str, Any] = json.loads(json.dumps(result, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise NodeFailure(f"node result is not JSON-serialisable: {exc}") from None
    return safe


def _earliest(*deadlines: float | None) -> float | None:
    known = [d for d in deadlines if d is not None]
    return min(known) if known else None


def _reads_secrets(value: Any, name: str) -> bool:
    return any(uses_secrets(source) for _, source in template_strings(value, name))


_WITHHELD = WithheldSecrets()
_MASKED = MaskedSecrets()


class _Sending:
    """What one step sends to the outside: the secrets it reads in its sink fields, and how to keep them out of
    what it reports.

    ``scrub`` removes their values from what the step got back (a service may echo a key). An error message
    may quote a sink field (``GET <url> failed``): each resolved sink string is first swapped for its masked
    rendering as a whole, so the caller's part of it is never scrubbed by value, then the rest (text from
    the other side) is scrubbed.
    """

    def __init__(self, secrets: Mapping[str, Any], names: frozenset[str]) -> None:
        self.names = names
        self.scrub = Redactor(str(secrets[n]) for n in names if n in secrets and secrets[n] is not None)
        self.shown: dict[str, Any] = {}  # the step's input as the trace shows it
        self._swaps: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self.names)

    def remember(self, real: Any, masked: Any) -> None:
        """Pair each resolved sink string with its masked rendering (same tree shape)."""
        if isinstance(real, str) and isinstance(masked, str):
            if real != masked:
                self._swaps[real] = masked
        elif isinstance(real, dict) and isinstance(masked, dict):
            for key, value in real.items():
                self.remember(value, masked.get(key))
        elif isinstance(real, list) and isinstance(masked, list):
            for value, shown in zip(real, masked, strict=False):
                self.remember(value, shown)

    def clean(self, message: str) -> str:
        """An error message with the sink strings masked and the sent secrets scrubbed from the rest."""
        if not self.names:
            return message
        marks = {f"\x00{index}\x00": real for index, real in enumerate(sorted(self._swaps, key=len, reverse=True))}
        for mark, real in marks.items():
            message = message.replace(real, mark)
        message = self.scrub.text(message)
        for mark, real in marks.items():
            message = message.replace(mark, self._swaps[real])
        return message


class _RunLate(Exception):
    """The whole run passed its time limit (turned into RunTimedOut for the current step)."""


class _Run:
    """State of one execution: scope, progress counters, the trace and the services."""

    def __init__(self, spec: AppSpec, *, secrets: Mapping[str, Any], context: Mapping[str, Any],
                 on_progress: ProgressCallback | None, on_log: LogCallback | None, should_cancel: CancelCheck | None,
                 timeout: float | None, poll: float, http_allow: Sequence[str],
                 call_app: Callable[..., Any] | None, call_stack: Sequence[str],
                 answers: Mapping[str, Any]) -> None:
        self.spec = spec  # read by the output node through NodeContext.service("spec")
        self.secrets = Secrets(secrets)  # read only by the sink fields the engine resolves (workflows.secret_flow)
        self.context = dict(context)
        self.on_progress = on_progress
        self.on_log = on_log
        self.should_cancel = should_cancel
        self.time_limit = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.poll = poll
        self.http_allow = tuple(http_allow)
        self.call_app = call_app
        self.call_stack = tuple(call_stack)
        self.trace: list[StepTrace] = []
        self.logged = 0
        self.outputs: dict[str, Any] | None = None  # set by a terminal step
        self.done = 0
        self.total = len(spec.steps)
        self.answers = dict(answers)  # step id -> the caller's answer to what that step asked (workflows.parking)
        self.finished: frozenset[str] = frozenset()  # top-level steps a resumed run does not run again
        self._lock = threading.Lock()
        self._log_lock = threading.Lock()  # a run's log entries reach on_log one at a time, the cut-off warning last

    def restore(self, state: ParkedState, results: dict[str, Any]) -> None:
        """Resume a parked run: its trace, its progress and the results of its finished top-level steps."""
        self.trace = state.restored_trace()
        self.done, self.total = state.done, max(state.total, self.total)
        self.finished = frozenset(state.results)
        results.update(state.results)

    def answer(self, question: Any) -> Any:
        """The caller's answer to what a step asks, or NeedsInput: the run parks (workflows.parking)."""
        if question.step_id in self.answers:
            return self.answers[question.step_id]
        needs = NeedsInput(question)
        needs.origin = self  # a called app's own question is not this run's to park on
        raise needs

    # -- progress -------------------------------------------------------------------------
    def grow_total(self, count: int) -> None:
        """Add ``count`` steps or items that are now known to run."""
        with self._lock:
            self.total += max(0, count)

    def emit(self, label: str, step_id: str, *, final: bool = False) -> None:
        """Count one finished unit of work and report it."""
        with self._lock:
            self.done += 1
            if final or self.total < self.done:
                self.total = self.done
            event = ProgressEvent(done=self.done, total=self.total, step_id=step_id,
                                  message=f"step {self.done}/{self.total}: {label}")
            if self.on_progress is not None:
                self.on_progress(event)

    # -- step logs --------------------------------------------------------------------------
    def log(self, entry: StepTrace, sending: _Sending, level: str, message: str) -> None:
        """A step's log message: scrubbed like its errors, kept in its trace entry, handed to ``on_log``.

        Counting and delivery happen under one lock, so map items logging in parallel cannot hand the caller an
        entry after the warning that says the rest were dropped.
        """
        with self._log_lock:
            self.logged += 1
            if self.logged > MAX_LOGS_PER_RUN + 1:
                return
            if self.logged == MAX_LOGS_PER_RUN + 1:
                level, message = "warning", f"more than {MAX_LOGS_PER_RUN} log messages in this run: the rest are dropped"
            text = sending.clean(str(message))
            if len(text) > MAX_LOG_CHARS:
                text = text[:MAX_LOG_CHARS] + "… (cut)"
            logged = LogEntry(level if level in LOG_LEVELS else "info", text, entry.step_id)  # type: ignore[arg-type]
            entry.logs = [*(entry.logs or []), logged.to_dict()]  # type: ignore[misc]
            if self.on_log is not None:
                self.on_log(logged)

    # -- cancellation and deadlines --------------------------------------------------------
    def cancelled(self) -> bool:
        """Ask the caller whether the run was cancelled."""
        return self.should_cancel is not None and bool(self.should_cancel())

    def _check(self, deadline: float | None, what: str) -> None:
        if self.cancelled():
            raise RunCancelled(f"run cancelled while waiting for {what}")
        now = time.monotonic()
        if self.deadline is not None and now >= self.deadline:
            raise _RunLate
        if deadline is not None and now >= deadline:
            raise NodeFailure(f"timed out while waiting for {what} (step time limit)")

    def _slice(self, deadline: float | None) -> float:
        end = _earliest(deadline, self.deadline)
        return self.poll if end is None else max(0.0, min(self.poll, end - time.monotonic()))

    def wait(self, func: Callable[[], T], *, deadline: float | None, what: str) -> T:
        """Run blocking ``func`` in a helper thread; poll cancellation and deadlines meanwhile."""
        box: dict[str, Any] = {}
        finished = threading.Event()

        def target() -> None:
            try:
                box["value"] = func()
            except BaseException as exc:  # noqa: BLE001 - handed back to the waiting thread
                box["error"] = exc
            finally:
                finished.set()

        threading.Thread(target=target, name=f"toolpress-wait-{what}", daemon=True).start()
        while not finished.wait(self._slice(deadline)):
            self._check(deadline, what)
        if "error" in box:
            raise box["error"]
        value: T = box["value"]
        return value

    def sleep(self, seconds: float, *, deadline: float | None) -> None:
        """Sleep up to ``seconds``, interrupted by cancellation or a deadline."""
        end = time.monotonic() + seconds
        idle = threading.Event()
        while (left := end - time.monotonic()) > 0:
            idle.wait(min(left, self._slice(deadline)) or 0.001)
            self._check(deadline, "a retry")

    # -- steps -----------------------------------------------------------------------------
    def _variables(self, inputs: Mapping[str, Any], steps: Mapping[str, Any],
                   extras: Mapping[str, Any]) -> dict[str, Any]:
        return {"inputs": inputs, "steps": steps, "secrets": _WITHHELD, "context": self.context, **extras}

    def run_list(self, steps: Sequence[StepSpec], *, inputs: Mapping[str, Any], scope: dict[str, Any],
                 extras: Mapping[str, Any], parent: str | None, progress: bool, sink: list[StepTrace],
                 deadline: float | None) -> dict[str, Any]:
        """Run a step list in order, adding results to ``scope``; return this list's own results."""
        own: dict[str, Any] = {}
        for index, step in enumerate(steps):
            if parent is None and step.id in self.finished:  # a resumed run: its result is restored
                continue
            if self.outputs is not None:  # a terminal step in a nested list ended the run
                sink.extend(self._skipped(steps[index:], parent))
                break
            if self.cancelled():
                sink.extend(self._skipped(steps[index:], parent))
                raise RunCancelled(f"run cancelled before step '{step.id}'")
            try:
                output = self._run_step(step, inputs=inputs, scope=scope, extras=extras, parent=parent,
                                        progress=progress, sink=sink, deadline=deadline)
            except (NodeError, RunCancelled):
                sink.extend(self._skipped(steps[index + 1:], parent))
                raise
            scope[step.id] = output
            own[step.id] = output
        return own

    @staticmethod
    def _skipped(steps: Sequence[StepSpec], parent: str | None) -> list[StepTrace]:
        return [StepTrace(step_id=s.id, type=s.type, status="skipped", parent=parent) for s in steps]

    def _config(self, step: StepSpec, node_type: Any, variables: Mapping[str, Any],
                sending: _Sending) -> Any:
        """Resolve the step's fields (its sinks with the real secrets) and validate its config.

        The trace gets the same fields rendered with ``[secret NAME]`` in place of each secret, never a
        value-based redaction of the real ones, which a caller could probe with guesses.
        """
        raw, masked = dict(step.config), {}
        for name in node_type.resolved_fields:
            if name not in raw:
                continue
            if name in node_type.secret_sinks and sending and _reads_secrets(raw[name], name):
                masked[name] = resolve(raw[name], {**variables, "secrets": _MASKED})
                real = resolve(raw[name], {**variables, "secrets": self.secrets})
                sending.remember(real, masked[name])
                raw[name] = real
            else:
                raw[name] = resolve(raw[name], variables)
        try:
            config = node_type.Config.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise NodeFailure(f"invalid step config{f' at {where}' if where else ''}: {err['msg']}") from None
        sending.shown = {**config.model_dump(mode="json", by_alias=True), **masked}
        return config

    def _run_step(self, step: StepSpec, *, inputs: Mapping[str, Any], scope: dict[str, Any],
                  extras: Mapping[str, Any], parent: str | None, progress: bool, sink: list[StepTrace],
                  deadline: float | None) -> dict[str, Any]:
        entry = StepTrace(step_id=step.id, type=step.type, status="succeeded", started_at=_now(), parent=parent)
        sink.append(entry)
        started = time.perf_counter()
        limit = step.time_limit
        step_deadline = _earliest(deadline, None if limit is None else time.monotonic() + limit)
        node_type = get_node_type(step.type)
        sending = _Sending(self.secrets, sent_secrets(node_type, step.config) if node_type else frozenset())
        try:
            if node_type is None:
                raise NodeFailure(f"unknown step type '{step.type}'")
            if self.deadline is not None and time.monotonic() >= self.deadline:
                raise _RunLate
            config = self._config(step, node_type, self._variables(inputs, scope, extras), sending)
            entry.input = sending.shown
            ctx = NodeContext(step_id=step.id, inputs=inputs, steps=scope, context=self.context,
                              secrets=_WITHHELD, extras=extras, runtime=self, deadline=step_deadline,
                              progress=progress, sink=sink, logger=partial(self.log, entry, sending))
            output = sending.scrub.tree(_json_safe(node_type().run(config, ctx)))
            if limit is not None and time.perf_counter() - started > limit:
                raise NodeFailure(f"took longer than its time limit of {limit:g} s")
        except RunCancelled:
            self._close(entry, started, "cancelled", "cancelled while running")
            raise
        except NeedsInput as exc:
            if parent is None and exc.question.step_id == step.id and exc.origin is self:  # park; rerun on resume
                sink.remove(entry)
                raise
            message = f"step '{step.id}' ({step.type}) failed: {exc}"
            self._close(entry, started, "failed", message)
            raise NodeError(step.id, message) from None
        except NodeError as exc:  # a nested step failed; this container fails with the same message
            self._close(entry, started, "failed", exc.message)
            raise
        except _RunLate:
            message = (f"step '{step.id}' ({step.type}) stopped: the run exceeded its time limit "
                       f"of {self.time_limit:g} s")
            self._close(entry, started, "failed", message)
            raise RunTimedOut(step.id, message) from None
        except MemoryError:
            raise  # the process is out of memory: the run ends, it is not this step's failure to report
        except Exception as exc:  # noqa: BLE001 - a node's failure becomes a clean NodeError
            reason = exc.reason if isinstance(exc, NodeFailure) else describe_error(exc)
            message = sending.clean(f"step '{step.id}' ({step.type}) failed: {reason}")
            self._close(entry, started, "failed", message)
            raise NodeError(step.id, message) from None
        entry.output = output
        self._close(entry, started, "succeeded", None)
        if node_type.terminal and self.outputs is None:
            self.outputs = output.get("outputs", {})
        if progress:
            self.emit(step.title or step.id, step.id, final=node_type.terminal)
        return output

    @staticmethod
    def _close(entry: StepTrace, started: float, status: Any, error: str | None) -> None:
        entry.status = status
        entry.error = error
        entry.ended_at = _now()
        entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)

    def run_nested(self, ctx: NodeContext, steps: Sequence[StepSpec], *, parent: str,
                   extras: Mapping[str, Any], emit_progress: bool,
                   trace: list[StepTrace] | None) -> dict[str, Any]:
        """Run a container's nested steps in the container's scope (NodeContext.run_steps)."""
        scope = dict(ctx.steps)
        return self.run_list(steps, inputs=ctx.inputs, scope=scope, extras={**ctx.extras, **extras},
                             parent=parent, progress=emit_progress and ctx.progress,
                             sink=trace if trace is not None else (ctx.sink if ctx.sink is not None else self.trace),
                             deadline=ctx.deadline)


def _resolve_files(run: _Run, spec: AppSpec, values: dict[str, Any]) -> None:
    """Replace each ``file`` argument (URL or data: URI) by its value before the first step."""
    for field in spec.inputs:
        value = values.get(field.name)
        if field.type != "file" or not isinstance(value, str):
            continue
        what = f"file input '{field.name}'"
        try:
            values[field.name] = resolve_file(field.name, value, allow=run.http_allow,
                                              wait=lambda func, what=what: run.wait(func, deadline=None, what=what))
        except NodeFailure as exc:
            raise NodeError("inputs", f"input '{field.name}': {exc.reason}") from None
        except _RunLate:
            raise RunTimedOut("inputs", f"the run exceeded its time limit of {run.time_limit:g} s while "
                                        f"fetching {what}") from None


def execute(
    spec: AppSpec,
    inputs: Mapping[str, Any],
    *,
    on_progress: ProgressCallback | None = None,
    on_log: LogCallback | None = None,
    should_cancel: CancelCheck | None = None,
    context: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    http_allow: Sequence[str] = (),
    call_app: Callable[..., Any] | None = None,
    call_stack: Sequence[str] = (),
    timeout: float | None = None,
    trace_limit: int = DEFAULT_TRACE_LIMIT,
    cancel_poll_interval: float = 0.25,
    resume: ParkedState | None = None,
    answers: Mapping[str, Any] | None = None,
) -> RunResult:
    """Run the steps and return typed outputs; raise NodeError (RunTimedOut) or RunCancelled.

    A ``MemoryError`` is not turned into a step failure: it means the process ran out of the memory it
    is allowed (its host sets the limit), and propagates so the host can end the run and report that.

    ``on_log`` receives what steps log (``workflows.logs``), scrubbed like their errors; the trace keeps it too.
    ``secrets`` are what sink fields read as ``secrets.NAME`` (shown masked in the trace and
    scrubbed from what the sending step got back); ``http_allow`` lists ``host``/``host:port`` targets the SSRF guard lets
    through; ``call_app`` serves ``sub_app`` steps (see ``workflows.nodes.sub_app``);
    ``call_stack`` holds the ids of the calling apps (cycle check); ``timeout`` (seconds)
    and the spec's ``time_limit`` bound the run; ``trace_limit`` bounds the trace's JSON size.

    A step that needs the caller's answer raises ``NeedsInput`` carrying the question and the run's
    ``ParkedState``; calling again with ``resume=`` that state and ``answers=`` ``{step id: answer}`` goes on
    from that step (``workflows.parking``).
    """
    limits = [t for t in (timeout, spec.time_limit) if t is not None]
    run = _Run(spec, secrets=secrets or {}, context=context or {}, on_progress=on_progress, on_log=on_log,
               should_cancel=should_cancel, timeout=min(limits) if limits else None,
               poll=max(0.01, cancel_poll_interval), http_allow=http_allow, call_app=call_app,
               call_stack=call_stack, answers=answers or {})
    values: dict[str, Any] = {f.name: copy.deepcopy(f.default) for f in spec.inputs}
    values.update(inputs)
    results: dict[str, Any] = {}
    if resume is not None:
        run.restore(resume, results)
    try:
        _resolve_files(run, spec, values)
        run.run_list(spec.steps, inputs=values, scope=results, extras={}, parent=None, progress=True,
                     sink=run.trace, deadline=None)
    except NeedsInput as exc:
        exc.state = ParkedState(results=results, trace=[t.to_dict() for t in limit_trace(run.trace, trace_limit)],
                                done=run.done, total=run.total)
        raise
    except (NodeError, RunCancelled) as exc:
        exc.trace = limit_trace(run.trace, trace_limit)
        raise
    trace = limit_trace(run.trace, trace_limit)
    if run.outputs is not None:
        return RunResult(outputs=run.outputs, trace=trace)
    try:
        outputs = evaluate_outputs(spec, run._variables(values, results, {}))
    except NodeFailure as exc:
        raise NodeError("outputs", f"outputs failed: {exc.reason}", trace=trace) from None
    return RunResult(outputs=outputs, trace=trace)
