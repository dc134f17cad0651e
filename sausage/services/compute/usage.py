"""os-simple-tenant-usage: per-project server hours, vCPU hours, RAM and disk over a period."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sausage.db.models import compute as m
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context

__all__ = ["usage"]


def _hours(row: m.Server, start: datetime.datetime, end: datetime.datetime) -> float:
    began = max(row.launched_at or row.created_at, start)
    ended = min(row.terminated_at or end, end)
    return max(0.0, (ended - began).total_seconds() / 3600)


def usage(s: Session, ctx: Context, project_id: str | None, start: datetime.datetime,
          end: datetime.datetime) -> list[dict[str, Any]]:
    """One usage summary per project (only the caller's own unless admin)."""
    if project_id is None:
        policy.enforce(ctx, "os_compute_api:os-simple-tenant-usage:list")
    else:
        policy.enforce(ctx, "os_compute_api:os-simple-tenant-usage:show",
                       {"project_id": project_id})
    query = select(m.Server).where(m.Server.created_at <= end, or_(
        m.Server.terminated_at.is_(None), m.Server.terminated_at >= start))
    if project_id is not None:
        query = query.where(m.Server.project_id == project_id)
    out: dict[str, dict[str, Any]] = {}
    now = utcnow()
    for row in s.scalars(query):
        hours = _hours(row, start, end)
        summary = out.setdefault(row.project_id, {
            "tenant_id": row.project_id, "start": start, "stop": end, "total_hours": 0.0,
            "total_vcpus_usage": 0.0, "total_memory_mb_usage": 0.0,
            "total_local_gb_usage": 0.0, "server_usages": []})
        summary["total_hours"] += hours
        summary["total_vcpus_usage"] += hours * row.vcpus
        summary["total_memory_mb_usage"] += hours * row.memory_mb
        summary["total_local_gb_usage"] += hours * row.root_gb
        summary["server_usages"].append({
            "instance_id": row.id, "name": row.name, "hours": hours, "vcpus": row.vcpus,
            "memory_mb": row.memory_mb, "local_gb": row.root_gb,
            "flavor": row.flavor.get("name", ""), "tenant_id": row.project_id,
            "started_at": row.launched_at or row.created_at, "ended_at": row.terminated_at,
            "state": "terminated" if row.deleted else row.vm_state,
            "uptime": int(((row.terminated_at or now) - (row.launched_at or row.created_at))
                          .total_seconds())})
    return list(out.values())
