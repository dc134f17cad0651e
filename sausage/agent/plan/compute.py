"""Compute planner: (desired servers, what the host has) → the actions that converge them.

Pure: plain data in, a list of frozen action records out, no I/O. The agent loop
(``sausage.agent.loop``) builds the ``Host`` view with ``sausage.agent.observe``, calls ``plan``,
and executes the actions, in order per server, through the QEMU driver.

Rules the planner encodes:

- A server that is not desired is destroyed (process, disk, sockets, logs).
- A server without a root disk is built: base image into the cache, overlay, then brought to
  the desired power. A new server has no one-shot operations to catch up on: its disk records
  the desired reboot, rebuild and resize counters.
- A server booted from a volume (``image`` None) has no disk of its own and never fetches an
  image: it waits (no actions) until its root volume is on the host, is then recorded as built
  on it (``CreateFromVolume``) and started. A rebuild or resize only restarts it (the volume is
  not the instance's to recreate or grow).
- One-shot operations run once when the desired counter is higher than the applied one, in the
  order snapshots → rebuild → resize → reboot → power.
- The power state is acted on only when ``power_seq`` moves on. A server that stopped by itself
  (crash, guest poweroff) stays stopped until then; the API shows it SHUTOFF, as Nova does.
  A rebuild or resize puts the server back in the state it had; a reboot leaves it running.
- A server in error is left alone except for snapshots and what recovers it: a reboot, a
  rebuild, or a new power request. A failed action consumes the requests it was part of
  (``consumed``), as a failed operation does in Nova: the agent does not retry it in a loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal, TypeAlias

from sausage.contract import host as contract

__all__ = [
    "HostState", "Instance", "Host", "Action", "plan", "consumed",
    "EnsureBaseImage", "CreateDisk", "Start", "Stop", "Kill", "Reboot", "RecordReboot",
    "Pause", "Resume", "Suspend", "ResumeSuspended", "Rebuild", "Resize", "Snapshot",
    "Destroy", "ClearError", "RecordPower", "CreateFromVolume", "RecordRebuild",
    "RecordResize", "root_volume", "waiting_for_volume",
]

HostState = Literal["running", "paused", "suspended", "stopped"]


@dataclasses.dataclass(frozen=True)
class Instance:
    """What the host has for one server."""

    id: str
    state: HostState
    has_disk: bool = True  # the root disk exists (booted from a volume: it was recorded)
    image_id: str | None = None  # the base image of the root disk
    power_seq: int = 0  # the applied counters
    reboot_seq: int = 0
    rebuild_seq: int = 0
    resize_seq: int = 0
    snapshots_done: frozenset[int] = frozenset()
    error: str | None = None  # a failed action's message; sticky until something recovers it


@dataclasses.dataclass(frozen=True)
class Host:
    instances: tuple[Instance, ...] = ()
    images: frozenset[str] = frozenset()  # ids in the base image cache
    volumes: frozenset[str] = frozenset()  # ids of the volumes whose data is on this host


# -- actions ---------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class EnsureBaseImage:
    """Download the image (and its kernel and ramdisk) into the host's cache unless it is there."""

    server_id: str
    image: contract.ImageRef


@dataclasses.dataclass(frozen=True)
class CreateDisk:
    """Create the root overlay on the cached base; record the counters as already applied."""

    server_id: str
    image: contract.ImageRef
    root_gb: int
    reboot_seq: int
    rebuild_seq: int
    resize_seq: int


@dataclasses.dataclass(frozen=True)
class CreateFromVolume:
    """Record a server booted from ``volume_id`` as built (it has no disk of its own); record
    the counters as already applied."""

    server_id: str
    volume_id: str
    reboot_seq: int
    rebuild_seq: int
    resize_seq: int


@dataclasses.dataclass(frozen=True)
class Start:
    server_id: str
    name: str
    vcpus: int
    memory_mb: int
    image: contract.ImageRef | None  # for kernel/ramdisk boot; None: boot from volume


@dataclasses.dataclass(frozen=True)
class Stop:
    """Power off: ACPI powerdown and wait when graceful, then quit, then SIGKILL."""

    server_id: str
    graceful: bool = True


@dataclasses.dataclass(frozen=True)
class Kill:
    """SIGKILL the process (a paused or suspended guest cannot shut itself down)."""

    server_id: str


@dataclasses.dataclass(frozen=True)
class Reboot:
    server_id: str
    kind: Literal["soft", "hard"]
    seq: int
    start: Start  # how to start it again


@dataclasses.dataclass(frozen=True)
class RecordReboot:
    """Mark a reboot as applied without acting: the server was stopped, or restarted anyway."""

    server_id: str
    seq: int


@dataclasses.dataclass(frozen=True)
class RecordRebuild:
    """A rebuild of a server booted from a volume: applied by the restart alone."""

    server_id: str
    seq: int


@dataclasses.dataclass(frozen=True)
class RecordResize:
    """A resize of a server booted from a volume: the next Start brings the new vCPUs/RAM."""

    server_id: str
    seq: int


@dataclasses.dataclass(frozen=True)
class RecordPower:
    """Mark the power request as applied (after the actions that brought the server to it)."""

    server_id: str
    seq: int


@dataclasses.dataclass(frozen=True)
class Pause:
    server_id: str


@dataclasses.dataclass(frozen=True)
class Resume:
    """Unpause."""

    server_id: str


@dataclasses.dataclass(frozen=True)
class Suspend:
    server_id: str


@dataclasses.dataclass(frozen=True)
class ResumeSuspended:
    server_id: str


@dataclasses.dataclass(frozen=True)
class Rebuild:
    """Recreate the root disk of a stopped server from ``image`` (its data is lost)."""

    server_id: str
    image: contract.ImageRef
    root_gb: int
    seq: int


@dataclasses.dataclass(frozen=True)
class Resize:
    """Grow the root disk of a stopped server to ``root_gb``; the next Start brings the new size."""

    server_id: str
    root_gb: int
    seq: int


@dataclasses.dataclass(frozen=True)
class Snapshot:
    server_id: str
    seq: int
    image_id: str
    upload_url: str


@dataclasses.dataclass(frozen=True)
class Destroy:
    """Remove everything of the server: process, overlay, sockets, logs."""

    server_id: str


@dataclasses.dataclass(frozen=True)
class ClearError:
    server_id: str


Action: TypeAlias = (
    EnsureBaseImage | CreateDisk | Start | Stop | Kill | Reboot | RecordReboot | RecordPower
    | Pause | Resume | Suspend | ResumeSuspended | Rebuild | Resize | Snapshot | Destroy
    | ClearError | CreateFromVolume | RecordRebuild | RecordResize
)


# -- planning --------------------------------------------------------------------------------------

def plan(desired: contract.Desired | Sequence[contract.DesiredServer], host: Host) -> list[Action]:
    """The actions that turn ``host`` into ``desired``: destroys first, then per desired server."""
    servers = desired["servers"] if isinstance(desired, dict) else desired
    wanted = {server["id"] for server in servers}
    actions: list[Action] = [Destroy(i.id) for i in host.instances if i.id not in wanted]
    have = {i.id: i for i in host.instances}
    for server in servers:
        actions += _plan_server(server, have.get(server["id"]), host.images, host.volumes)
    return actions


def root_volume(d: contract.DesiredServer) -> str | None:
    """The volume a server boots from: its boot_index-0 volume, else its first; None when it
    boots from its image (or lists no volume)."""
    if d["image"] is not None:
        return None
    volumes = d.get("volumes", [])
    root = next((v for v in volumes if v["boot_index"] == 0), volumes[0] if volumes else None)
    return root["volume_id"] if root is not None else None


def waiting_for_volume(d: contract.DesiredServer, i: Instance | None,
                       volumes: frozenset[str]) -> bool:
    """A server booted from a volume that is not built yet waits for its root volume to be on
    the host (being made from its image, say)."""
    if d["image"] is not None or (i is not None and i.has_disk):
        return False
    root = root_volume(d)
    return root is None or root not in volumes


def _plan_server(d: contract.DesiredServer, i: Instance | None,
                 cache: frozenset[str], volumes: frozenset[str]) -> list[Action]:
    sid = d["id"]
    images = set(cache)  # grows as this plan fetches, so an image is fetched once
    if i is not None and i.error and not _recovers(d, i):
        return _snapshots(d, i)
    if waiting_for_volume(d, i, volumes):
        return []
    actions: list[Action] = [ClearError(sid)] if i is not None and i.error else []
    if i is None or not i.has_disk:
        # A new server, or one whose disk creation failed before: build it, bring it to power.
        if i is not None:
            actions += _to_stopped(sid, i.state)
        image = d["image"]
        if image is None:
            actions.append(CreateFromVolume(sid, root_volume(d) or "", d["reboot_seq"],
                                            d["rebuild_seq"], d["resize_seq"]))
        else:
            actions += _ensure_image(d, images)
            actions.append(CreateDisk(sid, image, d["root_gb"], d["reboot_seq"],
                                      d["rebuild_seq"], d["resize_seq"]))
        actions += _snapshots(d, None)
        actions += _power(d, "stopped", d["power"], images)
        return actions + [RecordPower(sid, d["power_seq"])]

    actions += _snapshots(d, i)
    state = keep = i.state  # keep: the state to return to after a rebuild or resize
    restarted = False
    if d["rebuild_seq"] > i.rebuild_seq:
        actions += _to_stopped(sid, state)
        image = d["image"]
        if image is None:
            actions.append(RecordRebuild(sid, d["rebuild_seq"]))
        else:
            actions += _ensure_image(d, images)
            actions.append(Rebuild(sid, image, d["root_gb"], d["rebuild_seq"]))
        state, restarted = "stopped", True
    if d["resize_seq"] > i.resize_seq:
        actions += _to_stopped(sid, state)
        if d["image"] is None:
            actions.append(RecordResize(sid, d["resize_seq"]))
        else:
            actions.append(Resize(sid, d["root_gb"], d["resize_seq"]))
        state, restarted = "stopped", True
    if d["reboot_seq"] > i.reboot_seq:
        if restarted or state == "stopped":
            # Nothing runs to reboot: a reboot that should start it comes with a power request.
            actions.append(RecordReboot(sid, d["reboot_seq"]))
        else:
            # A paused or suspended guest cannot take an ACPI request: reboot it hard.
            kind = d["reboot_kind"] if state == "running" else "hard"
            actions.append(Reboot(sid, kind, d["reboot_seq"], _start(d)))
            state = keep = "running"
    if d["power_seq"] > i.power_seq:
        actions += _power(d, state, d["power"], images)
        actions.append(RecordPower(sid, d["power_seq"]))
    else:
        actions += _power(d, state, keep, images)
    return actions


def consumed(actions: Sequence[Action]) -> dict[str, int]:
    """The applied counters to record when ``actions`` (the rest of a server's list, from the
    one that failed) cannot be carried out: each request among them counts as handled."""
    seqs: dict[str, int] = {}
    for action in actions:
        match action:
            case CreateDisk() | CreateFromVolume():
                seqs.update(reboot_seq=action.reboot_seq, rebuild_seq=action.rebuild_seq,
                            resize_seq=action.resize_seq)
            case Rebuild(seq=seq) | RecordRebuild(seq=seq):
                seqs["rebuild_seq"] = seq
            case Resize(seq=seq) | RecordResize(seq=seq):
                seqs["resize_seq"] = seq
            case Reboot(seq=seq) | RecordReboot(seq=seq):
                seqs["reboot_seq"] = seq
            case RecordPower(seq=seq):
                seqs["power_seq"] = seq
    return seqs


def _recovers(d: contract.DesiredServer, i: Instance) -> bool:
    return (d["rebuild_seq"] > i.rebuild_seq or d["reboot_seq"] > i.reboot_seq
            or d["power_seq"] > i.power_seq)


def _snapshots(d: contract.DesiredServer, i: Instance | None) -> list[Action]:
    done = i.snapshots_done if i is not None else frozenset()
    return [Snapshot(d["id"], s["seq"], s["image_id"], s["upload_url"])
            for s in sorted(d["snapshots"], key=lambda s: s["seq"]) if s["seq"] not in done]


def _start(d: contract.DesiredServer) -> Start:
    return Start(d["id"], d["name"], d["vcpus"], d["memory_mb"], d["image"])


def _ensure_image(d: contract.DesiredServer, images: set[str]) -> list[Action]:
    image = d["image"]
    if image is None:
        return []
    needed = {image["id"]} | {image[part]["id"] for part in ("kernel", "ramdisk") if part in image}
    if needed <= images:
        return []
    images |= needed
    return [EnsureBaseImage(d["id"], image)]


def _to_stopped(sid: str, state: HostState) -> list[Action]:
    if state == "running":
        return [Stop(sid, graceful=True)]
    if state in ("paused", "suspended"):
        return [Kill(sid)]
    return []


def _power(d: contract.DesiredServer, state: HostState, target: HostState,
           images: set[str]) -> list[Action]:
    sid = d["id"]
    if state == target:
        return []
    if state == "stopped":
        actions: list[Action] = [*_ensure_image(d, images), _start(d)]
        if target == "paused":
            actions.append(Pause(sid))
        elif target == "suspended":
            actions.append(Suspend(sid))
        return actions
    if target == "stopped":
        return _to_stopped(sid, state)
    if target == "running":
        return [Resume(sid)] if state == "paused" else [ResumeSuspended(sid)]
    if target == "paused":
        return [Pause(sid)]
    return [Suspend(sid)]
