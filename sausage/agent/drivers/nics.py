"""NIC hotplug on a running VM over QMP: an interface attach or detach in the API.

Called by the agent loop (``sausage.agent.loop``) under the server's lock when the desired
NICs of a running server differ from those QEMU has. A NIC is a ``tap`` netdev ``hn-<tap>``
plus a ``virtio-net-pci`` device ``nic-<tap>`` (the same ids ``qemu.Nic`` uses at boot), so
what QEMU has is read back from its peripheral list. Raises ``DriverError`` (QMP's error
class as the code).
"""

from __future__ import annotations

import pathlib
import time

from sausage.agent.drivers import qemu, qmp
from sausage.agent.drivers.errors import DriverError

__all__ = ["attached", "plug", "unplug", "sync"]

_DEVICE = "nic-"


def attached(sock: pathlib.Path) -> list[str]:
    """The taps of the NICs QEMU has now."""
    entries = qmp.execute(sock, "qom-list", {"path": "/machine/peripheral"}, timeout=5)
    return sorted(str(e["name"])[len(_DEVICE):] for e in entries
                  if str(e.get("name", "")).startswith(_DEVICE))


def plug(sock: pathlib.Path, nic: qemu.Nic) -> None:
    qmp.execute(sock, "netdev_add", {"type": "tap", "id": f"hn-{nic.tap}", "ifname": nic.tap,
                                     "script": "no", "downscript": "no"})
    try:
        qmp.execute(sock, "device_add", {"driver": "virtio-net-pci", "id": _DEVICE + nic.tap,
                                         "netdev": f"hn-{nic.tap}", "mac": nic.mac,
                                         "host_mtu": nic.mtu})
    except DriverError:
        qmp.execute(sock, "netdev_del", {"id": f"hn-{nic.tap}"})
        raise


def unplug(sock: pathlib.Path, tap: str, timeout: float = 30) -> None:
    """Ask the guest to release the NIC (ACPI), wait until it has, then drop the backend."""
    if tap in attached(sock):
        try:
            qmp.execute(sock, "device_del", {"id": _DEVICE + tap})
        except qmp.QmpError as e:
            if e.code != "DeviceNotFound":
                raise
        deadline = time.monotonic() + timeout
        while tap in attached(sock):
            if time.monotonic() > deadline:
                raise DriverError(f"The guest did not release the NIC on {tap} within "
                                  f"{timeout:.0f} s.")
            time.sleep(0.2)
    try:
        qmp.execute(sock, "netdev_del", {"id": f"hn-{tap}"})
    except qmp.QmpError as e:
        if e.code != "DeviceNotFound":
            raise


def sync(sock: pathlib.Path, wanted: tuple[qemu.Nic, ...]) -> tuple[list[str], list[str]]:
    """Unplug the NICs not wanted, plug the missing ones; returns (plugged, unplugged) taps."""
    have = set(attached(sock))
    taps = {nic.tap for nic in wanted}
    gone = sorted(have - taps)
    for tap in gone:
        unplug(sock, tap)
    new = [nic for nic in wanted if nic.tap not in have]
    for nic in new:
        plug(sock, nic)
    return [nic.tap for nic in new], gone
