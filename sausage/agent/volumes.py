"""The agent's volume reconciler: desired volumes → the host's block-storage backend.

Called by the agent loop (``sausage.agent.loop``) once per iteration, before the servers are
planned, with the desired document; its answer is the report's ``Observed["volumes"]``
(``report``). The loop also asks it which volumes are complete (``present``, before booting a
server from a volume) and how QEMU opens one (``attachment``, at boot and hot-plug). Only
active when the agent holds a backend (``cfg.volume_backend``).

One pass never waits for a copy: it observes the backend (``drivers/storage.py``), plans
(``plan/volume.py``) and hands each action to a small job runner (``jobs.JobRunner``) — one job
per volume at a time — then reports what the backend holds now, with the outcome of jobs that
have finished: a creation, a grow or a snapshot that failed is reported as the volume's
``error`` or in its ``snapshot_errors`` (and not retried while the API still asks for it);
uploads are reported in ``uploads_done`` (failed ones in ``upload_errors`` as well). Which
uploads are done and which volume each snapshot belongs to are kept in
``<volumes dir>/volumes.json``, so a restarted agent neither uploads twice nor loses a snapshot
being deleted from its volume's report.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from sausage.agent import config as agent_config
from sausage.agent.client import Client, ClientError
from sausage.agent.drivers import backends, images, storage
from sausage.agent.drivers.errors import DriverError
from sausage.agent.jobs import JobRunner
from sausage.agent.plan import volume as plan
from sausage.contract import host as contract

__all__ = ["VolumeReconciler", "RETRY_AFTER"]

log = logging.getLogger(__name__)

RETRY_AFTER = 30.0  # seconds before a failed deletion is tried again
WORKERS = 2  # copies are disk-bound: more at once only slows each one down
STATE_FILE = "volumes.json"


class VolumeReconciler:
    def __init__(self, cfg: agent_config.AgentConfig, client: Client,
                 images: images.ImageCache, resize_live: Callable[[str, int], bool],
                 on_done: Callable[[], None] | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 live_copy: storage.LiveCopy | None = None) -> None:
        """``resize_live(volume_id, size_bytes)`` grows a volume a running QEMU has open
        (QMP ``block_resize``) and returns True, or returns False when none has it open.
        ``on_done`` is called (from a worker thread) whenever a job ends."""
        self.cfg = cfg
        self.client = client
        self.images = images
        self.resize_live = resize_live
        self.live_copy = live_copy  # copies of in-use volumes, made by the QEMU using them
        self.clock = clock
        self.driver: storage.StorageDriver | None = (
            backends.open_driver(cfg) if cfg.volume_backend else None)
        self._state_path = cfg.volumes_dir / STATE_FILE
        self._lock = threading.Lock()
        self._runner = JobRunner(WORKERS, "agent-volume", on_done)  # one job per key
        self._cooling: dict[str, float] = {}  # key → not before (a failed deletion)
        self._create_errors: dict[str, str] = {}
        self._extend_errors: dict[str, tuple[int, str]] = {}  # volume → (size tried, why)
        self._snapshot_errors: dict[str, str] = {}
        self._present: frozenset[str] = frozenset()
        self._started = False
        self._last: list[contract.ObservedVolume] = []
        state = self._load()
        self._owners: dict[str, str] = state["owners"]  # snapshot → its volume
        # volume → seq → "" (uploaded) or why it failed
        self._uploads: dict[str, dict[int, str]] = state["uploads"]

    # -- what the loop calls -------------------------------------------------------------------------
    def reconcile(self, desired: contract.Desired) -> list[contract.ObservedVolume]:
        """Start the jobs that converge the backend to ``desired``'s volumes and return what it
        holds now. Never blocks on a job; never raises for a host problem (it is logged, and
        the last report stands)."""
        driver = self.driver
        if driver is None:
            return []
        volumes = desired.get("volumes", [])
        ours = [v for v in volumes if v["backend"] == driver.name]
        try:
            snapshots = driver.snapshots()
        except DriverError as e:
            log.error("volumes: %s", e.message)
            return self._last
        with self._lock:
            running = self._runner.collect()
            if not self._started:
                self._started = True
                try:
                    driver.discard_partials()  # no job of ours runs yet: leftovers only
                except DriverError as e:
                    log.warning("volumes: %s", e.message)
            for v in volumes:
                if v["backend"] != driver.name and v["id"] not in self._create_errors:
                    self._create_errors[v["id"]] = (
                        f"This host holds {driver.name} volumes, not {v['backend']}.")
            self._forget(ours, {v["id"] for v in volumes}, snapshots)
            now = self.clock()
            self._cooling = {k: t for k, t in self._cooling.items() if t > now}
            busy = running | frozenset(self._cooling)
            failed_creates = frozenset(self._create_errors)
            failed_extends = {k: size for k, (size, _) in self._extend_errors.items()}
            failed_snapshots = frozenset(self._snapshot_errors)
            uploads_done = {k: frozenset(v) for k, v in self._uploads.items()}
        try:
            # after ``busy``: a job that ends meanwhile is still counted busy this pass
            held = driver.observe()
            snapshots = driver.snapshots()
        except DriverError as e:
            log.error("volumes: %s", e.message)
            return self._last
        complete = {k: s.size_bytes for k, s in held.items() if s.complete}
        seen = plan.Observation(
            volumes=complete, incomplete=frozenset(k for k, s in held.items() if not s.complete),
            snapshots=frozenset(snapshots), uploads_done=uploads_done, busy=busy,
            failed_creates=failed_creates, failed_extends=failed_extends,
            failed_snapshots=failed_snapshots)
        actions = plan.plan(ours, seen)
        with self._lock:
            self._present = frozenset(complete)
            for action in actions:
                if isinstance(action, plan.Fail):
                    log.warning("volume %s: %s", action.volume_id, action.message)
                    self._create_errors[action.volume_id] = action.message
                    continue
                self._runner.submit(action.keys, functools.partial(self._run, action))
            self._last = self._report(complete, snapshots, ours)
        return self._last

    def present(self) -> frozenset[str]:
        """The ids of the complete volumes on this host's backend, looked at now (a copy that
        ended since the last pass counts); the last pass's answer if the backend cannot be
        read."""
        if self.driver is None:
            return frozenset()
        try:
            return frozenset(k for k, s in self.driver.observe().items() if s.complete)
        except DriverError:
            with self._lock:
                return self._present

    def attachment(self, volume_id: str) -> dict[str, Any]:
        """How QEMU opens the volume: a ``blockdev-add`` protocol node (``driver`` and its
        options) plus ``format``, the format node to stack on it (``storage.Attachment``).
        DriverError when this host holds no backend."""
        if self.driver is None:
            raise DriverError("This host holds no volumes.")
        return self.driver.attachment(volume_id)

    def busy(self) -> bool:
        """Whether a job runs now."""
        return bool(self._runner.running())

    def report(self, observed: contract.Observed) -> None:
        """The report's ``volumes``: what the last pass found."""
        with self._lock:
            observed["volumes"] = self._last

    def reported(self, accepted: bool) -> None:
        """Nothing here waits for the API's answer (uploads are remembered as done)."""

    def close(self) -> None:
        """Wait for the running jobs (a copy is not interrupted half-way) and stop."""
        self._runner.close()

    # -- jobs ----------------------------------------------------------------------------------------
    def _run(self, action: plan.Action) -> None:
        assert self.driver is not None
        start = self.clock()
        try:
            what = self._act(self.driver, action)
        except (DriverError, ClientError) as e:
            self._failed(action, e.message)
        except Exception as e:  # a bug must not kill the worker or hide the volume's fate
            log.exception("volume job %s failed", action)
            self._failed(action, f"Internal error: {type(e).__name__}")
        else:
            log.info("%s in %.1f s", what, self.clock() - start)
            self._succeeded(action)

    def _act(self, driver: storage.StorageDriver, action: plan.Action) -> str:
        """Do ``action``; returns the log line that says what was done."""
        match action:
            case plan.Create(volume_id, source, size):
                gib = f"{size / plan.GiB:g} GiB"
                if source["type"] == "image":
                    image = source["image"]
                    path = self.images.ensure(image, self.client.download)
                    driver.create_from_image(volume_id, path,
                                             images.cache_format(image["disk_format"]), size)
                    return f"volume {volume_id}: created from image {image['id']} ({gib})"
                if source["type"] == "volume":
                    driver.create_from_volume(volume_id, source["id"], size, self.live_copy)
                    return f"volume {volume_id}: created from volume {source['id']} ({gib})"
                if source["type"] == "snapshot":
                    driver.create_from_snapshot(volume_id, source["id"], size)
                    return f"volume {volume_id}: created from snapshot {source['id']} ({gib})"
                driver.create_blank(volume_id, size)
                return f"volume {volume_id}: created blank ({gib})"
            case plan.Extend(volume_id, size):
                how = "live" if self.resize_live(volume_id, size) else "offline"
                if how == "offline":
                    driver.extend(volume_id, size)
                return f"volume {volume_id}: extended {how} to {size / plan.GiB:g} GiB"
            case plan.Snapshot(volume_id, snapshot_id):
                driver.snapshot(volume_id, snapshot_id, self.live_copy)
                return f"volume {volume_id}: snapshot {snapshot_id} taken"
            case plan.DeleteSnapshot(snapshot_id):
                driver.delete_snapshot(snapshot_id)
                return f"snapshot {snapshot_id}: deleted"
            case plan.Upload(volume_id, seq, image_id, disk_format, url):
                target = self.cfg.volumes_dir / f".upload-{volume_id}-{seq}.partial"
                try:
                    driver.export(volume_id, disk_format, target, self.live_copy)
                    self.client.upload(url, target)
                finally:
                    target.unlink(missing_ok=True)
                return f"volume {volume_id}: uploaded to image {image_id} as {disk_format}"
            case plan.Delete(volume_id):
                driver.delete(volume_id)
                return f"volume {volume_id}: deleted"
        raise AssertionError(f"not a job: {action}")

    def _succeeded(self, action: plan.Action) -> None:
        with self._lock:
            match action:
                case plan.Extend(volume_id):
                    self._extend_errors.pop(volume_id, None)
                case plan.Upload(volume_id, seq):
                    self._uploads.setdefault(volume_id, {})[seq] = ""
                    self._save()

    def _failed(self, action: plan.Action, message: str) -> None:
        log.warning("%s failed: %s", _describe(action), message)
        with self._lock:
            match action:
                case plan.Create(volume_id):
                    self._create_errors[volume_id] = message
                case plan.Extend(volume_id, size):
                    self._extend_errors[volume_id] = (size, message)
                case plan.Snapshot(_, snapshot_id):
                    self._snapshot_errors[snapshot_id] = message
                case plan.Upload(volume_id, seq):
                    self._uploads.setdefault(volume_id, {})[seq] = message or "Upload failed."
                    self._save()
                case plan.Delete() | plan.DeleteSnapshot():
                    for key in action.keys:
                        self._cooling[key] = self.clock() + RETRY_AFTER

    # -- the report and the memory behind it -----------------------------------------------------------
    def _report(self, complete: dict[str, int], snapshots: set[str],
                ours: list[contract.DesiredVolume]) -> list[contract.ObservedVolume]:
        wanted_size = {v["id"]: v["size_gb"] * plan.GiB for v in ours}
        out: list[contract.ObservedVolume] = []
        for volume_id, size in sorted(complete.items()):
            o: contract.ObservedVolume = {
                "id": volume_id, "size_gb": math.ceil(size / plan.GiB),
                "snapshots": sorted(s for s in snapshots if self._owners.get(s) == volume_id),
                "uploads_done": sorted(self._uploads.get(volume_id, {}))}
            upload_errors = {str(seq): why for seq, why in
                             self._uploads.get(volume_id, {}).items() if why}
            if upload_errors:
                o["upload_errors"] = upload_errors
            extend = self._extend_errors.get(volume_id)
            if extend is not None and wanted_size.get(volume_id) == extend[0]:
                o["error"] = extend[1]
            snapshot_errors = {s: why for s, why in self._snapshot_errors.items()
                               if self._owners.get(s) == volume_id}
            if snapshot_errors:
                o["snapshot_errors"] = snapshot_errors
            out.append(o)
        for volume_id, why in sorted(self._create_errors.items()):
            if volume_id not in complete:
                out.append({"id": volume_id, "size_gb": 0, "snapshots": [], "uploads_done": [],
                            "error": why})
        return out

    def _forget(self, ours: list[contract.DesiredVolume], listed_ids: set[str],
                snapshots: set[str]) -> None:
        """Learn which volume each snapshot belongs to; drop what the API no longer asks about
        (it has taken the outcome in). Called with the lock held."""
        listed = {s: v["id"] for v in ours for s in v["snapshots"]}
        sizes = {v["id"]: v["size_gb"] * plan.GiB for v in ours}
        seqs = {v["id"]: {u["seq"] for u in v["uploads"]} for v in ours}
        self._create_errors = {k: m for k, m in self._create_errors.items() if k in listed_ids}
        self._extend_errors = {k: e for k, e in self._extend_errors.items()
                               if sizes.get(k) == e[0]}
        self._snapshot_errors = {k: m for k, m in self._snapshot_errors.items() if k in listed}
        # a snapshot neither listed nor held any longer is forgotten
        owners = {s: v for s, v in {**self._owners, **listed}.items()
                  if s in listed or s in snapshots}
        uploads = {k: {seq: why for seq, why in done.items() if seq in seqs[k]}
                   for k, done in self._uploads.items() if k in seqs}
        uploads = {k: done for k, done in uploads.items() if done}
        if owners != self._owners or uploads != self._uploads:
            self._owners, self._uploads = owners, uploads
            self._save()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self._state_path.read_text())
            owners = {str(k): str(v) for k, v in data.get("owners", {}).items()}
            uploads = {str(k): {int(seq): str(why) for seq, why in v.items()}
                       for k, v in data.get("uploads", {}).items()}
        except FileNotFoundError:
            return {"owners": {}, "uploads": {}}
        except (OSError, ValueError, AttributeError) as e:
            log.warning("volumes: ignoring unreadable %s: %s", self._state_path, e)
            return {"owners": {}, "uploads": {}}
        return {"owners": owners, "uploads": uploads}

    def _save(self) -> None:
        """Write the state file (atomically). Called with the lock held."""
        data = {"owners": self._owners,
                "uploads": {k: {str(seq): why for seq, why in v.items()}
                            for k, v in self._uploads.items()}}
        tmp = self._state_path.with_name(f".{STATE_FILE}.partial")
        try:
            self._state_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, sort_keys=True))
            os.replace(tmp, self._state_path)
        except OSError as e:
            log.error("volumes: cannot write %s: %s", self._state_path, e)


def _describe(action: plan.Action) -> str:
    match action:
        case plan.Create(volume_id, source):
            return f"volume {volume_id}: creating from {source['type']}"
        case plan.Extend(volume_id, size):
            return f"volume {volume_id}: extending to {size / plan.GiB:g} GiB"
        case plan.Snapshot(volume_id, snapshot_id):
            return f"volume {volume_id}: snapshot {snapshot_id}"
        case plan.DeleteSnapshot(snapshot_id):
            return f"snapshot {snapshot_id}: deleting"
        case plan.Upload(volume_id, seq, image_id):
            return f"volume {volume_id}: upload {seq} to image {image_id}"
        case plan.Delete(volume_id):
            return f"volume {volume_id}: deleting"
        case plan.Fail(volume_id):
            return f"volume {volume_id}"
    return str(action)
