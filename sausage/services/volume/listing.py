"""Volume listings (Cinder v3): ``GET /volumes`` and ``/volumes/detail`` with Cinder's filters
(name, status, metadata, availability_zone, bootable, size, ``created_at``/``updated_at``
comparisons, consumes_quota; admins' all_tenants and project_id), sorting (``sort=key:dir,…``
or ``sort_key``/``sort_dir``) and limit/marker/offset paging, and ``/volumes/summary``.

Called by ``api/volume/volumes.py``. Paging is keyset paging in SQL on the sort keys plus the
id, so a page costs the same however deep it is.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, false, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from sausage import errors
from sausage.db.models import volume as vm
from sausage.services import policy
from sausage.services import keyset
from sausage.services.context import Context
from sausage.services.volume import types, volumes

__all__ = ["list_volumes", "count", "summary", "time_comparisons", "consumes_quota",
           "SORT_KEYS", "MAX_LIMIT"]

SORT_KEYS = {"id": "id", "name": "name", "display_name": "name", "status": "status",
             "size": "size", "availability_zone": "availability_zone",
             "created_at": "created_at", "updated_at": "updated_at", "bootable": "bootable",
             "description": "description", "display_description": "description"}
NULLABLE = {"name": "", "description": ""}
MAX_LIMIT = 1000


def _sort(filters: Mapping[str, str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if filters.get("sort"):
        for part in filters["sort"].split(","):
            key, _, direction = part.strip().partition(":")
            pairs.append((key.strip(), direction.strip() or "desc"))
    elif filters.get("sort_key") or filters.get("sort_dir"):
        keys = [k.strip() for k in filters.get("sort_key", "created_at").split(",") if k]
        dirs = [d.strip() for d in filters.get("sort_dir", "desc").split(",") if d]
        pairs = [(k, dirs[min(i, len(dirs) - 1)] if dirs else "desc")
                 for i, k in enumerate(keys or ["created_at"])]
    else:
        pairs = [("created_at", "desc")]
    order: list[tuple[str, str]] = []
    for key, direction in pairs:
        if key not in SORT_KEYS:
            raise errors.BadRequest(f"Invalid input received: Invalid sort key {key}")
        if direction.lower() not in ("asc", "desc"):
            raise errors.BadRequest(f"Invalid input received: Unknown sort direction, must be "
                                    f"'desc' or 'asc' (not {direction})")
        order.append((SORT_KEYS[key], direction.lower()))
    if "id" not in [k for k, _ in order]:
        order.append(("id", order[-1][1]))
    return order


def _key(name: str) -> Any:
    return keyset.key(vm.Volume, name, NULLABLE)


def _after(marker: vm.Volume, order: list[tuple[str, str]]) -> ColumnElement[bool]:
    """Rows strictly after ``marker`` in the (key, direction) order: keyset paging."""
    return keyset.after(vm.Volume, marker, order, NULLABLE)


def _int(filters: Mapping[str, str], name: str) -> int | None:
    if name not in filters:
        return None
    try:
        value = int(filters[name])
    except ValueError as e:
        raise errors.BadRequest(f"{name} param must be an integer") from e
    if value < 0:
        raise errors.BadRequest(f"{name} param must be positive")
    if name == "limit":
        return min(value, MAX_LIMIT)  # Cinder caps a page at its max limit
    if value > volumes.DB_MAX_INT:  # Cinder's validate_integer bound for offset and sizes
        raise errors.BadRequest(f"Invalid input received: {name} must be <= {volumes.DB_MAX_INT}.")
    return value


TIME_OPERATORS = ("gt", "gte", "eq", "neq", "lt", "lte")


def time_comparisons(column: Any, text: str) -> list[ColumnElement[bool]]:
    """Cinder's time comparison filter (3.60): ``op:ISO-time[,op:ISO-time…]``, ``op`` one of
    gt, gte, eq, neq, lt, lte; a time without a zone is UTC. 400 with Cinder's messages."""
    clauses: list[ColumnElement[bool]] = []
    for unit in text.split(","):
        operator, _, when = unit.partition(":")
        if operator not in TIME_OPERATORS:
            raise errors.BadRequest(f"Invalid {operator} operator")
        try:
            moment = datetime.datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
        except ValueError:
            raise errors.BadRequest(f"Invalid {when} value") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        clauses.append({"gt": column > moment, "gte": column >= moment,
                        "eq": column == moment, "neq": column != moment,
                        "lt": column < moment, "lte": column <= moment}[operator])
    return clauses


def consumes_quota(text: str) -> ColumnElement[bool] | None:
    """The ``consumes_quota`` filter (3.65): every volume and snapshot here consumes quota
    (there are no temporary ones), so true filters nothing and false leaves nothing."""
    return None if volumes.parse_bool(text, "consumes_quota") else false()


def _scope(ctx: Context, filters: Mapping[str, str]) -> ColumnElement[bool] | None:
    """Which projects' volumes a listing covers (None: all)."""
    admin = policy.allowed(ctx, "context_is_admin")
    all_tenants = admin and filters.get("all_tenants", "0").lower() in volumes.TRUE_WORDS
    if admin and "project_id" in filters:
        return vm.Volume.project_id == filters["project_id"]
    if all_tenants:
        return None
    return vm.Volume.project_id == (ctx.project_id or "")


def _filtered(ctx: Context, filters: Mapping[str, str]) -> Any:
    query = select(vm.Volume)
    scope = _scope(ctx, filters)
    if scope is not None:
        query = query.where(scope)
    name = filters.get("name", filters.get("display_name"))
    if name is not None:
        query = query.where(vm.Volume.name == name)
    for field in ("status", "availability_zone"):
        if field in filters:
            query = query.where(getattr(vm.Volume, field) == filters[field])
    if "bootable" in filters:
        bootable = filters["bootable"].lower() in volumes.TRUE_WORDS
        query = query.where(vm.Volume.bootable.is_(bootable))
    size = _int(filters, "size")
    if size is not None:
        query = query.where(vm.Volume.size == size)
    for field in ("created_at", "updated_at"):
        if field in filters:
            query = query.where(*time_comparisons(getattr(vm.Volume, field), filters[field]))
    if "consumes_quota" in filters:
        clause = consumes_quota(filters["consumes_quota"])
        if clause is not None:
            query = query.where(clause)
    if "metadata" in filters:
        for key, value in types.dict_filter(filters["metadata"], "metadata").items():
            query = query.where(exists().where(
                vm.VolumeMetadata.volume_id == vm.Volume.id, vm.VolumeMetadata.key == key,
                vm.VolumeMetadata.value == value))
    return query


def list_volumes(s: Session, ctx: Context, filters: Mapping[str, str]
                 ) -> tuple[list[volumes.VolumeView], bool]:
    """One page of the volumes ``ctx`` sees, and whether a next page link is due (the page
    is full, as Cinder decides). Raises BadRequest (paging, sort), NotFound (marker)."""
    query = _filtered(ctx, filters)
    order = _sort(filters)
    limit = _int(filters, "limit")
    offset = _int(filters, "offset")
    if filters.get("marker"):
        marker = s.get(vm.Volume, filters["marker"])
        if marker is None or not policy.allowed(
                ctx, "volume:get", {"project_id": marker.project_id}):
            raise errors.NotFound(f"Marker {filters['marker']} could not be found.")
        query = query.where(_after(marker, order))
    for key, direction in order:
        query = query.order_by(_key(key).asc() if direction == "asc" else _key(key).desc())
    page = min(limit, MAX_LIMIT) if limit is not None else MAX_LIMIT
    if offset:
        query = query.offset(offset)
    rows = list(s.scalars(query.limit(page)))
    return volumes.views(s, rows), bool(rows) and len(rows) == page


def count(s: Session, ctx: Context, filters: Mapping[str, str]) -> int:
    """How many volumes the listing's filters match, whatever the page (``with_count``)."""
    query = _filtered(ctx, filters).subquery()
    return int(s.execute(select(func.count()).select_from(query)).scalar_one())


def summary(s: Session, ctx: Context, filters: Mapping[str, str]
            ) -> tuple[int, int, dict[str, list[str]]]:
    """GET /volumes/summary (3.12): how many volumes, their GiB, their metadata values."""
    query = _filtered(ctx, filters).subquery()
    count, total = s.execute(select(func.count(), func.coalesce(func.sum(query.c.size), 0))
                             ).one()
    merged: dict[str, list[str]] = {}
    for key, value in s.execute(select(vm.VolumeMetadata.key, vm.VolumeMetadata.value).where(
            vm.VolumeMetadata.volume_id.in_(select(query.c.id))).order_by(
            vm.VolumeMetadata.key, vm.VolumeMetadata.value)):
        if value not in merged.setdefault(key, []):
            merged[key].append(value)
    return int(count), int(total), merged
