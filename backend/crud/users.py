"""User rows."""

from __future__ import annotations

from sqlmodel import Session, select

from backend.models import User


def create_user(*, session: Session, email: str, password_hash: str | None, is_admin: bool = False) -> User:
    """Insert a user."""
    user = User(email=email.lower(), password_hash=password_hash, is_admin=is_admin)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def get_user(*, session: Session, user_id: int) -> User | None:
    """A user by id."""
    return session.get(User, user_id)


def get_user_by_email(*, session: Session, email: str) -> User | None:
    """A user by e-mail (case-insensitive)."""
    return session.exec(select(User).where(User.email == email.lower())).first()


def save_user(*, session: Session, user: User) -> User:
    """Persist changes to a user."""
    session.add(user)
    session.commit()
    session.refresh(user)
    return user
