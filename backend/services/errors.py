"""The service layer's exceptions; adapters map them to HTTP statuses, CLI exits or MCP errors."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every service failure; the message is safe to show to the caller."""


class NotFound(ServiceError):
    """No such object, or not yours (the two are indistinguishable on purpose)."""


class Conflict(ServiceError):
    """The request clashes with existing state (a duplicate name, nothing to publish…)."""


class InvalidSpec(ServiceError):
    """An app spec failed validation; `errors` lists each problem with its path."""

    def __init__(self, errors: list[dict[str, str | None]]) -> None:
        self.errors = errors
        lines = "\n".join(f"- {e['path']}: {e['message']}" for e in errors)
        super().__init__(f"the app spec is invalid:\n{lines}")


class QueueUnavailable(ServiceError):
    """The task broker could not take the run."""


class CallInterrupted(ServiceError):
    """The API process is shutting down and closed a call whose run goes on in a worker."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"the server handling this call is restarting, so the call was closed before its run finished; "
            f"the run ({run_id}) goes on in a worker and its result is kept in the app's run history"
        )


class InvalidAnswer(ServiceError):
    """An answer to a waiting run's question is malformed (the message says where)."""
