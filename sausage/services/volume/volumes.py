"""Volumes (Cinder v3): make, show, update, delete, and their user metadata.

Called by ``api/volume/volumes.py`` and by the compute side (boot from volume calls ``make``
with the server's host). Making a volume writes its row (status ``creating``) on a volume host
and bumps that host; the agent makes the data and its report moves the status on
(``services/volume/desired.py``). Deleting marks it ``deleting``; the row goes when the host
reports the data gone. Actions on a volume (extend, upload …) are in ``actions``; listings
in ``listing``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as cm
from sausage.db.models import volume as vm
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.image import images
from sausage.services.volume import desired, placement, quotas, types

__all__ = ["VolumeView", "get", "load_for_change", "make", "delete", "update",
           "views", "metadata_of", "check_metadata", "set_metadata", "delete_metadata_item",
           "parse_bool", "DELETABLE", "NO_BACKEND", "GIB", "TRUE_WORDS", "DB_MAX_INT"]

GIB = 1 << 30
# Cinder's constants.DB_MAX_INT: the largest size, offset or quota its integer columns hold.
DB_MAX_INT = (1 << 31) - 1
NO_BACKEND = "No valid backend was found."
DELETABLE = ("available", "error", "error_restoring", "error_extending", "error_managing")
DELETE_REFUSED = (
    "Invalid volume: Volume status must be available or error or error_restoring or "
    "error_extending or error_managing and must not be migrating, attached, belong to a "
    "group, have snapshots, awaiting a transfer, or be disassociated from snapshots after "
    "volume transfer.")
# Cinder's bool_from_string.
TRUE_WORDS = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")


@dataclasses.dataclass(frozen=True)
class VolumeView:
    """A volume with what its body shows from other tables."""

    volume: vm.Volume
    metadata: Mapping[str, str]
    type_name: str | None
    attachments: Sequence[vm.VolumeAttachment]  # attached (or detaching) to a server
    host_name: str | None


def parse_bool(value: Any, field: str) -> bool:
    """A boolean as Cinder takes it: true/false, or one of its strings; 400 otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + _FALSE:
        return value.strip().lower() in TRUE_WORDS
    raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                            f"{value!r} is not a valid boolean.")


def _not_found(volume_id: str) -> errors.NotFound:
    return errors.NotFound(f"Volume {volume_id} could not be found.")


def get(s: Session, ctx: Context, volume_id: str) -> vm.Volume:
    """The volume, if ``ctx`` may see it; NotFound (Cinder's message) otherwise."""
    row = s.get(vm.Volume, volume_id) if volume_id else None
    if row is None or not policy.allowed(ctx, "volume:get", {"project_id": row.project_id}):
        raise _not_found(volume_id)
    return row


def load_for_change(s: Session, ctx: Context, volume_id: str, action: str) -> vm.Volume:
    """The volume a write is about: NotFound if invisible, Forbidden for a reader."""
    row = get(s, ctx, volume_id)
    policy.enforce(ctx, action, {"project_id": row.project_id})
    return row


# --- views --------------------------------------------------------------------------------------


def metadata_of(s: Session, volume_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {i: {} for i in volume_ids}
    if volume_ids:
        for vid, key, value in s.execute(select(
                vm.VolumeMetadata.volume_id, vm.VolumeMetadata.key, vm.VolumeMetadata.value)
                .where(vm.VolumeMetadata.volume_id.in_(volume_ids))
                .order_by(vm.VolumeMetadata.key)):
            out[vid][key] = value
    return out


def views(s: Session, rows: Sequence[vm.Volume]) -> list[VolumeView]:
    """The views of ``rows`` in a fixed number of queries."""
    ids = [r.id for r in rows]
    meta = metadata_of(s, ids)
    type_ids = {r.volume_type_id for r in rows}
    names = dict(s.execute(select(vm.VolumeType.id, vm.VolumeType.name)
                           .where(vm.VolumeType.id.in_(type_ids))).tuples().all()) if rows else {}
    host_ids = {r.host_id for r in rows if r.host_id}
    host_names = dict(s.execute(select(cm.Host.id, cm.Host.name)
                                .where(cm.Host.id.in_(host_ids))).tuples().all()
                      ) if host_ids else {}
    attached: dict[str, list[vm.VolumeAttachment]] = {i: [] for i in ids}
    if ids:
        for a in s.scalars(select(vm.VolumeAttachment).where(
                vm.VolumeAttachment.volume_id.in_(ids),
                vm.VolumeAttachment.instance_uuid.is_not(None),
                vm.VolumeAttachment.attach_status.in_(("attached", "detaching")))
                .order_by(vm.VolumeAttachment.created_at)):
            attached[a.volume_id].append(a)
    return [VolumeView(r, meta[r.id], names.get(r.volume_type_id), attached[r.id],
                       host_names.get(r.host_id or "")) for r in rows]


# --- validation -----------------------------------------------------------------------------------


def check_metadata(value: Any) -> dict[str, str]:
    """User metadata: an object of string keys (1-255 characters) to strings (<= 255)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.BadRequest("Invalid input for field/attribute metadata. Value: "
                                f"{value}. {value!r} is not of type 'object'")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise errors.BadRequest("Invalid input for field/attribute metadata. Value: "
                                    f"{value}. {item!r} is not of type 'string'")
        if not key:
            raise errors.BadRequest("Invalid input received: Metadata property key blank.")
        if len(key) > 255:
            raise errors.BadRequest("Invalid input received: Metadata property key greater "
                                    "than 255 characters.")
        if len(item) > 255:
            raise errors.BadRequest("Invalid input received: Metadata property value greater "
                                    "than 255 characters.")
        out[key] = item
    return out


def _check_size(size: Any) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise errors.BadRequest(
            f"Invalid input received: Volume size '{size}' must be an integer and greater "
            "than 0")
    return size


def _check_text(value: Any, field: str, limit: int | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                                f"{value!r} is not of type 'string', 'null'")
    if limit is not None and len(value) > limit:
        raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                                f"It is longer than {limit} characters.")
    return value


# --- make -----------------------------------------------------------------------------------------


def _image_metadata(view: images.ImageView) -> dict[str, str]:
    image = view.image
    out = {key: str(value) for key, value in view.properties.items()}
    out.update({"image_id": image.id, "image_name": image.name or "",
                "checksum": image.checksum or "", "container_format": image.container_format or "",
                "disk_format": image.disk_format or "", "min_disk": str(image.min_disk or 0),
                "min_ram": str(image.min_ram or 0), "size": str(image.size or 0)})
    return out


def _from_image(s: Session, ctx: Context, image_id: str, size: int | None
                ) -> tuple[int, dict[str, str]]:
    try:
        view = images.get(s, ctx, image_id)
    except errors.NotFound as e:
        raise errors.BadRequest(
            "Invalid image identifier or unable to access requested image.") from e
    image = view.image
    if image.status != "active":
        raise errors.BadRequest(f"Invalid input received: Image {image_id} is not active.")
    size = _check_size(size)
    for nbytes in (image.size, image.virtual_size):
        needed = math.ceil((nbytes or 0) / GIB)
        if needed > size:
            raise errors.BadRequest(
                f"Invalid input received: Size of specified image {needed}GB is larger than "
                f"volume size {size}GB.")
    if (image.min_disk or 0) > size:
        raise errors.BadRequest(
            f"Invalid input received: Volume size {size}GB cannot be smaller than the image "
            f"minDisk size {image.min_disk}GB.")
    return size, _image_metadata(view)


def _image_snapshot(s: Session, ctx: Context, image_id: str) -> str | None:
    """The snapshot a Nova instance-snapshot image stands for (3.46): its
    ``block_device_mapping`` property names the root disk's volume snapshot. None for any
    other image (or one the caller cannot see: the image path reports that)."""
    try:
        props = images.get(s, ctx, image_id).properties
    except errors.NotFound:
        return None
    bdms: Any = props.get("block_device_mapping")
    if isinstance(bdms, str):
        try:
            bdms = json.loads(bdms)
        except ValueError:
            return None
    if not isinstance(bdms, list):
        return None
    for bdm in bdms:
        if (isinstance(bdm, dict) and bdm.get("source_type") == "snapshot"
                and str(bdm.get("boot_index")) == "0"):
            snapshot_id = str(bdm.get("snapshot_id"))
            snap = s.get(vm.VolumeSnapshot, snapshot_id)
            if snap is None or not policy.allowed(
                    ctx, "volume:get_snapshot", {"project_id": snap.project_id}):
                raise errors.NotFound(f"Nova specific image is found, but boot volume "
                                      f"snapshot id:{snapshot_id} not found.")
            return snapshot_id
    return None


def _snapshot(s: Session, ctx: Context, snapshot_id: str) -> vm.VolumeSnapshot:
    snap = s.get(vm.VolumeSnapshot, snapshot_id)
    if snap is None or not policy.allowed(
            ctx, "volume:get_snapshot", {"project_id": snap.project_id}):
        raise errors.NotFound(f"Snapshot {snapshot_id} could not be found.")
    return snap


def _type_rules(s: Session, vtype: vm.VolumeType, zone: str | None, zones: Sequence[str]
                ) -> str | None:
    """What the type's reserved extra specs say (3.50, 3.52): a ``multiattach`` type is
    refused (no backend here shares a volume between servers); ``RESKEY:availability_zones``
    limits the zones (the first one that exists, when none is asked for)."""
    specs = dict(s.execute(
        select(vm.VolumeTypeExtraSpec.key, vm.VolumeTypeExtraSpec.value)
        .where(vm.VolumeTypeExtraSpec.volume_type_id == vtype.id)).tuples().all())
    if specs.get("multiattach", "").strip().lower() in ("<is> true", "true"):
        raise errors.BadRequest("Invalid input received: multiattach volumes are not "
                                "supported by this cloud's volume backends.")
    allowed = [z.strip() for z in specs.get("RESKEY:availability_zones", "").split(",")
               if z.strip()]
    if not allowed:
        return zone
    if zone is None:
        zone = next((z for z in allowed if z in zones), None)
    if zone is None or zone not in allowed:
        raise errors.BadRequest("Invalid input received: Volume type is only supported in "
                                f"these availability zones: {', '.join(allowed)}")
    return zone


def make(s: Session, ctx: Context, *, size: int | None, name: str | None = None,
         description: str | None = None, image_id: str | None = None,
         snapshot_id: str | None = None, source_volid: str | None = None,
         volume_type: str | None = None, availability_zone: str | None = None,
         metadata: dict[str, str] | None = None, host_id: str | None = None,
         nova_images: bool = False) -> vm.Volume:
    """A new volume of ``size`` GiB (None: the size of its snapshot or source volume), empty
    or made from one source, on a volume host (``host_id`` forces one; the source's host for
    a snapshot or clone). Without a host the volume is created in ``error``, as Cinder does.
    With ``nova_images`` (3.46) an image that is a Nova instance snapshot makes the volume
    from the volume snapshot it refers to.

    Raises Forbidden (no project, reader), NotFound (snapshot, source volume, type),
    BadRequest (size, zone, image, source state), PayloadTooLarge (quota).
    """
    policy.enforce(ctx, "volume:create", {"project_id": ctx.project_id})
    project_id = ctx.project_id
    assert project_id is not None  # the rule wants a project-scoped token
    name = _check_text(name, "name", 255)
    description = _check_text(description, "description", None)
    values = check_metadata(metadata)
    if sum(x is not None for x in (image_id, snapshot_id, source_volid)) > 1:
        raise errors.BadRequest("Invalid input received: Only one of imageRef, snapshot_id "
                                "and source_volid may be given.")
    if nova_images and image_id is not None and snapshot_id is None and source_volid is None:
        from_image = _image_snapshot(s, ctx, image_id)
        if from_image is not None:
            snapshot_id, image_id = from_image, None
    zones = placement.zones(s)
    if availability_zone is not None and availability_zone not in zones:
        raise errors.BadRequest(f"Availability zone '{availability_zone}' is invalid.")
    parent: vm.Volume | None = None
    image_meta: dict[str, str] | None = None
    if snapshot_id is not None:
        snap = _snapshot(s, ctx, snapshot_id)
        if snap.status != "available":
            raise errors.BadRequest("Invalid snapshot: Originating snapshot status must be one "
                                    "of 'available' values")
        parent = s.get(vm.Volume, snap.volume_id)
        size = snap.size if size is None else _check_size(size)
        if size < snap.size:
            raise errors.BadRequest(
                f"Invalid input received: Volume size '{size}'GB cannot be smaller than the "
                f"snapshot size {snap.size}GB. They must be >= original snapshot size.")
    elif source_volid is not None:
        parent = get(s, ctx, source_volid)
        if parent.status not in ("available", "in-use"):
            raise errors.BadRequest(
                "Invalid volume: Source volume status must be available or in-use, but it is "
                f"{parent.status}.")
        size = parent.size if size is None else _check_size(size)
        if size < parent.size:
            raise errors.BadRequest(
                f"Invalid input received: Volume size '{size}'GB cannot be smaller than "
                f"original volume size {parent.size}GB. They must be >= original volume size.")
    elif image_id is not None:
        size, image_meta = _from_image(s, ctx, image_id, size)
    else:
        size = _check_size(size)
    if parent is not None:
        if availability_zone is not None and availability_zone != parent.availability_zone:
            what = "snapshot" if snapshot_id else "source volume"
            raise errors.BadRequest(f"Invalid input received: Volume must be in the same "
                                    f"availability zone as the {what}")
        availability_zone = parent.availability_zone
        image_meta = dict(parent.image_metadata) if parent.image_metadata else None
    vtype = (types.resolve(s, ctx, volume_type) if volume_type is not None or parent is None
             else s.get(vm.VolumeType, parent.volume_type_id) or types.resolve(s, ctx, None))
    availability_zone = _type_rules(s, vtype, availability_zone, zones)
    quotas.check(s, project_id, volumes=1, gigabytes=size, volume_type_id=vtype.id)
    host: cm.Host | None
    if host_id is not None:
        host = s.get(cm.Host, host_id)
        if host is None or not host.volume_backend:
            raise errors.BadRequest(f"Host {host_id} holds no volume backend.")
    elif parent is not None:
        host = s.get(cm.Host, parent.host_id) if parent.host_id else None
    else:
        host = placement.pick_host(s, availability_zone)
    now = utcnow()
    row = vm.Volume(
        id=str(uuid.uuid4()), project_id=project_id, user_id=ctx.user_id, name=name,
        description=description, size=size, status="creating", attach_status="detached",
        availability_zone=availability_zone or (
            host.availability_zone if host is not None and host.availability_zone else zones[0]),
        volume_type_id=vtype.id, bootable=image_id is not None or bool(parent and parent.bootable),
        readonly=False, multiattach=False, host_id=host.id if host is not None else None,
        backend=host.volume_backend if host is not None and host.volume_backend else "file",
        source_volid=source_volid, snapshot_id=snapshot_id,
        image_id=image_id if snapshot_id is None and source_volid is None else None,
        image_metadata=image_meta, pending_uploads=[], upload_seq=0,
        created_at=now, updated_at=now)
    if host is None:
        row.status, row.error = "error", NO_BACKEND
    s.add(row)
    s.flush()
    for key, value in values.items():
        s.add(vm.VolumeMetadata(volume_id=row.id, key=key, value=value))
    s.flush()
    changes.changed(s, [row.host_id])
    return row


# --- delete ---------------------------------------------------------------------------------------


def _purge(s: Session, row: vm.Volume) -> None:
    """Remove a volume whose data no host holds, with everything hanging off it."""
    snap_ids = list(s.scalars(select(vm.VolumeSnapshot.id)
                              .where(vm.VolumeSnapshot.volume_id == row.id)))
    if snap_ids:
        s.execute(sql_delete(vm.SnapshotMetadata)
                  .where(vm.SnapshotMetadata.snapshot_id.in_(snap_ids)))
        s.execute(sql_delete(vm.VolumeSnapshot).where(vm.VolumeSnapshot.id.in_(snap_ids)))
    s.execute(sql_delete(vm.VolumeMetadata).where(vm.VolumeMetadata.volume_id == row.id))
    s.execute(sql_delete(vm.VolumeAttachment).where(vm.VolumeAttachment.volume_id == row.id))
    s.delete(row)
    s.flush()


def delete(s: Session, ctx: Context, volume_id: str, *, cascade: bool = False,
           force: bool = False) -> None:
    """Delete a volume: status ``deleting`` and its host removes the data (the row goes with
    the host's report); at once when no host ever held it. ``cascade`` deletes its snapshots
    too; ``force`` (admin) ignores the status but never deletes an attached volume.

    Raises NotFound, Forbidden, BadRequest (Cinder's "Invalid volume" when refused).
    """
    row = load_for_change(s, ctx, volume_id, "volume:delete")
    if force:
        policy.enforce(ctx, "volume_extension:volume_admin_actions:force_delete")
    attached = s.scalar(select(func.count()).select_from(vm.VolumeAttachment).where(
        vm.VolumeAttachment.volume_id == row.id,
        vm.VolumeAttachment.attach_status != "detached")) or 0
    if row.attach_status == "attached" or attached or (
            not force and row.status not in DELETABLE):
        raise errors.BadRequest(DELETE_REFUSED)
    snaps = list(s.scalars(select(vm.VolumeSnapshot)
                           .where(vm.VolumeSnapshot.volume_id == row.id)))
    if snaps and not cascade:
        raise errors.BadRequest(DELETE_REFUSED)
    for snap in snaps:
        if snap.status not in ("available", "error", "deleting") and not force:
            raise errors.BadRequest(f"Invalid volume: Snapshot {snap.id} of volume "
                                    f"{row.id} is {snap.status}: it cannot be deleted.")
    if row.host_id is None or not desired.listed(row):
        _purge(s, row)
        return
    if snaps:
        # The host removes a volume's snapshots with it (nothing lists them any more); their
        # rows go now, so the host's report of the volume gone is the end of it.
        ids = [snap.id for snap in snaps]
        s.execute(sql_delete(vm.SnapshotMetadata).where(vm.SnapshotMetadata.snapshot_id.in_(ids)))
        s.execute(sql_delete(vm.VolumeSnapshot).where(vm.VolumeSnapshot.id.in_(ids)))
    row.status, row.updated_at = "deleting", utcnow()
    changes.changed(s, [row.host_id])


# --- update and metadata --------------------------------------------------------------------------


def _replace_metadata(s: Session, row: vm.Volume, values: Mapping[str, str]) -> None:
    s.execute(sql_delete(vm.VolumeMetadata).where(vm.VolumeMetadata.volume_id == row.id))
    for key, value in values.items():
        s.add(vm.VolumeMetadata(volume_id=row.id, key=key, value=value))
    s.flush()


def update(s: Session, ctx: Context, volume_id: str, values: Mapping[str, Any]) -> vm.Volume:
    """PUT /volumes/{id}: name, description (or display_*), metadata (replaces it all)."""
    row = load_for_change(s, ctx, volume_id, "volume:update")
    for field, legacy, limit in (("name", "display_name", 255),
                                 ("description", "display_description", None)):
        for key in (legacy, field):
            if key in values:
                setattr(row, field, _check_text(values[key], key, limit))
    if "metadata" in values:
        _replace_metadata(s, row, check_metadata(values["metadata"]))
    row.updated_at = utcnow()
    s.flush()
    return row


def set_metadata(s: Session, ctx: Context, volume_id: str, values: Any, *,
                 replace: bool) -> dict[str, str]:
    """Merge ``values`` into the volume's metadata (or ``replace`` it); returns it all."""
    row = load_for_change(s, ctx, volume_id, "volume:update_volume_metadata")
    checked = check_metadata(values)
    merged = checked if replace else {**metadata_of(s, [row.id])[row.id], **checked}
    _replace_metadata(s, row, merged)
    row.updated_at = utcnow()
    return merged


def delete_metadata_item(s: Session, ctx: Context, volume_id: str, key: str) -> None:
    row = load_for_change(s, ctx, volume_id, "volume:delete_volume_metadata")
    gone = s.execute(sql_delete(vm.VolumeMetadata).where(
        vm.VolumeMetadata.volume_id == row.id, vm.VolumeMetadata.key == key))
    if not getattr(gone, "rowcount", 0):
        raise errors.NotFound("Metadata item was not found")
    row.updated_at = utcnow()
