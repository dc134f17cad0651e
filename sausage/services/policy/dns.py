"""Designate's rules (its own action names: ``create_zone``, ``find_recordsets``,
``edit_managed_records`` …), roles admin / member / reader.

- admin: everything, in every project; only admins see all projects
  (``X-Auth-All-Projects``), act as another project (``X-Auth-Sudo-Project-ID``), edit
  managed records or hard-delete;
- a project's members write their own zones and recordsets and quotas are read by the
  project; readers read, write nothing;
- another project's zone is invisible (the services answer 404, never 403).
"""

from __future__ import annotations

from sausage.services.policy.rules import (Check, Rule, Wording, admin, any_of, in_project,
                                           project_member, rule, scoped)

__all__ = ["WORDING", "RULES"]

WORDING = Wording("Forbidden: policy does not allow {action}.", kind="forbidden")

_writer = any_of(admin, project_member)
_reader = any_of(admin, in_project)

_CHECKS: dict[str, Check] = {
    "all_tenants": admin,
    "use_sudo": admin,
    "edit_managed_records": admin,
    "hard_delete": admin,
    "create_zone": _writer,
    "get_zone": _reader,
    "find_zones": any_of(admin, scoped),
    "update_zone": _writer,
    "delete_zone": _writer,
    "get_zone_ns_records": _reader,
    "create_recordset": _writer,
    "get_recordset": _reader,
    "find_recordsets": any_of(admin, scoped),
    "update_recordset": _writer,
    "delete_recordset": _writer,
    "get_quotas": _reader,
    "set_quota": admin,
    "reset_quotas": admin,
}

RULES: dict[str, Rule] = {action: rule(check) for action, check in _CHECKS.items()}
