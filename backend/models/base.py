"""Shared column helpers, and table-model instances built from values a plain statement read or a call made."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import DateTime, inspect
from sqlalchemy.orm import configure_mappers
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

# Row ids are 32-bit integers on PostgreSQL; larger numbers are refused, never sent to the database.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; treat them as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


class _UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware column that reads back aware UTC datetimes on every database (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return as_utc(value)


TZ = _UtcDateTime()


Model = TypeVar("Model", bound=SQLModel)


def built(model: type[Model], columns: Mapping[str, Any]) -> Model:
    """A transient instance of the table model `model` holding `columns`, built as SQLAlchemy builds a row it loads.

    A bare instance with its state gets the values straight into its dict. `model(**columns)` would fire an
    attribute event and look up a default for each column instead, about ten times the cost. Columns not given are
    absent, not defaulted; a change made to the instance afterwards is tracked as usual.
    """
    mapper = inspect(model)
    if not mapper.configured:  # what model(...) would do first: attributes work only once the mappers are set up
        configure_mappers()
    instance: Model = mapper.class_manager.new_instance()
    instance.__dict__.update(columns)
    return instance


class DetachedRows:
    """Builds the rows of `model` that plain statements read, as a closed session leaves them: detached, with their
    primary key as their identity. The statement's columns (`keys`, the primary key among them) are fixed, so what
    a row needs beyond its values is worked out once: which attributes were not read, where its key is.

    Every column not read is expired, so reading one raises DetachedInstanceError as it would after the session's
    close, rather than quietly giving None.
    """

    def __init__(self, model: type[Model], keys: Sequence[str]) -> None:
        mapper = inspect(model)
        self._model, self._mapper, self._keys = model, mapper, tuple(keys)
        self._primary = tuple(self._keys.index(column.key) for column in mapper.primary_key)
        self._unread: frozenset[str] | None = None  # known once the mappers are configured (the first row)

    def row(self, values: Sequence[Any]) -> Model:
        """The row whose columns (in `keys`' order) hold `values`."""
        instance = built(self._model, dict(zip(self._keys, values)))
        if self._unread is None:
            self._unread = frozenset(self._mapper.column_attrs.keys()) - set(self._keys)
        state = inspect(instance)
        state.key = self._mapper.identity_key_from_primary_key([values[i] for i in self._primary])
        state.expired_attributes.update(self._unread)
        return instance
