"""Account-token rows: console sessions and REST API tokens (hashes only; tokens are made in services.credentials)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, delete, select, update

from backend.models import AccountToken, User, utcnow


def create_account_token(*, session: Session, token: AccountToken) -> AccountToken:
    """Insert an account-token row."""
    session.add(token)
    session.commit()
    session.refresh(token)
    return token


def get_account_token(*, session: Session, token_id: int, user_id: int, kind: str) -> AccountToken | None:
    """One of a user's tokens of this kind by id, else None."""
    token = session.get(AccountToken, token_id)
    return token if token is not None and token.user_id == user_id and token.kind == kind else None


def get_account_token_by_hash(*, session: Session, token_hash: str) -> tuple[AccountToken, User] | None:
    """The token whose hash is `token_hash`, with its user (one query)."""
    row = session.exec(
        select(AccountToken, User).join(User, col(User.id) == col(AccountToken.user_id))
        .where(AccountToken.token_hash == token_hash)
    ).first()
    return (row[0], row[1]) if row is not None else None


def list_account_tokens(*, session: Session, user_id: int, kind: str) -> list[AccountToken]:
    """A user's tokens of one kind, newest first."""
    query = select(AccountToken).where(AccountToken.user_id == user_id, AccountToken.kind == kind)
    return list(session.exec(query.order_by(col(AccountToken.id).desc())).all())


def save_account_token(*, session: Session, token: AccountToken) -> AccountToken:
    """Persist changes to an account token."""
    session.add(token)
    session.commit()
    session.refresh(token)
    return token


def revoke_account_tokens(*, session: Session, user_id: int) -> int:
    """Mark every live token of a user revoked (no commit: part of a larger change); return how many."""
    result = session.exec(  # type: ignore[call-overload]
        update(AccountToken).where(col(AccountToken.user_id) == user_id, col(AccountToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)


def delete_ended_account_tokens(*, session: Session, user_id: int, kind: str, before: datetime) -> int:
    """Delete a user's tokens of one kind that were revoked or expired before `before`; return how many."""
    result = session.exec(  # type: ignore[call-overload]
        delete(AccountToken).where(
            col(AccountToken.user_id) == user_id, col(AccountToken.kind) == kind,
            or_(col(AccountToken.revoked_at) < before, col(AccountToken.expires_at) < before),
        )
    )
    session.commit()
    return int(result.rowcount or 0)
