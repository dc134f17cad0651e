"""Root disks of servers: qcow2 overlays on the base image cache, grown, and copied out.

Called by the QEMU driver (``drivers/qemu.py``), which holds the server's lock and knows
whether its QEMU runs; these functions only do the disk work, with ``qemu-img`` or, for a
running server, QEMU's own block job. Partial files never take the final name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import subprocess
import time
from collections.abc import Sequence

from sausage.agent.drivers import images, qmp
from sausage.agent.drivers.errors import DriverError

__all__ = ["create_overlay", "grow", "copy_stopped", "copy_running"]

log = logging.getLogger(__name__)


def create_overlay(disk: pathlib.Path, base: pathlib.Path, base_format: str,
                   root_gb: int) -> int:
    """Create ``disk`` as a qcow2 overlay on ``base``: ``root_gb`` GiB when that is larger than
    the image (0: the image's size). Returns the virtual size in bytes.

    Raises DriverError when the image is larger than ``root_gb`` or qemu-img fails.
    """
    virtual = int(images.qemu_img_info(base, base_format)["virtual-size"])
    size = root_gb * images.GiB
    if root_gb and size < virtual:
        raise DriverError(f"The image is {virtual / images.GiB:.1f} GiB, larger than the "
                          f"flavor's {root_gb} GiB root disk.")
    partial = disk.with_name(f".{disk.name}.partial")
    args = ["qemu-img", "create", "-q", "-f", "qcow2", "-F", base_format, "-b", str(base),
            str(partial)]
    if size > virtual:
        args.append(str(size))
    try:
        run(args, timeout=60)
        os.replace(partial, disk)
    finally:
        partial.unlink(missing_ok=True)
    return max(size, virtual)


def grow(disk: pathlib.Path, root_gb: int) -> bool:
    """Grow ``disk`` (not in use) to ``root_gb`` GiB; never shrinks. True if it grew."""
    virtual = int(images.qemu_img_info(disk, "qcow2")["virtual-size"])
    if root_gb * images.GiB <= virtual:
        return False
    run(["qemu-img", "resize", "-q", "-f", "qcow2", str(disk), str(root_gb * images.GiB)],
        timeout=60)
    return True


def copy_stopped(disk: pathlib.Path, target: pathlib.Path, timeout: float) -> None:
    """Flatten ``disk`` (not in use) with its backing chain into a standalone qcow2 ``target``."""
    run(["qemu-img", "convert", "-q", "-f", "qcow2", "-O", "qcow2", str(disk), str(target)],
        timeout=timeout)


def copy_running(sock: pathlib.Path, target: pathlib.Path, timeout: float,
                 device: str = "root", fmt: str = "qcow2") -> None:
    """The same for a disk a running QEMU uses (drive ``root``, or a volume's node), through
    QMP ``drive-backup``: a point-in-time copy (copy-before-write) while the guest runs on,
    paused or not, written as ``fmt``."""
    job = f"snap-{time.monotonic_ns()}"
    qmp.execute(sock, "drive-backup", {"job-id": job, "device": device, "sync": "full",
                                       "target": str(target), "format": fmt,
                                       "mode": "absolute-paths", "auto-dismiss": False})
    deadline = time.monotonic() + timeout
    try:
        while True:
            current = {j["id"]: j for j in qmp.execute(sock, "query-jobs")}.get(job)
            if current is None:
                raise DriverError("The snapshot job vanished.")
            if current["status"] == "concluded":
                if current.get("error"):
                    raise DriverError(f"The snapshot failed: {current['error']}")
                return
            if time.monotonic() > deadline:
                qmp.execute(sock, "job-cancel", {"id": job})
                raise DriverError(f"The snapshot did not finish within {timeout:.0f} s.")
            time.sleep(0.1)
    finally:
        with contextlib.suppress(DriverError):
            qmp.execute(sock, "job-dismiss", {"id": job})


def run(args: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a host command; DriverError with its stderr (code: exit status) when it fails."""
    try:
        return subprocess.run(list(args), capture_output=True, text=True, check=True,
                              timeout=timeout)
    except subprocess.CalledProcessError as e:
        raise DriverError(f"{args[0]} {args[1]} failed: {(e.stderr or e.stdout).strip()}",
                          code=e.returncode) from e
    except subprocess.TimeoutExpired as e:
        raise DriverError(f"{args[0]} {args[1]} did not finish within {timeout:.0f} s") from e
    except OSError as e:
        raise DriverError(f"{args[0]} could not run: {e}") from e
