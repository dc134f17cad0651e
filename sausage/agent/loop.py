"""The agent's main loop: register, then forever fetch the desired state → reconcile → report.

Called by the CLI (``sausage agent``, and ``sausage up`` for the all-in-one) as
``run(config) -> int``. One iteration (``Agent.iterate``): GET the desired state (a long-poll on
its revision, at most ``resync_seconds`` long, so a full resync happens at least that often),
hand it to each reconciler in turn — networking (``sausage.agent.network``: a server's taps
must be on their bridges before it boots), volumes when the host holds a block-storage backend
(``sausage.agent.volumes``, ``cfg.volume_backend``: a server's volumes must exist before it
starts), then the servers (``sausage.agent.compute``) — and POST the observed state each of
them describes its section of (the heartbeat). The reconcilers never wait for their jobs
(``sausage.agent.jobs``); while any is unfinished the loop polls every second (a job ending
wakes it early) rather than long-polls. API failures and bugs back off, up to ``MAX_BACKOFF``.

The VMs are separate daemonized QEMU processes: SIGTERM stops the loop (after the actions in
flight) and leaves them running; the next start finds them again.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
import types
from collections.abc import Callable, Iterator

from sausage.agent import config as agent_config
from sausage.agent import hotplug, network, observe, registration, state
from sausage.agent import volumes as agent_volumes
from sausage.agent.client import Client, ClientError, CredentialRefused
from sausage.agent.compute import ComputeReconciler
from sausage.agent.drivers import qemu
from sausage.agent.jobs import JobRunner, Reconciler
from sausage.contract import host as contract

__all__ = ["run", "Agent"]

log = logging.getLogger("sausage.agent")

BUSY_POLL = 1.0  # seconds between iterations while actions are in flight
# For a while after acting on a server (a guest booting), report every few seconds rather than
# every resync, so `openstack console log show` follows the boot.
BOOT_POLL = 2.0
MAX_BACKOFF = 30.0


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
        self.interruptible = False
        self._desired: contract.Desired | None = None
        self._failures = 0  # API or loop failures in a row (the backoff grows with them)
        self._wake = threading.Event()
        self.network = network.NetworkReconciler(cfg,
                                                 host_token=lambda: self.client.token or "")
        self.hotplug = hotplug.Hotplug(self.driver, clock=clock)
        self.volumes = (agent_volumes.VolumeReconciler(
            cfg, self.client, self.driver.images, self.hotplug.resize_live,
            on_done=self._wake.set, live_copy=self.hotplug.copy_live)
            if cfg.volume_backend else None)
        self.compute = ComputeReconciler(
            self.driver, self.client, state.Store(cfg.state_dir / "servers", self.driver.document),
            self.hotplug, JobRunner(cfg.workers, "agent-act", self._wake.set),
            host_id=lambda: self.host_id, volumes=self.volumes, clock=clock)

    def _reconcilers(self) -> list[Reconciler]:
        """In the order they act and report."""
        return [self.network, *([self.volumes] if self.volumes is not None else []),
                self.compute]

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
        if desired is None or any(r.busy() for r in self._reconcilers()):
            if desired is not None:
                self._wake.wait(BUSY_POLL)  # a job finishing wakes us early
                self._wake.clear()
            return self.client.desired(self.host_id)
        self.interruptible = True
        try:
            wait = self.cfg.resync_seconds
            if self.compute.booting():
                wait = min(wait, BOOT_POLL)
            return self.client.desired(self.host_id, after=desired["revision"], wait=wait)
        finally:
            self.interruptible = False

    def _converge(self, desired: contract.Desired) -> None:
        # Networking first: a server's taps must be on their bridges before it boots.
        try:
            self.network.reconcile(desired)
        except Exception as e:  # a bug: report it, keep the servers going
            log.exception("network reconcile failed")
            self.network.last = network.Result([], [f"Internal error: {e!r}"])
        # Volumes next: a server's volumes must exist before it starts.
        if self.volumes is not None:
            try:
                self.volumes.reconcile(desired)
                self.compute.present = self.volumes.present()
            except Exception:  # a bug: the servers carry on with what is known
                log.exception("volume reconcile failed")
        self.compute.reconcile(desired)
        self._report(desired)

    def _report(self, desired: contract.Desired) -> None:
        assert self.host_id is not None
        vcpus, memory_mb, disk_gb = self.capacity
        report: contract.Observed = {
            "version": contract.VERSION, "host_id": self.host_id,
            "revision_seen": desired["revision"], "vcpus": vcpus, "memory_mb": memory_mb,
            "disk_gb": disk_gb, "servers": [], "ports_up": [], "network_errors": [],
        }
        for reconciler in self._reconcilers():
            reconciler.report(report)
        try:
            self.client.report(report)
        except ClientError:
            for reconciler in self._reconcilers():
                reconciler.reported(False)
            raise
        for reconciler in self._reconcilers():
            reconciler.reported(True)

    def _shutdown(self) -> None:
        for reconciler in reversed(self._reconcilers()):
            reconciler.close()
        self.client.close()
        log.info("agent stopped; VMs keep running")

    # -- registration ----------------------------------------------------------------------------
    def _register(self) -> None:
        self.host_id = registration.register(self.cfg, self.client, self.driver.accel,
                                             self.capacity)

    def _forget_credential(self) -> None:
        self.cfg.credential_file.unlink(missing_ok=True)
        self.host_id, self.client.token = None, None
