"""Resource subscriptions of MCP sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, select

from backend.models import ResourceSubscription


def add_subscription(*, session: Session, session_key: str, uri: str) -> None:
    """Record that a session subscribed to `uri` (once)."""
    exists = session.exec(
        select(ResourceSubscription.id).where(ResourceSubscription.session_key == session_key, ResourceSubscription.uri == uri)
    ).first()
    if exists is None:
        session.add(ResourceSubscription(session_key=session_key, uri=uri))
    session.commit()


def remove_subscription(*, session: Session, session_key: str, uri: str) -> None:
    """Forget a session's subscription to `uri`."""
    session.exec(
        delete(ResourceSubscription).where(ResourceSubscription.session_key == session_key, ResourceSubscription.uri == uri)
    )  # type: ignore[call-overload]
    session.commit()


def subscribed_uris(*, session: Session, session_keys: list[str]) -> dict[str, set[str]]:
    """The URIs each of these sessions subscribed to."""
    found: dict[str, set[str]] = {}
    if not session_keys:
        return found
    rows = session.exec(
        select(ResourceSubscription.session_key, ResourceSubscription.uri).where(
            ResourceSubscription.session_key.in_(session_keys)  # type: ignore[attr-defined]
        )
    ).all()
    for key, uri in rows:
        found.setdefault(key, set()).add(uri)
    return found


def delete_subscriptions_before(*, session: Session, before: datetime) -> int:
    """Forget subscriptions older than `before` (their sessions have expired); return how many."""
    result = session.exec(delete(ResourceSubscription).where(ResourceSubscription.created_at < before))  # type: ignore[call-overload]
    session.commit()
    return int(result.rowcount or 0)
