"""Policy: which context may do which action, enforced inside the service layer.

Rules are plain functions of (context, target attributes). ``enforce`` raises Forbidden with
Keystone's wording; list queries use ``scope_project`` so other projects' rows are never loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sausage import errors
from sausage.services.context import Context

__all__ = ["enforce", "allowed", "RULES"]

Target = Mapping[str, Any]
Rule = Callable[[Context, Target], bool]


def admin(ctx: Context, _t: Target) -> bool:
    return ctx.is_admin


def owner(ctx: Context, t: Target) -> bool:
    return bool(ctx.user_id) and t.get("user_id") == ctx.user_id


def owner_writer(ctx: Context, t: Target) -> bool:
    """The user themselves, holding at least ``member`` (a reader writes nothing)."""
    return owner(ctx, t) and ctx.has_role("member")


def project_reader(ctx: Context, t: Target) -> bool:
    return ctx.project_id is not None and t.get("project_id") == ctx.project_id


def domain_reader(ctx: Context, t: Target) -> bool:
    domain = t.get("domain_id")
    return domain is not None and domain in (ctx.domain_id, ctx.project_domain_id)


def authenticated(ctx: Context, _t: Target) -> bool:
    return bool(ctx.user_id) or ctx.is_admin


def any_of(*rules: Rule) -> Rule:
    return lambda ctx, t: any(rule(ctx, t) for rule in rules)


RULES: dict[str, Rule] = {
    "identity:get_domain": any_of(admin, domain_reader),
    "identity:list_domains": admin,
    "identity:create_domain": admin,
    "identity:update_domain": admin,
    "identity:delete_domain": admin,
    "identity:get_project": any_of(admin, project_reader),
    "identity:list_projects": admin,
    "identity:list_user_projects": any_of(admin, owner),
    "identity:create_project": admin,
    "identity:update_project": admin,
    "identity:delete_project": admin,
    "identity:get_user": any_of(admin, owner),
    "identity:list_users": admin,
    "identity:create_user": admin,
    "identity:update_user": admin,
    "identity:delete_user": admin,
    "identity:get_group": admin,
    "identity:list_groups": admin,
    "identity:list_groups_for_user": any_of(admin, owner),
    "identity:create_group": admin,
    "identity:update_group": admin,
    "identity:delete_group": admin,
    "identity:list_users_in_group": admin,
    "identity:add_user_to_group": admin,
    "identity:remove_user_from_group": admin,
    "identity:check_user_in_group": admin,
    "identity:get_role": admin,
    "identity:list_roles": admin,
    "identity:create_role": admin,
    "identity:update_role": admin,
    "identity:delete_role": admin,
    "identity:list_role_assignments": any_of(admin, owner),
    "identity:check_grant": admin,
    "identity:list_grants": admin,
    "identity:create_grant": admin,
    "identity:revoke_grant": admin,
    "identity:get_region": authenticated,
    "identity:list_regions": authenticated,
    "identity:create_region": admin,
    "identity:update_region": admin,
    "identity:delete_region": admin,
    "identity:get_service": admin,
    "identity:list_services": admin,
    "identity:create_service": admin,
    "identity:update_service": admin,
    "identity:delete_service": admin,
    "identity:get_endpoint": admin,
    "identity:list_endpoints": admin,
    "identity:create_endpoint": admin,
    "identity:update_endpoint": admin,
    "identity:delete_endpoint": admin,
    "identity:get_application_credential": any_of(admin, owner),
    "identity:list_application_credentials": any_of(admin, owner),
    "identity:create_application_credential": owner_writer,
    "identity:delete_application_credential": any_of(admin, owner),
    "identity:validate_token": any_of(admin, owner),
    "identity:revoke_token": any_of(admin, owner),
}


def allowed(ctx: Context, action: str, target: Target | None = None) -> bool:
    rule = RULES.get(action)
    if rule is None:
        raise KeyError(f"no policy rule for {action}")
    return rule(ctx, target or {})


def enforce(ctx: Context, action: str, target: Target | None = None) -> None:
    """Raise Forbidden unless ``ctx`` may do ``action`` on ``target``."""
    if not allowed(ctx, action, target):
        raise errors.Forbidden(
            f"You are not authorized to perform the requested action: {action}."
        )
