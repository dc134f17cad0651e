"""The ``file`` block-storage backend: qcow2 files under the agent's state dir.

The default backend (DESIGN.md §7), driven by the volume reconciler through the
``storage.StorageDriver`` interface. Names are the contract's (``sausage.contract.host``):
``<volumes dir>/volume-<id>.qcow2`` and ``snapshot-<id>.qcow2``. Every file is made under a
hidden ``.<name>.partial`` and renamed into place only once complete, so an interrupted
creation never leaves a file that looks like a volume. Snapshots and clones are full,
independent copies (``qemu-img convert``, sparse): no backing chains between files, so any of
them can be deleted without touching the others. Reads of a volume a running QEMU may hold
use ``-U`` (no image lock); growing an in-use volume is the QEMU's job (``block_resize``), not
this module's.
"""

from __future__ import annotations

import logging
import os
import pathlib
import re
import struct

from sausage.agent.drivers import disks, images, storage
from sausage.agent.drivers.errors import DriverError

__all__ = ["FileDriver", "CONVERT_TIMEOUT"]

log = logging.getLogger(__name__)

CONVERT_TIMEOUT = 6 * 3600.0  # a copy of a large volume on a slow disk takes a while
_QUICK = 120.0  # create, resize: metadata only

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_VOLUME = re.compile(r"^volume-(.+)\.qcow2$")
_PARTIAL = re.compile(r"^\.volume-(.+)\.qcow2\.partial$")
_SNAPSHOT = re.compile(r"^snapshot-(.+)\.qcow2$")
_QCOW2_MAGIC = b"QFI\xfb"


class FileDriver:
    name = "file"

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root

    # -- names -------------------------------------------------------------------------------------
    def volume_path(self, volume_id: str) -> pathlib.Path:
        return self.root / f"volume-{_checked(volume_id)}.qcow2"

    def snapshot_path(self, snapshot_id: str) -> pathlib.Path:
        return self.root / f"snapshot-{_checked(snapshot_id)}.qcow2"

    @staticmethod
    def _partial(final: pathlib.Path) -> pathlib.Path:
        return final.with_name(f".{final.name}.partial")

    # -- what is there -----------------------------------------------------------------------------
    def observe(self) -> dict[str, storage.VolumeState]:
        out: dict[str, storage.VolumeState] = {}
        for entry in self._entries():
            if m := _VOLUME.match(entry.name):
                size = _virtual_size(pathlib.Path(entry.path))
                if size is not None:  # vanished while we looked: deleted
                    out[m.group(1)] = storage.VolumeState(size, True)
            elif (m := _PARTIAL.match(entry.name)) and m.group(1) not in out:
                out.setdefault(m.group(1), storage.VolumeState(0, False))
        return out

    def snapshots(self) -> set[str]:
        return {m.group(1) for entry in self._entries() if (m := _SNAPSHOT.match(entry.name))}

    def discard_partials(self) -> None:
        for entry in self._entries():
            if entry.name.startswith(".") and entry.name.endswith(".partial"):
                log.info("volumes: removing %s, left by an interrupted job", entry.name)
                pathlib.Path(entry.path).unlink(missing_ok=True)

    # -- making ------------------------------------------------------------------------------------
    def create_blank(self, volume_id: str, size_bytes: int) -> None:
        final = self.volume_path(volume_id)
        with _Partial(final) as partial:
            disks.run(["qemu-img", "create", "-q", "-f", "qcow2", str(partial),
                       str(size_bytes)], timeout=_QUICK)

    def create_from_image(self, volume_id: str, image_path: pathlib.Path, image_format: str,
                          size_bytes: int) -> None:
        virtual = int(images.qemu_img_info(image_path, image_format)["virtual-size"])
        if virtual > size_bytes:
            raise DriverError(f"The image is {_gib(virtual)} GiB, larger than the volume's "
                              f"{_gib(size_bytes)} GiB.")
        self._copy(image_path, image_format, self.volume_path(volume_id), size_bytes)

    def create_from_volume(self, volume_id: str, source_id: str, size_bytes: int,
                           live_copy: storage.LiveCopy | None = None) -> None:
        self._copy(self._existing(self.volume_path(source_id), "volume", source_id), "qcow2",
                   self.volume_path(volume_id), size_bytes, (source_id, live_copy))

    def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_bytes: int) -> None:
        self._copy(self._existing(self.snapshot_path(snapshot_id), "snapshot", snapshot_id),
                   "qcow2", self.volume_path(volume_id), size_bytes)

    def extend(self, volume_id: str, size_bytes: int) -> None:
        path = self._existing(self.volume_path(volume_id), "volume", volume_id)
        current = _virtual_size(path) or 0
        if size_bytes <= current:
            return
        disks.run(["qemu-img", "resize", "-q", "-f", "qcow2", str(path), str(size_bytes)],
                  timeout=_QUICK)

    def delete(self, volume_id: str) -> None:
        final = self.volume_path(volume_id)
        final.unlink(missing_ok=True)
        self._partial(final).unlink(missing_ok=True)

    def snapshot(self, volume_id: str, snapshot_id: str,
                 live_copy: storage.LiveCopy | None = None) -> None:
        source = self._existing(self.volume_path(volume_id), "volume", volume_id)
        self._copy(source, "qcow2", self.snapshot_path(snapshot_id), None,
                   (volume_id, live_copy))

    def delete_snapshot(self, snapshot_id: str) -> None:
        final = self.snapshot_path(snapshot_id)
        final.unlink(missing_ok=True)
        self._partial(final).unlink(missing_ok=True)

    def export(self, volume_id: str, fmt: storage.ExportFormat, target: pathlib.Path,
               live_copy: storage.LiveCopy | None = None) -> None:
        source = self._existing(self.volume_path(volume_id), "volume", volume_id)
        if live_copy is not None and live_copy(volume_id, target, fmt):
            return
        disks.run(["qemu-img", "convert", "-q", "-U", "-f", "qcow2", "-O", fmt, str(source),
                   str(target)], timeout=CONVERT_TIMEOUT)

    def attachment(self, volume_id: str) -> storage.Attachment:
        return {"driver": "file", "filename": str(self.volume_path(volume_id)),
                "format": "qcow2"}

    # -- internals ---------------------------------------------------------------------------------
    def _entries(self) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(self.root) as it:
                return [e for e in it if e.is_file(follow_symlinks=False)]
        except FileNotFoundError:
            return []
        except OSError as e:
            raise DriverError(f"Cannot read the volumes directory {self.root}: {e}") from e

    @staticmethod
    def _existing(path: pathlib.Path, kind: str, ident: str) -> pathlib.Path:
        if not path.is_file():
            raise DriverError(f"The {kind} {ident} is not on this host.")
        return path

    def _copy(self, source: pathlib.Path, source_format: str, final: pathlib.Path,
              size_bytes: int | None,
              live: tuple[str, storage.LiveCopy | None] | None = None) -> None:
        """A standalone sparse qcow2 copy of ``source`` at ``final``, grown to ``size_bytes``.
        ``live`` = (volume id, live_copy): when a running QEMU has that volume open, it makes
        the copy (point in time, consistent); otherwise ``qemu-img`` reads the file (``-U``:
        no image lock, a QEMU that is starting or stopping may still hold it)."""
        with _Partial(final) as partial:
            if live is not None and live[1] is not None and live[1](live[0], partial, "qcow2"):
                pass
            else:
                disks.run(["qemu-img", "convert", "-q", "-U", "-f", source_format, "-O",
                           "qcow2", str(source), str(partial)], timeout=CONVERT_TIMEOUT)
            if size_bytes is not None and size_bytes > (_virtual_size(partial) or 0):
                disks.run(["qemu-img", "resize", "-q", "-f", "qcow2", str(partial),
                           str(size_bytes)], timeout=_QUICK)


class _Partial:
    """``with _Partial(final) as partial:`` — work on ``partial``; on success it becomes
    ``final`` (atomically), on failure it is removed."""

    def __init__(self, final: pathlib.Path) -> None:
        self.final = final
        self.partial = final.with_name(f".{final.name}.partial")

    def __enter__(self) -> pathlib.Path:
        self.final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.partial.unlink(missing_ok=True)
        return self.partial

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        try:
            if kind is None:
                os.replace(self.partial, self.final)
        finally:
            self.partial.unlink(missing_ok=True)


def _checked(ident: str) -> str:
    if not _ID.match(ident):
        raise DriverError(f"Invalid volume or snapshot id {ident!r}.")
    return ident


def _virtual_size(path: pathlib.Path) -> int | None:
    """The virtual size in a qcow2 header (bytes 24–31, big-endian): cheaper than running
    ``qemu-img info`` for every volume on every pass. None when the file is gone."""
    try:
        with open(path, "rb") as f:
            header = f.read(32)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise DriverError(f"Cannot read {path.name}: {e}") from e
    if len(header) == 32 and header[:4] == _QCOW2_MAGIC:
        size: int = struct.unpack(">Q", header[24:32])[0]
        return size
    return int(images.qemu_img_info(path)["virtual-size"])


def _gib(size: int) -> str:
    return f"{size / images.GiB:.3g}"
