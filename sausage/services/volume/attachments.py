"""Volumes on servers: Nova's volume attachments and Cinder's attachments, one table.

A ``volume_attachments`` row ties a volume to a server. Nova's path (``attach``/``detach``, and
boot from volume in ``services/compute/servers``) and Cinder's attachments API (``create``,
``update``, ``complete``, ``remove``) both write it; the server's host's agent hot-plugs the
rows in ``attaching``/``attached`` (``server_volumes``) and its reports move them on
(``fold_servers``):

- attach: attachment ``attaching``, volume ``attaching`` → the report lists the volume on the
  server → attachment ``attached``, volume ``in-use`` (attach_status ``attached``); a
  ``volume_errors`` entry instead → the row goes and the volume settles back.
- detach: attachment and volume ``detaching`` → the report no longer lists it → the row goes,
  the volume is ``available`` (or stays ``in-use`` while other attachments remain); an error
  → back to ``attached``/``in-use``.
- a deleted server's rows go once its host reports the server gone; its
  ``delete_on_termination`` volumes are then deleted.

The ``file`` backend is local to its host: a volume attaches only to servers on the host that
holds it. Cinder's attachments API over the same rows is in ``cinder_attachments``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from sausage import errors
from sausage.contract import host as contract
from sausage.db.models import compute as cm
from sausage.db.models import volume as vm
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.volume import volumes

__all__ = ["attach", "detach", "force_detach", "server_volumes", "waiting_servers",
           "fold_servers", "release_server", "of_servers", "of_volumes", "bootable_root",
           "ATTACHABLE_STATES", "PLUGGED", "new_row", "next_device", "volume_for_attach", "claim",
           "visible_volume", "rows_of_server", "settle", "drop"]

# Nova's check_instance_state for attach_volume/detach_volume (the vm_states we have).
ATTACHABLE_STATES = ("active", "paused", "stopped", "resized")
# Rows the server's host must hot-plug (or plug at the next start).
PLUGGED = ("attaching", "attached")
_DEVICE = re.compile(r"^(/dev/)?(x?[vsh]d)([a-z]+)$")


def visible_volume(s: Session, ctx: Context, volume_id: str) -> vm.Volume:
    row = s.get(vm.Volume, volume_id)
    if row is None or not policy.allowed(ctx, "volume:get", {"project_id": row.project_id}):
        raise errors.NotFound(f"Volume {volume_id} could not be found.")
    return row


def _server_state(server: cm.Server, action: str) -> None:
    if server.vm_state not in ATTACHABLE_STATES or server.task_state is not None:
        state = (f"vm_state {server.vm_state}" if server.task_state is None
                 else f"task_state {server.task_state}")
        raise errors.Conflict(f"Cannot '{action}' instance {server.id} while it is in {state}")


def rows_of_server(s: Session, server_id: str) -> list[vm.VolumeAttachment]:
    return list(s.scalars(select(vm.VolumeAttachment).where(
        vm.VolumeAttachment.instance_uuid == server_id)
        .order_by(vm.VolumeAttachment.created_at, vm.VolumeAttachment.id)))


def next_device(taken: set[str], requested: str | None) -> str:
    """The device name Nova reserves: the requested one when free, else the next /dev/vdX
    (vda is the root disk)."""
    if requested:
        match = _DEVICE.match(requested)
        if match is None:
            raise errors.BadRequest(f"The supplied device path ({requested}) is invalid.")
        device = f"/dev/{match.group(2)}{match.group(3)}"
        if device in taken or device == "/dev/vda":
            raise errors.Conflict(f"The supplied device path ({requested}) is in use.")
        return device
    for letter in "bcdefghijklmnopqrstuvwxyz":
        device = f"/dev/vd{letter}"
        if device not in taken:
            return device
    raise errors.BadRequest("No free disk device names for prefix 'vd'")


def volume_for_attach(s: Session, ctx: Context, volume_id: str,
                      host_id: str | None) -> vm.Volume:
    """The volume ``volume_id``, checked attachable to a server on ``host_id``: visible,
    ``available`` (or ``in-use`` and multiattach) and held by that host's local backend."""
    volume = visible_volume(s, ctx, volume_id)
    if not (volume.status == "available"
            or (volume.multiattach and volume.status == "in-use")):
        raise errors.BadRequest(f"Invalid volume: volume '{volume_id}' status must be "
                                f"'available'. Currently in '{volume.status}'")
    if volume.backend == "file" and host_id is not None and volume.host_id != host_id:
        raise errors.Conflict(
            f"Volume {volume_id} is stored by the 'file' backend of another host than the "
            f"server's: a file-backed volume attaches only to servers on its own host.")
    return volume


def claim(s: Session, volume: vm.Volume, status: str) -> None:
    """Move an ``available`` volume to ``status`` with one conditional UPDATE, so two
    concurrent attaches never both take it (an in-use multiattach volume keeps its status)."""
    if volume.status != "available":
        return
    result = s.execute(sql_update(vm.Volume).where(
        vm.Volume.id == volume.id, vm.Volume.status == "available")
        .values(status=status, updated_at=utcnow()))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise errors.BadRequest(f"Invalid volume: volume '{volume.id}' status must be "
                                f"'available'. Currently in 'attaching'")
    volume.status = status


def new_row(volume: vm.Volume, server: cm.Server, device: str, *, status: str = "attaching",
            boot_index: int | None = None, delete_on_termination: bool = False
            ) -> vm.VolumeAttachment:
    """An attachment row of ``volume`` to ``server`` (not added to the session)."""
    return vm.VolumeAttachment(
        id=str(uuid.uuid4()), volume_id=volume.id, project_id=volume.project_id,
        instance_uuid=server.id, mountpoint=device, attach_status=status,
        attach_mode="ro" if volume.readonly else "rw", boot_index=boot_index,
        delete_on_termination=delete_on_termination)


def attach(s: Session, ctx: Context, server: cm.Server, volume_id: str,
           device: str | None) -> vm.VolumeAttachment:
    """POST /servers/{id}/os-volume_attachments: reserve a device and ask the host to
    hot-plug the volume. ``server`` is already checked writable by the caller, who records the
    instance action (``services/compute/volume_attachments.py``)."""
    _server_state(server, "attach_volume")
    volume = visible_volume(s, ctx, volume_id)
    rows = rows_of_server(s, server.id)
    if any(r.volume_id == volume_id for r in rows):
        raise errors.BadRequest(f"Invalid volume: volume {volume_id} is already attached to "
                                f"instance {server.id}")
    volume = volume_for_attach(s, ctx, volume_id, server.host_id)
    if server.host_id is None:
        raise errors.Conflict(f"Instance {server.id} has no host to attach volumes on.")
    taken = {r.mountpoint for r in rows if r.mountpoint}
    row = new_row(volume, server, next_device(taken, device))
    claim(s, volume, "attaching")
    s.add(row)
    s.flush()
    changes.changed(s, [server.host_id, volume.host_id])
    return row


def detach(s: Session, ctx: Context, server: cm.Server, volume_id: str) -> None:
    """DELETE /servers/{id}/os-volume_attachments/{volume_id}: ask the host to unplug it."""
    _server_state(server, "detach_volume")
    row = s.scalars(select(vm.VolumeAttachment).where(
        vm.VolumeAttachment.instance_uuid == server.id,
        vm.VolumeAttachment.volume_id == volume_id)).first()
    if row is None:
        raise errors.NotFound(f"volume_id not found: {volume_id}")
    if row.boot_index == 0:
        raise errors.BadRequest("Can't detach root device volume")
    volume = s.get(vm.Volume, volume_id)
    if row.attach_status != "attached" or volume is None:
        raise errors.BadRequest("Invalid volume: Unable to detach volume. Volume status must "
                                "be 'in-use' and attach_status must be 'attached' to detach.")
    row.attach_status, row.updated_at = "detaching", utcnow()
    volume.status, volume.updated_at = "detaching", utcnow()
    changes.changed(s, [server.host_id, volume.host_id])


def settle(s: Session, volume: vm.Volume) -> None:
    """The volume's status from the attachments it still has."""
    s.flush()
    left = list(s.scalars(select(vm.VolumeAttachment.attach_status).where(
        vm.VolumeAttachment.volume_id == volume.id)))
    if volume.status in ("deleting", "error", "error_deleting", "maintenance"):
        pass
    elif "attached" in left:
        volume.status = "in-use" if volume.status not in ("extending", "uploading") \
            else volume.status
    elif "detaching" in left:
        volume.status = "detaching"
    elif "attaching" in left:
        volume.status = "attaching"
    elif "reserved" in left:
        volume.status = "reserved"
    elif volume.status not in ("creating", "extending", "uploading"):
        volume.status = "available"
    volume.attach_status = "attached" if "attached" in left else "detached"
    volume.updated_at = utcnow()


def drop(s: Session, rows: Sequence[vm.VolumeAttachment]) -> list[str]:
    """Delete ``rows`` and settle their volumes; returns the volumes to delete
    (delete_on_termination)."""
    doomed: list[str] = []
    volume_ids = {r.volume_id for r in rows}
    for r in rows:
        if r.delete_on_termination:
            doomed.append(r.volume_id)
        s.delete(r)
    s.flush()
    for volume_id in sorted(volume_ids):
        volume = s.get(vm.Volume, volume_id)
        if volume is not None:
            settle(s, volume)
    return doomed


def _delete_volumes(s: Session, volume_ids: Sequence[str]) -> None:
    for volume_id in volume_ids:
        if s.get(vm.Volume, volume_id) is not None:
            volumes.delete(s, Context.system(), volume_id, force=True)


def force_detach(s: Session, ctx: Context, volume: vm.Volume,
                 attachment_id: str | None) -> None:
    """os-force_detach (admin): drop the volume's attachment rows (or the one given) at once;
    the servers' hosts unplug it at their next look."""
    policy.enforce(ctx, "volume_extension:volume_admin_actions:force_detach")
    query = select(vm.VolumeAttachment).where(vm.VolumeAttachment.volume_id == volume.id)
    if attachment_id:
        query = query.where(vm.VolumeAttachment.id == attachment_id)
    rows = list(s.scalars(query))
    if attachment_id and not rows:
        raise errors.NotFound(f"Volume attachment could not be found with filter: "
                              f"attachment_id = {attachment_id}.")
    server_ids = [r.instance_uuid for r in rows if r.instance_uuid]
    hosts = set(s.scalars(select(cm.Server.host_id).where(cm.Server.id.in_(server_ids))))
    drop(s, rows)
    changes.changed(s, [volume.host_id, *hosts])


def server_volumes(s: Session, server_ids: list[str]) -> dict[str, list[contract.ServerVolume]]:
    """The volumes each server's host must have plugged into it, in attach order."""
    out: dict[str, list[contract.ServerVolume]] = {i: [] for i in server_ids}
    if not server_ids:
        return out
    for row, volume in s.execute(
            select(vm.VolumeAttachment, vm.Volume)
            .join(vm.Volume, vm.Volume.id == vm.VolumeAttachment.volume_id)
            .where(vm.VolumeAttachment.instance_uuid.in_(server_ids),
                   vm.VolumeAttachment.attach_status.in_(PLUGGED),
                   vm.Volume.status != "creating")
            .order_by(vm.VolumeAttachment.created_at, vm.VolumeAttachment.id)).tuples():
        out[str(row.instance_uuid)].append({
            "volume_id": volume.id, "backend": volume.backend, "connection": {},
            "serial": volume.id[:20], "read_only": row.attach_mode == "ro",
            "boot_index": row.boot_index})
    return out


def waiting_servers(s: Session, server_ids: list[str]) -> set[str]:
    """Servers with a volume still being made for them (boot from volume): their host must
    not start them yet."""
    if not server_ids:
        return set()
    return {str(i) for i in s.scalars(
        select(vm.VolumeAttachment.instance_uuid)
        .join(vm.Volume, vm.Volume.id == vm.VolumeAttachment.volume_id)
        .where(vm.VolumeAttachment.instance_uuid.in_(server_ids),
               vm.VolumeAttachment.attach_status == "attaching",
               vm.Volume.status.in_(("creating", "error"))))}


def bootable_root(s: Session, server_ids: list[str]) -> set[str]:
    """The servers among ``server_ids`` whose root disk is a volume (boot_index 0)."""
    if not server_ids:
        return set()
    return {str(i) for i in s.scalars(select(vm.VolumeAttachment.instance_uuid).where(
        vm.VolumeAttachment.instance_uuid.in_(server_ids),
        vm.VolumeAttachment.boot_index == 0))}


def of_servers(s: Session, server_ids: Sequence[str]) -> dict[str, list[vm.VolumeAttachment]]:
    """Every attachment of each server (Nova's block device mappings), in attach order."""
    out: dict[str, list[vm.VolumeAttachment]] = {i: [] for i in server_ids}
    if server_ids:
        for row in s.scalars(select(vm.VolumeAttachment).where(
                vm.VolumeAttachment.instance_uuid.in_(server_ids))
                .order_by(vm.VolumeAttachment.created_at, vm.VolumeAttachment.id)):
            out[str(row.instance_uuid)].append(row)
    return out


def of_volumes(s: Session, volume_ids: Sequence[str], attached_only: bool = True
               ) -> dict[str, list[vm.VolumeAttachment]]:
    """Each volume's attachments (only ``attached`` ones by default: what Cinder's volume
    body lists under ``attachments``), in attach order."""
    out: dict[str, list[vm.VolumeAttachment]] = {i: [] for i in volume_ids}
    if volume_ids:
        query = select(vm.VolumeAttachment).where(vm.VolumeAttachment.volume_id.in_(volume_ids))
        if attached_only:
            query = query.where(vm.VolumeAttachment.attach_status == "attached")
        for row in s.scalars(query.order_by(vm.VolumeAttachment.created_at,
                                            vm.VolumeAttachment.id)):
            out[row.volume_id].append(row)
    return out


def _fail_event(s: Session, server: cm.Server, action: str, message: str) -> None:
    """Mark the server's latest ``action`` record failed with ``message``."""
    record = s.scalars(select(cm.InstanceAction).where(
        cm.InstanceAction.server_id == server.id, cm.InstanceAction.action == action)
        .order_by(cm.InstanceAction.id.desc())).first()
    if record is None:
        return
    record.message = "Error"
    for event in s.scalars(select(cm.InstanceActionEvent).where(
            cm.InstanceActionEvent.action_id == record.id)):
        event.result, event.traceback = "Error", message


def fold_servers(s: Session, host: cm.Host,
                 observed_servers: Sequence[contract.ObservedServer]) -> bool:
    """Apply what a host reports about its servers' volumes; True when the host's desired
    document changed (it must be woken)."""
    seen: Mapping[str, contract.ObservedServer] = {o["id"]: o for o in observed_servers}
    now = utcnow()
    changed = False
    rows = list(s.execute(
        select(vm.VolumeAttachment, cm.Server, vm.Volume)
        .join(cm.Server, cm.Server.id == vm.VolumeAttachment.instance_uuid)
        .join(vm.Volume, vm.Volume.id == vm.VolumeAttachment.volume_id)
        .where(cm.Server.host_id == host.id)
        .order_by(vm.VolumeAttachment.created_at, vm.VolumeAttachment.id)).tuples())
    gone: list[vm.VolumeAttachment] = []
    for row, srv, volume in rows:
        if srv.deleted:
            if srv.id not in seen:
                gone.append(row)
            continue
        if row.attach_status == "attaching" and volume.status == "error" \
                and srv.vm_state == "building":
            srv.vm_state, srv.task_state = "error", None
            srv.fault = {"code": 500, "created": now.isoformat(), "message":
                         f"Build of instance {srv.id} aborted: Volume {volume.id} did not "
                         f"finish being created even after we waited."}
            srv.updated_at = now
            changed = True
            continue
        if row.attach_status == "attaching" and volume.status == "available":
            volume.status = "attaching"  # its creation finished: now the server takes it
            changed = True
        o = seen.get(srv.id)
        if o is None or "volumes" not in o:
            continue
        listed = set(o["volumes"])
        failed = o.get("volume_errors", {})
        if row.attach_status == "attaching":
            if volume.id in failed and row.boot_index != 0:
                _fail_event(s, srv, "attach_volume", failed[volume.id])
                drop(s, [row])
                changed = True
            elif volume.id in listed:
                row.attach_status, row.attach_time = "attached", now
                row.attached_host, row.updated_at = host.name, now
                volume.status, volume.attach_status = "in-use", "attached"
                volume.updated_at = now
        elif row.attach_status == "detaching":
            if volume.id in failed:
                _fail_event(s, srv, "detach_volume", failed[volume.id])
                row.attach_status, row.updated_at = "attached", now
                volume.status, volume.attach_status = "in-use", "attached"
                changed = True
            elif volume.id not in listed:
                row.detach_time = now
                drop(s, [row])
    if gone:
        _delete_volumes(s, drop(s, gone))
    return changed


def release_server(s: Session, server: cm.Server) -> None:
    """The server is being deleted: its volumes are unplugged with it. Rows go (and
    delete_on_termination volumes are deleted) once its host reports the server gone, or at
    once when it has no host."""
    rows = rows_of_server(s, server.id)
    if not rows:
        return
    if server.host_id is None:
        _delete_volumes(s, drop(s, rows))
        return
    now = utcnow()
    for row in rows:
        row.attach_status, row.updated_at = "detaching", now
        volume = s.get(vm.Volume, row.volume_id)
        if volume is not None and volume.status in ("in-use", "attaching", "available"):
            volume.status, volume.updated_at = "detaching", now
