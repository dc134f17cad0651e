"""Volume planner: (desired volumes, what the backend holds) → the actions that converge them.

Pure: plain data in, frozen action records out, no I/O. The volume reconciler
(``sausage.agent.volumes``) observes the backend (``drivers/storage.py``), calls ``plan``, and
runs each action as a job on a worker thread. Every action names the ids it works on (``keys``:
the volume it makes or changes, and the volume or snapshot it reads); an action is planned only
when none of them is busy with a job or claimed by an action planned before it in the same pass,
so a volume has one job at a time and a copy never reads something that is changing.

Rules (the contract's block storage section):

- A desired volume that does not exist is made once from its source. A copy of a volume or of
  a snapshot waits until the source exists; it fails (``Fail``) when the source will never
  exist (not on this host, or its own making failed). A creation that failed is not retried
  while the volume is still listed: the API moves it to ``error`` and stops listing it.
- A volume smaller than its desired size is grown (never shrunk); a failed grow to a size is not
  retried for that size.
- The snapshots a volume lists are copied from it once; upload requests run once per seq.
- A volume or snapshot that is not listed is deleted, unless a listed volume still waiting to be
  made reads from it; a half-made volume nobody works on counts as not made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Literal, TypeAlias

from sausage.contract import host as contract

__all__ = ["Observation", "Create", "Extend", "Snapshot", "DeleteSnapshot", "Upload", "Delete",
           "Fail", "Action", "plan", "GiB"]

GiB = 1 << 30


@dataclasses.dataclass(frozen=True)
class Observation:
    """What the backend holds, and what the reconciler knows about its jobs."""

    volumes: Mapping[str, int] = dataclasses.field(default_factory=dict)  # complete: id → bytes
    incomplete: frozenset[str] = frozenset()  # half-made volumes
    snapshots: frozenset[str] = frozenset()  # complete snapshots
    uploads_done: Mapping[str, frozenset[int]] = dataclasses.field(default_factory=dict)
    busy: frozenset[str] = frozenset()  # volume and snapshot ids a running job works on
    failed_creates: frozenset[str] = frozenset()
    failed_extends: Mapping[str, int] = dataclasses.field(default_factory=dict)  # id → bytes
    failed_snapshots: frozenset[str] = frozenset()


# -- actions ----------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Create:
    volume_id: str
    source: contract.VolumeSource
    size_bytes: int

    @property
    def keys(self) -> frozenset[str]:
        source = self.source.get("id")
        return frozenset({self.volume_id, source} if source else {self.volume_id})


@dataclasses.dataclass(frozen=True)
class Extend:
    volume_id: str
    size_bytes: int

    @property
    def keys(self) -> frozenset[str]:
        return frozenset({self.volume_id})


@dataclasses.dataclass(frozen=True)
class Snapshot:
    volume_id: str
    snapshot_id: str

    @property
    def keys(self) -> frozenset[str]:
        return frozenset({self.volume_id, self.snapshot_id})


@dataclasses.dataclass(frozen=True)
class DeleteSnapshot:
    snapshot_id: str

    @property
    def keys(self) -> frozenset[str]:
        return frozenset({self.snapshot_id})


@dataclasses.dataclass(frozen=True)
class Upload:
    volume_id: str
    seq: int
    image_id: str
    disk_format: Literal["qcow2", "raw"]
    url: str

    @property
    def keys(self) -> frozenset[str]:
        return frozenset({self.volume_id})


@dataclasses.dataclass(frozen=True)
class Delete:
    """Remove a volume that is not listed, or what a creation left half-made."""

    volume_id: str

    @property
    def keys(self) -> frozenset[str]:
        return frozenset({self.volume_id})


@dataclasses.dataclass(frozen=True)
class Fail:
    """A volume cannot be made: its source will never be on this host. No job: the reconciler
    records ``message`` as the volume's error."""

    volume_id: str
    message: str

    @property
    def keys(self) -> frozenset[str]:
        return frozenset()


Action: TypeAlias = Create | Extend | Snapshot | DeleteSnapshot | Upload | Delete | Fail


def plan(desired: Sequence[contract.DesiredVolume], seen: Observation) -> list[Action]:
    """The actions that bring the backend closer to ``desired``, in the order to start them:
    creations (sources before their copies), then changes, then deletions."""
    wanted = {v["id"]: v for v in desired}
    listed_snapshots = {s: v["id"] for v in desired for s in v["snapshots"]}
    missing = [v for v in desired if v["id"] not in seen.volumes]
    # what volumes still to be made read from: keep it until they are made
    pending_sources = {v["source"]["id"] for v in missing
                       if v["source"]["type"] in ("volume", "snapshot") and "id" in v["source"]
                       and v["id"] not in seen.failed_creates}

    candidates: list[Action] = []
    for v in missing:
        if v["id"] in seen.failed_creates:
            continue
        if (create := _create(v, wanted, listed_snapshots, seen)) is not None:
            candidates.append(create)
    for v in desired:
        if v["id"] not in seen.volumes:
            continue
        want = v["size_gb"] * GiB
        if seen.volumes[v["id"]] < want and seen.failed_extends.get(v["id"]) != want:
            candidates.append(Extend(v["id"], want))
        for snapshot_id in v["snapshots"]:
            if snapshot_id not in seen.snapshots and snapshot_id not in seen.failed_snapshots:
                candidates.append(Snapshot(v["id"], snapshot_id))
        done = seen.uploads_done.get(v["id"], frozenset())
        for u in v["uploads"]:
            if u["seq"] not in done:
                candidates.append(Upload(v["id"], u["seq"], u["image_id"], u["disk_format"],
                                         u["upload_url"]))
    for snapshot_id in sorted(seen.snapshots):
        if snapshot_id not in listed_snapshots and snapshot_id not in pending_sources:
            candidates.append(DeleteSnapshot(snapshot_id))
    for volume_id in sorted(set(seen.volumes) | seen.incomplete):
        if volume_id not in wanted and volume_id not in pending_sources:
            candidates.append(Delete(volume_id))

    actions: list[Action] = []
    claimed = set(seen.busy)
    for action in candidates:
        if action.keys & claimed:
            continue
        claimed |= action.keys
        actions.append(action)
    return actions


def _create(v: contract.DesiredVolume, wanted: Mapping[str, contract.DesiredVolume],
            listed_snapshots: Mapping[str, str], seen: Observation) -> Action | None:
    """Make ``v``; None while its source is still to be made; Fail when it never will be."""
    source = v["source"]
    size = v["size_gb"] * GiB
    kind = source["type"]
    if kind in ("blank", "image"):
        if kind == "image" and "image" not in source:
            return Fail(v["id"], "The volume's source image is not available.")
        return Create(v["id"], source, size)
    source_id = source.get("id", "")
    if kind == "volume":
        if source_id in seen.volumes:
            return Create(v["id"], source, size)
        if source_id in wanted and source_id not in seen.failed_creates:
            return None
        return Fail(v["id"], f"The source volume {source_id} is not on this host.")
    if source_id in seen.snapshots:
        return Create(v["id"], source, size)
    if source_id in listed_snapshots and source_id not in seen.failed_snapshots:
        return None
    return Fail(v["id"], f"The source snapshot {source_id} is not on this host.")
