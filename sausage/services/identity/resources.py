"""Domains, projects, users and groups: create, read, update, delete, under policy.

Callers hand in already-validated dicts (the API validates shapes); this module checks what
only the database knows: existence, uniqueness, references and who may see what.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import identity as m
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.identity import common, passwords, revocation

__all__ = [
    "get_domain",
    "list_domains",
    "create_domain",
    "update_domain",
    "delete_domain",
    "get_project",
    "list_projects",
    "create_project",
    "update_project",
    "delete_project",
    "get_user",
    "list_users",
    "create_user",
    "update_user",
    "delete_user",
    "change_password",
    "get_group",
    "list_groups",
    "create_group",
    "update_group",
    "delete_group",
    "list_group_users",
    "list_user_groups",
    "add_user_to_group",
    "remove_user_from_group",
    "check_user_in_group",
    "find_domain",
    "find_user",
    "list_projects_of_user",
    "list_domains_of_user",
    "list_user_projects",
]


def _apply(row: Any, values: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    """Set known columns from ``values`` and keep anything else in ``extra`` (Keystone does too)."""
    extra = dict(row.extra or {})
    for key, value in values.items():
        if key in fields:
            # Keystone accepts a null description; the column keeps "" for none.
            setattr(row, key, "" if key == "description" and value is None else value)
        elif key not in ("id", "links"):
            extra[key] = value
    row.extra = extra


# --- domains -----------------------------------------------------------------------------------

DOMAIN_FIELDS = ("name", "description", "enabled")


def find_domain(s: Session, *, id_: str | None = None, name: str | None = None) -> m.Domain:
    if id_ is not None:
        return common.get(s, m.Domain, id_, "domain")
    row = s.scalars(select(m.Domain).where(m.Domain.name == name)).first()
    if row is None:
        raise errors.NotFound(f"Could not find domain: {name}.")
    return row


def get_domain(s: Session, ctx: Context, domain_id: str) -> m.Domain:
    policy.enforce(ctx, "identity:get_domain", {"domain_id": domain_id})
    return common.get(s, m.Domain, domain_id, "domain")


def list_domains(s: Session, ctx: Context, filters: Mapping[str, str]) -> list[m.Domain]:
    policy.enforce(ctx, "identity:list_domains")
    query = common.filtered(select(m.Domain), m.Domain, filters, ("name", "enabled"))
    return common.list_rows(s, query.order_by(m.Domain.name))


def create_domain(s: Session, ctx: Context, values: Mapping[str, Any]) -> m.Domain:
    policy.enforce(ctx, "identity:create_domain")
    name = values["name"]
    common.ensure_unique(
        s, select(m.Domain.id).where(m.Domain.name == name), "domain",
        f"Duplicate entry found with name {name}",
    )
    row = m.Domain(extra={})
    _apply(row, values, DOMAIN_FIELDS)
    s.add(row)
    s.flush()
    return row


def update_domain(s: Session, ctx: Context, domain_id: str, values: Mapping[str, Any]) -> m.Domain:
    policy.enforce(ctx, "identity:update_domain")
    row = common.get(s, m.Domain, domain_id, "domain")
    if "name" in values and values["name"] != row.name:
        common.ensure_unique(
            s, select(m.Domain.id).where(m.Domain.name == values["name"]), "domain",
            f"Duplicate entry found with name {values['name']}",
        )
    _apply(row, values, DOMAIN_FIELDS)
    if values.get("enabled") is False:
        revocation.revoke_domain(s, domain_id)
    return row


def delete_domain(s: Session, ctx: Context, domain_id: str) -> None:
    policy.enforce(ctx, "identity:delete_domain")
    row = common.get(s, m.Domain, domain_id, "domain")
    if row.enabled:
        raise errors.Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    if domain_id == common.DEFAULT_DOMAIN_ID:
        raise errors.Forbidden("The default domain cannot be deleted.")
    for project in s.scalars(select(m.Project).where(m.Project.domain_id == domain_id)):
        _delete_project_row(s, project)
    for user in s.scalars(select(m.User).where(m.User.domain_id == domain_id)):
        _delete_user_row(s, user)
    for group in s.scalars(select(m.Group).where(m.Group.domain_id == domain_id)):
        _delete_group_row(s, group)
    s.execute(delete(m.Assignment).where(m.Assignment.target_id == domain_id))
    s.delete(row)


def find_user(s: Session, ref: Mapping[str, Any]) -> m.User:
    """The user an auth body names: by id, or by name within a domain given by id or name.

    Raises Unauthorized when there is no such user (so a guess learns nothing), BadRequest when
    the reference itself is malformed.
    """
    if ref.get("id"):
        row = s.get(m.User, ref["id"])
    elif ref.get("name"):
        domain_ref = ref.get("domain")
        if not isinstance(domain_ref, dict) or not (domain_ref.get("id") or domain_ref.get("name")):
            raise errors.BadRequest("A user named by name needs its domain (id or name).")
        try:
            domain = find_domain(s, id_=domain_ref.get("id"), name=domain_ref.get("name"))
        except errors.NotFound as e:
            raise errors.Unauthorized("The request you have made requires authentication.") from e
        row = s.scalars(
            select(m.User).where(m.User.domain_id == domain.id, m.User.name == ref["name"])
        ).first()
    else:
        raise errors.BadRequest("A user is named by its id, or its name and domain.")
    if row is None:
        raise errors.Unauthorized("The request you have made requires authentication.")
    return row


# --- projects ----------------------------------------------------------------------------------

PROJECT_FIELDS = ("name", "description", "enabled", "domain_id", "parent_id", "tags")


def get_project(s: Session, ctx: Context, project_id: str) -> m.Project:
    row = s.get(m.Project, project_id)
    # Not found and not allowed look the same to a non-admin, so ids of others leak nothing.
    if row is None:
        policy.enforce(ctx, "identity:get_project", {"project_id": project_id})
        raise errors.NotFound(f"Could not find project: {project_id}.")
    policy.enforce(ctx, "identity:get_project", {"project_id": project_id})
    return row


def list_projects(s: Session, ctx: Context, filters: Mapping[str, str]) -> list[m.Project]:
    policy.enforce(ctx, "identity:list_projects")
    query = common.filtered(
        select(m.Project), m.Project, filters, ("name", "enabled", "domain_id")
    )
    if "parent_id" in filters:
        parent = filters["parent_id"]
        if s.get(m.Domain, parent) is not None:
            query = query.where(m.Project.domain_id == parent, m.Project.parent_id.is_(None))
        else:
            query = query.where(m.Project.parent_id == parent)
    if filters.get("is_domain", "false").lower() in common.TRUE_STRINGS:
        return []
    return common.list_rows(s, query.order_by(m.Project.name))


def _check_project_name(s: Session, domain_id: str, name: str) -> None:
    common.ensure_unique(
        s,
        select(m.Project.id).where(m.Project.domain_id == domain_id, m.Project.name == name),
        "project",
        "it is not permitted to have two projects with the same name in the same domain : "
        + name,
    )


def create_project(s: Session, ctx: Context, values: Mapping[str, Any]) -> m.Project:
    policy.enforce(ctx, "identity:create_project")
    values = dict(values)
    if values.pop("is_domain", False):
        raise errors.BadRequest("Projects acting as domains are not supported.")
    parent_id = values.get("parent_id")
    domain_id = values.get("domain_id")
    if parent_id:
        if s.get(m.Domain, parent_id) is not None:
            domain_id = domain_id or parent_id
            values["parent_id"] = None
        else:
            parent = common.get(s, m.Project, parent_id, "project")
            if domain_id and domain_id != parent.domain_id:
                raise errors.BadRequest("Cannot create project, the parent is in another domain.")
            domain_id = parent.domain_id
    domain_id = domain_id or ctx.project_domain_id or ctx.domain_id or common.DEFAULT_DOMAIN_ID
    common.get(s, m.Domain, domain_id, "domain")
    values["domain_id"] = domain_id
    _check_project_name(s, domain_id, values["name"])
    row = m.Project(extra={}, tags=[])
    _apply(row, values, PROJECT_FIELDS)
    s.add(row)
    s.flush()
    return row


def update_project(
    s: Session, ctx: Context, project_id: str, values: Mapping[str, Any]
) -> m.Project:
    policy.enforce(ctx, "identity:update_project")
    row = common.get(s, m.Project, project_id, "project")
    values = dict(values)
    for fixed in ("domain_id", "parent_id", "is_domain"):
        if fixed in values and values[fixed] != getattr(row, fixed, False):
            if fixed == "parent_id" and values[fixed] in (None, row.domain_id):
                values.pop(fixed)
                continue
            raise errors.BadRequest(f"Update of `{fixed}` is not allowed.")
        values.pop(fixed, None)
    if "name" in values and values["name"] != row.name:
        _check_project_name(s, row.domain_id, values["name"])
    _apply(row, values, PROJECT_FIELDS)
    if values.get("enabled") is False:
        revocation.revoke(s, project_id=project_id)
    return row


def _delete_project_row(s: Session, row: m.Project) -> None:
    if s.scalars(select(m.Project.id).where(m.Project.parent_id == row.id)).first():
        raise errors.Forbidden(
            f"Cannot delete the project {row.id} since it is not a leaf in the hierarchy."
        )
    s.execute(delete(m.Assignment).where(m.Assignment.target_id == row.id))
    s.execute(delete(m.ApplicationCredential).where(m.ApplicationCredential.project_id == row.id))
    s.delete(row)
    revocation.revoke(s, project_id=row.id)


def delete_project(s: Session, ctx: Context, project_id: str) -> None:
    policy.enforce(ctx, "identity:delete_project")
    _delete_project_row(s, common.get(s, m.Project, project_id, "project"))


# --- users -------------------------------------------------------------------------------------

USER_FIELDS = ("name", "domain_id", "enabled", "default_project_id", "description", "email")


def get_user(s: Session, ctx: Context, user_id: str) -> m.User:
    policy.enforce(ctx, "identity:get_user", {"user_id": user_id})
    return common.get(s, m.User, user_id, "user")


def list_users(s: Session, ctx: Context, filters: Mapping[str, str]) -> list[m.User]:
    policy.enforce(ctx, "identity:list_users")
    query = common.filtered(select(m.User), m.User, filters, ("name", "enabled", "domain_id"))
    return common.list_rows(s, query.order_by(m.User.name))


def _check_user_name(s: Session, domain_id: str, name: str) -> None:
    common.ensure_unique(
        s,
        select(m.User.id).where(m.User.domain_id == domain_id, m.User.name == name),
        "user",
        f"Duplicate entry found with name {name} at domain ID {domain_id}",
    )


def create_user(s: Session, ctx: Context, values: Mapping[str, Any]) -> m.User:
    policy.enforce(ctx, "identity:create_user")
    values = dict(values)
    password = values.pop("password", None)
    values.pop("options", None)
    domain_id = values.get("domain_id") or ctx.project_domain_id or common.DEFAULT_DOMAIN_ID
    common.get(s, m.Domain, domain_id, "domain")
    values["domain_id"] = domain_id
    if values.get("default_project_id"):
        common.get(s, m.Project, values["default_project_id"], "project")
    _check_user_name(s, domain_id, values["name"])
    row = m.User(extra={}, password_hash=passwords.hash_secret(password) if password else None)
    _apply(row, values, USER_FIELDS)
    s.add(row)
    s.flush()
    return row


def update_user(s: Session, ctx: Context, user_id: str, values: Mapping[str, Any]) -> m.User:
    policy.enforce(ctx, "identity:update_user")
    row = common.get(s, m.User, user_id, "user")
    values = dict(values)
    values.pop("options", None)
    if "domain_id" in values and values["domain_id"] != row.domain_id:
        raise errors.BadRequest("Update of `domain_id` is not allowed.")
    if "name" in values and values["name"] != row.name:
        _check_user_name(s, row.domain_id, values["name"])
    if values.get("default_project_id"):
        common.get(s, m.Project, values["default_project_id"], "project")
    if "password" in values:
        password = values.pop("password")
        row.password_hash = passwords.hash_secret(password) if password else None
        revocation.revoke(s, user_id=user_id)
    _apply(row, values, USER_FIELDS)
    if values.get("enabled") is False:
        revocation.revoke(s, user_id=user_id)
    return row


def change_password(s: Session, user_id: str, original: str, password: str) -> None:
    """A user changing their own password; proven by the original one, as in Keystone."""
    row = s.get(m.User, user_id)
    if row is None or not passwords.verify_secret(row.password_hash, original):
        raise errors.Unauthorized("The request you have made requires authentication.")
    row.password_hash = passwords.hash_secret(password)
    revocation.revoke(s, user_id=user_id)


def _delete_user_row(s: Session, row: m.User) -> None:
    s.execute(delete(m.Assignment).where(m.Assignment.actor_id == row.id))
    s.execute(delete(m.GroupMember).where(m.GroupMember.user_id == row.id))
    s.execute(delete(m.ApplicationCredential).where(m.ApplicationCredential.user_id == row.id))
    s.delete(row)
    revocation.revoke(s, user_id=row.id)


def delete_user(s: Session, ctx: Context, user_id: str) -> None:
    policy.enforce(ctx, "identity:delete_user")
    _delete_user_row(s, common.get(s, m.User, user_id, "user"))


# --- groups ------------------------------------------------------------------------------------

GROUP_FIELDS = ("name", "domain_id", "description")


def get_group(s: Session, ctx: Context, group_id: str) -> m.Group:
    policy.enforce(ctx, "identity:get_group")
    return common.get(s, m.Group, group_id, "group")


def list_groups(s: Session, ctx: Context, filters: Mapping[str, str]) -> list[m.Group]:
    policy.enforce(ctx, "identity:list_groups")
    query = common.filtered(select(m.Group), m.Group, filters, ("name", "domain_id"))
    return common.list_rows(s, query.order_by(m.Group.name))


def _check_group_name(s: Session, domain_id: str, name: str) -> None:
    common.ensure_unique(
        s,
        select(m.Group.id).where(m.Group.domain_id == domain_id, m.Group.name == name),
        "group",
        f"Duplicate entry found with name {name} at domain ID {domain_id}",
    )


def create_group(s: Session, ctx: Context, values: Mapping[str, Any]) -> m.Group:
    policy.enforce(ctx, "identity:create_group")
    values = dict(values)
    domain_id = values.get("domain_id") or ctx.project_domain_id or common.DEFAULT_DOMAIN_ID
    common.get(s, m.Domain, domain_id, "domain")
    values["domain_id"] = domain_id
    _check_group_name(s, domain_id, values["name"])
    row = m.Group(extra={})
    _apply(row, values, GROUP_FIELDS)
    s.add(row)
    s.flush()
    return row


def update_group(s: Session, ctx: Context, group_id: str, values: Mapping[str, Any]) -> m.Group:
    policy.enforce(ctx, "identity:update_group")
    row = common.get(s, m.Group, group_id, "group")
    if "domain_id" in values and values["domain_id"] != row.domain_id:
        raise errors.BadRequest("Update of `domain_id` is not allowed.")
    if "name" in values and values["name"] != row.name:
        _check_group_name(s, row.domain_id, values["name"])
    _apply(row, values, GROUP_FIELDS)
    return row


def _delete_group_row(s: Session, row: m.Group) -> None:
    members = list(s.scalars(select(m.GroupMember.user_id).where(m.GroupMember.group_id == row.id)))
    s.execute(delete(m.Assignment).where(m.Assignment.actor_id == row.id))
    s.execute(delete(m.GroupMember).where(m.GroupMember.group_id == row.id))
    s.delete(row)
    for user_id in members:
        revocation.revoke(s, user_id=user_id)


def delete_group(s: Session, ctx: Context, group_id: str) -> None:
    policy.enforce(ctx, "identity:delete_group")
    _delete_group_row(s, common.get(s, m.Group, group_id, "group"))


def list_group_users(
    s: Session, ctx: Context, group_id: str, filters: Mapping[str, str]
) -> list[m.User]:
    policy.enforce(ctx, "identity:list_users_in_group")
    common.get(s, m.Group, group_id, "group")
    query = (
        select(m.User)
        .join(m.GroupMember, m.GroupMember.user_id == m.User.id)
        .where(m.GroupMember.group_id == group_id)
    )
    query = common.filtered(query, m.User, filters, ("name", "enabled", "domain_id"))
    return common.list_rows(s, query.order_by(m.User.name))


def list_user_groups(s: Session, ctx: Context, user_id: str) -> list[m.Group]:
    policy.enforce(ctx, "identity:list_groups_for_user", {"user_id": user_id})
    common.get(s, m.User, user_id, "user")
    query = (
        select(m.Group)
        .join(m.GroupMember, m.GroupMember.group_id == m.Group.id)
        .where(m.GroupMember.user_id == user_id)
    )
    return common.list_rows(s, query.order_by(m.Group.name))


def _membership(s: Session, group_id: str, user_id: str) -> m.GroupMember | None:
    common.get(s, m.Group, group_id, "group")
    common.get(s, m.User, user_id, "user")
    return s.get(m.GroupMember, (group_id, user_id))


def add_user_to_group(s: Session, ctx: Context, group_id: str, user_id: str) -> None:
    policy.enforce(ctx, "identity:add_user_to_group")
    if _membership(s, group_id, user_id) is None:
        s.add(m.GroupMember(group_id=group_id, user_id=user_id))


def remove_user_from_group(s: Session, ctx: Context, group_id: str, user_id: str) -> None:
    policy.enforce(ctx, "identity:remove_user_from_group")
    row = _membership(s, group_id, user_id)
    if row is None:
        raise errors.NotFound(f"{user_id} is not a member of group {group_id}.")
    s.delete(row)
    revocation.revoke(s, user_id=user_id)


def check_user_in_group(s: Session, ctx: Context, group_id: str, user_id: str) -> None:
    policy.enforce(ctx, "identity:check_user_in_group")
    if _membership(s, group_id, user_id) is None:
        raise errors.NotFound(f"{user_id} is not a member of group {group_id}.")


# --- what a user can scope to ------------------------------------------------------------------


def list_projects_of_user(s: Session, user_id: str, enabled_only: bool = True) -> list[m.Project]:
    """Projects the user holds any role on: directly, through a group, or inherited."""
    actors = [user_id, *s.scalars(
        select(m.GroupMember.group_id).where(m.GroupMember.user_id == user_id))]
    direct = select(m.Assignment.target_id).where(
        m.Assignment.actor_id.in_(actors), m.Assignment.type.like("%Project"))
    inherited_domains = select(m.Assignment.target_id).where(
        m.Assignment.actor_id.in_(actors), m.Assignment.type.like("%Domain"),
        m.Assignment.inherited.is_(True))
    query = select(m.Project).where(
        m.Project.id.in_(direct) | m.Project.domain_id.in_(inherited_domains))
    if enabled_only:
        query = query.where(m.Project.enabled.is_(True))
    return common.list_rows(s, query.order_by(m.Project.name))


def list_domains_of_user(s: Session, user_id: str) -> list[m.Domain]:
    actors = [user_id, *s.scalars(
        select(m.GroupMember.group_id).where(m.GroupMember.user_id == user_id))]
    targets = select(m.Assignment.target_id).where(
        m.Assignment.actor_id.in_(actors), m.Assignment.type.like("%Domain"),
        m.Assignment.inherited.is_(False))
    query = select(m.Domain).where(m.Domain.id.in_(targets), m.Domain.enabled.is_(True))
    return common.list_rows(s, query.order_by(m.Domain.name))


def list_user_projects(
    s: Session, ctx: Context, user_id: str, filters: Mapping[str, str]
) -> list[m.Project]:
    """GET /v3/users/{id}/projects."""
    policy.enforce(ctx, "identity:list_user_projects", {"user_id": user_id})
    common.get(s, m.User, user_id, "user")
    rows = list_projects_of_user(s, user_id, enabled_only=False)
    if "name" in filters:
        rows = [r for r in rows if r.name == filters["name"]]
    if "enabled" in filters:
        rows = [r for r in rows if r.enabled == common.bool_filter(filters["enabled"])]
    if "domain_id" in filters:
        rows = [r for r in rows if r.domain_id == filters["domain_id"]]
    return rows
