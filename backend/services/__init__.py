"""Multi-step operations; the only layer besides crud that commits."""

from backend.services import apps, endpoints, execution, runs, users
from backend.services.errors import CallInterrupted, Conflict, InvalidSpec, NotFound, QueueUnavailable, ServiceError

__all__ = [
    "Conflict",
    "InvalidSpec",
    "NotFound",
    "QueueUnavailable",
    "CallInterrupted",
    "ServiceError",
    "apps",
    "endpoints",
    "execution",
    "runs",
    "users",
]
