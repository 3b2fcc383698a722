"""Documented error responses of the REST API, so the OpenAPI document lists every status a route can answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["ErrorPublic", "RequestInvalidPublic", "SpecInvalidPublic", "errors"]


class ErrorPublic(BaseModel):
    """An error with a readable message."""

    detail: str


class FieldErrorPublic(BaseModel):
    """One problem with the request (FastAPI's validation error item)."""

    loc: list[str | int]
    msg: str
    type: str


class RequestInvalidPublic(BaseModel):
    """The request does not match the documented parameters or body."""

    detail: list[FieldErrorPublic]


class SpecIssuePublic(BaseModel):
    """One problem in an app spec, located by path."""

    path: str
    message: str
    step: str | None = None


class SpecInvalidPublic(BaseModel):
    """The app spec is invalid: every problem, each with its path."""

    detail: str
    errors: list[SpecIssuePublic]


_DESCRIPTIONS = {
    400: ("The request cannot be carried out", ErrorPublic),
    401: ("Missing, invalid or expired access token", ErrorPublic),
    404: ("Not found, or not yours (the same answer for both)", ErrorPublic),
    409: ("Conflicts with the current state", ErrorPublic),
    413: ("The request body is larger than 2 MiB", ErrorPublic),
    422: ("Invalid request", RequestInvalidPublic),
    429: ("Too many attempts; retry after the Retry-After header's seconds", ErrorPublic),
    503: ("A service Toolpress needs is unavailable", ErrorPublic),
}


def errors(*codes: int, spec: bool = False, reason: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses.

    `spec=True` documents the app-spec form of 422 too; `reason=True` a 422 whose detail is one readable sentence
    (a body that fits the schema but not the state it answers, such as a form answer that breaks its form).
    """
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        description, model = _DESCRIPTIONS[code]
        out[code] = {"description": description, "model": model}
    if spec:
        out[422] = {"description": "Invalid request or invalid app spec",
                    "model": RequestInvalidPublic | SpecInvalidPublic}
    elif reason:
        out[422] = {"description": "Invalid request, or a body that does not fit what it answers",
                    "model": RequestInvalidPublic | ErrorPublic}
    if 429 in codes:
        out[429]["headers"] = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
    if 401 in codes:
        out[401]["headers"] = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}
    return out
