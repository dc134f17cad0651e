"""Cinder's attachments API (3.27+) over the rows Nova's path writes too (see
``attachments``): create (reserve, or start attaching with a connector), list, show, update
(the connector), ``os-complete`` and delete. A row for one of our servers in ``attaching`` is
hot-plugged by the server's host like any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as cm
from sausage.db.models import volume as vm
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.volume import attachments as a

__all__ = ["get", "listing", "create", "update", "complete", "remove"]


def get(s: Session, ctx: Context, attachment_id: str) -> vm.VolumeAttachment:
    row = s.get(vm.VolumeAttachment, attachment_id)
    if row is None or not policy.allowed(
            ctx, "volume:attachment_get", {"project_id": row.project_id}):
        raise errors.NotFound(f"Volume attachment could not be found with filter: "
                              f"attachment_id = {attachment_id}.")
    return row


def listing(s: Session, ctx: Context, filters: Mapping[str, str]) -> list[vm.VolumeAttachment]:
    all_tenants = policy.allowed(ctx, "context_is_admin") and filters.get(
        "all_tenants", "0").lower() in ("1", "true", "yes", "on")
    query = select(vm.VolumeAttachment)
    if not all_tenants:
        query = query.where(vm.VolumeAttachment.project_id == (ctx.project_id or ""))
    for name, column in (("volume_id", vm.VolumeAttachment.volume_id),
                         ("instance_id", vm.VolumeAttachment.instance_uuid),
                         ("status", vm.VolumeAttachment.attach_status),
                         ("attach_status", vm.VolumeAttachment.attach_status)):
        if name in filters:
            query = query.where(column == filters[name])
    if "marker" in filters:
        marker = s.get(vm.VolumeAttachment, filters["marker"])
        if marker is None or not policy.allowed(
                ctx, "volume:attachment_get", {"project_id": marker.project_id}):
            raise errors.NotFound(f"Marker {filters['marker']} could not be found.")
        query = query.where(
            (vm.VolumeAttachment.created_at < marker.created_at)
            | ((vm.VolumeAttachment.created_at == marker.created_at)
               & (vm.VolumeAttachment.id < marker.id)))
    limit = 1000
    if "limit" in filters:
        try:
            limit = int(filters["limit"])
        except ValueError as e:
            raise errors.BadRequest("limit must be an integer") from e
        if limit < 0:
            raise errors.BadRequest("limit must be >= 0")
    return list(s.scalars(query.order_by(vm.VolumeAttachment.created_at.desc(),
                                         vm.VolumeAttachment.id.desc()).limit(min(limit, 1000))))


def _server_of(s: Session, instance_uuid: str | None) -> cm.Server | None:
    if not instance_uuid:
        return None
    srv = s.get(cm.Server, instance_uuid)
    return None if srv is None or srv.deleted else srv


def create(s: Session, ctx: Context, volume_id: str, instance_uuid: str | None,
           connector: dict[str, Any] | None, mode: str | None = None) -> vm.VolumeAttachment:
    """POST /attachments: reserve the volume (no connector) or start attaching it."""
    volume = a.visible_volume(s, ctx, volume_id)
    policy.enforce(ctx, "volume:attachment_create", {"project_id": volume.project_id})
    if instance_uuid is not None and s.scalars(select(vm.VolumeAttachment.id).where(
            vm.VolumeAttachment.volume_id == volume_id,
            vm.VolumeAttachment.instance_uuid == instance_uuid)).first():
        raise errors.BadRequest(f"Invalid volume: volume {volume_id} already has an "
                                f"attachment to instance {instance_uuid}.")
    if not (volume.status in ("available", "reserved") and not s.scalars(select(
            vm.VolumeAttachment.id).where(vm.VolumeAttachment.volume_id == volume_id)).first()
            or volume.multiattach and volume.status in ("in-use", "reserved")):
        raise errors.BadRequest(f"Invalid volume: Volume {volume_id} status must be available "
                                f"or downloading to reserve, but the current status is "
                                f"{volume.status}.")
    srv = _server_of(s, instance_uuid)
    if srv is not None and volume.backend == "file" and srv.host_id != volume.host_id:
        raise errors.Conflict(
            f"Volume {volume_id} is stored by the 'file' backend of another host than "
            f"instance {instance_uuid}: a file-backed volume attaches only to servers on its "
            f"own host.")
    row = vm.VolumeAttachment(
        id=str(uuid.uuid4()), volume_id=volume.id, project_id=volume.project_id,
        instance_uuid=instance_uuid, attach_status="reserved",
        attach_mode=mode or ("ro" if volume.readonly else "rw"))
    if srv is not None:
        taken = {r.mountpoint for r in a.rows_of_server(s, srv.id) if r.mountpoint}
        row.mountpoint = a.next_device(taken, None)
    a.claim(s, volume, "reserved")
    s.add(row)
    s.flush()
    if connector is not None:
        update(s, ctx, row.id, connector)
    return row


def update(s: Session, ctx: Context, attachment_id: str,
           connector: dict[str, Any]) -> vm.VolumeAttachment:
    """PUT /attachments/{id}: the connector is known; the volume is being attached."""
    row = get(s, ctx, attachment_id)
    policy.enforce(ctx, "volume:attachment_update", {"project_id": row.project_id})
    if row.attach_status not in ("reserved", "attaching", "attached"):
        raise errors.BadRequest(f"Invalid volume attachment: attachment {attachment_id} is "
                                f"{row.attach_status}.")
    volume = s.get(vm.Volume, row.volume_id)
    row.connector = dict(connector)
    if row.attach_status == "reserved":
        row.attach_status = "attaching"
        if volume is not None and volume.status in ("reserved", "available"):
            volume.status = "attaching"
        srv = _server_of(s, row.instance_uuid)
        changes.changed(s, [srv.host_id if srv else None])
    row.updated_at = utcnow()
    return row


def complete(s: Session, ctx: Context, attachment_id: str) -> None:
    """os-complete (3.44): the attachment is in use."""
    row = get(s, ctx, attachment_id)
    policy.enforce(ctx, "volume:attachment_complete", {"project_id": row.project_id})
    now = utcnow()
    row.attach_status, row.attach_time, row.updated_at = "attached", row.attach_time or now, now
    volume = s.get(vm.Volume, row.volume_id)
    if volume is not None:
        a.settle(s, volume)


def remove(s: Session, ctx: Context, attachment_id: str) -> list[vm.VolumeAttachment]:
    """DELETE /attachments/{id}: the volume's remaining attachments. A row plugged into a
    server of ours is unplugged by its host first (``detaching``)."""
    row = get(s, ctx, attachment_id)
    policy.enforce(ctx, "volume:attachment_delete", {"project_id": row.project_id})
    volume_id = row.volume_id
    srv = _server_of(s, row.instance_uuid)
    if srv is not None and srv.host_id and row.attach_status in a.PLUGGED:
        if row.boot_index == 0:
            raise errors.BadRequest("Can't detach root device volume")
        row.attach_status, row.updated_at = "detaching", utcnow()
        volume = s.get(vm.Volume, volume_id)
        if volume is not None:
            a.settle(s, volume)
        changes.changed(s, [srv.host_id])
    else:
        a.drop(s, [row])
    return a.of_volumes(s, [volume_id], attached_only=False)[volume_id]

