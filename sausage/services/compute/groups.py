"""Server groups (os-server-groups): affinity and anti-affinity for the scheduler."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.services.compute import quotas
from sausage.services.context import Context
from sausage.services.policy import allowed, enforce

__all__ = ["create", "get", "list_groups", "delete", "members", "POLICIES"]

POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")


def create(s: Session, ctx: Context, name: str, policy: str,
           rules: Mapping[str, Any] | None = None) -> m.ServerGroup:
    enforce(ctx, "os_compute_api:os-server-groups:create")
    assert ctx.project_id is not None  # the rule wants a project-scoped token
    if policy not in POLICIES:
        raise errors.BadRequest(f"Invalid input for field/attribute policy: {policy}")
    quotas.check(s, ctx.project_id, {"server_groups": 1})
    row = m.ServerGroup(id=str(uuid.uuid4()), name=name, project_id=ctx.project_id,
                        user_id=ctx.user_id, policy=policy, rules=dict(rules or {}))
    s.add(row)
    s.flush()
    return row


def get(s: Session, ctx: Context, group_id: str) -> m.ServerGroup:
    row = s.get(m.ServerGroup, group_id)
    if row is None or not allowed(ctx, "os_compute_api:os-server-groups:show",
                                  {"project_id": row.project_id}):
        raise errors.NotFound(f"Instance group {group_id} could not be found.")
    return row


def list_groups(s: Session, ctx: Context, all_projects: bool) -> list[m.ServerGroup]:
    query = select(m.ServerGroup)
    if not (all_projects and allowed(ctx, "os_compute_api:os-server-groups:index:all_projects")):
        query = query.where(m.ServerGroup.project_id == ctx.project_id)
    return list(s.scalars(query.order_by(m.ServerGroup.created_at)))


def members(s: Session, group_id: str) -> list[str]:
    live = select(m.Server.id).where(m.Server.deleted.is_(False))
    return list(s.scalars(select(m.ServerGroupMember.server_id).where(
        m.ServerGroupMember.group_id == group_id, m.ServerGroupMember.server_id.in_(live))))


def delete(s: Session, ctx: Context, group_id: str) -> None:
    row = get(s, ctx, group_id)
    enforce(ctx, "os_compute_api:os-server-groups:delete")
    s.delete(row)
