"""The image file store: one file per image under the state dir, written and read in chunks.

Uploads go to ``<id>.partial`` while size, MD5 and SHA-512 are computed on the way, are checked
with ``qemu-img`` against the claimed disk format, and only then are renamed into place; a failed
or refused upload leaves no file behind. Memory stays flat whatever the image size.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
from collections.abc import Iterator
from typing import IO, Any

from sausage import errors

__all__ = ["ImageStore", "Upload", "Written", "inspect", "CHUNK"]

CHUNK = 1 << 20

# What ``qemu-img info`` calls each Glance disk format it can recognise.
QEMU_NAMES = {"qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi", "vhd": "vpc", "vhdx": "vhdx",
              "raw": "raw", "iso": "raw", "ploop": "parallels"}
# Formats whose content we cannot verify (kernel, ramdisk, Amazon images): taken as given.
UNCHECKED = {"aki", "ari", "ami"}


@dataclasses.dataclass(frozen=True)
class Written:
    size: int
    md5: str
    sha512: str
    virtual_size: int | None


class Upload:
    """One upload in progress; ``write`` chunks, then ``finish`` or ``abort``."""

    def __init__(self, final: pathlib.Path, limit: int | None) -> None:
        self.final = final
        self.partial = final.with_suffix(".partial")
        self.limit = limit
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha512 = hashlib.sha512()
        self._file: IO[bytes] = open(self.partial, "wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            raise errors.PayloadTooLarge(
                f"The image would exceed the storage quota or size limit ({self.limit} bytes).")
        self._file.write(chunk)
        self._md5.update(chunk)
        self._sha512.update(chunk)

    def finish(self, disk_format: str | None) -> Written:
        """Close, verify the content against ``disk_format``, and move the file into place.

        Raises BadRequest when the data is not what the disk format claims (nothing is kept).
        """
        self._file.close()
        try:
            virtual_size = inspect(self.partial, disk_format)
            os.replace(self.partial, self.final)
        except BaseException:
            self.partial.unlink(missing_ok=True)
            raise
        return Written(self.size, self._md5.hexdigest(), self._sha512.hexdigest(), virtual_size)

    def abort(self) -> None:
        self._file.close()
        self.partial.unlink(missing_ok=True)


def inspect(path: pathlib.Path, disk_format: str | None) -> int | None:
    """The virtual size of the image at ``path``, after checking it really is ``disk_format``.

    Raises BadRequest when qemu-img sees another format, or a qcow2 that points at other files
    (a backing or data file would let a guest read the host's files).
    """
    if disk_format in UNCHECKED or disk_format is None:
        return None
    expected = QEMU_NAMES.get(disk_format)
    try:
        out = subprocess.run(
            ["qemu-img", "info", "--output=json", str(path)],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout
        info: dict[str, Any] = json.loads(out)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, ValueError) as e:
        raise errors.BadRequest(f"Image data could not be inspected as {disk_format}.") from e
    detected = str(info.get("format"))
    if expected is not None and detected != expected:
        raise errors.BadRequest(
            f"Image data does not match its disk_format: it was declared {disk_format} "
            f"but its content is {detected}.")
    if info.get("backing-filename") or (info.get("format-specific") or {}).get(
            "data", {}).get("data-file"):
        raise errors.BadRequest("Images that refer to other files (backing or data files) "
                                "are not accepted.")
    size = info.get("virtual-size")
    return int(size) if isinstance(size, int) else None


class ImageStore:
    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path(self, image_id: str) -> pathlib.Path:
        if "/" in image_id or image_id.startswith("."):
            raise errors.BadRequest("Invalid image id.")
        return self.root / image_id

    def upload(self, image_id: str, limit: int | None = None) -> Upload:
        return Upload(self.path(image_id), limit)

    def chunks(self, image_id: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        with open(self.path(image_id), "rb") as f:
            while True:
                chunk = f.read(chunk_size)
                if not chunk:
                    return
                yield chunk

    def copy_in(self, image_id: str, source: pathlib.Path, disk_format: str) -> Written:
        """Store a local file as an image's data (used to register the test image)."""
        upload = self.upload(image_id)
        try:
            with open(source, "rb") as f:
                while chunk := f.read(CHUNK):
                    upload.write(chunk)
            return upload.finish(disk_format)
        except BaseException:
            upload.abort()
            raise

    def delete(self, image_id: str) -> None:
        self.path(image_id).unlink(missing_ok=True)
        self.path(image_id).with_suffix(".partial").unlink(missing_ok=True)

    def exists(self, image_id: str) -> bool:
        return self.path(image_id).exists()

    def purge(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
