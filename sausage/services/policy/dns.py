"""Designate's rules (its own action names: ``create_zone``, ``find_recordsets``,
``edit_managed_records`` …), roles admin / member / reader.

- admin: everything, in every project; only admins see all projects
  (``X-Auth-All-Projects``), act as another project (``X-Auth-Sudo-Project-ID``), edit
  managed records or hard-delete;
- a project's members write their own zones and recordsets and quotas are read by the
  project; readers read, write nothing;
- another project's zone is invisible (the services answer 404, never 403);
- TLDs: admin only, every action;
- a transfer request is made, changed and deleted by the zone's project members (or admin); it
  is shown to them, to the project it names as target, and to anyone when it names none;
  its details (key, projects, dates) only to the zone's project and admin;
- a transfer is accepted by the target project, by anyone when the request names none, or by
  admin; an accept is shown to its project; only admin lists accepts;
- a floating IP's PTR is read by the floating IP's project (``find_records``) and set or
  unset by its members (Designate checks nothing beyond Neutron's own lookup; a reader writes
  nothing here).
"""

from __future__ import annotations

from sausage.services.context import Context
from sausage.services.policy.rules import (Check, Rule, Target, Wording, admin, any_of,
                                           authenticated, in_project, project_member, rule,
                                           scoped)

__all__ = ["WORDING", "RULES"]

WORDING = Wording("Forbidden: policy does not allow {action}.", kind="forbidden")

_writer = any_of(admin, project_member)
_reader = any_of(admin, in_project)


def _target(ctx: Context, t: Target) -> bool:
    """The request names the caller's project as its target."""
    return ctx.project_id is not None and t.get("target_project_id") == ctx.project_id


def _untargeted(ctx: Context, t: Target) -> bool:
    """The request names no target: any project holding the key may take it."""
    return authenticated(ctx, t) and t.get("target_project_id") is None

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
    **{f"{verb}_tld": admin for verb in ("create", "get", "update", "delete")},
    "find_tlds": admin,
    "create_zone_transfer_request": _writer,
    "get_zone_transfer_request": any_of(_writer, _target, _untargeted),
    "get_zone_transfer_request_detailed": _reader,
    "find_zone_transfer_requests": authenticated,
    "update_zone_transfer_request": _writer,
    "delete_zone_transfer_request": _writer,
    "create_zone_transfer_accept": any_of(admin, _target, _untargeted),
    "get_zone_transfer_accept": _reader,
    "find_zone_transfer_accepts": admin,
    "find_records": _reader,
    "update_floatingip_ptr": _writer,
}

RULES: dict[str, Rule] = {action: rule(check) for action, check in _CHECKS.items()}
