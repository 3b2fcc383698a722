"""Operations endpoints: liveness (/healthz), readiness (/readyz) and Prometheus metrics (/metrics)."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, text
from sqlmodel import select

from backend.core import metrics
from backend.core.db import get_engine
from backend.core.settings import Settings
from backend.models import Run, RunStatus
from backend.services.workers import HEARTBEAT_MISSED, live_workers

logger = logging.getLogger(__name__)

router = APIRouter(tags=["ops"])

ALEMBIC_DIR = Path(__file__).resolve().parents[3] / "alembic"


def _settings(request: Request) -> Settings:
    return request.app.state.settings


@lru_cache(maxsize=1)
def _script_heads() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory(str(ALEMBIC_DIR)).get_heads())


def check_database(settings: Settings) -> dict[str, Any]:
    """Connect, run a trivial query and compare the schema revision with the newest migration."""
    from alembic.runtime.migration import MigrationContext

    with get_engine(settings.sqlalchemy_url).connect() as conn:
        conn.execute(text("SELECT 1"))
        current = frozenset(MigrationContext.configure(conn).get_current_heads())
    heads = _script_heads()
    if current != heads:
        return {
            "ok": False,
            "error": "migrations are not at head; run `toolpress db upgrade`",
            "current": sorted(current),
            "head": sorted(heads),
        }
    return {"ok": True, "revision": sorted(current)}


@lru_cache(maxsize=4)
def _redis(url: str, timeout: float) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def check_broker(settings: Settings) -> dict[str, Any]:
    """Reach the Celery broker with a short timeout (the in-memory broker is always there)."""
    url, timeout = settings.broker_url, settings.readiness_timeout_seconds
    if settings.is_embedded_broker:
        return {"ok": True, "transport": "memory"}
    if url.startswith(("redis://", "rediss://")):
        _redis(url, timeout).ping()
        return {"ok": True, "transport": "redis"}
    from kombu import Connection

    with Connection(url, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        return {"ok": True, "transport": conn.transport_cls}


def check_workers(settings: Settings) -> dict[str, Any]:
    """At least one worker is alive (by the heartbeats workers write; see services.workers)."""
    alive, _ = live_workers(settings)
    if not alive:
        window = settings.worker_heartbeat_seconds * HEARTBEAT_MISSED
        return {"ok": False, "error": f"no worker is alive (none has reported in the last {window:g} s); calls fail "
                                      "until one is started"}
    return {"ok": True, "alive": len(alive), "names": [worker.name for worker in alive[:20]]}


def queue_depth(settings: Settings) -> int | None:
    """Messages waiting in the run queue, or None when the transport cannot tell cheaply."""
    url, timeout = settings.broker_url, settings.readiness_timeout_seconds
    if url.startswith(("redis://", "rediss://")):
        return int(_redis(url, timeout).llen(settings.queue))
    if url.startswith(("amqp://", "amqps://", "pyamqp://")):
        from kombu import Connection

        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            try:
                return int(conn.default_channel.queue_declare(queue=settings.queue, passive=True).message_count)
            except Exception:  # the queue does not exist yet: nothing is waiting
                return 0
    return None


def _describe(exc: BaseException) -> str:
    text_ = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text_}" if text_ else type(exc).__name__


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database, the broker or the workers are not ready"}})
def readyz(request: Request) -> JSONResponse:
    """Ready to serve calls: the database is reachable and migrated, the broker answers, a worker is alive."""
    settings = _settings(request)
    checks: dict[str, dict[str, Any]] = {}
    for name, check in (("database", check_database), ("broker", check_broker), ("workers", check_workers)):
        if name == "workers" and not checks["database"]["ok"]:  # the heartbeats are in the database
            checks[name] = {"ok": None, "error": "not checked: the database is unavailable"}
            continue
        try:
            checks[name] = check(settings)
        except Exception as exc:
            checks[name] = {"ok": False, "error": _describe(exc)}
    failed = sorted(name for name, result in checks.items() if result["ok"] is False)
    body = {"status": "ok" if not failed else "unavailable", "failed": failed, "checks": checks}
    return JSONResponse(body, status_code=200 if not failed else 503)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"}})
def prometheus_metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    settings = _settings(request)
    try:
        with get_engine(settings.sqlalchemy_url).connect() as conn:
            rows = dict(
                conn.execute(
                    select(Run.status, func.count())
                    .where(Run.status.in_([RunStatus.queued.value, RunStatus.running.value]))
                    .group_by(Run.status)
                ).all()
            )
        for status in (RunStatus.queued, RunStatus.running):
            metrics.IN_FLIGHT.labels(status=status.value).set(rows.get(status.value, 0))
    except Exception as exc:
        logger.warning("metrics: could not count in-flight runs: %s", _describe(exc))
    try:
        depth = queue_depth(settings)
    except Exception as exc:
        logger.warning("metrics: could not read the queue depth: %s", _describe(exc))
        depth = -1
    if depth is not None:
        metrics.QUEUE_DEPTH.labels(queue=settings.queue).set(depth)
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
