"""Designate's listing rules: ``limit`` (default 20, ``max`` = 1000), ``marker`` (the id of
the last row seen), ``sort_key``/``sort_dir`` (created_at ascending by default) and filters
where ``*`` is a wildcard and a leading ``!`` negates.

``page`` answers the rows of one page and how many match in all (``metadata.total_count``).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sausage import errors

__all__ = ["Page", "page", "DEFAULT_LIMIT", "MAX_LIMIT", "criterion"]

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
T = TypeVar("T")


@dataclasses.dataclass
class Page(Generic[T]):
    rows: list[T]
    total: int
    limit: int


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if raw.lower() == "max":
        return MAX_LIMIT
    message = f"limit should be an integer between 1 and {MAX_LIMIT}"
    if not raw.strip().lstrip("+").isdigit():
        raise errors.BadRequest(message, kind="invalid_limit")
    value = int(raw)
    if value <= 0 or value > (1 << 63) - 1:
        raise errors.BadRequest(message, kind="invalid_limit")
    return min(value, MAX_LIMIT)


def criterion(column: Any, value: str, integer: bool = False) -> Any:
    """Designate's filter on one column: ``*`` wildcards, ``!`` negation, else equality."""
    negate = value.startswith("!")
    if negate:
        value = value[1:]
    if integer:
        if not value.lstrip("-").isdigit() or len(value) > 19:
            raise errors.BadRequest(f"Invalid filter value {value[:64]}", kind="bad_request")
        clause = column == int(value)
    elif "*" in value:
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clause = column.like(escaped.replace("*", "%"), escape="\\")
    else:
        clause = column == value
    return ~clause if negate else clause


def page(s: Session, model: Any, query: Select[Any], params: Mapping[str, str],
         sort_keys: Sequence[str]) -> Page[Any]:
    """One page of ``query`` (selecting ``model`` rows) under Designate's paging params."""
    limit = _limit(params.get("limit"))
    sort_dir = params.get("sort_dir") or "asc"
    if sort_dir not in ("asc", "desc"):
        raise errors.BadRequest("Unknown sort direction, must be 'desc' or 'asc'",
                                kind="invalid_sort_dir")
    sort_key = params.get("sort_key") or "created_at"
    if sort_key not in sort_keys:
        raise errors.BadRequest(f"sort key must be one of {list(sort_keys)}",
                                kind="invalid_sort_key")
    column: InstrumentedAttribute[Any] = getattr(model, "project_id" if sort_key == "tenant_id"
                                                 else sort_key)
    order = column.asc() if sort_dir == "asc" else column.desc()
    tie = model.id.asc() if sort_dir == "asc" else model.id.desc()
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = list(s.scalars(query.with_only_columns(model.id).order_by(order, tie)))
    marker = params.get("marker")
    start = 0
    if marker:
        try:
            uuid.UUID(marker)
        except ValueError:
            raise errors.BadRequest("Invalid marker", kind="invalid_marker") from None
        if marker.lower() not in ids:
            raise errors.BadRequest(f"Marker {marker[:64]} could not be found",
                                    kind="marker_not_found")
        start = ids.index(marker.lower()) + 1
    chosen = ids[start:start + limit]
    found = {row.id: row for row in s.scalars(select(model).where(model.id.in_(chosen)))}
    return Page([found[i] for i in chosen], total, limit)
