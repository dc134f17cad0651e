"""``POST /volumes/{id}/action``: the volume actions Cinder has (os-extend, os-set_bootable,
os-update_readonly_flag, os-volume_upload_image, the admin ones and the status flips some
clients use), and the volume's image metadata actions.

Called by ``api/volume/volume_actions.py``. Work a host must do (grow, upload) is written into
the volume's row and the host is bumped; its report brings the status back
(``services/volume/desired.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import volume as vm
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.image import images
from sausage.services.volume import attachments, quotas
from sausage.services.volume import volumes as svc

__all__ = ["extend", "set_bootable", "set_readonly", "upload_image", "reset_status",
           "force_detach", "reserve", "unreserve", "begin_detaching", "roll_detaching",
           "image_metadata", "set_image_metadata", "unset_image_metadata", "STATUSES",
           "ATTACH_STATUSES", "UPLOAD_FORMATS"]

STATUSES = ("creating", "available", "reserved", "attaching", "in-use", "detaching",
            "extending", "uploading", "deleting", "error", "error_deleting", "error_extending",
            "error_restoring", "maintenance", "downloading", "retyping", "backing-up",
            "restoring-backup", "error_managing")
ATTACH_STATUSES = ("attached", "detached")
UPLOAD_FORMATS = ("qcow2", "raw")


def _touch(row: vm.Volume) -> None:
    row.updated_at = utcnow()


def extend(s: Session, ctx: Context, volume_id: str, new_size: int, *, live: bool) -> None:
    """os-extend: grow to ``new_size`` GiB (available; in-use too when ``live``, 3.42+)."""
    row = svc.load_for_change(s, ctx, volume_id, "volume:extend")
    allowed = ("available", "in-use") if live else ("available",)
    if row.status not in allowed:
        wanted = "'available' or 'in-use'" if live else "'available'"
        raise errors.BadRequest(f"Invalid volume: Volume {row.id} status must be {wanted} to "
                                f"extend, but current status is: {row.status}.")
    if new_size <= row.size:
        raise errors.BadRequest(
            "Invalid input received: New size for extend must be greater than current size. "
            f"(current: {row.size}, extended: {new_size}).")
    quotas.check(s, row.project_id, gigabytes=new_size - row.size,
                 volume_type_id=row.volume_type_id)
    quotas.check_volume_size(s, row.project_id, new_size)
    row.size, row.status = new_size, "extending"
    _touch(row)
    changes.changed(s, [row.host_id])


def set_bootable(s: Session, ctx: Context, volume_id: str, bootable: bool) -> None:
    row = svc.load_for_change(s, ctx, volume_id, "volume_extension:volume_actions:set_bootable")
    row.bootable = bootable
    _touch(row)


def set_readonly(s: Session, ctx: Context, volume_id: str, readonly: bool) -> None:
    row = svc.load_for_change(s, ctx, volume_id,
                              "volume_extension:volume_actions:update_readonly_flag")
    if row.status != "available":
        raise errors.BadRequest("Invalid volume: Volume status must be available to update "
                                "readonly flag.")
    row.readonly = readonly
    _touch(row)


def upload_image(s: Session, ctx: Context, volume_id: str, values: Mapping[str, Any],
                 quota: images.Quota
                 ) -> tuple[svc.VolumeView, images.ImageView, vm.VolumeType | None]:
    """os-volume_upload_image: a new image (queued, then saving) the volume's host fills with
    the volume's content; the volume is ``uploading`` until then. ``values``: image_name,
    disk_format, container_format, force, visibility, protected (already typed)."""
    row = svc.load_for_change(s, ctx, volume_id, "volume_extension:volume_actions:upload_image")
    force = bool(values.get("force", False))
    if row.status != "available" and not (force and row.status == "in-use"):
        raise errors.BadRequest(f"Invalid volume: Volume {row.id} status must be available or "
                                f"in-use with force, but current status is: {row.status}.")
    disk_format = str(values.get("disk_format") or "raw")
    if disk_format not in UPLOAD_FORMATS:
        raise errors.BadRequest(f"Invalid disk-format '{disk_format}' is specified. Allowed "
                                f"disk-formats are {', '.join(UPLOAD_FORMATS)}.")
    props: dict[str, Any] = {"name": values["image_name"], "disk_format": disk_format,
                             "container_format": values.get("container_format") or "bare",
                             "visibility": values.get("visibility") or "private",
                             "min_disk": row.size}
    if values.get("protected") is not None:
        props["protected"] = bool(values["protected"])
    view = images.create(s, ctx, props, quota)
    images.mark_saving(s, view.image.id)
    row.upload_seq += 1
    row.pending_uploads = [*row.pending_uploads, {
        "seq": row.upload_seq, "image_id": view.image.id, "disk_format": disk_format,
        "status_after": row.status}]
    row.status = "uploading"
    _touch(row)
    changes.changed(s, [row.host_id])
    s.flush()
    return (svc.views(s, [row])[0], images.view(s, view.image),
            s.get(vm.VolumeType, row.volume_type_id))


def reset_status(s: Session, ctx: Context, volume_id: str, values: Mapping[str, Any]) -> None:
    """os-reset_status (admin): set ``status`` and/or ``attach_status`` as given."""
    policy.enforce(ctx, "volume_extension:volume_admin_actions:reset_status")
    row = svc.get(s, ctx, volume_id)
    status, attach = values.get("status"), values.get("attach_status")
    if status is None and attach is None and values.get("migration_status") is None:
        raise errors.BadRequest("Must specify 'status', 'attach_status' or 'migration_status' "
                                "for update.")
    if status is not None and (not isinstance(status, str) or status.lower() not in STATUSES):
        raise errors.BadRequest(f"Invalid input received: Must specify a valid status: "
                                f"{status}")
    if attach is not None and (not isinstance(attach, str)
                               or attach.lower() not in ATTACH_STATUSES):
        raise errors.BadRequest(f"Invalid input received: Must specify a valid attach "
                                f"status: {attach}")
    if status is not None:
        row.status = status.lower()
    if attach is not None:
        row.attach_status = attach.lower()
    _touch(row)
    changes.changed(s, [row.host_id])


def force_detach(s: Session, ctx: Context, volume_id: str, attachment_id: str | None) -> None:
    """os-force_detach (admin): the attachments service ends the attachment."""
    policy.enforce(ctx, "volume_extension:volume_admin_actions:force_detach")
    row = svc.get(s, ctx, volume_id)
    attachments.force_detach(s, ctx, row, attachment_id)


def _flip(s: Session, ctx: Context, volume_id: str, action: str, expected: str, to: str
          ) -> vm.Volume:
    row = svc.load_for_change(s, ctx, volume_id, f"volume_extension:volume_actions:{action}")
    if row.status != expected:
        raise errors.BadRequest(f"Invalid volume: Volume status must be {expected} to {action}, "
                                f"but the status is {row.status}.")
    row.status = to
    _touch(row)
    return row


def reserve(s: Session, ctx: Context, volume_id: str) -> None:
    """os-reserve: available → attaching (a client is about to attach it)."""
    _flip(s, ctx, volume_id, "reserve", "available", "attaching")


def unreserve(s: Session, ctx: Context, volume_id: str) -> None:
    """os-unreserve: attaching → available (in-use when it is attached elsewhere)."""
    row = _flip(s, ctx, volume_id, "unreserve", "attaching", "available")
    if row.attach_status == "attached":
        row.status = "in-use"


def begin_detaching(s: Session, ctx: Context, volume_id: str) -> None:
    _flip(s, ctx, volume_id, "begin_detaching", "in-use", "detaching")


def roll_detaching(s: Session, ctx: Context, volume_id: str) -> None:
    row = svc.load_for_change(s, ctx, volume_id, "volume_extension:volume_actions:roll_detaching")
    if row.status == "detaching":
        row.status = "in-use"
        _touch(row)


def image_metadata(s: Session, ctx: Context, volume_id: str) -> dict[str, str]:
    """os-show_image_metadata: the volume_image_metadata ({} for a volume not from an image)."""
    return dict(svc.get(s, ctx, volume_id).image_metadata or {})


def set_image_metadata(s: Session, ctx: Context, volume_id: str, values: Any
                       ) -> dict[str, str]:
    row = svc.load_for_change(s, ctx, volume_id,
                              "volume_extension:volume_image_metadata:set")
    merged = {**(row.image_metadata or {}), **svc.check_metadata(values)}
    row.image_metadata = merged
    _touch(row)
    return merged


def unset_image_metadata(s: Session, ctx: Context, volume_id: str, key: str) -> None:
    row = svc.load_for_change(s, ctx, volume_id,
                              "volume_extension:volume_image_metadata:remove")
    current = dict(row.image_metadata or {})
    if key not in current:
        raise errors.NotFound(f"Glance metadata for volume {volume_id} cannot be found.")
    del current[key]
    row.image_metadata = current
    _touch(row)
