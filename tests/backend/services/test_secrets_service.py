"""The secrets service on a migrated SQLite database: encryption under the server key, rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from backend import crud
from backend.cli.database import migrate
from backend.core.db import get_engine
from backend.core.settings import Settings
from backend.services import secrets


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fixed server key and a fresh, migrated SQLite database."""
    configured = Settings(data_dir=tmp_path, secret_key="k" * 48)
    migrate(configured)
    return configured


def _owner(session: Session) -> int:
    return crud.create_user(session=session, email="owner@example.com", password_hash=None).id


def test_values_round_trip_under_the_same_server_key(settings: Settings) -> None:
    with Session(get_engine(settings.sqlalchemy_url)) as session:
        owner = _owner(session)
        row = secrets.set_secret(session=session, settings=settings, owner_id=owner, name="API_KEY", value="sk-123")
        assert "sk-123" not in row.ciphertext
        assert secrets.secret_values(session=session, settings=settings, owner_id=owner) == {"API_KEY": "sk-123"}


def test_secrets_written_under_another_server_key_are_skipped(settings: Settings) -> None:
    rotated = settings.model_copy(update={"secret_key": settings.secret_key.__class__("r" * 48)})
    with Session(get_engine(settings.sqlalchemy_url)) as session:
        owner = _owner(session)
        secrets.set_secret(session=session, settings=settings, owner_id=owner, name="OLD", value="old-value")
        secrets.set_secret(session=session, settings=rotated, owner_id=owner, name="NEW", value="new-value")
        assert secrets.secret_values(session=session, settings=rotated, owner_id=owner) == {"NEW": "new-value"}


@pytest.mark.parametrize("name", ["A", "API_KEY_2", "X" * 64])
def test_valid_names_pass(name: str) -> None:
    assert secrets.check_name(name) == name


@pytest.mark.parametrize("name", ["", "a", "2A", "A-B", "A B", "X" * 65, "Ä"])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(secrets.InvalidSecretName):
        secrets.check_name(name)
