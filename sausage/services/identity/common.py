"""Small helpers the identity services share: lookups that raise, uniqueness, list filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models.base import Base

__all__ = [
    "get",
    "ensure_unique",
    "filtered",
    "list_rows",
    "bool_filter",
    "pick",
    "DEFAULT_DOMAIN_ID",
    "TRUE_STRINGS",
]

M = TypeVar("M", bound=Base)

DEFAULT_DOMAIN_ID = "default"
TRUE_STRINGS = ("1", "true", "yes", "on", "t", "y")


def get(s: Session, model: type[M], id_: str, what: str) -> M:
    """The row with primary key ``id_``, or NotFound in Keystone's words."""
    row = s.get(model, id_)
    if row is None:
        raise errors.NotFound(f"Could not find {what}: {id_}.")
    return row


def ensure_unique(s: Session, query: Select[Any], what: str, detail: str) -> None:
    """Raise Conflict when ``query`` finds a row (checked before insert, inside the transaction)."""
    if s.execute(query.limit(1)).first() is not None:
        raise errors.Conflict(f"Conflict occurred attempting to store {what} - {detail}.")


def filtered(
    query: Select[Any], model: type[Base], filters: Mapping[str, str], allowed: tuple[str, ...]
) -> Select[Any]:
    """Apply Keystone-style exact-match query filters; unknown filters are ignored, as Keystone does."""
    for name in allowed:
        if name not in filters:
            continue
        raw = filters[name]
        column = getattr(model, name)
        if name == "enabled" or name.startswith("is_"):
            query = query.where(column == (raw.lower() in TRUE_STRINGS))
        else:
            query = query.where(column == raw)
    return query


def list_rows(s: Session, query: Select[Any]) -> list[Any]:
    return list(s.scalars(query))


def bool_filter(value: str) -> bool:
    return value.lower() in TRUE_STRINGS


def pick(values: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {k: values[k] for k in names if k in values}

