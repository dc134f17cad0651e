"""Keystone's rules (``identity:*``): admins manage, users see and keep their own things."""

from __future__ import annotations

from sausage.services.policy.rules import (Check, Rule, Wording, admin, any_of, authenticated,
                                           domain_reader, in_project, owner, owner_writer, rule)

__all__ = ["WORDING", "RULES"]

WORDING = Wording("You are not authorized to perform the requested action: {action}.")

_CHECKS: dict[str, Check] = {
    "identity:get_domain": any_of(admin, domain_reader),
    "identity:list_domains": admin,
    "identity:create_domain": admin,
    "identity:update_domain": admin,
    "identity:delete_domain": admin,
    "identity:get_project": any_of(admin, in_project),
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

RULES: dict[str, Rule] = {action: rule(check) for action, check in _CHECKS.items()}
