"""Secret rows (ciphertext only; encryption lives in services.secrets)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from backend.models import Secret, utcnow


def get_secret(*, session: Session, owner_id: int, name: str) -> Secret | None:
    """One secret of a user by name."""
    return session.exec(select(Secret).where(Secret.owner_id == owner_id, Secret.name == name)).first()


def list_secrets(*, session: Session, owner_id: int) -> list[Secret]:
    """All secrets of a user, by name."""
    return list(session.exec(select(Secret).where(Secret.owner_id == owner_id).order_by(col(Secret.name))).all())


def upsert_secret(*, session: Session, owner_id: int, name: str, ciphertext: str) -> Secret:
    """Insert a secret or replace its ciphertext."""
    row = get_secret(session=session, owner_id=owner_id, name=name)
    if row is None:
        row = Secret(owner_id=owner_id, name=name, ciphertext=ciphertext)
    else:
        row.ciphertext = ciphertext
        row.updated_at = utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def delete_secret(*, session: Session, secret: Secret) -> None:
    """Delete a secret."""
    session.delete(secret)
    session.commit()
