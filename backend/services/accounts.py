"""An account's life: logging in (throttled), changing the password, logging out everywhere, disabling it.

Changing the password, "log out everywhere" and disabling end every session, API token and platform OAuth grant
the account had (`credentials.end_all`), in every API process from its next request. Disabling also refuses
its log-ins, revokes the OAuth grants of its apps and toolkits and switches their MCP servers off (their runs in
flight are cancelled), so a suspended account stops acting in any way; enabling it lets it log in again, and
its owner switches the servers back on.
"""

from __future__ import annotations

from sqlmodel import Session

from backend import crud
from backend.core import security
from backend.core.settings import Settings
from backend.models import User, utcnow
from backend.services import credentials, endpoints, oauth, toolkits, users
from backend.services.errors import ServiceError
from backend.services.login_throttle import LoginAttempt, get_login_throttle


class WrongCredentials(ServiceError):
    """The e-mail or the password is wrong (which one is not said)."""

    def __init__(self) -> None:
        super().__init__("wrong e-mail or password")


class AccountDisabled(ServiceError):
    """The password was right but the account is disabled."""

    def __init__(self) -> None:
        super().__init__("this account is disabled; ask the operator of this Toolpress to enable it")


def account_of(email: str) -> str:
    """The normalised e-mail a log-in is counted under."""
    return email.strip().lower()


def log_in(*, session: Session, settings: Settings, email: str, password: str, address: str, known: bool) -> User:
    """The user behind an e-mail and password, within the log-in limits (`login_throttle`).

    Raises LoginRefused (too many failures; the password was not checked), WrongCredentials or AccountDisabled.
    """
    attempt = LoginAttempt(account=account_of(email), address=address, known=known)
    throttle = get_login_throttle(settings)
    throttle.admit(attempt)
    user = users.authenticate(session=session, email=email.strip(), password=password) if email and password else None
    if user is None:
        raise WrongCredentials()
    throttle.succeeded(attempt)
    if user.disabled_at is not None:
        raise AccountDisabled()
    return user


def change_password(*, session: Session, user: User, password: str) -> User:
    """Set a new password and end every session and token issued before it."""
    user.password_hash = security.hash_password(password)
    user = crud.save_user(session=session, user=user)
    return credentials.end_all(session=session, user=user)


def log_out_everywhere(*, session: Session, user: User) -> User:
    """End every session and API token of the account, and its OAuth clients' access to the platform server."""
    return credentials.end_all(session=session, user=user)


def disable(*, session: Session, settings: Settings, user: User) -> User:
    """Suspend an account: no log-ins, every credential and OAuth grant ended, its MCP servers switched off."""
    user.disabled_at = user.disabled_at or utcnow()
    user = credentials.end_all(session=session, user=user)
    oauth.revoke_owner_grants(session=session, owner_id=user.id)  # type: ignore[arg-type]
    skip = 0
    while True:
        page, total = crud.list_apps(session=session, owner_id=user.id, skip=skip)
        for app in page:
            endpoint = crud.get_endpoint_by_app(session=session, app_id=app.id)  # type: ignore[arg-type]
            if endpoint is not None and endpoint.enabled:
                endpoints.disable_endpoint(session=session, settings=settings, app=app)
        skip += len(page)
        if not page or skip >= total:
            break
    for toolkit in crud.list_toolkits(session=session, owner_id=user.id):  # type: ignore[arg-type]
        if toolkit.enabled:
            toolkits.set_toolkit_enabled(session=session, settings=settings, toolkit=toolkit, enabled=False)
    return user


def enable(*, session: Session, user: User) -> User:
    """Let a disabled account log in again (its MCP servers stay off until its owner turns them on)."""
    user.disabled_at = None
    return crud.save_user(session=session, user=user)
