"""The block-storage driver interface, and the registry of backends by name.

The volume reconciler (``sausage.agent.volumes``) opens the host's backend with
``open_driver(cfg)`` and runs the volume planner's actions (``plan/volume.py``) through it, one
job per volume at a time on worker threads; the loop asks it, through the reconciler, how QEMU
opens a volume (``attachment``). The interface speaks of volume and snapshot ids and sizes in
bytes only — no paths — so that an ``lvm`` backend (logical volumes in a volume group) or a
Ceph ``rbd`` backend (images in a pool, snapshots as clones) fits without touching the
planner, the reconciler or the API. Today there is one backend, ``file`` (``storage_file.py``).

Rules every backend keeps:

- Something made under its final name is complete: a creation interrupted at any point (the
  agent killed, the host rebooted) leaves nothing that ``observe`` calls complete.
- Snapshots are independent of their volume and of the volumes made from them: deleting any
  one of them never changes another.
- Every method raises ``DriverError`` (message fit for the user's fault) when the host fails it.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable
from typing import Any, Literal, Protocol


__all__ = ["VolumeState", "Attachment", "LiveCopy", "StorageDriver"]

# How QEMU opens a volume: the protocol node of a QMP ``blockdev-add`` (``driver`` and its
# options, e.g. ``{"driver": "file", "filename": …}``, later ``{"driver": "rbd", "pool": …}``)
# plus ``"format"``: the format node the caller stacks on it ("qcow2" | "raw").
Attachment = dict[str, Any]

ExportFormat = Literal["qcow2", "raw"]

# ``live_copy(volume_id, target, fmt)``: when a running QEMU on this host has the volume open,
# it writes a point-in-time copy of it (as the guest sees it) to ``target`` as ``fmt`` and
# returns True; False when no QEMU has it (the backend reads the data itself). A file backend
# needs this for snapshots, clones and uploads of in-use volumes; backends with their own
# consistent snapshots (rbd) may ignore it.
LiveCopy = Callable[[str, pathlib.Path, ExportFormat], bool]


@dataclasses.dataclass(frozen=True)
class VolumeState:
    """One volume as the backend holds it."""

    size_bytes: int  # the virtual size the guest sees (0 when not known yet)
    complete: bool  # False: left half-made (or being made): never handed to QEMU


class StorageDriver(Protocol):
    """A block-storage backend: where volumes and snapshots live and how they are made."""

    name: str

    def observe(self) -> dict[str, VolumeState]:
        """Every volume the backend holds, complete or not: volume id → its state."""
        ...

    def snapshots(self) -> set[str]:
        """The ids of the complete snapshots the backend holds."""
        ...

    def discard_partials(self) -> None:
        """Remove what interrupted creations left (only while no job of this agent runs)."""
        ...

    def create_blank(self, volume_id: str, size_bytes: int) -> None:
        """A new empty volume of ``size_bytes``."""
        ...

    def create_from_image(self, volume_id: str, image_path: pathlib.Path, image_format: str,
                          size_bytes: int) -> None:
        """A new volume holding the image at ``image_path`` (``image_format``: "raw" |
        "qcow2", as the base image cache keeps it), grown to ``size_bytes``; DriverError when
        the image is larger than that."""
        ...

    def create_from_volume(self, volume_id: str, source_id: str, size_bytes: int,
                           live_copy: LiveCopy | None = None) -> None:
        """A new volume holding a copy of volume ``source_id`` (which may be in use)."""
        ...

    def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_bytes: int) -> None:
        """A new volume holding a copy of snapshot ``snapshot_id``."""
        ...

    def extend(self, volume_id: str, size_bytes: int) -> None:
        """Grow a volume no running QEMU has open to ``size_bytes`` (never shrinks)."""
        ...

    def delete(self, volume_id: str) -> None:
        """Remove a volume, complete or not; nothing if it is not there."""
        ...

    def snapshot(self, volume_id: str, snapshot_id: str,
                 live_copy: LiveCopy | None = None) -> None:
        """Copy the volume's current content into a new snapshot."""
        ...

    def delete_snapshot(self, snapshot_id: str) -> None:
        """Remove a snapshot; nothing if it is not there."""
        ...

    def export(self, volume_id: str, fmt: ExportFormat, target: pathlib.Path,
               live_copy: LiveCopy | None = None) -> None:
        """Write the volume's content as a ``fmt`` image file at ``target`` (for uploads)."""
        ...

    def attachment(self, volume_id: str) -> Attachment:
        """How QEMU opens the volume (see ``Attachment``)."""
        ...
