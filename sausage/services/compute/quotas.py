"""Compute quotas (Nova's os-quota-sets): defaults, per-project overrides, usage and checks.

Usage is counted from the servers table inside the same transaction that creates, so a check
and the write it guards cannot interleave with another request's (one writer at a time on
SQLite; the host claim and the server insert are one transaction on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.quota_lock import lock_project

__all__ = ["DEFAULTS", "limits", "show", "usage", "check", "check_one", "update", "reset"]

DEFAULTS: dict[str, int] = {
    "instances": 10, "cores": 20, "ram": 51200, "key_pairs": 100, "metadata_items": 128,
    "server_groups": 10, "server_group_members": 10, "injected_files": 5,
    "injected_file_content_bytes": 10240, "injected_file_path_bytes": 255,
}
COUNTED = ("instances", "cores", "ram", "server_groups")


def limits(s: Session, project_id: str) -> dict[str, int]:
    out = dict(DEFAULTS)
    for resource, limit in s.execute(select(m.Quota.resource, m.Quota.hard_limit)
                                     .where(m.Quota.project_id == project_id)).tuples():
        if resource in out:
            out[resource] = limit
    return out


def show(s: Session, ctx: Context, project_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """The project's limits and usage: its own members may read them, admins any project's."""
    policy.enforce(ctx, "os_compute_api:os-quota-sets:show", {"project_id": project_id})
    return limits(s, project_id), usage(s, project_id)


def usage(s: Session, project_id: str) -> dict[str, int]:
    count, cores, ram = s.execute(
        select(func.count(m.Server.id), func.coalesce(func.sum(m.Server.vcpus), 0),
               func.coalesce(func.sum(m.Server.memory_mb), 0))
        .where(m.Server.project_id == project_id, m.Server.deleted.is_(False))).one()
    groups = s.scalar(select(func.count()).where(m.ServerGroup.project_id == project_id)) or 0
    return {"instances": int(count), "cores": int(cores), "ram": int(ram),
            "server_groups": int(groups)}


def check(s: Session, project_id: str, deltas: Mapping[str, int]) -> None:
    """Raise QuotaExceeded (403, Nova's message) if adding ``deltas`` exceeds a limit.

    Locks the project's quota first, so the check and the caller's insert are atomic.
    """
    lock_project(s, project_id)
    allowed = limits(s, project_id)
    used = usage(s, project_id)
    for resource, delta in deltas.items():
        limit = allowed[resource]
        if limit >= 0 and used.get(resource, 0) + delta > limit:
            raise errors.QuotaExceeded(
                f"Quota exceeded for {resource}: Requested {delta}, but already used "
                f"{used.get(resource, 0)} of {limit} {resource}")


def check_one(s: Session, project_id: str, resource: str, new_total: int) -> None:
    limit = limits(s, project_id)[resource]
    if 0 <= limit < new_total:
        raise errors.QuotaExceeded(f"Quota exceeded, too many {resource}.")


def update(s: Session, ctx: Context, project_id: str, values: Mapping[str, int]) -> None:
    policy.enforce(ctx, "os_compute_api:os-quota-sets:update")
    for resource, limit in values.items():
        if resource not in DEFAULTS:
            raise errors.BadRequest(f"Bad key(s) {resource} in quota_set")
        if limit < -1:
            raise errors.BadRequest(f"Quota limit {limit} for {resource} must be -1 or more.")
        row = s.scalars(select(m.Quota).where(m.Quota.project_id == project_id,
                                              m.Quota.resource == resource)).first()
        if row is None:
            s.add(m.Quota(project_id=project_id, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit


def reset(s: Session, ctx: Context, project_id: str) -> None:
    policy.enforce(ctx, "os_compute_api:os-quota-sets:delete")
    for row in s.scalars(select(m.Quota).where(m.Quota.project_id == project_id)):
        s.delete(row)
