"""Network quotas (Neutron's ``/v2.0/quotas``): defaults, per-project overrides, usage and the
check every create calls.

``check(s, project_id, resource, delta)`` serializes on the project's quota lock (the one
compute uses), so two concurrent creates cannot both pass a limit they jointly exceed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm
from sausage.services import policy, quota_lock
from sausage.services.context import Context

__all__ = ["DEFAULTS", "check", "limits", "usage", "update", "reset", "list_overridden"]

DEFAULTS: dict[str, int] = {
    "network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50,
    "security_group": 10, "security_group_rule": 100, "subnetpool": -1,
}

_COUNTED: dict[str, Any] = {
    "network": nm.Network, "subnet": nm.Subnet, "port": nm.Port, "router": nm.Router,
    "floatingip": nm.FloatingIP, "security_group": nm.SecurityGroup,
    "security_group_rule": nm.SecurityGroupRule, "subnetpool": nm.SubnetPool,
}


def limits(s: Session, project_id: str) -> dict[str, int]:
    out = dict(DEFAULTS)
    for resource, limit in s.execute(select(nm.NetworkQuota.resource, nm.NetworkQuota.limit)
                                     .where(nm.NetworkQuota.project_id == project_id)).tuples():
        out[resource] = limit
    return out


def usage(s: Session, project_id: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for resource, model in _COUNTED.items():
        out[resource] = int(s.scalar(select(func.count()).select_from(model).where(
            model.project_id == project_id)) or 0)
    return out


def check(s: Session, project_id: str, resource: str, delta: int = 1) -> None:
    """Raise Conflict ``OverQuota`` (409) if ``delta`` more of ``resource`` would exceed the
    project's limit. Locks the project's quota first so the check and the caller's insert are
    atomic with respect to other creates in the project."""
    if delta <= 0:
        return
    quota_lock.lock_project(s, project_id)
    limit = limits(s, project_id).get(resource, -1)
    if limit < 0:
        return
    model = _COUNTED[resource]
    used = int(s.scalar(select(func.count()).select_from(model).where(
        model.project_id == project_id)) or 0)
    if used + delta > limit:
        raise errors.Conflict(f"Quota exceeded for resources: ['{resource}'].",
                              kind="OverQuota")


def _target(ctx: Context, project_id: str) -> None:
    policy.enforce(ctx, "get_quota", {"project_id": project_id})


def show(s: Session, ctx: Context, project_id: str) -> dict[str, int]:
    _target(ctx, project_id)
    return limits(s, project_id)


def details(s: Session, ctx: Context, project_id: str) -> dict[str, dict[str, int]]:
    _target(ctx, project_id)
    used = usage(s, project_id)
    return {r: {"limit": limit, "used": used.get(r, 0), "reserved": 0}
            for r, limit in limits(s, project_id).items()}


def defaults(s: Session, ctx: Context, project_id: str) -> dict[str, int]:
    _target(ctx, project_id)
    return dict(DEFAULTS)


def list_overridden(s: Session, ctx: Context) -> list[tuple[str, dict[str, int]]]:
    """Projects with non-default quotas (admin), or the caller's own."""
    if policy.allowed(ctx, "context_is_admin"):
        projects = sorted(set(s.scalars(select(nm.NetworkQuota.project_id))))
    else:
        projects = [ctx.project_id] if ctx.project_id else []
    return [(p, limits(s, p)) for p in projects]


def update(s: Session, ctx: Context, project_id: str, values: Mapping[str, Any]
           ) -> dict[str, int]:
    """Set limits (admin only). BadRequest for an unknown resource or a limit below -1."""
    policy.enforce(ctx, "update_quota")
    for resource, limit in values.items():
        if resource not in DEFAULTS:
            raise errors.BadRequest(f"Unrecognized attribute(s) '{resource}'",
                                    kind="HTTPBadRequest")
        if isinstance(limit, bool) or not isinstance(limit, (int, str)):
            raise errors.BadRequest(f"Invalid input for {resource}. Reason: '{limit}' is not "
                                    "an integer.", kind="InvalidInput")
        try:
            number = int(limit)
        except ValueError as e:
            raise errors.BadRequest(f"Invalid input for {resource}. Reason: '{limit}' is not "
                                    "an integer.", kind="InvalidInput") from e
        if number < -1:
            raise errors.BadRequest(f"Invalid input for {resource}. Reason: '{number}' should "
                                    "be greater than or equal to -1.", kind="InvalidInput")
        row = s.get(nm.NetworkQuota, (project_id, resource))
        if row is None:
            s.add(nm.NetworkQuota(project_id=project_id, resource=resource, limit=number))
        else:
            row.limit = number
    s.flush()
    return limits(s, project_id)


def reset(s: Session, ctx: Context, project_id: str) -> None:
    policy.enforce(ctx, "delete_quota")
    for row in s.scalars(select(nm.NetworkQuota).where(
            nm.NetworkQuota.project_id == project_id)):
        s.delete(row)
