"""Actions on a server (POST /servers/{id}/action): power, reboot, rebuild, resize, snapshot,
lock, console output. Each checks Nova's allowed states, records an instance action, changes
the desired state (a counter for one-shot work) and wakes the host's agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.compute import flavors, quotas, scheduler, servers
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.image import images
from sausage.services.volume import attachments

__all__ = ["stop", "start", "reboot", "pause", "unpause", "suspend", "resume", "lock",
           "unlock", "rebuild", "resize", "confirm_resize", "revert_resize", "create_image",
           "console_output"]


def _require(row: m.Server, action: str, vm_states: tuple[str, ...],
             task_ok: bool = False) -> None:
    if row.vm_state not in vm_states or (row.task_state is not None and not task_ok):
        state = row.vm_state if row.task_state is None else f"task_state {row.task_state}"
        raise errors.Conflict(f"Cannot '{action}' instance {row.id} while it is in "
                              f"{'vm_state ' if row.task_state is None else ''}{state}")


def _refuse_volume_backed(s: Session, row: m.Server, action: str) -> None:
    """Rebuild, resize and snapshots of a server whose root disk is a volume are not done
    here (yet): refuse them clearly instead of touching the volume."""
    if row.id in attachments.bootable_root(s, [row.id]):
        raise errors.Conflict(f"Cannot '{action}' instance {row.id}: it is booted from a "
                              f"volume, and '{action}' of a volume-backed server is not "
                              f"supported.")


def _power(s: Session, ctx: Context, server_id: str, action: str, from_states: tuple[str, ...],
           power: str, task: str, event: str) -> m.Server:
    row = servers.load_for_change(s, ctx, server_id)
    _require(row, action, from_states)
    row.power, row.power_seq, row.task_state = power, row.power_seq + 1, task
    row.updated_at = utcnow()
    servers.record_action(s, ctx, row, action, event)
    changes.changed(s, [row.host_id])
    return row


def stop(s: Session, ctx: Context, server_id: str) -> m.Server:
    return _power(s, ctx, server_id, "stop", ("active", "error", "paused", "suspended"),
                  "stopped", "powering-off", "compute_stop_instance")


def start(s: Session, ctx: Context, server_id: str) -> m.Server:
    return _power(s, ctx, server_id, "start", ("stopped",), "running", "powering-on",
                  "compute_start_instance")


def pause(s: Session, ctx: Context, server_id: str) -> m.Server:
    return _power(s, ctx, server_id, "pause", ("active",), "paused", "pausing",
                  "compute_pause_instance")


def unpause(s: Session, ctx: Context, server_id: str) -> m.Server:
    return _power(s, ctx, server_id, "unpause", ("paused",), "running", "unpausing",
                  "compute_unpause_instance")


def suspend(s: Session, ctx: Context, server_id: str) -> m.Server:
    return _power(s, ctx, server_id, "suspend", ("active",), "suspended", "suspending",
                  "compute_suspend_instance")


def resume(s: Session, ctx: Context, server_id: str) -> m.Server:
    return _power(s, ctx, server_id, "resume", ("suspended",), "running", "resuming",
                  "compute_resume_instance")


def reboot(s: Session, ctx: Context, server_id: str, kind: str) -> m.Server:
    if kind not in ("SOFT", "HARD"):
        raise errors.BadRequest("Invalid input for field/attribute type: must be SOFT or HARD.")
    row = servers.load_for_change(s, ctx, server_id)
    hard = kind == "HARD"
    allowed = ("active", "stopped", "paused", "suspended", "error") if hard else ("active",)
    _require(row, "reboot", allowed, task_ok=hard)
    row.reboot_seq += 1
    row.reboot_kind = "hard" if hard else "soft"
    if row.power != "running":
        row.power, row.power_seq = "running", row.power_seq + 1
    row.task_state = "rebooting_hard" if hard else "rebooting"
    row.updated_at = utcnow()
    servers.record_action(s, ctx, row, "reboot", "compute_reboot_instance")
    changes.changed(s, [row.host_id])
    return row


def lock(s: Session, ctx: Context, server_id: str, reason: str | None = None) -> m.Server:
    row = servers.get(s, ctx, server_id)
    policy.enforce(ctx, "os_compute_api:os-lock-server:lock")
    row.locked, row.locked_reason = True, reason
    by_admin = policy.allowed(ctx, "context_is_admin") and row.project_id != ctx.project_id
    row.locked_by = "admin" if by_admin else "owner"
    servers.record_action(s, ctx, row, "lock", "compute_lock_instance", done=True)
    return row


def unlock(s: Session, ctx: Context, server_id: str) -> m.Server:
    row = servers.get(s, ctx, server_id)
    policy.enforce(ctx, "os_compute_api:os-lock-server:unlock",
                   {"locked_by": row.locked_by if row.locked else None})
    row.locked, row.locked_reason, row.locked_by = False, None, None
    servers.record_action(s, ctx, row, "unlock", "compute_unlock_instance", done=True)
    return row


def rebuild(s: Session, ctx: Context, server_id: str, values: Mapping[str, Any]) -> m.Server:
    row = servers.load_for_change(s, ctx, server_id)
    _require(row, "rebuild", ("active", "stopped", "error"))
    _refuse_volume_backed(s, row, "rebuild")
    image_ref = str(values["imageRef"])
    try:
        image = images.get(s, ctx, image_ref).image
    except errors.NotFound as e:
        raise errors.BadRequest(f"Image {image_ref} could not be found.") from e
    if image.status != "active":
        raise errors.BadRequest(f"Image {image_ref} is not active.")
    row.image_id = image.id
    if "name" in values:
        row.name = values["name"]
    if "metadata" in values:
        s.execute(sql_delete(m.ServerMetadata).where(m.ServerMetadata.server_id == row.id))
        for k, v in values["metadata"].items():
            s.add(m.ServerMetadata(server_id=row.id, key=k, value=v))
    if "user_data" in values:
        row.user_data = values["user_data"]
    row.rebuild_seq += 1
    if row.power != "running":
        row.power, row.power_seq = "running", row.power_seq + 1
    row.vm_state = "active" if row.vm_state == "error" else row.vm_state
    row.task_state = "rebuilding"
    row.fault = None
    row.updated_at = utcnow()
    servers.record_action(s, ctx, row, "rebuild", "compute_rebuild_instance")
    changes.changed(s, [row.host_id])
    return row


def _delta(new: Mapping[str, Any], old: Mapping[str, Any]) -> tuple[int, int, int]:
    return (max(0, new["vcpus"] - old["vcpus"]), max(0, new["ram"] - old["ram"]),
            max(0, new["disk"] - old["disk"]))


def resize(s: Session, ctx: Context, server_id: str, flavor_ref: str) -> m.Server:
    """Resize on the same host (the only kind this cloud does): claim the growth, restart."""
    row = servers.load_for_change(s, ctx, server_id)
    _require(row, "resize", ("active", "stopped"))
    _refuse_volume_backed(s, row, "resize")
    flavor = flavors.usable(s, ctx, flavor_ref)
    if flavor.id == row.flavor_id:
        raise errors.BadRequest("When resizing, instances must change flavor!")
    if flavor.disk and flavor.disk < row.root_gb:
        raise errors.BadRequest("Resize error: Unable to resize disk down.")
    old, new = row.flavor, {"id": flavor.id, "name": flavor.name, "vcpus": flavor.vcpus,
                            "ram": flavor.ram, "disk": flavor.disk, "ephemeral": flavor.ephemeral,
                            "swap": flavor.swap, "extra_specs": {}}
    quotas.check(s, row.project_id, {"cores": max(0, new["vcpus"] - old["vcpus"]),
                                     "ram": max(0, new["ram"] - old["ram"])})
    if row.host_id is None or not scheduler.claim(s, row.host_id, *_delta(new, old)):
        raise errors.BadRequest("No valid host was found. The host has no room for the new "
                                "flavor.")
    row.old_flavor, row.flavor, row.flavor_id = old, new, flavor.id
    row.vcpus, row.memory_mb, row.root_gb = flavor.vcpus, flavor.ram, flavor.disk
    row.resize_seq += 1
    row.task_state = "resize_prep"
    row.updated_at = utcnow()
    servers.record_action(s, ctx, row, "resize", "compute_resize_instance")
    changes.changed(s, [row.host_id])
    return row


def confirm_resize(s: Session, ctx: Context, server_id: str) -> m.Server:
    row = servers.load_for_change(s, ctx, server_id)
    if row.vm_state != "resized" or row.old_flavor is None:
        raise errors.Conflict(f"Cannot 'confirmResize' instance {server_id} while it is in "
                              f"vm_state {row.vm_state}")
    scheduler.release(s, row.host_id, *_delta(row.old_flavor, row.flavor))
    row.old_flavor = None
    row.vm_state = "stopped" if row.power == "stopped" else "active"
    row.updated_at = utcnow()
    servers.record_action(s, ctx, row, "confirmResize", "compute_confirm_resize", done=True)
    return row


def revert_resize(s: Session, ctx: Context, server_id: str) -> m.Server:
    row = servers.load_for_change(s, ctx, server_id)
    if row.vm_state != "resized" or row.old_flavor is None:
        raise errors.Conflict(f"Cannot 'revertResize' instance {server_id} while it is in "
                              f"vm_state {row.vm_state}")
    scheduler.release(s, row.host_id, *_delta(row.flavor, row.old_flavor))
    old = row.old_flavor
    row.flavor, row.flavor_id, row.old_flavor = old, old["id"], None
    row.vcpus, row.memory_mb, row.root_gb = old["vcpus"], old["ram"], old["disk"]
    row.resize_seq += 1
    row.task_state = "resize_reverting"
    row.updated_at = utcnow()
    servers.record_action(s, ctx, row, "revertResize", "compute_revert_resize")
    changes.changed(s, [row.host_id])
    return row


def create_image(s: Session, ctx: Context, server_id: str, name: str,
                 metadata: Mapping[str, str], quota: images.Quota) -> str:
    """createImage: a queued image now, filled by the agent with a consistent snapshot."""
    row = servers.load_for_change(s, ctx, server_id)
    _require(row, "createImage", ("active", "stopped", "paused", "suspended"))
    _refuse_volume_backed(s, row, "createImage")
    base = images.get(s, ctx, row.image_id).image if row.image_id else None
    props: dict[str, Any] = {"name": name, "disk_format": "qcow2", "container_format": "bare",
                             "visibility": "private", "image_type": "snapshot",
                             **dict(metadata), "instance_uuid": row.id}  # Nova: metadata wins
    if base is not None:
        props["base_image_ref"] = base.id
        props["min_disk"] = max(base.min_disk or 0, row.root_gb)
        props["min_ram"] = base.min_ram or 0
    view = images.create(s, ctx, props, quota)
    images.mark_saving(s, view.image.id)
    seq = int(row.observed.get("snapshot_seq", 0)) + 1
    pending = [*row.observed.get("pending_snapshots", []),
               {"seq": seq, "image_id": view.image.id}]
    row.observed = {**row.observed, "snapshot_seq": seq, "pending_snapshots": pending}
    row.task_state = "image_uploading"
    row.updated_at = utcnow()
    servers.record_action(s, ctx, row, "createImage", "compute_snapshot_instance")
    changes.changed(s, [row.host_id])
    return view.image.id


def console_output(s: Session, ctx: Context, server_id: str, length: int | None) -> str:
    row = servers.get(s, ctx, server_id)
    if row.vm_state == "building" and not row.console_tail:
        raise errors.Conflict(f"Instance {server_id} has no console output yet.")
    lines = row.console_tail.splitlines()
    if length is not None:
        if length < 0:
            raise errors.BadRequest("length must be a non-negative integer or -1")
        lines = lines[-length:] if length else []
    return "\n".join(lines) + ("\n" if lines else "")
