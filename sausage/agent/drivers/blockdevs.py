"""Volume hotplug on a running VM over QMP: a volume attach, detach or live extend in the API.

Called by the agent loop (``sausage.agent.loop``) under the server's lock when the desired
volumes of a running server differ from those QEMU has, and when a volume in use grows. A
volume is a protocol node and a format node (``blockdev-add``) plus a ``virtio-blk-pci``
device "vol-<volume id>" — the ids a ``Disk`` also gives QEMU's command line at boot
(``qemu.Boot.volumes``) — so what QEMU has is read back from its peripheral list. Raises ``DriverError`` (QMP's error class as the code).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import time
from collections.abc import Mapping
from typing import Any

from sausage.agent.drivers import qmp
from sausage.agent.drivers.errors import DriverError

__all__ = ["Disk", "attached", "nodes", "plug", "unplug", "resize", "sync"]

_DEVICE = "vol-"


@dataclasses.dataclass(frozen=True)
class Disk:
    """One volume as a virtio disk: a protocol node (``protocol``: QMP ``blockdev-add``
    arguments without node-name, e.g. ``{"driver": "file", "filename": ...}``) under a
    ``format`` node, and a ``virtio-blk-pci`` device. The ids follow the contract
    (``sausage.contract.host``): format node "vn" + id hex[:20], protocol node "vf" + the same,
    device "vol-<volume id>", so boot-time and hot-plugged volumes look alike."""

    volume_id: str
    protocol: Mapping[str, Any]
    format: str = "qcow2"
    read_only: bool = False
    serial: str = ""  # default: volume id[:20]
    boot_index: int | None = None  # 0: the root disk of a server booted from this volume

    def __post_init__(self) -> None:
        if not self.volume_id or any(c in self.volume_id for c in ",=/ "):
            raise DriverError(f"Invalid volume id {self.volume_id!r}.")
        if any(c in self.serial for c in ",="):
            raise DriverError(f"Invalid disk serial {self.serial!r}.")

    @property
    def node(self) -> str:
        return "vn" + self.volume_id.replace("-", "")[:20]

    @property
    def protocol_node(self) -> str:
        return "vf" + self.volume_id.replace("-", "")[:20]

    @property
    def device(self) -> str:
        return "vol-" + self.volume_id

    def blockdevs(self) -> list[dict[str, Any]]:
        """The ``blockdev-add`` arguments: the protocol node first, then the format node."""
        protocol = {**self.protocol, "node-name": self.protocol_node,
                    "read-only": self.read_only}
        fmt = {"driver": self.format, "node-name": self.node, "file": self.protocol_node,
               "read-only": self.read_only}
        if not self.read_only:
            fmt["discard"] = "unmap"
        return [protocol, fmt]

    def device_args(self) -> dict[str, Any]:
        """The ``device_add`` arguments."""
        args: dict[str, Any] = {"driver": "virtio-blk-pci", "id": self.device,
                                "drive": self.node,
                                "serial": self.serial or self.volume_id[:20]}
        if self.boot_index is not None:
            args["bootindex"] = self.boot_index
        return args

    def args(self) -> list[str]:
        """The same on QEMU's command line."""
        device = self.device_args()
        options = ",".join(f"{k}={v}" for k, v in device.items() if k != "driver")
        return [*(a for spec in self.blockdevs() for a in ("-blockdev", json.dumps(spec))),
                "-device", f"{device['driver']},{options}"]


def attached(sock: pathlib.Path) -> list[str]:
    """The volume ids of the disks QEMU has now (sorted)."""
    entries = qmp.execute(sock, "qom-list", {"path": "/machine/peripheral"}, timeout=5)
    return sorted(str(e["name"])[len(_DEVICE):] for e in entries
                  if str(e.get("name", "")).startswith(_DEVICE))


def nodes(sock: pathlib.Path) -> set[str]:
    """The names of QEMU's named block nodes."""
    entries = qmp.execute(sock, "query-named-block-nodes", {"flat": True}, timeout=5)
    return {str(e["node-name"]) for e in entries if e.get("node-name")}


def plug(sock: pathlib.Path, disk: Disk) -> None:
    """Add the volume's nodes and its device; on failure nothing of it is left."""
    _drop_nodes(sock, disk)  # left over by an unplug the guest never finished
    added: list[str] = []
    try:
        for spec in disk.blockdevs():
            qmp.execute(sock, "blockdev-add", spec)
            added.append(str(spec["node-name"]))
        qmp.execute(sock, "device_add", disk.device_args())
    except DriverError:
        for node in reversed(added):
            try:
                qmp.execute(sock, "blockdev-del", {"node-name": node})
            except DriverError:
                pass
        raise


def unplug(sock: pathlib.Path, volume_id: str, timeout: float = 30) -> None:
    """Ask the guest to release the disk (ACPI), wait until it has, then drop its nodes. The
    volume's data is untouched."""
    disk = Disk(volume_id, {})
    if volume_id in attached(sock):
        try:
            qmp.execute(sock, "device_del", {"id": disk.device})
        except qmp.QmpError as e:
            # Gone meanwhile, or a request from an earlier try still pending: wait as well.
            if e.code != "DeviceNotFound" and "in progress" not in e.message \
                    and "in the process" not in e.message:
                raise
        deadline = time.monotonic() + timeout
        while volume_id in attached(sock):
            if time.monotonic() > deadline:
                raise DriverError(f"The guest did not release volume {volume_id} within "
                                  f"{timeout:.0f} s.")
            time.sleep(0.2)
    _drop_nodes(sock, disk)


def resize(sock: pathlib.Path, volume_id: str, size_bytes: int) -> None:
    """Grow the attached volume to ``size_bytes`` live (QEMU grows the file; the guest is told
    the new capacity)."""
    qmp.execute(sock, "block_resize", {"node-name": Disk(volume_id, {}).node,
                                       "size": size_bytes}, timeout=60)


def sync(sock: pathlib.Path, wanted: tuple[Disk, ...],
         errors: dict[str, str] | None = None,
         timeout: float = 30) -> tuple[list[str], list[str]]:
    """Unplug the volumes not wanted, plug the missing ones in order; returns (plugged,
    unplugged) volume ids. With ``errors``, a volume that fails is recorded there (volume id →
    message) and the others carry on; without, the first failure is raised."""
    have = set(attached(sock))
    ids = {disk.volume_id for disk in wanted}
    plugged: list[str] = []
    unplugged: list[str] = []
    for volume_id in sorted(have - ids):
        try:
            unplug(sock, volume_id, timeout)
            unplugged.append(volume_id)
        except DriverError as e:
            if errors is None:
                raise
            errors[volume_id] = e.message
    for disk in wanted:
        if disk.volume_id in have:
            continue
        try:
            plug(sock, disk)
            plugged.append(disk.volume_id)
        except DriverError as e:
            if errors is None:
                raise
            errors[disk.volume_id] = e.message
    return plugged, unplugged


def _drop_nodes(sock: pathlib.Path, disk: Disk, timeout: float = 10) -> None:
    """Delete the volume's nodes. The device that used them lets go a moment after it left
    the peripheral list: "in use" is waited out."""
    present = nodes(sock)
    deadline = time.monotonic() + timeout
    for node in (disk.node, disk.protocol_node):
        while node in present:
            try:
                qmp.execute(sock, "blockdev-del", {"node-name": node})
                break
            except qmp.QmpError as e:
                if "in use" not in e.message or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
