"""The agent's compute reconciler: desired servers → QEMU processes on this host.

Called by the agent loop (``sausage.agent.loop``) once per iteration, after the network and
volume reconcilers (a server's taps and volumes must exist before it starts). One pass: observe
the host through the QEMU driver (``drivers/qemu.py``) and the applied counters
(``sausage.agent.state``), plan with the pure planner (``plan/compute.py``), hand each server's
actions to a worker (``jobs.JobRunner``, one job per server), give running servers whose NICs or
volumes differ a hotplug job (``plan/hotplug.py`` decides, ``sausage.agent.hotplug`` does), and
keep what the report needs. A server with a job in flight is left out of planning until it
ends, and is reported ``busy``. A failed action puts its server in "error" with the message and
stops that server's remaining actions (the requests among them count as handled); other
servers carry on. A failed destroy is simply tried again next pass.

A server's volumes go on QEMU's command line at start and are hot-plugged while it runs (like
its NICs, ``drivers/blockdevs.py``); the report says which volumes each server has.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Sequence

from sausage.agent import hotplug, observe, state
from sausage.agent import volumes as agent_volumes
from sausage.agent.client import Client, ClientError
from sausage.agent.drivers import images, qemu
from sausage.agent.jobs import JobRunner
from sausage.agent.plan import compute
from sausage.agent.plan import hotplug as hotplug_plan
from sausage.contract import host as contract

__all__ = ["ComputeReconciler", "ROOT_VOLUME_WAIT", "BOOT_WINDOW"]

log = logging.getLogger("sausage.agent")

# For a while after acting on a server (a guest booting), the loop reports every few seconds
# rather than every resync, so `openstack console log show` follows the boot.
BOOT_WINDOW = 30.0
# A server booted from a volume waits this long for its root volume to be on the host (the API
# only sends it once the volume exists; this is the backstop), then goes to error.
ROOT_VOLUME_WAIT = 600.0


class ComputeReconciler:
    def __init__(self, driver: qemu.QemuDriver, client: Client, store: state.Store,
                 plug: hotplug.Hotplug, runner: JobRunner, *,
                 host_id: Callable[[], str | None],
                 volumes: agent_volumes.VolumeReconciler | None,
                 clock: Callable[[], float]) -> None:
        self.driver = driver
        self.client = client
        self.store = store
        self.hotplug = plug
        self.runner = runner
        self.host_id = host_id
        self.volumes = volumes
        self.clock = clock
        self.present: frozenset[str] = frozenset()  # volumes whose data is on this host
        self._console = observe.ConsoleTracker()
        self._acted_at: dict[str, float] = {}  # server id → when its last actions were handed out
        self._foreign: set[str] = set()
        self._waiting: dict[str, float] = {}  # server id → since when it waits for its volume
        self._servers: dict[str, contract.DesiredServer] = {}
        # what the last pass saw, for its report
        self._desired: contract.Desired | None = None
        self._statuses: dict[str, qemu.Status] = {}
        self._busy: frozenset[str] = frozenset()
        self._attached: dict[str, list[str]] = {}
        self._applied: dict[str, state.Applied] = {}
        self._sent: list[str] = []

    # -- the pass -------------------------------------------------------------------------------
    def reconcile(self, desired: contract.Desired) -> None:
        # Busy before observing: a server whose actions end meanwhile was observed mid-way.
        busy = self.runner.collect()
        self._servers = {d["id"]: d for d in desired["servers"]}
        statuses = {s.id: s for s in self.driver.observe_all() if not self._is_foreign(s)}
        applied = {i: self.store.get(i) for i in statuses}
        servers = [d for d in desired["servers"] if d["id"] not in busy]
        view = observe.host_view([(s, applied[i]) for i, s in statuses.items() if i not in busy],
                                 self.driver.images.ids(), self.present)
        by_server: dict[str, list[compute.Action]] = {}
        for action in compute.plan(servers, view):
            by_server.setdefault(action.server_id, []).append(action)
        for server_id, actions in by_server.items():
            log.info("server %s: %s", server_id, ", ".join(describe(a) for a in actions))
            self.runner.submit((server_id,), functools.partial(self._act, server_id, actions))
            self._acted_at[server_id] = self.clock()
        self._wait_for_volumes(servers, view)
        attached = self.hotplug.attached(statuses.values())
        self._hotplug(servers, statuses, set(by_server), attached)
        self._desired, self._statuses, self._attached = desired, statuses, attached
        self._applied = applied
        self._busy = busy | self.runner.keys()

    def busy(self) -> bool:
        """Jobs not yet seen finished by a pass: their outcome is reported as soon as they end."""
        return bool(self.runner.keys())

    def booting(self) -> bool:
        """Whether a server was acted on within the last ``BOOT_WINDOW`` seconds."""
        recent = self.clock() - BOOT_WINDOW
        for server_id in [i for i, t in self._acted_at.items() if t < recent]:
            del self._acted_at[server_id]
        return bool(self._acted_at)

    def close(self) -> None:
        running = self.runner.running()
        if running:
            log.info("waiting for the actions in flight on %d server(s)", len(running))
        self.runner.close()

    # -- the report -----------------------------------------------------------------------------
    def report(self, observed: contract.Observed) -> None:
        """The servers (desired ones first, then those of ours not desired), and the NIC
        hotplug failures among the network errors."""
        statuses, attached = self._statuses, self._attached
        wanted = {d["id"]: d for d in self._desired["servers"]} if self._desired else {}
        ids = list(wanted) + sorted(i for i in statuses if i not in wanted)
        servers = []
        for server_id in ids:
            status = statuses.get(server_id)
            console = None
            if status is not None and self._console.changed(
                    server_id, self.driver.serial_log(server_id)):
                console = self.driver.console(server_id)
            running = status is not None and status.pid is not None
            volumes, volume_errors = observe.server_volumes(
                wanted.get(server_id), attached.get(server_id), running, self.present,
                self.hotplug.volume_failures(server_id))
            servers.append(observe.server_report(
                server_id, status, wanted.get(server_id), busy=server_id in self._busy,
                console=console, volumes=volumes, volume_errors=volume_errors,
                applied=self._applied.get(server_id, state.Applied())))
        observed["servers"] = servers
        observed["network_errors"] = [*observed["network_errors"],
                                      *self.hotplug.nic_messages(wanted)]
        self.hotplug.forget(wanted)
        self._sent = ids

    def reported(self, accepted: bool) -> None:
        """The console tails sent count as seen only once the API took the report."""
        if accepted:
            self._console.commit(self._sent)
        else:
            self._console.discard()

    # -- deciding what else is due --------------------------------------------------------------
    def _wait_for_volumes(self, servers: list[contract.DesiredServer], view: compute.Host) -> None:
        """A server booted from a volume that never comes goes to error after a while."""
        have = {i.id: i for i in view.instances}
        now = self.clock()
        waiting = {d["id"]: d for d in servers
                   if compute.waiting_for_volume(d, have.get(d["id"]), view.volumes)
                   and not (have.get(d["id"]) and have[d["id"]].error)}
        for sid in [s for s in self._waiting if s not in waiting]:
            del self._waiting[sid]
        jobs = self.runner.keys()
        for sid, d in waiting.items():
            since = self._waiting.setdefault(sid, now)
            if now - since < ROOT_VOLUME_WAIT or sid in jobs:
                continue
            message = (f"Build of instance {sid} aborted: Volume {compute.root_volume(d)} did "
                       f"not finish being created even after we waited {ROOT_VOLUME_WAIT:.0f} "
                       f"seconds.")
            log.error("server %s: %s", sid, message)
            # The requests it carried count as handled, as for a failed build.
            with contextlib.suppress(qemu.DriverError, OSError, ValueError):
                self.driver.update(sid, host_id=self.host_id())
                self.store.update(sid, error=message, power_seq=d["power_seq"],
                                  reboot_seq=d["reboot_seq"], rebuild_seq=d["rebuild_seq"],
                                  resize_seq=d["resize_seq"])
            del self._waiting[sid]

    def _hotplug(self, servers: list[contract.DesiredServer],
                 statuses: dict[str, qemu.Status], acting: set[str],
                 attached: dict[str, list[str]]) -> None:
        """Running servers whose NICs or volumes differ from the desired ones get a hotplug
        job; one that failed is tried again after a while."""
        now = self.clock()
        for d in servers:
            sid = d["id"]
            status = statuses.get(sid)
            if sid in acting or status is None or status.state not in ("running", "paused"):
                if status is None or status.pid is None:
                    self.hotplug.stopped(sid)
                continue
            nics, disks = self._nics(sid), self._disks(sid)
            due = hotplug_plan.due([n.tap for n in nics], [disk.volume_id for disk in disks],
                                   self.hotplug.devices(sid, status.state, attached.get(sid)),
                                   now)
            if due:
                self.runner.submit((sid,), functools.partial(
                    self.hotplug.sync, sid, nics if due.nics else None,
                    disks if due.volumes else None))

    def _is_foreign(self, status: qemu.Status) -> bool:
        """Created under another host registration (the API forgot this host and it registered
        again): not ours to destroy because the new registration does not list it."""
        owner, host_id = status.record.host_id, self.host_id()
        if owner is None or owner == host_id:
            return False
        if status.id not in self._foreign:
            self._foreign.add(status.id)
            log.warning("server %s belongs to host registration %s, not %s: left alone "
                        "(remove it by hand if it is garbage)", status.id, owner, host_id)
        return True

    # -- acting (worker thread) -----------------------------------------------------------------
    def _act(self, server_id: str, actions: Sequence[compute.Action]) -> None:
        """One server's actions, in order, under its lock."""
        try:
            with self.driver.lock(server_id):
                for index, action in enumerate(actions):
                    try:
                        self._execute(action)
                    except (qemu.DriverError, ClientError) as e:
                        self._failed(server_id, actions[index:], e.message)
                        return
                    except Exception as e:  # a bug: still report it rather than lose it
                        log.exception("server %s: %s crashed", server_id, describe(action))
                        self._failed(server_id, actions[index:], f"Internal error: {e!r}")
                        return
        except qemu.DriverError as e:  # the lock itself
            log.error("server %s: %s", server_id, e.message)

    def _failed(self, server_id: str, rest: Sequence[compute.Action], message: str) -> None:
        """The server goes to error; the requests in ``rest`` count as handled (not retried)."""
        log.error("server %s: %s failed: %s", server_id, describe(rest[0]), message)
        if isinstance(rest[0], compute.Destroy):
            return  # retried next iteration; an error would only recreate its record
        with contextlib.suppress(OSError, ValueError):
            self.store.update(server_id, error=message, **compute.consumed(rest))

    def _execute(self, action: compute.Action) -> None:
        d, sid, applied = self.driver, action.server_id, self.store
        match action:
            case compute.EnsureBaseImage(image=image):
                d.images.ensure(image, self.client.download)
            case compute.CreateDisk():
                d.create_disk(sid, action.image["id"], d.images.path(action.image["id"]),
                              images.cache_format(action.image["disk_format"]), action.root_gb)
                d.update(sid, host_id=self.host_id())
                applied.update(sid, reboot_seq=action.reboot_seq,
                               rebuild_seq=action.rebuild_seq, resize_seq=action.resize_seq)
            case compute.CreateFromVolume():
                d.update(sid, host_id=self.host_id(), image_id=None, root_gb=0,
                         root_volume=action.volume_id)
                applied.update(sid, reboot_seq=action.reboot_seq,
                               rebuild_seq=action.rebuild_seq, resize_seq=action.resize_seq)
            case compute.RecordRebuild(seq=seq):
                applied.update(sid, rebuild_seq=seq)
            case compute.RecordResize(seq=seq):
                applied.update(sid, resize_seq=seq)
            case compute.Start():
                boot = self._boot(action)
                d.start(boot)
                self.hotplug.started(sid, boot)
            case compute.Stop(graceful=graceful):
                d.stop(sid, graceful=graceful)
            case compute.Kill():
                d.kill(sid)
            case compute.Reboot():
                boot = self._boot(action.start)
                d.reboot(boot, hard=action.kind == "hard")
                self.hotplug.started(sid, boot)
                applied.update(sid, reboot_seq=action.seq)
            case compute.RecordReboot(seq=seq):
                applied.update(sid, reboot_seq=seq)
            case compute.RecordPower(seq=seq):
                applied.update(sid, power_seq=seq)
            case compute.Pause():
                d.pause(sid)
            case compute.Resume():
                d.resume(sid)
            case compute.Suspend():
                d.suspend(sid)
            case compute.ResumeSuspended():
                d.resume_suspended(sid)
            case compute.Rebuild():
                d.remove_disk(sid)
                d.create_disk(sid, action.image["id"], d.images.path(action.image["id"]),
                              images.cache_format(action.image["disk_format"]), action.root_gb)
                applied.update(sid, rebuild_seq=action.seq)
            case compute.Resize():
                d.resize_disk(sid, action.root_gb)
                applied.update(sid, resize_seq=action.seq)
            case compute.Snapshot():
                self._snapshot(action)
            case compute.Destroy():
                d.destroy(sid)
                applied.remove(sid)
            case compute.ClearError():
                applied.update(sid, error=None)

    def _snapshot(self, action: compute.Snapshot) -> None:
        """Snapshot to a file in the instance dir, upload it, and record the outcome; a failure
        is the snapshot's (reported in snapshot_errors), not the server's."""
        sid = action.server_id
        target = self.driver.dir(sid) / f"snapshot-{action.seq}.qcow2"
        error = None
        try:
            self.driver.snapshot(sid, target)
            self.client.upload(action.upload_url, target)
            log.info("server %s: snapshot %d uploaded as image %s", sid, action.seq,
                     action.image_id)
        except (qemu.DriverError, ClientError) as e:
            error = e.message
            log.error("server %s: snapshot %d failed: %s", sid, action.seq, error)
        finally:
            target.unlink(missing_ok=True)
        self.store.snapshot_done(sid, action.seq, error)

    def _boot(self, start: compute.Start) -> qemu.Boot:
        """How to start a server: its NICs, and its volumes on this host (a missing root
        volume fails the start; a missing data volume is reported in volume_errors)."""
        image = start.image
        cache = self.driver.images
        disks = self._disks(start.server_id)
        server = self._servers.get(start.server_id)
        root = compute.root_volume(server) if server is not None else None
        if root is not None and root not in {disk.volume_id for disk in disks}:
            raise qemu.DriverError(f"Volume {root} is not on this host.")
        if image is None:
            return qemu.Boot(id=start.server_id, vcpus=start.vcpus, memory_mb=start.memory_mb,
                             nics=self._nics(start.server_id), volumes=disks)
        return qemu.Boot(
            id=start.server_id, vcpus=start.vcpus, memory_mb=start.memory_mb,
            kernel=cache.path(image["kernel"]["id"]) if "kernel" in image else None,
            initrd=cache.path(image["ramdisk"]["id"]) if "ramdisk" in image else None,
            cmdline=image.get("cmdline"), nics=self._nics(start.server_id), volumes=disks)

    def _disks(self, server_id: str) -> tuple[qemu.Disk, ...]:
        """The server's volumes whose data is on this host, in attach order, as QEMU opens
        them (the backend says how)."""
        server = self._servers.get(server_id)
        if server is None or self.volumes is None:
            return ()
        disks = []
        for v in server.get("volumes", []):
            if v["volume_id"] not in self.present:
                continue
            try:
                spec = dict(self.volumes.attachment(v["volume_id"]))
                fmt = str(spec.pop("format", "raw"))
                disks.append(qemu.Disk(v["volume_id"], spec, fmt, read_only=v["read_only"],
                                       serial=v["serial"], boot_index=v["boot_index"]))
            except qemu.DriverError as e:  # the API sends none such; left out, not fatal
                log.error("server %s: volume %s: %s", server_id, v["volume_id"], e.message)
        return tuple(disks)

    def _nics(self, server_id: str) -> tuple[qemu.Nic, ...]:
        """The server's NICs as the desired state lists them (PCI order)."""
        server = self._servers.get(server_id)
        if server is None:
            return ()
        return tuple(qemu.Nic(mac=n["mac"], tap=n["tap"], mtu=n["mtu"])
                     for n in server.get("nics", []))


def describe(action: compute.Action) -> str:
    fields = {k: v for k, v in vars(action).items() if k not in ("server_id", "start")}
    if fields.get("image") is not None:
        fields["image"] = fields["image"]["id"]
    if "upload_url" in fields:
        del fields["upload_url"]
    inner = ", ".join(f"{k}={v}" for k, v in fields.items())
    return f"{type(action).__name__}({inner})"
