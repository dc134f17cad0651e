"""Block-storage quotas (Cinder's os-quota-sets and the absolute limits): defaults,
per-project overrides, usage counted from the tables, and the checks creates make.

Called by ``api/volume/quotas.py`` and by the volume and snapshot services before they insert.
Usage is counted inside the caller's transaction after taking the project's quota lock
(``services/quota_lock.py``), so two concurrent creates in one project cannot both pass a
check that only one of them fits.

Counting follows Cinder's reservations: a volume or snapshot counts from the moment it is
asked for until its row is gone (a ``deleting`` one still holds its quota, as Cinder releases
it only when the backend has removed the data); ``gigabytes`` is the sizes of volumes and of
snapshots together. Per-type keys (``volumes_<type name>`` …) exist for every volume type;
their default is -1 (unlimited).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import volume as vm
from sausage.services import policy, quota_lock
from sausage.services.context import Context
from sausage.services.volume import types

__all__ = ["DEFAULTS", "PER_TYPE", "defaults", "limits", "usage", "check", "check_volume_size",
           "show", "update", "reset"]

DEFAULTS: dict[str, int] = {
    "volumes": 10, "snapshots": 10, "gigabytes": 1000, "backups": 10,
    "backup_gigabytes": 1000, "groups": 10, "per_volume_gigabytes": -1,
}
PER_TYPE = ("volumes", "gigabytes", "snapshots")
MAX_LIMIT = 0x7FFFFFFF
_IGNORED_KEYS = ("id", "tenant_id")


def _type_names(s: Session) -> dict[str, str]:
    types.default_type(s)  # its per-type keys show even before the first volume is made
    return {type_id: name for type_id, name in
            s.execute(select(vm.VolumeType.id, vm.VolumeType.name)).tuples()}


def defaults(s: Session) -> dict[str, int]:
    """The default limits, with -1 for every per-type key."""
    out = dict(DEFAULTS)
    for name in sorted(_type_names(s).values()):
        for resource in PER_TYPE:
            out[f"{resource}_{name}"] = -1
    return out


def limits(s: Session, project_id: str) -> dict[str, int]:
    """The project's limits: its overrides over the defaults."""
    out = defaults(s)
    for resource, limit in s.execute(select(vm.VolumeQuota.resource, vm.VolumeQuota.limit)
                                     .where(vm.VolumeQuota.project_id == project_id)).tuples():
        if resource in out:
            out[resource] = limit
    return out


def usage(s: Session, project_id: str) -> dict[str, int]:
    """What the project holds now, per resource (per-type keys included)."""
    names = _type_names(s)
    out = {key: 0 for key in defaults(s)}
    for type_id, count, size in s.execute(
            select(vm.Volume.volume_type_id, func.count(vm.Volume.id),
                   func.coalesce(func.sum(vm.Volume.size), 0))
            .where(vm.Volume.project_id == project_id)
            .group_by(vm.Volume.volume_type_id)).tuples():
        out["volumes"] += int(count)
        out["gigabytes"] += int(size)
        if type_id in names:
            out[f"volumes_{names[type_id]}"] += int(count)
            out[f"gigabytes_{names[type_id]}"] += int(size)
    for type_id, count, size in s.execute(
            select(vm.Volume.volume_type_id, func.count(vm.VolumeSnapshot.id),
                   func.coalesce(func.sum(vm.VolumeSnapshot.size), 0))
            .join(vm.Volume, vm.Volume.id == vm.VolumeSnapshot.volume_id)
            .where(vm.VolumeSnapshot.project_id == project_id)
            .group_by(vm.Volume.volume_type_id)).tuples():
        out["snapshots"] += int(count)
        out["gigabytes"] += int(size)
        if type_id in names:
            out[f"snapshots_{names[type_id]}"] += int(count)
            out[f"gigabytes_{names[type_id]}"] += int(size)
    out["per_volume_gigabytes"] = 0
    return out


def _over(limit: int, used: int, delta: int) -> bool:
    return delta > 0 and limit >= 0 and used + delta > limit


def check_volume_size(s: Session, project_id: str, size: int) -> None:
    """PayloadTooLarge (413) when one volume of ``size`` GiB is over per_volume_gigabytes."""
    limit = limits(s, project_id)["per_volume_gigabytes"]
    if 0 <= limit < size:
        raise errors.PayloadTooLarge(f"Requested volume size {size}G is larger than maximum "
                                     f"allowed limit {limit}G.")


def check(s: Session, project_id: str, *, volumes: int = 0, gigabytes: int = 0,
          snapshots: int = 0, volume_type_id: str | None = None) -> None:
    """Raise PayloadTooLarge (413, Cinder's ``overLimit``) if adding these exceeds a limit.

    Takes the project's quota lock first, so the check and the caller's insert are atomic.
    A new volume (``volumes`` > 0) is also held to per_volume_gigabytes. With
    ``volume_type_id`` the type's own limits (``volumes_<name>`` …) apply too.
    """
    quota_lock.lock_project(s, project_id)
    allowed = limits(s, project_id)
    used = usage(s, project_id)
    if volumes > 0 and gigabytes > 0:
        check_volume_size(s, project_id, gigabytes)
    suffixes = [""]
    if volume_type_id is not None:
        name = _type_names(s).get(volume_type_id)
        if name is not None:
            suffixes.append(f"_{name}")
    for suffix in suffixes:
        for resource, delta in (("volumes", volumes), ("snapshots", snapshots),
                                ("gigabytes", gigabytes)):
            key = resource + suffix
            if not _over(allowed[key], used[key], delta):
                continue
            if resource == "volumes":
                raise errors.PayloadTooLarge(
                    f"Maximum number of volumes allowed ({allowed[key]}) exceeded for quota "
                    f"'{key}'.")
            if resource == "snapshots":
                raise errors.PayloadTooLarge(
                    f"Maximum number of snapshots allowed ({allowed[key]}) exceeded")
            raise errors.PayloadTooLarge(
                f"Requested volume or snapshot exceeds allowed {key} quota. Requested "
                f"{delta}G, quota is {allowed[key]}G and {used[key]}G has been consumed.")


def show(s: Session, ctx: Context, project_id: str, *, with_usage: bool = False
         ) -> dict[str, Any]:
    """The project's quota set: limits, or {limit, in_use, reserved, allocated} per key.
    Admins read any project; others only their own (403)."""
    policy.enforce(ctx, "volume_extension:quotas:show", {"project_id": project_id})
    allowed = limits(s, project_id)
    if not with_usage:
        return dict(allowed)
    used = usage(s, project_id)
    return {key: {"limit": limit, "in_use": used.get(key, 0), "reserved": 0, "allocated": 0}
            for key, limit in allowed.items()}


def _integer(key: str, value: Any) -> int:
    if isinstance(value, bool):
        raise errors.BadRequest(f"{key} must be an integer.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise errors.BadRequest(f"{key} must be an integer.") from None
    if isinstance(value, float) and number != value:
        raise errors.BadRequest(f"{key} must be an integer.")
    if number < -1:
        raise errors.BadRequest(f"{key} must be >= -1")
    if number > MAX_LIMIT:
        raise errors.BadRequest(f"{key} must be <= {MAX_LIMIT}")
    return number


def update(s: Session, ctx: Context, project_id: str, values: Mapping[str, Any]
           ) -> dict[str, int]:
    """Set some of a project's limits (admin). Unknown keys, values below -1 and limits
    below what the project already uses are 400 and nothing is written. Returns the limits."""
    policy.enforce(ctx, "volume_extension:quotas:update")
    if not project_id or len(project_id) > 255:
        raise errors.BadRequest("quota_set_name has a length outside 1-255.")
    if not values:
        raise errors.BadRequest("Invalid input for field/attribute quota_set. Value: {}. {} "
                                "does not have enough properties")
    known = defaults(s)
    bad = [k for k in values if k not in known and k not in _IGNORED_KEYS]
    if bad:
        raise errors.BadRequest(f"Bad key(s) in quota set: {', '.join(bad)}")
    wanted = {k: _integer(k, v) for k, v in values.items() if k not in _IGNORED_KEYS}
    used = usage(s, project_id)
    for key, limit in wanted.items():
        if key == "per_volume_gigabytes" or limit == -1:
            continue
        if limit < used.get(key, 0):
            raise errors.BadRequest(
                f"Quota {key} limit must be equal or greater than existing resources. "
                f"Current usage is {used.get(key, 0)} and the requested limit is {limit}.")
    for key, limit in wanted.items():
        row = s.get(vm.VolumeQuota, (project_id, key))
        if row is None:
            s.add(vm.VolumeQuota(project_id=project_id, resource=key, limit=limit))
        else:
            row.limit = limit
    s.flush()
    return limits(s, project_id)


def reset(s: Session, ctx: Context, project_id: str) -> None:
    """Forget a project's overrides: its limits are the defaults again (admin)."""
    policy.enforce(ctx, "volume_extension:quotas:delete")
    s.execute(delete(vm.VolumeQuota).where(vm.VolumeQuota.project_id == project_id))
