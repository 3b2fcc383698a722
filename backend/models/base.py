"""Shared column helpers, and table-model instances built from values a plain statement read or a call made."""

from __future__ import annotations

from collections.abc import Mapping
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


def detached(model: type[Model], columns: Mapping[str, Any]) -> Model:
    """The row of `model` that `columns` (its primary key among them) were read from, as a closed session leaves it.

    Detached, with its primary key as its identity. Every column not read is expired, so reading one raises
    DetachedInstanceError as it would after the session's close, rather than quietly giving None.
    """
    instance = built(model, columns)
    mapper = inspect(model)
    state = inspect(instance)
    state.key = mapper.identity_key_from_primary_key([columns[column.key] for column in mapper.primary_key])
    state.expired_attributes.update(key for key in mapper.column_attrs.keys() if key not in columns)
    return instance
