"""Volume snapshots (Cinder v3 ``/snapshots``): create, list with filters, sorting and paging,
show, update, delete, user metadata and the status actions.

Called by ``api/volume/snapshots.py``. A new snapshot is a row in ``creating`` on its volume's
host: the call bumps that host's revision, its agent takes the snapshot and the host's report
(``services/volume/desired.fold``) moves it to ``available`` or ``error``. Deleting marks it
``deleting`` and the report that no longer lists it removes the row; a snapshot that no host
ever held (its volume has no host, or making it failed) goes at once.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, and_, delete, exists, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from sausage import errors
from sausage.db.models import volume as vm
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.volume import quotas, volumes
from sausage.services.volume.types import dict_filter, parse_bool

__all__ = ["SnapshotView", "get", "create", "listing", "count", "views", "update",
           "delete_snapshot",
           "force_delete", "reset_status", "update_status", "metadata", "set_metadata",
           "delete_metadata_item", "check_metadata", "RESETTABLE"]

# Statuses an admin may reset a snapshot to: "deleting" would make the agent remove the data,
# which is what os-force_delete is for.
RESETTABLE = ("available", "error", "creating", "error_deleting")
_DELETABLE = ("available", "error")
_SORT_KEYS: dict[str, Any] = {
    "id": vm.VolumeSnapshot.id, "created_at": vm.VolumeSnapshot.created_at,
    "updated_at": vm.VolumeSnapshot.updated_at, "status": vm.VolumeSnapshot.status,
    "size": vm.VolumeSnapshot.size, "volume_id": vm.VolumeSnapshot.volume_id,
    "name": vm.VolumeSnapshot.name, "display_name": vm.VolumeSnapshot.name}


@dataclasses.dataclass(frozen=True)
class SnapshotView:
    """A snapshot with its metadata, as the API renders it."""

    snapshot: vm.VolumeSnapshot
    metadata: Mapping[str, str]


def _not_found(snapshot_id: str) -> errors.NotFound:
    return errors.NotFound(f"Snapshot {snapshot_id} could not be found.")


def get(s: Session, ctx: Context, snapshot_id: str) -> vm.VolumeSnapshot:
    """The snapshot, if ``ctx`` may see it; NotFound (Cinder's message) otherwise."""
    row = s.get(vm.VolumeSnapshot, snapshot_id) if snapshot_id else None
    if row is None or not policy.allowed(
            ctx, "volume:get_snapshot", {"project_id": row.project_id}):
        raise _not_found(snapshot_id)
    return row


def _for_change(s: Session, ctx: Context, snapshot_id: str, action: str) -> vm.VolumeSnapshot:
    row = get(s, ctx, snapshot_id)
    policy.enforce(ctx, action, {"project_id": row.project_id})
    return row


def check_metadata(value: Any) -> dict[str, str]:
    """User metadata, validated as the volumes' is (400 with Cinder's messages)."""
    return volumes.check_metadata(value)


def _text(value: Any, field: str, limit: int | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                                f"{value!r} is not of type 'string', 'null'")
    if limit is not None and len(value) > limit:
        raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                                f"'{value}' is too long")
    return value


def _check_fields(values: Mapping[str, Any], allowed: Sequence[str]) -> None:
    extra = sorted(set(values) - set(allowed))
    if extra:
        raise errors.BadRequest("Invalid input for field/attribute snapshot. Additional "
                                f"properties are not allowed ({', '.join(map(repr, extra))} "
                                f"{'was' if len(extra) == 1 else 'were'} unexpected)")


def create(s: Session, ctx: Context, values: Mapping[str, Any]) -> vm.VolumeSnapshot:
    """A new snapshot of ``values["volume_id"]`` in ``creating``; its volume's host makes it.

    The volume must be available, or in-use with ``force`` true. Raises BadRequest (missing
    or bad fields, the volume's status), NotFound (volume), Forbidden (reader),
    PayloadTooLarge (snapshots or gigabytes quota).
    """
    _check_fields(values, ("name", "display_name", "description", "display_description",
                           "volume_id", "force", "metadata"))
    volume_id = values.get("volume_id")
    if "volume_id" in values and volume_id is None:
        # Cinder's schema lets a null through to the lookup, which finds nothing (Tempest's
        # test_create_snapshot_without_passing_volume_id expects this 404).
        raise errors.NotFound("Volume None could not be found.")
    if volume_id is None:
        raise errors.BadRequest("Invalid input for field/attribute snapshot. Value: "
                                f"{dict(values)}. 'volume_id' is a required property")
    if not isinstance(volume_id, str):
        raise errors.BadRequest(f"Invalid input for field/attribute volume_id. Value: "
                                f"{volume_id}. {volume_id!r} is not a 'uuid'")
    name = _text(values.get("name", values.get("display_name")), "name", 255)
    description = _text(values.get("description", values.get("display_description")),
                        "description", 255)
    meta = check_metadata(values.get("metadata"))
    force = parse_bool(values["force"], "force") if values.get("force") is not None else False
    volume = volumes.get(s, ctx, volume_id)
    policy.enforce(ctx, "volume:create_snapshot", {"project_id": volume.project_id})
    valid = ("available", "in-use") if force else ("available",)
    if volume.status not in valid:
        raise errors.BadRequest(f"Invalid volume: Volume {volume.id} status must be "
                                f"{', '.join(valid)}, but current status is: {volume.status}.")
    quotas.check(s, volume.project_id, snapshots=1, gigabytes=volume.size,
                 volume_type_id=volume.volume_type_id)
    now = utcnow()
    row = vm.VolumeSnapshot(id=str(uuid.uuid4()), volume_id=volume.id,
                            project_id=volume.project_id, user_id=ctx.user_id, name=name,
                            description=description, size=volume.size, status="creating",
                            created_at=now, updated_at=now)
    s.add(row)
    s.flush()
    for key, value in meta.items():
        s.add(vm.SnapshotMetadata(snapshot_id=row.id, key=key, value=value))
    if volume.host_id is None:
        # No host holds the volume's data, so none can take the snapshot.
        row.status, row.error = "error", "The volume is on no volume host."
    else:
        changes.changed(s, [volume.host_id])
    s.flush()
    return row


def views(s: Session, rows: Sequence[vm.VolumeSnapshot]) -> list[SnapshotView]:
    """The views of ``rows`` with their metadata, in one more query."""
    meta: dict[str, dict[str, str]] = {r.id: {} for r in rows}
    if rows:
        for item in s.scalars(select(vm.SnapshotMetadata).where(
                vm.SnapshotMetadata.snapshot_id.in_(list(meta)))):
            meta[item.snapshot_id][item.key] = item.value
    return [SnapshotView(r, meta[r.id]) for r in rows]


def _sort(filters: Mapping[str, str]) -> list[tuple[str, bool]]:
    """``sort=key:dir,key`` or ``sort_key``/``sort_dir``, as [(key, descending)]; Cinder's
    default is newest first."""
    pairs: list[tuple[str, str]] = []
    if filters.get("sort"):
        if "sort_key" in filters or "sort_dir" in filters:
            raise errors.BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated "
                                    "and cannot be used with the 'sort' parameter.")
        for part in filters["sort"].split(","):
            key, _, direction = part.strip().partition(":")
            pairs.append((key.strip(), direction.strip() or "desc"))
    elif "sort_key" in filters or "sort_dir" in filters:
        pairs.append((filters.get("sort_key", "created_at"), filters.get("sort_dir", "desc")))
    else:
        pairs.append(("created_at", "desc"))
    out: list[tuple[str, bool]] = []
    for key, direction in pairs:
        if key not in _SORT_KEYS:
            raise errors.BadRequest(f"Invalid input received: Invalid sort key {key}")
        if direction.lower() not in ("asc", "desc"):
            raise errors.BadRequest(f"Invalid input received: Unknown sort direction "
                                    f"{direction}, must be 'desc' or 'asc'")
        out.append(("name" if key == "display_name" else key, direction.lower() == "desc"))
    if "id" not in [k for k, _ in out]:
        out.append(("id", out[-1][1]))
    return out


def _sort_value(row: vm.VolumeSnapshot, key: str) -> Any:
    value = getattr(row, key)
    return "" if value is None and key == "name" else value


def _column(key: str) -> ColumnElement[Any]:
    col: ColumnElement[Any] = _SORT_KEYS[key]
    return func.coalesce(col, "") if key == "name" else col


def _after(marker: vm.VolumeSnapshot, order: list[tuple[str, bool]]) -> ColumnElement[bool]:
    """Rows that come after ``marker`` in ``order`` (keyset paging)."""
    alternatives = []
    for i, (key, desc) in enumerate(order):
        equal = [_column(k) == _sort_value(marker, k) for k, _ in order[:i]]
        value = _sort_value(marker, key)
        step = _column(key) < value if desc else _column(key) > value
        alternatives.append(and_(*equal, step))
    return or_(*alternatives) if alternatives else false()


def _integer(filters: Mapping[str, str], name: str) -> int | None:
    if name not in filters:
        return None
    try:
        value = int(filters[name])
    except ValueError:
        raise errors.BadRequest(f"Invalid input received: {name} param must be an "
                                "integer") from None
    if value < 0:
        raise errors.BadRequest(f"Invalid input received: {name} param must be positive")
    if name == "limit":
        return min(value, volumes.DB_MAX_INT)  # a page can never be larger; SQL never sees past 64 bits
    if value > volumes.DB_MAX_INT:
        raise errors.BadRequest(f"Invalid input received: {name} must be <= {volumes.DB_MAX_INT}.")
    return value


def listing(s: Session, ctx: Context, filters: Mapping[str, str]
            ) -> tuple[list[SnapshotView], bool]:
    """The snapshots ``ctx`` may list, filtered (name, status, volume_id, metadata; admins:
    all_tenants, project_id), sorted and paged (marker, limit, offset). Returns the page and
    whether more follow."""
    query = _filtered(ctx, filters)
    order = _sort(filters)
    if filters.get("marker"):
        marker = s.get(vm.VolumeSnapshot, filters["marker"])
        if marker is None or not policy.allowed(
                ctx, "volume:get_snapshot", {"project_id": marker.project_id}):
            raise errors.NotFound(f"Marker {filters['marker']} could not be found.")
        query = query.where(_after(marker, order))
    query = query.order_by(*[_column(k).desc() if d else _column(k).asc() for k, d in order])
    offset, limit = _integer(filters, "offset"), _integer(filters, "limit")
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit + 1)
    rows = list(s.scalars(query))
    more = limit is not None and len(rows) > limit
    if limit is not None:
        rows = rows[:limit]
    return views(s, rows), more


def count(s: Session, ctx: Context, filters: Mapping[str, str]) -> int:
    """How many snapshots the listing's filters match, whatever the page (``with_count``)."""
    query = _filtered(ctx, filters).subquery()
    return int(s.execute(select(func.count()).select_from(query)).scalar_one())


def _filtered(ctx: Context, filters: Mapping[str, str]) -> Select[tuple[vm.VolumeSnapshot]]:
    query: Select[tuple[vm.VolumeSnapshot]] = select(vm.VolumeSnapshot)
    admin = policy.allowed(ctx, "context_is_admin")
    all_tenants = admin and parse_bool(filters.get("all_tenants", "false"), "all_tenants")
    if admin and filters.get("project_id"):
        query = query.where(vm.VolumeSnapshot.project_id == filters["project_id"])
    elif not all_tenants:
        query = query.where(vm.VolumeSnapshot.project_id == (ctx.project_id or ""))
    wanted = dict_filter(filters["metadata"], "metadata") if filters.get("metadata") else {}
    for key, value in wanted.items():
        query = query.where(exists().where(vm.SnapshotMetadata.snapshot_id == vm.VolumeSnapshot.id,
                                           vm.SnapshotMetadata.key == key,
                                           vm.SnapshotMetadata.value == value))
    for key, column in (("name", vm.VolumeSnapshot.name), ("display_name", vm.VolumeSnapshot.name),
                        ("status", vm.VolumeSnapshot.status),
                        ("volume_id", vm.VolumeSnapshot.volume_id)):
        if key in filters:
            query = query.where(column == filters[key])
    if "consumes_quota" in filters and not parse_bool(filters["consumes_quota"],
                                                      "consumes_quota"):
        query = query.where(false())  # every snapshot here consumes quota
    return query


def update(s: Session, ctx: Context, snapshot_id: str, values: Mapping[str, Any]
           ) -> vm.VolumeSnapshot:
    """PUT /snapshots/{id}: name and description (or their display_ forms)."""
    _check_fields(values, ("name", "display_name", "description", "display_description"))
    if not values:
        raise errors.BadRequest("Invalid input for field/attribute snapshot. Value: {}. {} is "
                                "not valid under any of the given schemas")
    row = _for_change(s, ctx, snapshot_id, "volume:update_snapshot")
    for field, keys in (("name", ("name", "display_name")),
                        ("description", ("description", "display_description"))):
        for key in keys:
            if key in values:
                setattr(row, field, _text(values[key], key, 255))
    row.updated_at = utcnow()
    s.flush()
    return row


def _remove(s: Session, row: vm.VolumeSnapshot) -> None:
    """Delete: at once when no host holds the data, else ``deleting`` and wake the host."""
    volume = s.get(vm.Volume, row.volume_id)
    never_made = row.status == "error" and row.error is not None
    if volume is None or volume.host_id is None or never_made:
        s.execute(delete(vm.SnapshotMetadata).where(vm.SnapshotMetadata.snapshot_id == row.id))
        s.delete(row)
        s.flush()
        return
    row.status, row.updated_at = "deleting", utcnow()
    changes.changed(s, [volume.host_id])
    s.flush()


def _refuse_while_cloned(s: Session, row: vm.VolumeSnapshot) -> None:
    making = s.scalars(select(vm.Volume.id).where(vm.Volume.snapshot_id == row.id,
                                                  vm.Volume.status == "creating")).first()
    if making is not None:
        raise errors.BadRequest(f"Invalid snapshot: Snapshot {row.id} is being copied into "
                                f"volume {making}.")


def delete_snapshot(s: Session, ctx: Context, snapshot_id: str) -> None:
    """DELETE /snapshots/{id}: only an available or error snapshot (400 otherwise)."""
    row = _for_change(s, ctx, snapshot_id, "volume:delete_snapshot")
    if row.status not in _DELETABLE:
        raise errors.BadRequest("Invalid snapshot: Snapshot status must be available or error "
                                "and must not be part of a group.")
    _refuse_while_cloned(s, row)
    _remove(s, row)


def force_delete(s: Session, ctx: Context, snapshot_id: str) -> None:
    """os-force_delete (admin): delete whatever the status."""
    row = get(s, ctx, snapshot_id)
    policy.enforce(ctx, "volume_extension:snapshot_admin_actions:force_delete")
    if row.status == "deleting":
        return
    _refuse_while_cloned(s, row)
    _remove(s, row)


def reset_status(s: Session, ctx: Context, snapshot_id: str, status: Any) -> None:
    """os-reset_status (admin): set the status the database shows; the data is untouched."""
    row = get(s, ctx, snapshot_id)
    policy.enforce(ctx, "volume_extension:snapshot_admin_actions:reset_status")
    if not isinstance(status, str) or status.lower() not in RESETTABLE:
        raise errors.BadRequest(f"Invalid input for field/attribute status. Value: {status}. "
                                f"It must be one of {', '.join(RESETTABLE)}.")
    row.status, row.updated_at = status.lower(), utcnow()
    if row.status != "error":
        row.error = None
    s.flush()


_STATUS_MAP = {"creating": ("creating", "available", "error"),
               "deleting": ("deleting", "error_deleting")}


def update_status(s: Session, ctx: Context, snapshot_id: str, values: Any) -> None:
    """os-update_snapshot_status: the project's members move a creating or deleting snapshot
    along (Nova's assisted snapshots), as Cinder allows."""
    row = _for_change(s, ctx, snapshot_id, "snapshot_extension:snapshot_actions:"
                                           "update_snapshot_status")
    if not isinstance(values, dict) or not isinstance(values.get("status"), str):
        raise errors.BadRequest("Invalid input for field/attribute os-update_snapshot_status. "
                                "'status' is a required property")
    _check_fields(values, ("status", "progress"))
    if row.status not in _STATUS_MAP:
        raise errors.BadRequest(f"Snapshot status {row.status} not allowed for "
                                "update_snapshot_status")
    if values["status"] not in _STATUS_MAP[row.status]:
        raise errors.BadRequest(f"Provided snapshot status {values['status']} not allowed for "
                                f"snapshot with status {row.status}.")
    row.status, row.updated_at = values["status"], utcnow()
    s.flush()


# --- metadata -------------------------------------------------------------------------------

def metadata(s: Session, ctx: Context, snapshot_id: str) -> dict[str, str]:
    row = get(s, ctx, snapshot_id)
    return dict(views(s, [row])[0].metadata)


def set_metadata(s: Session, ctx: Context, snapshot_id: str, values: Any, *,
                 replace: bool) -> dict[str, str]:
    """Merge ``values`` into the snapshot's metadata, or ``replace`` it; returns the result."""
    row = _for_change(s, ctx, snapshot_id, "volume:update_snapshot_metadata")
    wanted = check_metadata(values)
    if replace:
        s.execute(delete(vm.SnapshotMetadata).where(vm.SnapshotMetadata.snapshot_id == row.id))
        s.flush()
    for key, value in wanted.items():
        item = None if replace else s.get(vm.SnapshotMetadata, (row.id, key))
        if item is None:
            s.add(vm.SnapshotMetadata(snapshot_id=row.id, key=key, value=value))
        else:
            item.value = value
    row.updated_at = utcnow()
    s.flush()
    return dict(views(s, [row])[0].metadata)


def delete_metadata_item(s: Session, ctx: Context, snapshot_id: str, key: str) -> None:
    row = _for_change(s, ctx, snapshot_id, "volume:delete_snapshot_metadata")
    item = s.get(vm.SnapshotMetadata, (row.id, key))
    if item is None:
        raise errors.NotFound(f"Snapshot {row.id} has no metadata with key {key}.")
    s.delete(item)
    row.updated_at = utcnow()
    s.flush()
