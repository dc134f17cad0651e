"""Hotplug planner: what a running server's devices lack or have too many of → whether a
hotplug job must change its NICs, its volumes, or neither.

Pure: plain data in, a ``Due`` out, no I/O, no clock of its own (``now`` is given). The compute
reconciler (``sausage.agent.compute``) asks it once per iteration for each running or paused
server it is not otherwise acting on, with what the hotplug memory (``sausage.agent.hotplug``)
and QEMU say; the job itself is ``Hotplug.sync``.

Rules:

- NICs are due when the taps QEMU was last known to have (None: not known since the agent
  started, so ask QEMU) differ from the desired ones, in order.
- Volumes are due only for a running guest (a paused one cannot release a disk: ACPI) whose QEMU
  answered which volumes it has, when that set differs from the desired one.
- After a failed attempt, the NICs or the volumes wait until their retry time has come.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

__all__ = ["Devices", "Due", "due"]


@dataclasses.dataclass(frozen=True)
class Devices:
    """What is known of one running or paused server's devices."""

    state: str  # "running" or "paused" (or "suspended")
    plugged: tuple[str, ...] | None = None  # the taps its QEMU has; None: not known
    attached: tuple[str, ...] | None = None  # the volumes its QEMU has; None: it did not say
    nic_retry_at: float | None = None  # after a failed NIC hotplug: not before then
    volume_retry_at: float | None = None  # after a failed volume attach or detach


@dataclasses.dataclass(frozen=True)
class Due:
    nics: bool = False
    volumes: bool = False

    def __bool__(self) -> bool:
        return self.nics or self.volumes


def due(taps: Sequence[str], volumes: Iterable[str], devices: Devices, now: float) -> Due:
    """Whether a hotplug job must make QEMU have the desired ``taps`` (in order) and
    ``volumes``."""
    nics = tuple(taps) != devices.plugged
    if devices.nic_retry_at is not None and devices.nic_retry_at > now:
        nics = False
    disks = False
    if devices.state == "running" and devices.attached is not None \
            and (devices.volume_retry_at is None or devices.volume_retry_at <= now):
        disks = set(devices.attached) != set(volumes)
    return Due(nics=nics, volumes=disks)
