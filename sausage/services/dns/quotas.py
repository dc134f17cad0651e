"""DNS quotas (Designate's): per project ``zones``, ``zone_recordsets``, ``zone_records``,
``recordset_records`` and ``api_export_size``; rows in ``dns_quotas`` override the defaults.

A project reads its own; admins read (with all projects) and set anyone's. Creates check
them before writing (413 ``over_quota``, nothing written); recordset and record checks are
serialised by the zone's row lock, zone checks by the project's quota lock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import dns as m
from sausage.db.models import identity as im
from sausage.services import policy, quota_lock
from sausage.services.context import Context
from sausage.services.dns.common import Scope, invalid, scoped

__all__ = ["DEFAULTS", "limits", "show", "show_own", "update", "reset", "check_zones",
           "check_recordsets", "check_records"]

DEFAULTS = {"zones": 10, "zone_recordsets": 500, "zone_records": 500,
            "recordset_records": 20, "api_export_size": 1000}


def limits(s: Session, project_id: str) -> dict[str, int]:
    out = dict(DEFAULTS)
    for row in s.scalars(select(m.DnsQuota).where(m.DnsQuota.project_id == project_id)):
        if row.resource in out:
            out[row.resource] = row.hard_limit
    return out


def _target(ctx: Context, scope: Scope, project_id: str, action: str,
            other_needs_all: bool = True) -> Context:
    """Designate's check: the policy, and another project's quotas only with all projects
    (even for admins; resetting them excepted)."""
    ctx = scoped(ctx, scope)
    policy.enforce(ctx, action, {"project_id": project_id})
    if other_needs_all and project_id != ctx.project_id and not scope.all_projects:
        raise errors.Forbidden("Forbidden", kind="forbidden")
    return ctx


def show(s: Session, ctx: Context, scope: Scope, project_id: str) -> dict[str, int]:
    _target(ctx, scope, project_id, "get_quotas")
    return limits(s, project_id)


def show_own(s: Session, ctx: Context, scope: Scope) -> dict[str, int]:
    """The caller's own project's quotas (``GET /v2/quotas``)."""
    ctx = scoped(ctx, scope)
    return show(s, ctx, Scope(all_projects=scope.all_projects), ctx.project_id or "")


def update(s: Session, ctx: Context, scope: Scope, project_id: str,
           values: dict[str, Any]) -> dict[str, int]:
    _target(ctx, scope, project_id, "set_quota")
    # Designate's quotas_verify_project_id: the project must exist.
    if s.get(im.Project, project_id) is None:
        raise errors.BadRequest(f"Project {project_id[:64]} not found", kind="invalid_project")
    if not values:
        raise invalid("Provided object does not match schema: no quota given")
    for resource, limit in values.items():
        if resource not in DEFAULTS:
            raise invalid(f"Provided object does not match schema: '{resource[:64]}' is "
                          "not a quota resource")
        if isinstance(limit, bool) or not isinstance(limit, int) or not (
                0 <= limit <= 2147483647):
            raise invalid(f"Provided object does not match schema: '{resource}' must be an "
                          "integer between 0 and 2147483647")
    for resource, limit in values.items():
        row = s.get(m.DnsQuota, (project_id, resource))
        if row is None:
            s.add(m.DnsQuota(project_id=project_id, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit
    s.flush()
    return limits(s, project_id)


def reset(s: Session, ctx: Context, scope: Scope, project_id: str) -> None:
    _target(ctx, scope, project_id, "reset_quotas", other_needs_all=False)
    s.execute(delete(m.DnsQuota).where(m.DnsQuota.project_id == project_id))


def _over(resource: str) -> errors.SausageError:
    return errors.PayloadTooLarge(f"Quota exceeded for {resource}.", kind="over_quota")


def check_zones(s: Session, project_id: str) -> None:
    """Room for one more zone; holds the project's quota lock (``quota_lock``) so two
    concurrent creates cannot both pass."""
    quota_lock.lock_project(s, project_id)
    count = s.scalar(select(func.count()).select_from(m.DnsZone).where(
        m.DnsZone.project_id == project_id)) or 0
    if count + 1 > limits(s, project_id)["zones"]:
        raise _over("zones")


def check_recordsets(s: Session, zone: m.DnsZone) -> None:
    count = s.scalar(select(func.count()).select_from(m.DnsRecordset).where(
        m.DnsRecordset.zone_id == zone.id, m.DnsRecordset.action != "DELETE")) or 0
    if count + 1 > limits(s, zone.project_id)["zone_recordsets"]:
        raise _over("zone_recordsets")


def check_records(s: Session, zone: m.DnsZone, recordset_id: str | None, count: int) -> None:
    """``count`` user records for one recordset (replacing its current ones) fit the zone's
    and the recordset's quotas."""
    quota = limits(s, zone.project_id)
    if count > quota["recordset_records"]:
        raise _over("recordset_records")
    query = (select(func.count()).select_from(m.DnsRecord)
             .join(m.DnsRecordset, m.DnsRecordset.id == m.DnsRecord.recordset_id)
             .where(m.DnsRecordset.zone_id == zone.id, m.DnsRecordset.action != "DELETE",
                    m.DnsRecord.managed.is_(False)))
    if recordset_id is not None:
        query = query.where(m.DnsRecordset.id != recordset_id)
    if (s.scalar(query) or 0) + count > quota["zone_records"]:
        raise _over("zone_records")
