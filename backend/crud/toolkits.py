"""Toolkit rows and their app memberships."""

from __future__ import annotations

from sqlmodel import Session, col, delete, select, update

from backend.models import AccessToken, OAuthGrant, Run, Toolkit, ToolkitApp


def create_toolkit(*, session: Session, toolkit: Toolkit) -> Toolkit:
    """Insert a toolkit."""
    session.add(toolkit)
    session.commit()
    session.refresh(toolkit)
    return toolkit


def get_toolkit(*, session: Session, toolkit_id: int, owner_id: int | None = None) -> Toolkit | None:
    """A toolkit by id, optionally only if `owner_id` owns it."""
    toolkit = session.get(Toolkit, toolkit_id)
    if toolkit is None or (owner_id is not None and toolkit.owner_id != owner_id):
        return None
    return toolkit


def get_toolkit_by_hash(*, session: Session, secret_hash: str) -> Toolkit | None:
    """The toolkit whose URL secret hashes to `secret_hash`."""
    return session.exec(select(Toolkit).where(Toolkit.secret_hash == secret_hash)).first()


def get_toolkit_by_name(*, session: Session, owner_id: int, name: str) -> Toolkit | None:
    """One owner's toolkit by name."""
    return session.exec(select(Toolkit).where(Toolkit.owner_id == owner_id, Toolkit.name == name)).first()


def list_toolkits(*, session: Session, owner_id: int) -> list[Toolkit]:
    """An owner's toolkits, oldest first."""
    return list(session.exec(select(Toolkit).where(Toolkit.owner_id == owner_id).order_by(col(Toolkit.id))).all())


def save_toolkit(*, session: Session, toolkit: Toolkit) -> Toolkit:
    """Persist changes to a toolkit."""
    session.add(toolkit)
    session.commit()
    session.refresh(toolkit)
    return toolkit


def list_toolkit_apps(*, session: Session, toolkit_id: int) -> list[ToolkitApp]:
    """The memberships of a toolkit in tool order."""
    query = select(ToolkitApp).where(ToolkitApp.toolkit_id == toolkit_id)
    return list(session.exec(query.order_by(col(ToolkitApp.position), col(ToolkitApp.id))).all())


def list_toolkit_ids_of_app(*, session: Session, app_id: int) -> list[int]:
    """The toolkits an app is a member of."""
    return list(session.exec(select(ToolkitApp.toolkit_id).where(ToolkitApp.app_id == app_id)).all())


def replace_toolkit_apps(*, session: Session, toolkit: Toolkit, members: list[ToolkitApp]) -> None:
    """Make `members` the toolkit's apps (rows already present are kept, so their tool names stay)."""
    keep = {m.id for m in members if m.id is not None}
    existing = list_toolkit_apps(session=session, toolkit_id=toolkit.id)  # type: ignore[arg-type]
    for row in existing:
        if row.id not in keep:
            session.delete(row)
    session.flush()
    for member in members:
        session.add(member)
    session.commit()


def delete_toolkit(*, session: Session, toolkit: Toolkit) -> None:
    """Delete a toolkit, its memberships and tokens; its runs stay with their apps."""
    session.exec(update(Run).where(col(Run.toolkit_id) == toolkit.id).values(toolkit_id=None))  # type: ignore[call-overload]
    token_ids = select(AccessToken.id).where(AccessToken.toolkit_id == toolkit.id)
    session.exec(update(Run).where(col(Run.token_id).in_(token_ids)).values(token_id=None))  # type: ignore[call-overload]
    session.exec(delete(AccessToken).where(col(AccessToken.toolkit_id) == toolkit.id))
    session.exec(delete(OAuthGrant).where(col(OAuthGrant.toolkit_id) == toolkit.id))
    session.exec(delete(ToolkitApp).where(col(ToolkitApp.toolkit_id) == toolkit.id))
    session.delete(toolkit)
    session.commit()
