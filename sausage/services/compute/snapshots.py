"""Image data as hosts see it: base images they download and snapshots they upload."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.db.models import image as im
from sausage.services.volume import desired as volume_desired

__all__ = ["readable", "check_upload"]


def readable(s: Session, image_id: str) -> im.Image:
    """An active image whose data a host may fetch to boot a server."""
    row = s.get(im.Image, image_id)
    if row is None or row.status not in ("active", "deactivated"):
        raise errors.NotFound(f"No active image {image_id}.")
    return row


def check_upload(s: Session, host: m.Host, image_id: str) -> str:
    """Only the host of the server being snapshotted (or of the volume being uploaded) may
    write the image's data. Returns the disk format the data must have."""
    for srv in s.scalars(select(m.Server).where(m.Server.host_id == host.id,
                                                m.Server.deleted.is_(False))):
        if any(p["image_id"] == image_id for p in srv.observed.get("pending_snapshots", [])):
            row = s.get(im.Image, image_id)
            if row is None or row.status != "saving":
                raise errors.Conflict(f"Image {image_id} is not waiting for snapshot data.")
            return "qcow2"  # the agent always writes a server snapshot as qcow2
    if volume_desired.has_pending_upload(s, host, image_id):
        row = s.get(im.Image, image_id)
        if row is None or row.status != "saving":
            raise errors.Conflict(f"Image {image_id} is not waiting for volume data.")
        return row.disk_format or "qcow2"  # os-volume_upload_image may ask for raw
    raise errors.Forbidden(f"This host has no pending snapshot into image {image_id}.")
