"""The per-host base image cache: ``<state>/images/<image id>``, the backing files of root disks.

The agent loop's EnsureBaseImage action calls ``ImageCache.ensure`` with a fetch function from
``sausage.agent.client`` (the internal API streams the image data); the QEMU driver builds
overlays on the cached files. A download goes to a hidden partial file while its MD5 is computed,
is checked (size, checksum, and with ``qemu-img`` that it is the claimed format and refers to no
other file), is converted to qcow2 when it is neither qcow2 nor raw, and only then is renamed into
place. A per-image lock file keeps two downloads of the same image (two servers, or two agents)
from racing. Cached files are never changed: every overlay on the host may depend on them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any, ContextManager

from sausage.agent.drivers import flock
from sausage.agent.drivers.errors import DriverError
from sausage.contract import host as contract

__all__ = ["CacheError", "ImageCache", "Fetch", "cache_format", "qemu_img_info", "GiB"]

GiB = 1 << 30

# Fetch(url) opens a stream of the image data (``sausage.agent.client.Client.download``).
Fetch = Callable[[str], ContextManager[Iterator[bytes]]]

# What ``qemu-img info`` calls each Glance disk format; kernel and ramdisk images are as given.
_QEMU_NAMES = {"qcow2": "qcow2", "raw": "raw", "ami": "raw", "iso": "raw", "vmdk": "vmdk",
               "vdi": "vdi", "vhd": "vpc", "vhdx": "vhdx", "ploop": "parallels"}
_AS_GIVEN = {"aki", "ari"}
# qemu-img parsing untrusted data gets bounded memory and CPU, as Nova does.
_PRLIMIT = ["prlimit", "--as=1073741824", "--cpu=30", "--"]


class CacheError(DriverError):
    """An image could not be brought into the cache; ``message`` is for the user's fault."""


def cache_format(disk_format: str) -> str:
    """The format of the cached file for an image of ``disk_format`` (the overlay's ``-F``)."""
    return "raw" if _QEMU_NAMES.get(disk_format, "qcow2") == "raw" or disk_format in _AS_GIVEN \
        else "qcow2"


def qemu_img_info(path: pathlib.Path, fmt: str | None = None, *,
                  untrusted: bool = False) -> dict[str, Any]:
    """``qemu-img info`` of ``path`` as a dict; CacheError when it cannot be read."""
    args = ["qemu-img", "info", "--output=json", "-U"]
    if fmt:
        args += ["-f", fmt]
    args.append(str(path))
    if untrusted and shutil.which("prlimit"):
        args = _PRLIMIT + args
    try:
        out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout
        info: dict[str, Any] = json.loads(out)
    except subprocess.CalledProcessError as e:
        raise CacheError(f"qemu-img info {path.name} failed: {e.stderr.strip()}") from e
    except (subprocess.TimeoutExpired, ValueError) as e:
        raise CacheError(f"qemu-img info {path.name} failed: {e}") from e
    return info


class ImageCache:
    def __init__(self, root: pathlib.Path) -> None:
        self.root = root

    def path(self, image_id: str) -> pathlib.Path:
        if not image_id or "/" in image_id or image_id.startswith("."):
            raise CacheError(f"Invalid image id {image_id!r}.")
        return self.root / image_id

    def ids(self) -> frozenset[str]:
        """The ids of the images in the cache (complete files only)."""
        try:
            return frozenset(p.name for p in self.root.iterdir()
                             if not p.name.startswith(".") and p.is_file())
        except FileNotFoundError:
            return frozenset()

    def has(self, image_id: str) -> bool:
        return self.path(image_id).is_file()

    def virtual_size(self, image: contract.ImageRef) -> int:
        info = qemu_img_info(self.path(image["id"]), cache_format(image["disk_format"]))
        return int(info["virtual-size"])

    def ensure(self, image: contract.ImageRef, fetch: Fetch) -> pathlib.Path:
        """The cached file of ``image``, downloading it and its kernel and ramdisk when missing.

        Raises CacheError when a download fails or its data is not what the image claims.
        """
        for part in ("kernel", "ramdisk"):
            if part in image:
                self._ensure_one(image[part], fetch)
        return self._ensure_one(image, fetch)

    def remove(self, image_id: str) -> None:
        """Drop an image from the cache; only for images no root disk on the host is built on."""
        self.path(image_id).unlink(missing_ok=True)

    # -- internals -------------------------------------------------------------------------------
    def _ensure_one(self, image: contract.ImageRef, fetch: Fetch) -> pathlib.Path:
        final = self.path(image["id"])
        if final.is_file():
            return final
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock(image["id"]):
            if final.is_file():  # another thread or agent fetched it while we waited
                return final
            partial = self.root / f".{image['id']}.partial"
            try:
                self._download(image, partial, fetch)
                self._check_and_convert(image, partial)
                os.replace(partial, final)
            finally:
                partial.unlink(missing_ok=True)
                partial.with_suffix(".qcow2").unlink(missing_ok=True)
        return final

    @contextlib.contextmanager
    def _lock(self, image_id: str, timeout: float = 3600) -> Iterator[None]:
        locks = self.root / ".locks"
        locks.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(locks / image_id, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not flock.acquire(fd, timeout, poll=0.2):
                raise CacheError(f"Timed out waiting for the download of image {image_id} by "
                                 "another process.")
            yield
        finally:
            os.close(fd)

    def _download(self, image: contract.ImageRef, partial: pathlib.Path, fetch: Fetch) -> None:
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        with open(partial, "wb") as f, fetch(image["url"]) as chunks:
            for chunk in chunks:
                f.write(chunk)
                md5.update(chunk)
                size += len(chunk)
            f.flush()
            os.fsync(f.fileno())
        if image.get("size") is not None and size != image["size"]:
            raise CacheError(f"Image {image['id']} download was {size} bytes, "
                             f"expected {image['size']}.")
        if image.get("checksum") and md5.hexdigest() != image["checksum"]:
            raise CacheError(f"Image {image['id']} data does not match its checksum "
                             f"(got md5 {md5.hexdigest()}, expected {image['checksum']}).")

    def _check_and_convert(self, image: contract.ImageRef, partial: pathlib.Path) -> None:
        disk_format = image["disk_format"]
        if disk_format in _AS_GIVEN:
            return
        info = qemu_img_info(partial, untrusted=True)
        detected = info.get("format")
        expected = _QEMU_NAMES.get(disk_format)
        if expected is not None and detected != expected:
            raise CacheError(f"Image {image['id']} is declared {disk_format} but its data is "
                             f"{detected}.")
        # A backing or data file would let a guest read the host's files.
        specific = (info.get("format-specific") or {}).get("data") or {}
        if info.get("backing-filename") or specific.get("data-file"):
            raise CacheError(f"Image {image['id']} refers to other files; it is not used.")
        if cache_format(disk_format) == "qcow2" and detected != "qcow2":
            converted = partial.with_suffix(".qcow2")
            try:
                subprocess.run(["qemu-img", "convert", "-q", "-f", str(detected), "-O", "qcow2",
                                str(partial), str(converted)],
                               capture_output=True, text=True, check=True, timeout=3600)
            except subprocess.CalledProcessError as e:
                raise CacheError(f"Converting image {image['id']} from {detected} to qcow2 "
                                 f"failed: {e.stderr.strip()}") from e
            except subprocess.TimeoutExpired as e:
                raise CacheError(f"Converting image {image['id']} timed out.") from e
            os.replace(converted, partial)
