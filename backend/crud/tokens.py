"""Access-token rows (hashes only; tokens themselves are made in services.tokens)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from backend.models import AccessToken


def create_token(*, session: Session, token: AccessToken) -> AccessToken:
    """Insert a token row."""
    session.add(token)
    session.commit()
    session.refresh(token)
    return token


def get_token(*, session: Session, token_id: int, owner_id: int | None = None) -> AccessToken | None:
    """A token row by id, optionally only if `owner_id` owns it."""
    token = session.get(AccessToken, token_id)
    if token is None or (owner_id is not None and token.owner_id != owner_id):
        return None
    return token


def get_token_by_hash(*, session: Session, token_hash: str) -> AccessToken | None:
    """The token whose hash is `token_hash`."""
    return session.exec(select(AccessToken).where(AccessToken.token_hash == token_hash)).first()


def list_tokens(
    *, session: Session, endpoint_id: int | None = None, toolkit_id: int | None = None
) -> list[AccessToken]:
    """The tokens of one endpoint or one toolkit, oldest first."""
    query = select(AccessToken)
    if endpoint_id is not None:
        query = query.where(AccessToken.endpoint_id == endpoint_id)
    if toolkit_id is not None:
        query = query.where(AccessToken.toolkit_id == toolkit_id)
    return list(session.exec(query.order_by(col(AccessToken.id))).all())


def save_token(*, session: Session, token: AccessToken) -> AccessToken:
    """Persist changes to a token."""
    session.add(token)
    session.commit()
    session.refresh(token)
    return token
