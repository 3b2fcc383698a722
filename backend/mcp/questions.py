"""A parked run's question over MCP: asked of the calling client, answered through any API process.

A run that reaches an ``ask`` step or an ``llm`` step with ``provider: client`` parks (services.questions);
the API process following the call learns of it from the run's "question" event and asks the client:

* Handshake generation (2024-11-05 … 2025-11-25): an ``elicitation/create`` / ``sampling/createMessage``
  request, sent as an ordinary message on the call's own SSE stream. The SDK serves the endpoint statelessly,
  so the client's response arrives in a new POST, perhaps at another API process; the request's id is
  therefore a token signed with the server key that names the run and the question, and the response is
  taken before the SDK sees it (``take_responses``, hooked into backend.mcp.sessions), recorded as the run's
  answer, and the run is queued again. The call's follower meanwhile keeps relaying until the run ends.
* 2026-07-28: the call returns an ``InputRequiredResult`` whose ``input_requests`` hold the same request and
  whose ``requestState`` is the signed token; the client retries ``tools/call`` with its responses and that
  state (``resume_call``), which records the answer and follows the resumed run.

A client that declared neither capability the app needs gets ``isError`` before anything runs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

import workflows
from backend.core.helpers import Helpers
from backend.core.security import sign, unsign
from backend.core.settings import Settings
from backend.mcp.sessions import SESSION_STATE_KEY
from backend.services.errors import ServiceError
from backend.services.questions import answer_run

__all__ = ["answer_of", "asking_client", "input_request", "input_required", "missing_capability", "resume_token",
           "take_responses", "task_answer"]

logger = logging.getLogger(__name__)

_SALT = "toolpress-run-question"
TOKEN_MAX_AGE = 8 * 24 * 3600  # longer than any question may wait (workflows.nodes.ask.MAX_WAIT_SECONDS)
_METHODS = {"elicit": "elicitation/create", "sample": "sampling/createMessage"}
_CAPABILITY = {"elicit": "elicitation", "sample": "sampling"}


# -- what the app needs of the client ------------------------------------------------------------------
def _needed(spec: workflows.AppSpec) -> dict[str, str]:
    """Capability -> the first top-level step that needs it (parking steps are top-level only)."""
    needed: dict[str, str] = {}
    for step in spec.steps:
        node_type = workflows.get_node_type(step.type)
        if node_type is None or not node_type.may_park:
            continue
        config = node_type.Config.model_validate(step.config)
        if node_type.parks(config):
            needed.setdefault("elicitation" if step.type == "ask" else "sampling", step.id)
    return needed


def _declared(ctx: ServerRequestContext[Any, Any]) -> set[str]:
    """What the client declared: in this request (2026-07-28, or the same connection) or in its session id."""
    capabilities = ctx.session.client_capabilities
    if capabilities is not None:
        return {name for name in ("elicitation", "sampling") if getattr(capabilities, name, None) is not None}
    session = getattr(getattr(ctx.request, "state", None), SESSION_STATE_KEY, None)
    return set(session.capabilities) if session is not None else set()


def missing_capability(ctx: ServerRequestContext[Any, Any], spec: workflows.AppSpec) -> str | None:
    """The isError text for a client that lacks a capability the app needs, or None."""
    declared = _declared(ctx)
    for capability, step_id in _needed(spec).items():
        if capability not in declared:
            what = "asks the user a question" if capability == "elicitation" else "uses the calling client's model"
            return (f"This app {what} (step '{step_id}'), so it needs a client that declares the {capability} "
                    f"capability; this client did not. Use a client that supports MCP {capability}.")
    return None


# -- tokens ---------------------------------------------------------------------------------------------
def _token(settings: Settings, run_id: str, question: dict[str, Any]) -> str:
    return sign(settings.signing_key(), {"r": run_id, "q": question.get("id"), "k": question.get("kind")}, _SALT)


def resume_token(settings: Settings, token: str) -> tuple[str, str, str] | None:
    """(run id, question id, kind) named by a token Toolpress signed, or None for anything else."""
    if not isinstance(token, str) or len(token) > 1000:
        return None
    data = unsign(settings.signing_key(), token, _SALT, TOKEN_MAX_AGE)
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("r", "q", "k")):
        return None
    return data["r"], data["q"], data["k"]


def answer_of(kind: str, result: dict[str, Any] | None, error: dict[str, Any] | None) -> dict[str, Any]:
    """The run's answer from the client's response: an elicitation result, a sampling result, or an error."""
    if error is not None or not isinstance(result, dict):
        message = str((error or {}).get("message") or "the client answered with an error")[:500]
        return {"action": "cancel" if kind == "elicit" else "error", "message": message}
    if kind == "sample":
        return {"action": "accept", **{k: result.get(k) for k in ("role", "content", "model", "stopReason")}}
    return {"action": result.get("action"), "content": result.get("content") or {}}


def _record(settings: Settings, run_id: str, question_id: str, answer: dict[str, Any]) -> None:
    answer_run(settings=settings, run_id=run_id, question_id=question_id, answer=answer)


# -- handshake generation: a request on the call's stream, the response taken before the SDK --------------
def _call_stream(ctx: ServerRequestContext[Any, Any]) -> Any:
    """A sender of requests on the call's own response stream, under an id of our choosing; None without one.

    The SDK's stateless transport refuses server-to-client requests (``can_send_request`` is False) because the
    client's reply "has nowhere to land" in that process; Toolpress gives it a place (``take_responses``), so
    it sends through the call's dispatcher directly, related to the call's request like a progress
    notification. The SDK offers no public way to do this, hence the private attributes, checked here.
    """
    outbound = getattr(ctx.session, "_request_outbound", None)
    if hasattr(outbound, "send_on_stream"):  # a request served as an exchange (backend.mcp.exchange) says how
        return outbound.send_on_stream
    dispatcher = getattr(outbound, "_dispatcher", None)
    if outbound is None or dispatcher is None or not hasattr(dispatcher, "send_raw_request"):
        return None
    return partial(dispatcher.send_raw_request, _related_request_id=outbound.request_id)


async def _return_the_question(question: dict[str, Any]) -> bool:
    """The ``on_question`` of a call that cannot ask on its stream: following stops, the call returns it."""
    return True


@asynccontextmanager
async def asking_client(settings: Settings, ctx: ServerRequestContext[Any, Any],
                        run_id: str) -> AsyncIterator[Any]:
    """A follower's ``on_question``: a handshake client is asked on the call's stream, a 2026-07-28 one is not.

    For a 2026-07-28 client (or a stream Toolpress cannot write a request to) it returns True: the following
    stops and the call answers ``input_required``. Otherwise the request goes out in a task of its own, whose
    response never comes back to this process's transport (``take_responses`` takes it), so the task is
    cancelled when the call ends.
    """
    send_request = None if ctx.session.protocol_version in MODERN_PROTOCOL_VERSIONS else _call_stream(ctx)
    if send_request is None:  # nothing is sent from here: no task for every call
        yield _return_the_question
        return

    async def send(question: dict[str, Any]) -> None:
        # On the streamable transport the response never comes back here (take_responses gets it); on the
        # legacy SSE transport the session lives in this process and it does: then it is recorded here.
        assert send_request is not None
        kind = str(question["kind"])
        try:
            result = await send_request(_METHODS[kind], question["params"],
                                        {"request_id": _token(settings, run_id, question), "cancel_on_abandon": False})
            answer = answer_of(kind, result, None)
        except MCPError as exc:
            if exc.code == types.CONNECTION_CLOSED:  # the stream closed: the run waits for its time limit
                logger.info("run %s: the question could not be sent (%s)", run_id, exc)
                return
            answer = answer_of(kind, None, {"message": exc.message})
        try:
            await anyio.to_thread.run_sync(_record, settings, run_id, str(question["id"]), answer)
        except ServiceError as exc:
            logger.info("run %s: an answer was not taken (%s)", run_id, exc)

    asking = Helpers("question to a client")  # a task per question asked, none for a call that asks nothing

    async def on_question(question: dict[str, Any]) -> bool:
        asking.start(send(question))
        return False

    try:
        yield on_question
    finally:
        asking.cancel()


def _responses(parsed: Any) -> list[dict[str, Any]] | None:
    """The JSON-RPC responses of a parsed POST body when it holds nothing else, else None."""
    messages = parsed if isinstance(parsed, list) else [parsed]
    if not messages or not all(isinstance(m, dict) and "method" not in m and "id" in m for m in messages):
        return None
    return messages


async def take_responses(settings: Settings, parsed: Any) -> bool:
    """Record the client's responses (a parsed POST body) to Toolpress's questions; False (left to the SDK) for
    anything else."""
    messages = _responses(parsed)
    named = [(m, resume_token(settings, m["id"])) for m in messages or []]
    if not named or any(found is None for _, found in named):
        return False
    for message, found in named:
        assert found is not None
        run_id, question_id, kind = found
        answer = answer_of(kind, message.get("result"), message.get("error"))
        try:
            await anyio.to_thread.run_sync(_record, settings, run_id, question_id, answer)
        except ServiceError as exc:  # answered twice, expired, cancelled: nothing to resume
            logger.info("run %s: an answer was not taken (%s)", run_id, exc)
    return True


# -- 2026-07-28: input_required ---------------------------------------------------------------------------
def input_request(question: dict[str, Any]) -> types.ElicitRequest | types.CreateMessageRequest:
    """A parked run's question as an embedded input request (``input_required`` results and tasks)."""
    params = {"mode": "form", **question["params"]} if question["kind"] == "elicit" else question["params"]
    model = types.ElicitRequest if question["kind"] == "elicit" else types.CreateMessageRequest
    return model.model_validate({"method": _METHODS[question["kind"]], "params": params})


def input_required(settings: Settings, run_id: str, question: dict[str, Any]) -> types.InputRequiredResult:
    """The ``InputRequiredResult`` for a parked run: the question as an input request, the signed state."""
    return types.InputRequiredResult(input_requests={str(question["id"]): input_request(question)},
                                     request_state=_token(settings, run_id, question))


def task_answer(settings: Settings, run_id: str, question: dict[str, Any] | None,
                responses: dict[str, Any] | None) -> None:
    """Record the response a ``tasks/update`` carries for the task's current question (others are ignored)."""
    if not question or not responses or question.get("id") not in responses:
        return
    response = responses[question["id"]]
    answer = answer_of(str(question["kind"]), response if isinstance(response, dict) else None, None)
    _record(settings, run_id, str(question["id"]), answer)
