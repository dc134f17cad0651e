"""Glance's rules (``add_image``, ``modify_image``, ``add_member`` …), roles admin / member /
reader: an image is its owner project's (``project_id`` in the target) to change and share;
only admins publicize, set owners or download deactivated data; a member project answers
its own invitation. Each refusal carries the message Glance's users see.
"""

from __future__ import annotations

from sausage.services.context import Context
from sausage.services.policy.rules import (Check, Rule, Target, Wording, admin, all_of, any_of,
                                           in_project, member, rule, steps)

__all__ = ["WORDING", "RULES"]

WORDING = Wording("You are not authorized to complete {action} action.")

_owner = any_of(admin, in_project)


def _the_member(ctx: Context, t: Target) -> bool:
    """The membership the target names is the caller's project's."""
    return ctx.project_id is not None and t.get("member") == ctx.project_id


_CHECKS: dict[str, Check] = {
    "get_members": _owner,
    "get_member": any_of(_owner, _the_member),
}

RULES: dict[str, Rule] = {action: rule(check) for action, check in _CHECKS.items()}
RULES.update({
    "add_image": rule(member, "You are not authorized to create images (read-only role)."),
    "modify_image": steps(
        (member, "You are not authorized to modify images (read-only role)."),
        (_owner, "You are not permitted to modify this image.")),
    "publicize_image": rule(admin, "You are not authorized to publicize images."),
    "set_image_owner": rule(admin, "Attribute 'owner' can only be set by an administrator."),
    "download_deactivated_image": rule(
        admin, "The requested image has been deactivated. Image data download is forbidden."),
    "add_member": rule(all_of(_owner, member), "Only the image owner can add members."),
    "delete_member": rule(all_of(_owner, member), "Only the image owner can remove members."),
    "modify_member": steps(
        (_the_member, "Only the member itself can accept or reject a shared image."),
        (member, "A read-only role cannot change membership.")),
})
