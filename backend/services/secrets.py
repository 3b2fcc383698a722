"""Per-user secrets: Fernet encryption at rest under a key derived from the server secret.

The Fernet key is HKDF-SHA256 of the server key with a fixed purpose label, so it never
equals the key used for URL secrets or token signing, and a copy of the database alone
decrypts nothing. Rotating ``TOOLPRESS_SECRET_KEY`` makes stored secrets unreadable;
they are then skipped (with a warning) and must be set again.
"""

from __future__ import annotations

import logging
import re

from cryptography.fernet import Fernet, InvalidToken
from sqlmodel import Session

from backend import crud
from backend.core import security
from backend.core.settings import Settings
from backend.models import SECRET_NAME_PATTERN, Secret, SecretPublic
from backend.services.errors import NotFound, ServiceError

logger = logging.getLogger(__name__)

_NAME = re.compile(SECRET_NAME_PATTERN)
_INFO = b"toolpress.user-secrets.v1"


class InvalidSecretName(ServiceError):
    """The name does not match ^[A-Z][A-Z0-9_]{0,63}$."""


def _fernet(settings: Settings) -> Fernet:
    # derived once per server key and process: every run decrypts the owner's secrets
    return security.fernet_for(settings.signing_key(), _INFO)


def check_name(name: str) -> str:
    """Return the name if valid; raise InvalidSecretName otherwise."""
    if not _NAME.fullmatch(name):
        raise InvalidSecretName("secret names are upper case letters, digits and '_', starting with a letter "
                                "(at most 64 characters), e.g. OPENAI_API_KEY")
    return name


def set_secret(*, session: Session, settings: Settings, owner_id: int, name: str, value: str) -> Secret:
    """Add or replace a secret, stored encrypted."""
    token = _fernet(settings).encrypt(value.encode()).decode()
    return crud.upsert_secret(session=session, owner_id=owner_id, name=check_name(name), ciphertext=token)


def delete_secret(*, session: Session, owner_id: int, name: str) -> None:
    """Delete a secret of this owner; NotFound if there is none."""
    row = crud.get_secret(session=session, owner_id=owner_id, name=name)
    if row is None:
        raise NotFound(f"no secret {name!r}")
    crud.delete_secret(session=session, secret=row)


def list_secrets(*, session: Session, owner_id: int) -> list[SecretPublic]:
    """Names and dates of an owner's secrets (never values)."""
    return [secret_public(row) for row in crud.list_secrets(session=session, owner_id=owner_id)]


def secret_values(*, session: Session, settings: Settings, owner_id: int) -> dict[str, str]:
    """Decrypted secrets of an owner, for a run; unreadable ones (rotated server key) are skipped."""
    fernet = _fernet(settings)
    values: dict[str, str] = {}
    for row in crud.list_secrets(session=session, owner_id=owner_id):
        try:
            values[row.name] = fernet.decrypt(row.ciphertext.encode()).decode()
        except InvalidToken:
            logger.warning("secret %s of user %s cannot be decrypted with the current server key", row.name, owner_id)
    return values


def secret_public(row: Secret) -> SecretPublic:
    """The API view of a secret."""
    return SecretPublic(name=row.name, created_at=row.created_at, updated_at=row.updated_at)
