"""The agent's main loop: register, then forever watch → observe → plan → act → report.

Called by the CLI (``sausage agent``, and ``sausage up`` for the all-in-one) as
``run(config) -> int``. One iteration: GET the desired state (a long-poll on its revision, at
most ``resync_seconds`` long, so a full resync happens at least that often), observe the host
through the QEMU driver, plan with the pure planner, hand each server's actions to a worker
thread, and POST the observed state (the heartbeat). A server with actions in flight is left
out of planning until they finish, and is reported ``busy``; the loop polls every second while
anything is in flight. A failed action puts its server in "error" with the message and stops
that server's remaining actions; other servers carry on.

Volumes (when the host holds a block-storage backend, ``cfg.volume_backend``): the volume
reconciler (``sausage.agent.volumes``) runs after networking and before the servers, so a
server's volumes exist before it starts; its observation is the report's ``volumes``. A
server's volumes go on QEMU's command line at start and are hot-plugged while it runs (like its
NICs, ``drivers/blockdevs.py``); the report says which volumes each server has.

The VMs are separate daemonized QEMU processes: SIGTERM stops the loop (after the actions in
flight) and leaves them running; the next start finds them again.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import signal
import threading
import time
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sausage.agent import config as agent_config
from sausage.agent import hotplug, network, observe, registration
from sausage.agent import volumes as agent_volumes
from sausage.agent.client import Client, ClientError, CredentialRefused
from sausage.agent.drivers import images, qemu
from sausage.agent.plan import compute
from sausage.contract import host as contract

__all__ = ["run", "Agent"]

log = logging.getLogger("sausage.agent")

BUSY_POLL = 1.0  # seconds between iterations while actions are in flight
# For a while after acting on a server (a guest booting), report every few seconds rather than
# every resync, so `openstack console log show` follows the boot.
BOOT_POLL = 2.0
BOOT_WINDOW = 30.0
MAX_BACKOFF = 30.0
KEEP_SNAPSHOT_SEQS = 32
# A server booted from a volume waits this long for its root volume to be on the host (the API
# only sends it once the volume exists; this is the backstop), then goes to error.
ROOT_VOLUME_WAIT = 600.0


class _Shutdown(BaseException):
    """Raised by the signal handler to leave a long-poll at once (not an Exception, so the
    loop's catch-all does not swallow it)."""


def run(cfg: agent_config.AgentConfig, *, stop: threading.Event | None = None,
        client: Client | None = None) -> int:
    """Run the agent until SIGTERM/SIGINT (or until ``stop`` is set); returns the exit code.

    VMs keep running after it returns. Raises qemu.DriverError when ``virt_type`` cannot be
    honoured (kvm asked for, but no kvm_intel/kvm_amd).
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per long-poll and report is noise; the agent logs what it does instead.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    agent = Agent(cfg, client=client, stop=stop)
    with _signals(agent):
        return agent.run()


@contextlib.contextmanager
def _signals(agent: Agent) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: types.FrameType | None) -> None:
        log.info("%s: stopping the agent (VMs keep running)", signal.Signals(signum).name)
        agent.stop.set()
        if agent.interruptible:
            raise _Shutdown()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


class Agent:
    def __init__(self, cfg: agent_config.AgentConfig, *, client: Client | None = None,
                 stop: threading.Event | None = None,
                 driver: qemu.QemuDriver | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.clock = clock
        self.stop = stop or threading.Event()
        self.client = client or Client(cfg.api_url)
        self.driver = driver or qemu.QemuDriver(
            cfg.state_dir, accel=qemu.choose_accel(cfg.virt_type), netns=cfg.netns,
            stop_timeout=cfg.stop_timeout)
        self.capacity = observe.capacity(cfg)
        self.host_id: str | None = None
        self._desired: contract.Desired | None = None
        self._failures = 0  # API or loop failures in a row (the backoff grows with them)
        self.interruptible = False
        self._pool = concurrent.futures.ThreadPoolExecutor(cfg.workers,
                                                           thread_name_prefix="agent-act")
        self._jobs: dict[str, concurrent.futures.Future[None]] = {}
        self._wake = threading.Event()
        self._console = observe.ConsoleTracker()
        self._acted_at: dict[str, float] = {}  # server id → when its last actions were handed out
        self._foreign: set[str] = set()
        self.network = network.NetworkReconciler(cfg,
                                                 host_token=lambda: self.client.token or "")
        self._network = network.Result([], [])
        self._servers: dict[str, contract.DesiredServer] = {}
        self.hotplug = hotplug.Hotplug(self.driver, clock=clock)
        self.volumes = (agent_volumes.VolumeReconciler(
            cfg, self.client, self.driver.images, self.hotplug.resize_live,
            on_done=self._wake.set, live_copy=self.hotplug.copy_live)
            if cfg.volume_backend else None)
        self._observed_volumes: list[contract.ObservedVolume] = []
        self._present: frozenset[str] = frozenset()  # volumes whose data is on this host
        self._waiting: dict[str, float] = {}  # server id → since when it waits for its volume

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> int:
        cfg = self.cfg
        log.info("agent for host %s: state %s, API %s, %s, %d vCPU / %d MiB / %d GiB%s",
                 cfg.host_name, cfg.state_dir, cfg.api_url, self.driver.accel, *self.capacity,
                 f", netns {cfg.netns}" if cfg.netns else "")
        try:
            while not self.stop.is_set():
                delay = self.iterate()
                if delay:
                    self.stop.wait(delay)
        except _Shutdown:
            pass
        finally:
            self._shutdown()
        return 0

    def iterate(self) -> float:
        """One pass of the loop: (register,) fetch the desired state, converge, report.
        Returns how long to back off before the next pass (0: go on at once)."""
        try:
            if self.host_id is None:
                self._register()
            new = self._fetch(self._desired)
            if new is not None:
                if self._desired is None or new["revision"] != self._desired["revision"]:
                    log.info("desired state revision %d: %d servers", new["revision"],
                             len(new["servers"]))
                self._desired = new
            if self._desired is not None and not self.stop.is_set():
                self._converge(self._desired)
            self._failures = 0
        except CredentialRefused as e:
            log.warning("the API refused this host's credential (%s); registering "
                        "again", e.message)
            self._forget_credential()
            self._desired = None
        except ClientError as e:
            self._failures += 1
            delay = min(MAX_BACKOFF, 2.0 ** min(self._failures, 5))
            log.warning("internal API: %s; retrying in %.0f s", e.message, delay)
            return delay
        except Exception:  # a bug or a host oddity: the agent must not die of it
            self._failures += 1
            delay = min(MAX_BACKOFF, 2.0 ** min(self._failures, 5))
            log.exception("agent loop failed; retrying in %.0f s", delay)
            return delay
        return 0.0

    def _fetch(self, desired: contract.Desired | None) -> contract.Desired | None:
        assert self.host_id is not None
        # Jobs not yet seen finished by _converge: their outcome is reported as soon as they end.
        if desired is None or self._jobs or (self.volumes is not None and self.volumes.busy()):
            if desired is not None:
                self._wake.wait(BUSY_POLL)  # an action finishing wakes us early
                self._wake.clear()
            return self.client.desired(self.host_id)
        self.interruptible = True
        try:
            wait = self.cfg.resync_seconds
            recent = self.clock() - BOOT_WINDOW
            for server_id in [i for i, t in self._acted_at.items() if t < recent]:
                del self._acted_at[server_id]
            if self._acted_at:
                wait = min(wait, BOOT_POLL)
            return self.client.desired(self.host_id, after=desired["revision"], wait=wait)
        finally:
            self.interruptible = False

    def _converge(self, desired: contract.Desired) -> None:
        # Busy before observing: a server whose actions end meanwhile was observed mid-way.
        busy = self._busy()
        self._servers = {d["id"]: d for d in desired["servers"]}
        # Networking first: a server's taps must be on their bridges before it boots.
        try:
            self._network = self.network.reconcile(desired)
        except Exception as e:  # a bug: report it, keep the servers going
            log.exception("network reconcile failed")
            self._network = network.Result([], [f"Internal error: {e!r}"])
        # Volumes next: a server's volumes must exist before it starts.
        if self.volumes is not None:
            try:
                self._observed_volumes = self.volumes.reconcile(desired)
                self._present = self.volumes.present()
            except Exception:  # a bug: the servers carry on with what is known
                log.exception("volume reconcile failed")
        statuses = {s.id: s for s in self.driver.observe_all() if not self._is_foreign(s)}
        servers = [d for d in desired["servers"] if d["id"] not in busy]
        view = observe.host_view([s for i, s in statuses.items() if i not in busy],
                                 self.driver.images.ids(), self._present)
        by_server: dict[str, list[compute.Action]] = {}
        for action in compute.plan(servers, view):
            by_server.setdefault(action.server_id, []).append(action)
        for server_id, actions in by_server.items():
            log.info("server %s: %s", server_id, ", ".join(_describe(a) for a in actions))
            self._jobs[server_id] = self._pool.submit(self._act, server_id, actions)
            self._acted_at[server_id] = self.clock()
        self._wait_for_volumes(servers, view)
        attached = self.hotplug.attached(statuses.values())
        self._hotplug(servers, statuses, set(by_server), attached)
        self._report(desired, statuses, busy | set(self._jobs), attached)

    def _wait_for_volumes(self, servers: list[contract.DesiredServer], view: compute.Host) -> None:
        """A server booted from a volume that never comes goes to error after a while."""
        have = {i.id: i for i in view.instances}
        now = self.clock()
        waiting = {d["id"]: d for d in servers
                   if compute.waiting_for_volume(d, have.get(d["id"]), view.volumes)
                   and not (have.get(d["id"]) and have[d["id"]].error)}
        for sid in [s for s in self._waiting if s not in waiting]:
            del self._waiting[sid]
        for sid, d in waiting.items():
            since = self._waiting.setdefault(sid, now)
            if now - since < ROOT_VOLUME_WAIT or sid in self._jobs:
                continue
            message = (f"Build of instance {sid} aborted: Volume {compute.root_volume(d)} did "
                       f"not finish being created even after we waited {ROOT_VOLUME_WAIT:.0f} "
                       f"seconds.")
            log.error("server %s: %s", sid, message)
            # The requests it carried count as handled, as for a failed build.
            with contextlib.suppress(qemu.DriverError, OSError):
                self.driver.update(sid, host_id=self.host_id, error=message,
                                   power_seq=d["power_seq"], reboot_seq=d["reboot_seq"],
                                   rebuild_seq=d["rebuild_seq"], resize_seq=d["resize_seq"])
            del self._waiting[sid]

    def _hotplug(self, servers: list[contract.DesiredServer],
                 statuses: dict[str, qemu.Status], acting: set[str],
                 attached: dict[str, list[str]]) -> None:
        """Running servers whose NICs or volumes differ from the desired ones get a hotplug
        job; one that failed is tried again after a while."""
        for d in servers:
            sid = d["id"]
            status = statuses.get(sid)
            if sid in acting or status is None or status.state not in ("running", "paused"):
                if status is None or status.pid is None:
                    self.hotplug.stopped(sid)
                continue
            wanted, disks = self.hotplug.due(status, self._nics(sid), self._disks(sid),
                                             attached.get(sid))
            if wanted is not None or disks is not None:
                self._jobs[sid] = self._pool.submit(self._sync_devices, sid, wanted, disks)

    def _sync_devices(self, server_id: str, wanted: tuple[qemu.Nic, ...] | None,
                      disks: tuple[qemu.Disk, ...] | None) -> None:
        try:
            self.hotplug.sync(server_id, wanted, disks)
        finally:
            self._wake.set()

    def _is_foreign(self, status: qemu.Status) -> bool:
        """Created under another host registration (the API forgot this host and it registered
        again): not ours to destroy because the new registration does not list it."""
        owner = status.record.host_id
        if owner is None or owner == self.host_id:
            return False
        if status.id not in self._foreign:
            self._foreign.add(status.id)
            log.warning("server %s belongs to host registration %s, not %s: left alone "
                        "(remove it by hand if it is garbage)", status.id, owner, self.host_id)
        return True

    def _busy(self) -> set[str]:
        for server_id in [i for i, job in self._jobs.items() if job.done()]:
            del self._jobs[server_id]
        return set(self._jobs)

    def _report(self, desired: contract.Desired, statuses: dict[str, qemu.Status],
                busy: set[str], attached: dict[str, list[str]]) -> None:
        assert self.host_id is not None
        wanted = {d["id"]: d for d in desired["servers"]}
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
                wanted.get(server_id), attached.get(server_id), running, self._present,
                self.hotplug.volume_failures(server_id))
            servers.append(observe.server_report(server_id, status, wanted.get(server_id),
                                                 busy=server_id in busy, console=console,
                                                 volumes=volumes, volume_errors=volume_errors))
        vcpus, memory_mb, disk_gb = self.capacity
        report: contract.Observed = {
            "version": contract.VERSION, "host_id": self.host_id,
            "revision_seen": desired["revision"], "vcpus": vcpus, "memory_mb": memory_mb,
            "disk_gb": disk_gb, "servers": servers,
            "ports_up": self._network.ports_up,
            "network_errors": [*self._network.errors,
                               *self.hotplug.nic_messages(wanted)],
        }
        if self.volumes is not None:
            report["volumes"] = self._observed_volumes
        self.hotplug.forget(wanted)
        try:
            self.client.report(report)
        except ClientError:
            self._console.discard()
            raise
        self._console.commit(ids)

    def _shutdown(self) -> None:
        running = [i for i, job in self._jobs.items() if not job.done()]
        if running:
            log.info("waiting for the actions in flight on %d server(s)", len(running))
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.volumes is not None:
            self.volumes.close()
        self.network.close()
        self.client.close()
        log.info("agent stopped; VMs keep running")

    # -- registration ----------------------------------------------------------------------------
    def _register(self) -> None:
        self.host_id = registration.register(self.cfg, self.client, self.driver.accel,
                                             self.capacity)

    def _forget_credential(self) -> None:
        self.cfg.credential_file.unlink(missing_ok=True)
        self.host_id, self.client.token = None, None

    # -- acting ---------------------------------------------------------------------------------
    def _act(self, server_id: str, actions: Sequence[compute.Action]) -> None:
        """One server's actions, in order, under its lock (worker thread)."""
        try:
            with self.driver.lock(server_id):
                for index, action in enumerate(actions):
                    try:
                        self._execute(action)
                    except (qemu.DriverError, ClientError) as e:
                        self._failed(server_id, actions[index:], e.message)
                        return
                    except Exception as e:  # a bug: still report it rather than lose it
                        log.exception("server %s: %s crashed", server_id, _describe(action))
                        self._failed(server_id, actions[index:], f"Internal error: {e!r}")
                        return
        except qemu.DriverError as e:  # the lock itself
            log.error("server %s: %s", server_id, e.message)
        finally:
            self._wake.set()

    def _failed(self, server_id: str, rest: Sequence[compute.Action], message: str) -> None:
        """The server goes to error; the requests in ``rest`` count as handled (not retried)."""
        log.error("server %s: %s failed: %s", server_id, _describe(rest[0]), message)
        if isinstance(rest[0], compute.Destroy):
            return  # retried next iteration; an error would only recreate its record
        with contextlib.suppress(qemu.DriverError, OSError):
            self.driver.update(server_id, error=message, **compute.consumed(rest))

    def _execute(self, action: compute.Action) -> None:
        d, sid = self.driver, action.server_id
        match action:
            case compute.EnsureBaseImage(image=image):
                d.images.ensure(image, self.client.download)
            case compute.CreateDisk():
                d.create_disk(sid, action.image["id"], d.images.path(action.image["id"]),
                              images.cache_format(action.image["disk_format"]), action.root_gb)
                d.update(sid, host_id=self.host_id, reboot_seq=action.reboot_seq,
                         rebuild_seq=action.rebuild_seq, resize_seq=action.resize_seq)
            case compute.CreateFromVolume():
                d.update(sid, host_id=self.host_id, image_id=None, root_gb=0,
                         root_volume=action.volume_id, reboot_seq=action.reboot_seq,
                         rebuild_seq=action.rebuild_seq, resize_seq=action.resize_seq)
            case compute.RecordRebuild(seq=seq):
                d.update(sid, rebuild_seq=seq)
            case compute.RecordResize(seq=seq):
                d.update(sid, resize_seq=seq)
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
                d.update(sid, reboot_seq=action.seq)
            case compute.RecordReboot(seq=seq):
                d.update(sid, reboot_seq=seq)
            case compute.RecordPower(seq=seq):
                d.update(sid, power_seq=seq)
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
                d.update(sid, rebuild_seq=action.seq)
            case compute.Resize():
                d.resize_disk(sid, action.root_gb)
                d.update(sid, resize_seq=action.seq)
            case compute.Snapshot():
                self._snapshot(action)
            case compute.Destroy():
                d.destroy(sid)
            case compute.ClearError():
                d.update(sid, error=None)

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
        record = self.driver.record(sid)
        changes: dict[str, Any] = {
            "snapshots_done": (*record.snapshots_done, action.seq)[-KEEP_SNAPSHOT_SEQS:]}
        if error is not None:
            changes["snapshot_errors"] = (*record.snapshot_errors,
                                          (action.seq, error))[-KEEP_SNAPSHOT_SEQS:]
        self.driver.update(sid, **changes)

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
            if v["volume_id"] not in self._present:
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


def _describe(action: compute.Action) -> str:
    fields = {k: v for k, v in vars(action).items() if k not in ("server_id", "start")}
    if fields.get("image") is not None:
        fields["image"] = fields["image"]["id"]
    if "upload_url" in fields:
        del fields["upload_url"]
    inner = ", ".join(f"{k}={v}" for k, v in fields.items())
    return f"{type(action).__name__}({inner})"

