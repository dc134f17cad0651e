"""Cinder's rules (``volume:*``, ``volume_extension:*``), roles admin / member / reader.

- admin: everything, in every project, and the admin-only actions (reset status, force
  delete or detach, volume types, default types, quota changes);
- a project's members: create and change their own project's volumes, snapshots and
  attachments; readers read them and write nothing (403);
- another project's volume, snapshot or attachment is invisible (``volume:get`` … is False and
  the service raises Cinder's NotFound).
"""

from __future__ import annotations

from sausage.services.policy.rules import (Check, Rule, Wording, admin, all_of, any_of,
                                           in_project, project_member, rule, scoped)

__all__ = ["WORDING", "RULES"]

WORDING = Wording("Policy doesn't allow {action} to be performed.")

_reader = any_of(admin, in_project)
_writer = any_of(admin, project_member)

_CHECKS: dict[str, Check] = {
    "volume:get": _reader,
    "volume:get_snapshot": _reader,
    "volume:attachment_get": _reader,
    "volume_extension:quotas:show": _reader,
    # A volume is made in the caller's project: a project-scoped token is needed.
    "volume:create": all_of(scoped, _writer),
    **{f"volume:{action}": _writer for action in (
        "update", "delete", "extend", "update_volume_metadata", "delete_volume_metadata",
        "create_snapshot", "update_snapshot", "delete_snapshot", "update_snapshot_metadata",
        "delete_snapshot_metadata", "attachment_create", "attachment_update",
        "attachment_complete", "attachment_delete")},
    **{f"volume_extension:{action}": _writer for action in (
        "volume_actions:roll_detaching", "volume_actions:set_bootable",
        "volume_actions:update_readonly_flag", "volume_actions:upload_image",
        "volume_actions:reserve", "volume_actions:unreserve", "volume_actions:begin_detaching",
        "volume_image_metadata:set", "volume_image_metadata:remove")},
    "snapshot_extension:snapshot_actions:update_snapshot_status": _writer,
    **{f"volume_extension:{action}": admin for action in (
        "volume_admin_actions:reset_status", "volume_admin_actions:force_delete",
        "volume_admin_actions:force_detach", "snapshot_admin_actions:reset_status",
        "snapshot_admin_actions:force_delete", "quotas:update", "quotas:delete",
        "types_manage", "types_extra_specs:create", "types_extra_specs:delete",
        "volume_type_access", "volume_type_access:addProjectAccess",
        "volume_type_access:removeProjectAccess", "default_set_or_update", "default_get",
        "default_get_all", "default_unset")},
}

RULES: dict[str, Rule] = {action: rule(check) for action, check in _CHECKS.items()}
