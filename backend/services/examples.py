"""The example apps shipped in workflows/examples: loaded for the local admin, and a gallery any account copies from."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

import workflows
from backend import crud
from backend.models import App, User
from backend.services import apps, users
from backend.services.errors import InvalidSpec, NotFound

__all__ = ["EXAMPLES_DIR", "Example", "copy_example", "list_examples", "load_examples"]

logger = logging.getLogger(__name__)

EXAMPLES_DIR = Path(workflows.__file__).resolve().parent / "examples"


@dataclass(frozen=True)
class Example:
    """One example app: `key` is its file name without `.yaml`."""

    key: str
    spec: workflows.AppSpec

    @property
    def tool_name(self) -> str:
        """The tool name MCP clients will see once it is published."""
        return apps.tool_name_for(self.spec)


def _read_examples(directory: Path) -> Iterator[Example]:
    for path in sorted(directory.glob("*.yaml")):
        try:
            yield Example(key=path.stem, spec=apps.parse_spec(text=path.read_text(encoding="utf-8")))
        except InvalidSpec as exc:
            logger.warning("example %s is invalid: %s", path.name, exc)


def list_examples(*, directory: Path = EXAMPLES_DIR) -> list[Example]:
    """Every valid example, by name."""
    return sorted(_read_examples(directory), key=lambda example: example.spec.name.lower())


def copy_example(*, session: Session, owner: User, key: str, directory: Path = EXAMPLES_DIR) -> App:
    """A copy of example `key` among `owner`'s apps, as a draft (a name they already use gets a number)."""
    example = next((e for e in _read_examples(directory) if e.key == key), None)
    if example is None:
        raise NotFound(f"no example {key!r}")
    return apps.create_app(session=session, owner=owner, spec=example.spec, rename_on_conflict=True)


def load_examples(*, session: Session, directory: Path = EXAMPLES_DIR) -> list[str]:
    """Import and publish every example the local admin does not have yet; return their names."""
    admin = users.local_admin(session=session)
    loaded = []
    for example in _read_examples(directory):
        if crud.get_app_by_name(session=session, name=example.spec.name, owner_id=admin.id):
            continue
        app = apps.create_app(session=session, owner=admin, spec=example.spec)
        apps.publish_app(session=session, app=app)
        loaded.append(example.spec.name)
    return loaded
