"""The SQL side of Neutron's list calls: filters, tag filters, sorting and marker paging
applied to a SQLAlchemy select, plus project scoping.

``api/network/common.py`` parses the query string into a ``ListQuery``; each resource's service
builds its scoped ``select`` and hands both to ``run``, which returns a ``Found`` page with the
rows' tags loaded in one extra query (no N+1).

Filters name API attributes; ``columns`` maps the ones whose column differs (``tenant_id`` →
``project_id``, ``router:external`` → ``external``); attributes with no column are ignored, as
Neutron ignores filters it cannot apply. Repeated values of one filter match any of them.
``creating`` names the project a new resource goes to.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import (BigInteger, Boolean, ColumnElement, DateTime, Integer, Select, and_,
                        false, func)
from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm
from sausage.db.session import storable
from sausage.services import policy
from sausage.services.context import Context

__all__ = ["ListQuery", "Found", "found_of", "run", "where", "owned_or", "tags_of", "convert",
           "creating", "count"]

R = TypeVar("R")


class _Row(Protocol):
    @property
    def id(self) -> str: ...


W = TypeVar("W", bound=_Row)


@dataclasses.dataclass(frozen=True)
class ListQuery:
    """What a Neutron list call asked for.

    ``filters`` maps an API attribute to its accepted values (OR); ``sorts`` are (key, "asc" |
    "desc") pairs; ``fields`` are kept by the HTTP layer when rendering (empty: all).
    """

    filters: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)
    tags: Sequence[str] = ()
    tags_any: Sequence[str] = ()
    not_tags: Sequence[str] = ()
    not_tags_any: Sequence[str] = ()
    sorts: Sequence[tuple[str, str]] = ()
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
    fields: Sequence[str] = ()


@dataclasses.dataclass
class Found(Generic[R]):
    """One page of rows, their tags (id → sorted tags) and whether more rows follow."""

    rows: list[R]
    tags: dict[str, list[str]]
    more: bool = False


def convert(column: Any, raw: str) -> Any:
    """A query-string value as the column's Python type. Raises BadRequest when it is not one."""
    kind = getattr(column, "type", None)
    if raw.lower() in ("none", "null") and getattr(column, "nullable", False):
        return None
    if isinstance(kind, Boolean):
        value = raw.strip().lower()
        if value in ("true", "1", "yes", "on"):
            return True
        if value in ("false", "0", "no", "off"):
            return False
        raise errors.BadRequest(f"Invalid input for operation: '{raw}' cannot be converted to "
                                "boolean.", kind="InvalidInput")
    if isinstance(kind, (Integer, BigInteger)):
        try:
            number = int(raw)
        except ValueError as e:
            raise errors.BadRequest(f"Invalid input for operation: '{raw}' is not an integer.",
                                    kind="InvalidInput") from e
        if storable(column, number) is not None:  # PostgreSQL compares within the column
            raise errors.BadRequest(f"Invalid input for operation: '{raw}' is out of range.",
                                    kind="InvalidInput")
        return number
    if isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime):
        # Parsed before any query: the column compares times, not text.
        try:
            when = datetime.datetime.fromisoformat(raw)
        except ValueError as e:
            raise errors.BadRequest(f"Invalid input for operation: '{raw}' is not a valid "
                                    "ISO 8601 time.", kind="InvalidInput") from e
        return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)
    return raw


def owned_or(model: Any, ctx: Context, *public: ColumnElement[bool]) -> ColumnElement[bool]:
    """The condition a non-admin's rows of ``model`` meet: their project's, or ``public`` ones
    (shared or external networks …). An admin sees everything."""
    if policy.allowed(ctx, "context_is_admin"):
        return true()
    if ctx.project_id is None:
        return or_(false(), *public)
    mine: ColumnElement[bool] = model.project_id == ctx.project_id
    return or_(mine, *public)


def creating(ctx: Context, project_id: str | None, action: str) -> str:
    """The project a new resource goes to: ``project_id`` or the caller's (BadRequest when
    neither is known), which ``ctx`` must be allowed to ``action`` in (Forbidden)."""
    project = project_id or ctx.project_id
    if not project:
        raise errors.BadRequest("Invalid input for operation: a project_id is required.",
                                kind="InvalidInput")
    policy.enforce(ctx, action, {"project_id": project})
    return project


def _column(model: Any, columns: Mapping[str, Any], name: str) -> Any:
    if name in columns:
        return columns[name]
    if name == "tenant_id":
        name = "project_id"
    attr = getattr(model, name, None)
    if attr is None or not hasattr(attr, "property") or not hasattr(attr.property, "columns"):
        return None
    return attr


def _tag_condition(model: Any, q: ListQuery) -> list[ColumnElement[bool]]:
    def having(tag: str) -> ColumnElement[bool]:
        cond: ColumnElement[bool] = model.id.in_(
            select(nm.NetworkTag.resource_id).where(nm.NetworkTag.tag == tag))
        return cond

    out: list[ColumnElement[bool]] = []
    if q.tags:
        out.append(and_(*[having(t) for t in q.tags]))
    if q.tags_any:
        out.append(or_(*[having(t) for t in q.tags_any]))
    if q.not_tags:
        out.append(~and_(*[having(t) for t in q.not_tags]))
    if q.not_tags_any:
        out.append(~or_(*[having(t) for t in q.not_tags_any]))
    return out


def where(stmt: Select[Any], model: Any, q: ListQuery,
          columns: Mapping[str, Any] | None = None) -> Select[Any]:
    """``stmt`` narrowed by the query's attribute and tag filters."""
    columns = columns or {}
    for name, values in q.filters.items():
        column = _column(model, columns, name)
        if column is None or not values:
            continue
        converted = [convert(column, v) for v in values]
        conds = [column.is_(None) if v is None else column == v for v in converted]
        stmt = stmt.where(or_(*conds))
    for cond in _tag_condition(model, q):
        stmt = stmt.where(cond)
    return stmt


def _sort_columns(model: Any, q: ListQuery, columns: Mapping[str, Any]
                  ) -> list[tuple[Any, bool]]:
    """(column, ascending) pairs, always ending with the id so the order is total."""
    out: list[tuple[Any, bool]] = []
    for key, direction in q.sorts:
        column = _column(model, columns, key)
        if column is None:
            raise errors.BadRequest(f"{key} is invalid attribute for sort_keys",
                                    kind="BadRequest")
        out.append((column, direction != "desc"))
    if not any(c is model.id for c, _ in out):
        out.append((model.id, out[-1][1] if out else True))
    if q.page_reverse:
        out = [(c, not asc) for c, asc in out]
    return out


def _after(s: Session, model: Any, marker: str, order: list[tuple[Any, bool]]
           ) -> ColumnElement[bool]:
    """Rows strictly after the marker row in ``order`` (keyset paging)."""
    row = s.get(model, marker)
    if row is None:
        raise errors.NotFound(f"Marker {marker} could not be found.", kind="BadRequest")
    values = [getattr(row, c.key) for c, _ in order]
    alternatives: list[ColumnElement[bool]] = []
    for i, (column, asc) in enumerate(order):
        equal = [order[j][0] == values[j] for j in range(i)]
        value = values[i]
        if value is None:
            continue
        alternatives.append(and_(*equal, column > value if asc else column < value))
    return or_(*alternatives) if alternatives else false()


def run(s: Session, stmt: Select[Any], model: Any, q: ListQuery,
        columns: Mapping[str, Any] | None = None) -> Found[Any]:
    """Apply ``q`` to ``stmt`` (a select of ``model`` already scoped to what the caller may
    see) and load one page. Raises BadRequest for a bad sort key or filter value and NotFound
    (rendered as Neutron does) for an unknown marker."""
    columns = columns or {}
    stmt = where(stmt, model, q, columns)
    order = _sort_columns(model, q, columns)
    if q.marker:
        stmt = stmt.where(_after(s, model, q.marker, order))
    stmt = stmt.order_by(*[c.asc() if asc else c.desc() for c, asc in order])
    if q.limit is not None:
        stmt = stmt.limit(q.limit + 1)
    rows = list(s.scalars(stmt))
    more = q.limit is not None and len(rows) > q.limit
    if more:
        rows = rows[:q.limit]
    if q.page_reverse:
        rows.reverse()
    return Found(rows, tags_of(s, [r.id for r in rows]), more)


def tags_of(s: Session, ids: Sequence[str]) -> dict[str, list[str]]:
    """Resource id → its sorted tags (every id present), in one query."""
    out: dict[str, list[str]] = {i: [] for i in ids}
    if not ids:
        return out
    for rid, tag in s.execute(select(nm.NetworkTag.resource_id, nm.NetworkTag.tag).where(
            nm.NetworkTag.resource_id.in_(list(ids))).order_by(nm.NetworkTag.tag)).tuples():
        out[rid].append(tag)
    return out


def found_of(s: Session, rows: Sequence[W]) -> Found[W]:
    """``rows`` (one shown, or just written) with their tags, as one page."""
    return Found(list(rows), tags_of(s, [r.id for r in rows]))


def count(s: Session, stmt: Select[Any]) -> int:
    return int(s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
