"""The volume half of the host contract: what a volume host's backend must hold, and how its
reports move volumes and snapshots through Cinder's statuses.

Called by the volume section of each host's document (``host_section.py``) when it is built
(``for_host``) and folds the host's report (``fold``). The rules (see the contract's block
storage section):

- A volume is listed while it is wanted: not ``deleting``, and not a volume whose creation
  failed (status ``error`` and never ``launched_at``). An unlisted volume's data is removed by
  the agent, so a volume that once existed stays listed whatever its status (an admin's
  reset-status to ``error`` must not destroy data).
- A snapshot is listed unless ``deleting`` or failed to be made (``error`` with a message).
- ``creating`` → ``available`` when the report lists the volume; → ``error`` with the agent's
  message. ``extending`` → back to ``available``/``in-use`` once its size is reached; →
  ``error_extending`` (size back to what it is) on failure. ``deleting`` → the row goes once
  the report no longer lists it. Snapshots alike. Uploads to images finish with an outcome for
  the image service, and the volume returns to the status it had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sausage.contract import host as contract
from sausage.db.models import compute as cm
from sausage.db.models import volume as vm
from sausage.db.models.base import utcnow

__all__ = ["for_host", "fold", "has_pending_upload", "listed"]


def listed(volume: vm.Volume) -> bool:
    """Whether the volume's data must exist on its host."""
    if volume.status == "deleting":
        return False
    return not (volume.status == "error" and volume.launched_at is None)


def _snapshot_listed(snap: vm.VolumeSnapshot) -> bool:
    if snap.status == "deleting":
        return False
    return not (snap.status == "error" and snap.error is not None)


def _source(volume: vm.Volume, images: Mapping[str, contract.ImageRef]) -> contract.VolumeSource:
    if volume.snapshot_id:
        return {"type": "snapshot", "id": volume.snapshot_id}
    if volume.source_volid:
        return {"type": "volume", "id": volume.source_volid}
    if volume.image_id and volume.image_id in images:
        return {"type": "image", "image": images[volume.image_id]}
    return {"type": "blank"}


def for_host(s: Session, host: cm.Host, base_url: str,
             image_refs: Any) -> list[contract.DesiredVolume]:
    """The volumes ``host`` must hold. ``image_refs(image_ids) -> {id: ImageRef}`` makes the
    references of source images (the compute side's, which knows kernels and URLs)."""
    volumes = [v for v in s.scalars(select(vm.Volume).where(vm.Volume.host_id == host.id)
                                    .order_by(vm.Volume.created_at)) if listed(v)]
    if not volumes:
        return []
    ids = [v.id for v in volumes]
    snaps: dict[str, list[str]] = {}
    for snap in s.scalars(select(vm.VolumeSnapshot).where(vm.VolumeSnapshot.volume_id.in_(ids))
                          .order_by(vm.VolumeSnapshot.created_at)):
        if _snapshot_listed(snap):
            snaps.setdefault(snap.volume_id, []).append(snap.id)
    wanted_images = {v.image_id for v in volumes
                     if v.image_id and v.status == "creating" and not v.snapshot_id
                     and not v.source_volid}
    images: Mapping[str, contract.ImageRef] = image_refs(wanted_images) if wanted_images else {}
    out: list[contract.DesiredVolume] = []
    for v in volumes:
        uploads: list[contract.VolumeUpload] = [
            {"seq": int(u["seq"]), "image_id": str(u["image_id"]),
             "disk_format": "raw" if u.get("disk_format") == "raw" else "qcow2",
             "upload_url": f"{base_url}/internal/v1/images/{u['image_id']}/file"}
            for u in v.pending_uploads]
        out.append({"id": v.id, "backend": v.backend, "size_gb": v.size,
                    "source": _source(v, images), "snapshots": snaps.get(v.id, []),
                    "uploads": uploads})
    return out


def has_pending_upload(s: Session, host: cm.Host, image_id: str) -> bool:
    """Whether one of ``host``'s volumes is being uploaded into ``image_id``."""
    return any(any(u["image_id"] == image_id for u in v.pending_uploads)
               for v in s.scalars(select(vm.Volume).where(vm.Volume.host_id == host.id,
                                                          vm.Volume.upload_seq > 0)))


def _settled(volume: vm.Volume) -> str:
    return "in-use" if volume.attach_status == "attached" else "available"


def fold(s: Session, host: cm.Host, observed: Sequence[contract.ObservedVolume]
         ) -> tuple[bool, list[tuple[str, str]]]:
    """Apply a host's volume report. Returns (anything changed that the host's desired
    document shows, upload outcomes as (image id, "" or error message))."""
    seen = {o["id"]: o for o in observed}
    now = utcnow()
    changed = False
    outcomes: list[tuple[str, str]] = []
    volumes = list(s.scalars(select(vm.Volume).where(vm.Volume.host_id == host.id)))
    snapshots: dict[str, list[vm.VolumeSnapshot]] = {}
    if volumes:
        for snap in s.scalars(select(vm.VolumeSnapshot).where(
                vm.VolumeSnapshot.volume_id.in_([v.id for v in volumes]))):
            snapshots.setdefault(snap.volume_id, []).append(snap)
    for v in volumes:
        o = seen.get(v.id)
        if v.status == "deleting":
            if o is None and not snapshots.get(v.id):
                s.execute(delete(vm.VolumeMetadata).where(vm.VolumeMetadata.volume_id == v.id))
                s.execute(delete(vm.VolumeAttachment).where(
                    vm.VolumeAttachment.volume_id == v.id))
                s.delete(v)
            continue
        if o is None:
            continue  # not made yet (or made by a job still running)
        error = o.get("error")
        if v.status == "creating":
            if error:
                v.status, v.error = "error", error
            else:
                v.status, v.launched_at = "available", now
            v.updated_at = now
        elif v.status == "extending":
            if error:
                v.status, v.error, v.size = "error_extending", error, o["size_gb"]
                changed = True
            elif o["size_gb"] >= v.size:
                v.status = _settled(v)
            v.updated_at = now
        present = set(o["snapshots"])
        failed = o.get("snapshot_errors", {})
        for snap in snapshots.get(v.id, []):
            if snap.status == "deleting" and snap.id not in present:
                s.execute(delete(vm.SnapshotMetadata).where(
                    vm.SnapshotMetadata.snapshot_id == snap.id))
                s.delete(snap)
            elif snap.status == "creating" and snap.id in failed:
                snap.status, snap.error, snap.updated_at = "error", failed[snap.id], now
                changed = True
            elif snap.status == "creating" and snap.id in present:
                snap.status, snap.updated_at = "available", now
        done = set(o.get("uploads_done", []))
        if done and v.pending_uploads:
            upload_errors = o.get("upload_errors", {})
            keep: list[dict[str, Any]] = []
            after = None
            for u in v.pending_uploads:
                if int(u["seq"]) in done:
                    outcomes.append((str(u["image_id"]), upload_errors.get(str(u["seq"]), "")))
                    after = after or u.get("status_after")
                else:
                    keep.append(u)
            v.pending_uploads = keep
            if not keep and v.status == "uploading":
                v.status = str(after) if after else _settled(v)
            v.updated_at = now
            changed = True
    s.flush()
    return changed, outcomes
