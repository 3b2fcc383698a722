"""Load the example apps shipped in workflows/examples for the local admin."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlmodel import Session

import workflows
from backend import crud
from backend.services import apps, users
from backend.services.errors import InvalidSpec

logger = logging.getLogger(__name__)

EXAMPLES_DIR = Path(workflows.__file__).resolve().parent / "examples"


def load_examples(*, session: Session, directory: Path = EXAMPLES_DIR) -> list[str]:
    """Import and publish every example the local admin does not have yet; return their names."""
    admin = users.local_admin(session=session)
    loaded = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            spec = apps.parse_spec(text=path.read_text(encoding="utf-8"))
        except InvalidSpec as exc:
            logger.warning("example %s is invalid: %s", path.name, exc)
            continue
        if crud.get_app_by_name(session=session, name=spec.name, owner_id=admin.id):
            continue
        app = apps.create_app(session=session, owner=admin, spec=spec)
        apps.publish_app(session=session, app=app)
        loaded.append(spec.name)
    return loaded
