"""Desired and observed state of one host, as JSON documents (version 1).

Flow: the agent registers (``Registration``) and receives its host id; then, in a loop, it GETs
``/internal/v1/hosts/{host_id}/desired?after=<revision>`` (long-poll: the API answers when the
revision is newer than ``after``, or after ~25 s with the same document; an optional
``&wait=<seconds>`` asks for that shorter wait, the agent's resync period), observes the host,
plans, acts, and POSTs an ``Observed`` report to ``/internal/v1/hosts/{host_id}/observed``
(also its heartbeat). Requests carry ``X-Sausage-Host-Token`` (the per-host credential).

Counters (``reboot_seq``, ``rebuild_seq`` …) are how one-shot operations are expressed in a
declarative document: the API bumps the counter, the agent performs the operation once when the
counter is higher than the one it last applied, and reports the applied counter back.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

__all__ = [
    "VERSION", "Power", "Registration", "RegistrationReply", "ImageRef", "Snapshot",
    "DesiredServer", "Desired", "ObservedServer", "Observed", "VmState",
]

VERSION = 1

Power = Literal["running", "stopped", "paused", "suspended"]
VmState = Literal["building", "running", "stopped", "paused", "suspended", "error", "absent"]


class Registration(TypedDict):
    name: str  # host name, unique in the cloud
    vcpus: int
    memory_mb: int
    disk_gb: int
    virt_type: Literal["kvm", "tcg"]
    availability_zone: NotRequired[str]


class RegistrationReply(TypedDict):
    host_id: str
    token: str  # the per-host credential; the agent keeps it in its state dir (0600)


class ImageRef(TypedDict):
    id: str
    disk_format: str  # "qcow2" | "raw" | ...
    checksum: str | None  # md5 of the data, to verify the cached copy
    size: int | None
    url: str  # GET with X-Sausage-Host-Token streams the data (internal API)
    kernel: NotRequired["ImageRef"]  # kernel/ramdisk images (properties kernel_id/ramdisk_id)
    ramdisk: NotRequired["ImageRef"]
    cmdline: NotRequired[str]


class Snapshot(TypedDict):
    """A createImage request: write the root disk's current content to ``upload_url``."""

    seq: int
    image_id: str
    upload_url: str  # PUT application/octet-stream, qcow2, with X-Sausage-Host-Token


class DesiredServer(TypedDict):
    id: str  # instance UUID, also the SMBIOS UUID
    name: str
    hostname: str
    power: Power
    # bump → bring the VM to ``power`` once. A VM that stops by itself (crash, guest poweroff)
    # stays stopped until power_seq moves on: the API then shows it SHUTOFF, as Nova does.
    power_seq: int
    vcpus: int
    memory_mb: int
    root_gb: int  # 0: the image's virtual size
    image: ImageRef
    reboot_seq: int  # bump → reboot once; kind in reboot_kind
    reboot_kind: Literal["soft", "hard"]
    rebuild_seq: int  # bump → recreate the root disk from ``image`` (data lost), keep the id
    resize_seq: int  # bump → restart with the new vcpus/memory_mb/root_gb (disk grows only)
    snapshots: list[Snapshot]


class Desired(TypedDict):
    version: int
    host_id: str
    revision: int
    servers: list[DesiredServer]  # servers not listed must not exist on the host


class ObservedServer(TypedDict):
    id: str
    state: VmState
    pid: NotRequired[int]
    vcpus: NotRequired[int]
    memory_mb: NotRequired[int]
    error: NotRequired[str]  # with state "error": what the user should read as the fault
    power_seq: int  # the last applied counters
    reboot_seq: int
    rebuild_seq: int
    resize_seq: int
    snapshots_done: list[int]  # seqs of snapshots uploaded (or failed, see snapshot_errors)
    snapshot_errors: NotRequired[dict[str, str]]  # str(seq) → message
    console_tail: NotRequired[str]  # the last 64 KiB of the serial log, when it changed
    ready: NotRequired[bool]  # the guest printed its ready marker (test image) — informational
    # The agent is acting on this server right now (actions planned or in flight): a transient
    # state, such as stopped in the middle of a hard reboot, is not news.
    busy: NotRequired[bool]


class Observed(TypedDict):
    version: int
    host_id: str
    revision_seen: int
    vcpus: int
    memory_mb: int
    disk_gb: int
    servers: list[ObservedServer]
