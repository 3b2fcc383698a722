"""Resource subscriptions of MCP sessions: kept in the database so every API process sees them."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from backend import crud
from backend.models import utcnow

__all__ = ["SESSION_MAX_AGE", "forget_expired", "subscribe", "subscribed_uris", "unsubscribe"]

SESSION_MAX_AGE = 30 * 24 * 3600  # an MCP session id older than this is refused, so its subscriptions can go


def subscribe(*, session: Session, session_key: str, uri: str) -> None:
    """Subscribe an MCP session (by its nonce) to `uri`."""
    crud.add_subscription(session=session, session_key=session_key, uri=uri[:2048])


def unsubscribe(*, session: Session, session_key: str, uri: str) -> None:
    """End an MCP session's subscription to `uri` (nothing happens when there is none)."""
    crud.remove_subscription(session=session, session_key=session_key, uri=uri[:2048])


def subscribed_uris(*, session: Session, session_keys: list[str]) -> dict[str, set[str]]:
    """The URIs each session subscribed to."""
    return crud.subscribed_uris(session=session, session_keys=session_keys)


def forget_expired(*, session: Session) -> int:
    """Drop subscriptions older than a session can live; return how many."""
    return crud.delete_subscriptions_before(session=session, before=utcnow() - timedelta(seconds=SESSION_MAX_AGE))
