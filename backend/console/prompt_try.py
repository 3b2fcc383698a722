"""The editor's "try this prompt" panel: render one of the draft's prompts as an MCP client would get it.

A prompt with templates (or a dynamic one) renders in a console test run of the saved draft, on a worker like
any run; the panel follows the run's events (/runs/{id}/events) and then asks for the messages. A prompt
without templates is answered at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from backend import crud
from backend.api.deps import SessionDep, SettingsDep
from backend.console.auth import ConsoleUser, CsrfHeaderChecked, OwnedConsoleApp
from backend.console.render import ConsoleRoute
from backend.models import RunStatus
from backend.services import QueueUnavailable, apps, prompts, queueing
from backend.services.purposes import PROMPT, prompt_purpose

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

_NO_STORE = {"Cache-Control": "no-store"}


class TryPromptBody(BaseModel):
    """Which prompt of the draft to render, with what arguments."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    arguments: dict[str, str] = {}


def _problem(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=_NO_STORE)


@router.post("/apps/{app_id}/prompts/try", dependencies=[CsrfHeaderChecked])
def try_prompt(app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep,
               body: Annotated[TryPromptBody, Body()]) -> JSONResponse:
    """The prompt's messages at once, or the test run that renders them (201 with its events URL)."""
    spec = apps.load_spec_of(app.spec)
    prompt = next((p for p in spec.prompts if p.name == body.name), None)
    if prompt is None:
        return _problem(f"the saved draft has no prompt '{body.name}' (save the draft first)", 404)
    try:
        inputs = prompts.run_inputs(spec, prompt, prompts.check_arguments(prompt, body.arguments))
    except prompts.InvalidPromptArguments as exc:
        return _problem(str(exc), 422)
    lookup = prompts.resource_lookup({r.uri: r for r in spec.resources})
    if not prompts.needs_run(prompt):
        try:
            return JSONResponse({"messages": prompts.assemble_messages(prompt, {}, lookup)}, headers=_NO_STORE)
        except prompts.PromptUnavailable as exc:
            return _problem(str(exc), 422)
    run = apps.create_test_run(session=session, app=app, inputs=inputs, purpose=prompt_purpose(prompt.name))
    try:
        queueing.enqueue_run(session=session, settings=settings, run=run)
    except QueueUnavailable as exc:
        return _problem(str(exc), 503)
    return JSONResponse({"run_id": run.id, "events": f"/runs/{run.id}/events", "detail": f"/runs/{run.id}"},
                        status_code=201, headers=_NO_STORE)


@router.get("/apps/{app_id}/prompts/try/{run_id}")
def tried_prompt(app: OwnedConsoleApp, session: SessionDep, user: ConsoleUser, run_id: str) -> JSONResponse:
    """The messages a finished prompt test run rendered (from the draft as it is now), or why there are none."""
    run = crud.get_run(session=session, run_id=run_id[:64], owner_id=user.id)
    if run is None or run.app_id != app.id or not (run.purpose or "").startswith(PROMPT):
        return _problem("no such prompt run", 404)
    if RunStatus(run.status) is not RunStatus.succeeded:
        return _problem(f"the prompt run is {RunStatus(run.status).value}: {run.error or 'not finished'}", 409)
    spec = apps.load_spec_of(app.spec)
    name = (run.purpose or "")[len(PROMPT):]
    prompt = next((p for p in spec.prompts if p.name == name), None)
    if prompt is None:
        return _problem(f"the draft no longer has the prompt '{name}'", 409)
    try:
        messages = prompts.assemble_messages(prompt, run.result or {}, prompts.resource_lookup({r.uri: r for r in spec.resources}))
    except prompts.PromptUnavailable as exc:
        return _problem(str(exc), 422)
    return JSONResponse({"messages": messages, "run_id": run.id}, headers=_NO_STORE)
