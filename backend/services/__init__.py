"""Multi-step operations; the only layer besides crud that commits."""

from backend.services import (
    accounts,
    apps,
    credentials,
    endpoints,
    execution,
    limits,
    runs,
    tokens,
    toolkits,
    usage,
    users,
)
from backend.services.errors import CallInterrupted, Conflict, InvalidSpec, NotFound, QueueUnavailable, ServiceError

__all__ = [
    "Conflict",
    "InvalidSpec",
    "NotFound",
    "QueueUnavailable",
    "CallInterrupted",
    "ServiceError",
    "accounts",
    "apps",
    "credentials",
    "endpoints",
    "execution",
    "limits",
    "runs",
    "tokens",
    "toolkits",
    "usage",
    "users",
]
