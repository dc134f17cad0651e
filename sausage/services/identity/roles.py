"""Roles, grants (role assignments) and what roles a user effectively holds on a scope.

Assignments are one table of (type, actor, target, role, inherited) rows; a user's effective
roles on a project are their own, their groups', and those inherited from the project's domain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import identity as m
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.identity import common, revocation

__all__ = [
    "get_role",
    "find_role",
    "list_roles",
    "create_role",
    "update_role",
    "delete_role",
    "Grant",
    "add_grant",
    "check_grant",
    "remove_grant",
    "list_grants",
    "AssignmentView",
    "list_assignments",
    "effective_roles",
]

ROLE_FIELDS = ("name", "description", "domain_id")


def get_role(s: Session, ctx: Context, role_id: str) -> m.Role:
    policy.enforce(ctx, "identity:get_role")
    return common.get(s, m.Role, role_id, "role")


def find_role(s: Session, name: str) -> m.Role:
    row = s.scalars(select(m.Role).where(m.Role.name == name)).first()
    if row is None:
        raise errors.NotFound(f"Could not find role: {name}.")
    return row


def list_roles(s: Session, ctx: Context, filters: Mapping[str, str]) -> list[m.Role]:
    policy.enforce(ctx, "identity:list_roles")
    query = common.filtered(select(m.Role), m.Role, filters, ("name", "domain_id"))
    if "domain_id" not in filters:
        query = query.where(m.Role.domain_id.is_(None))
    return common.list_rows(s, query.order_by(m.Role.name))


def _check_role_name(s: Session, name: str) -> None:
    common.ensure_unique(
        s, select(m.Role.id).where(m.Role.name == name), "role",
        f"Duplicate entry found with name {name}",
    )


def create_role(s: Session, ctx: Context, values: Mapping[str, Any]) -> m.Role:
    policy.enforce(ctx, "identity:create_role")
    _check_role_name(s, values["name"])
    extra = {k: v for k, v in values.items() if k not in ROLE_FIELDS}
    row = m.Role(
        name=values["name"],
        description=values.get("description") or "",
        domain_id=values.get("domain_id"),
        extra=extra,
    )
    s.add(row)
    s.flush()
    return row


def update_role(s: Session, ctx: Context, role_id: str, values: Mapping[str, Any]) -> m.Role:
    policy.enforce(ctx, "identity:update_role")
    row = common.get(s, m.Role, role_id, "role")
    if "name" in values and values["name"] != row.name:
        _check_role_name(s, values["name"])
        row.name = values["name"]
    if "description" in values:
        row.description = values["description"] or ""
    row.extra = {**row.extra, **{k: v for k, v in values.items() if k not in ROLE_FIELDS}}
    return row


def delete_role(s: Session, ctx: Context, role_id: str) -> None:
    policy.enforce(ctx, "identity:delete_role")
    row = common.get(s, m.Role, role_id, "role")
    for a in s.scalars(select(m.Assignment).where(m.Assignment.role_id == role_id)):
        _revoke_for(s, a)
        s.delete(a)
    s.delete(row)


# --- grants ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Grant:
    """One assignment as the URL names it: projects/{target}/users/{actor}/roles/{role}."""

    target_kind: str  # "project" | "domain"
    target_id: str
    actor_kind: str  # "user" | "group"
    actor_id: str
    role_id: str
    inherited: bool = False

    @property
    def type(self) -> str:
        return f"{self.actor_kind.capitalize()}{self.target_kind.capitalize()}"


def _check_refs(s: Session, grant: Grant) -> None:
    target_model = m.Project if grant.target_kind == "project" else m.Domain
    actor_model = m.User if grant.actor_kind == "user" else m.Group
    common.get(s, target_model, grant.target_id, grant.target_kind)
    common.get(s, actor_model, grant.actor_id, grant.actor_kind)
    common.get(s, m.Role, grant.role_id, "role")


def _key(grant: Grant) -> tuple[str, str, str, str, bool]:
    return (grant.type, grant.actor_id, grant.target_id, grant.role_id, grant.inherited)


def add_grant(s: Session, ctx: Context, grant: Grant) -> None:
    policy.enforce(ctx, "identity:create_grant")
    _check_refs(s, grant)
    if s.get(m.Assignment, _key(grant)) is None:
        s.add(
            m.Assignment(
                type=grant.type,
                actor_id=grant.actor_id,
                target_id=grant.target_id,
                role_id=grant.role_id,
                inherited=grant.inherited,
            )
        )


def check_grant(s: Session, ctx: Context, grant: Grant) -> None:
    policy.enforce(ctx, "identity:check_grant")
    _check_refs(s, grant)
    if s.get(m.Assignment, _key(grant)) is None:
        raise errors.NotFound(
            f"Could not find role assignment with role: {grant.role_id}, "
            f"{grant.actor_kind}: {grant.actor_id}, {grant.target_kind}: {grant.target_id}."
        )


def _revoke_for(s: Session, a: m.Assignment) -> None:
    """Tokens minted with this assignment stop working the moment it goes away."""
    project_id = a.target_id if a.type.endswith("Project") else None
    if a.type.startswith("User"):
        revocation.revoke(s, user_id=a.actor_id, project_id=project_id)
        return
    for user_id in s.scalars(
        select(m.GroupMember.user_id).where(m.GroupMember.group_id == a.actor_id)
    ):
        revocation.revoke(s, user_id=user_id, project_id=project_id)


def remove_grant(s: Session, ctx: Context, grant: Grant) -> None:
    policy.enforce(ctx, "identity:revoke_grant")
    _check_refs(s, grant)
    row = s.get(m.Assignment, _key(grant))
    if row is None:
        raise errors.NotFound(
            f"Could not find role assignment with role: {grant.role_id}, "
            f"{grant.actor_kind}: {grant.actor_id}, {grant.target_kind}: {grant.target_id}."
        )
    _revoke_for(s, row)
    s.delete(row)


def list_grants(
    s: Session, ctx: Context, target_kind: str, target_id: str, actor_kind: str, actor_id: str,
    inherited: bool = False,
) -> list[m.Role]:
    policy.enforce(ctx, "identity:list_grants")
    probe = Grant(target_kind, target_id, actor_kind, actor_id, "", inherited)
    target_model = m.Project if target_kind == "project" else m.Domain
    actor_model = m.User if actor_kind == "user" else m.Group
    common.get(s, target_model, target_id, target_kind)
    common.get(s, actor_model, actor_id, actor_kind)
    query = (
        select(m.Role)
        .join(m.Assignment, m.Assignment.role_id == m.Role.id)
        .where(
            m.Assignment.type == probe.type,
            m.Assignment.actor_id == actor_id,
            m.Assignment.target_id == target_id,
            m.Assignment.inherited == inherited,
        )
        .order_by(m.Role.name)
    )
    return common.list_rows(s, query)


# --- effective roles and the role_assignments report -------------------------------------------


def _group_ids(s: Session, user_id: str) -> list[str]:
    return list(s.scalars(select(m.GroupMember.group_id).where(m.GroupMember.user_id == user_id)))


def effective_roles(
    s: Session, user_id: str, *, project_id: str | None = None, domain_id: str | None = None
) -> list[m.Role]:
    """The roles ``user_id`` holds on the project or domain, directly, by group, or inherited."""
    actors = [user_id, *_group_ids(s, user_id)]
    conditions = []
    if project_id is not None:
        project = s.get(m.Project, project_id)
        if project is None:
            return []
        conditions.append(
            (m.Assignment.target_id == project_id) & m.Assignment.inherited.is_(False)
        )
        conditions.append(
            (m.Assignment.target_id == project.domain_id) & m.Assignment.inherited.is_(True)
        )
    elif domain_id is not None:
        conditions.append(
            (m.Assignment.target_id == domain_id) & m.Assignment.inherited.is_(False)
        )
    else:
        return []

    held = select(m.Assignment.role_id).where(m.Assignment.actor_id.in_(actors), or_(*conditions))
    query = select(m.Role).where(m.Role.id.in_(held)).order_by(m.Role.name)
    return common.list_rows(s, query)


@dataclasses.dataclass(frozen=True)
class AssignmentView:
    role: m.Role
    actor_kind: str
    actor: m.User | m.Group
    target_kind: str
    target: m.Project | m.Domain
    inherited: bool
    via_group: m.Group | None = None
    domain_names: Mapping[str, str] = dataclasses.field(default_factory=dict)


def list_assignments(s: Session, ctx: Context, filters: Mapping[str, str]) -> list[AssignmentView]:
    """GET /v3/role_assignments: filter by user, group, role, scope; optionally effective."""
    user_filter = filters.get("user.id")
    policy.enforce(ctx, "identity:list_role_assignments", {"user_id": user_filter})
    effective = "effective" in filters
    query = select(m.Assignment)
    if "role.id" in filters:
        query = query.where(m.Assignment.role_id == filters["role.id"])
    if "role.name" in filters:
        query = query.where(
            m.Assignment.role_id.in_(select(m.Role.id).where(m.Role.name == filters["role.name"]))
        )
    if "scope.project.id" in filters:
        query = query.where(
            m.Assignment.target_id == filters["scope.project.id"],
            m.Assignment.type.like("%Project"),
        )
    if "scope.domain.id" in filters:
        query = query.where(
            m.Assignment.target_id == filters["scope.domain.id"],
            m.Assignment.type.like("%Domain"),
        )
    if "scope.OS-INHERIT:inherited_to" in filters:
        query = query.where(m.Assignment.inherited.is_(True))
    if user_filter and effective:
        query = query.where(m.Assignment.actor_id.in_([user_filter, *_group_ids(s, user_filter)]))
    elif user_filter:
        query = query.where(m.Assignment.actor_id == user_filter, m.Assignment.type.like("User%"))
    if "group.id" in filters:
        query = query.where(
            m.Assignment.actor_id == filters["group.id"], m.Assignment.type.like("Group%")
        )
    rows = list(s.scalars(query))
    domain_names = dict(s.execute(select(m.Domain.id, m.Domain.name)).tuples().all())
    views: list[AssignmentView] = []
    for a in rows:
        role = s.get(m.Role, a.role_id)
        target_kind = "project" if a.type.endswith("Project") else "domain"
        target: m.Project | m.Domain | None = (
            s.get(m.Project, a.target_id) if target_kind == "project"
            else s.get(m.Domain, a.target_id)
        )
        if role is None or target is None:
            continue
        if a.type.startswith("User"):
            user = s.get(m.User, a.actor_id)
            if user is not None:
                views.append(AssignmentView(role, "user", user, target_kind, target, a.inherited,
                                            None, domain_names))
            continue
        group = s.get(m.Group, a.actor_id)
        if group is None:
            continue
        if not effective:
            views.append(AssignmentView(role, "group", group, target_kind, target, a.inherited,
                                        None, domain_names))
            continue
        members = s.scalars(
            select(m.User)
            .join(m.GroupMember, m.GroupMember.user_id == m.User.id)
            .where(m.GroupMember.group_id == group.id)
        )
        for user in members:
            if user_filter and user.id != user_filter:
                continue
            views.append(
                AssignmentView(role, "user", user, target_kind, target, a.inherited, group,
                               domain_names)
            )
    return views
