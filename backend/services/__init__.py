"""Multi-step operations; the only layer besides crud that commits."""

from backend.services import (
    accounts,
    apps,
    credentials,
    endpoints,
    execution,
    limits,
    lost_runs,
    queueing,
    runs,
    tokens,
    toolkits,
    usage,
    users,
    workers,
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
    "lost_runs",
    "queueing",
    "runs",
    "tokens",
    "toolkits",
    "usage",
    "users",
    "workers",
]
