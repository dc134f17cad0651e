"""Fakes for the agent loop's unit tests: a host of VMs, the API, a clock, and a harness.

``FakeHost`` stands in for the QEMU driver: it models each server's state (a process that runs,
is paused or suspended, or none; a root disk; the NICs and volumes QEMU has; the driver's
``record.json``) in memory, and its instance dirs are real directories (serial logs, snapshot
files). A test can make an operation fail (``fail``) or hold it at a checkpoint (``hold``) and
then let it go on or kill the agent there. ``FakeQmp`` answers the few QMP commands hotplug
sends, from the same model. ``FakeApi`` is the internal API as the agent's client sees it.
``Harness`` builds an agent on them and drives it one iteration at a time.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import pathlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from sausage.agent import config as agent_config
from sausage.agent import loop
from sausage.agent.client import ClientError
from sausage.agent.drivers import qemu, qmp
from sausage.contract import host as contract

HOST_ID = "host-1"


class Killed(BaseException):
    """The agent process died here (not an Exception: nothing in the agent catches it)."""


class Gate:
    """A point an operation stops at until the test lets it go on, or kills the agent there."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._go = threading.Event()
        self._kill = False

    def release(self) -> None:
        self._go.set()

    def kill(self) -> None:
        self._kill = True
        self._go.set()

    def pass_(self) -> None:
        self.reached.set()
        if not self._go.wait(10):
            raise AssertionError("a held operation was never released")
        if self._kill:
            raise Killed()


@dataclasses.dataclass
class Vm:
    record: qemu.Record = dataclasses.field(default_factory=qemu.Record)
    state: qemu.HostState = "stopped"
    pid: int | None = None
    disk: bool = False
    nics: list[str] = dataclasses.field(default_factory=list)  # taps QEMU has
    volumes: list[str] = dataclasses.field(default_factory=list)
    document: dict[str, Any] = dataclasses.field(default_factory=dict)  # an older record.json


class FakeImages:
    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.cached: set[str] = set()

    def ensure(self, image: contract.ImageRef, fetch: Any) -> pathlib.Path:
        if image["id"] not in self.cached:
            with fetch(image["url"]) as chunks:
                b"".join(chunks)
            self.cached.add(image["id"])
        return self.path(image["id"])

    def path(self, image_id: str) -> pathlib.Path:
        return self.root / image_id

    def ids(self) -> frozenset[str]:
        return frozenset(self.cached)


class FakeHost:
    """The QEMU driver's interface over an in-memory model of the host's VMs."""

    accel = "tcg"

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.instances = root / "instances"
        self.images = FakeImages(root / "images")
        self.vms: dict[str, Vm] = {}
        self.calls: list[tuple[str, str]] = []  # (operation, server id), in order
        self._failures: dict[str, list[str]] = {}
        self._gates: dict[str, Gate] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._mutex = threading.Lock()
        self._next_pid = 1000

    # -- what a test sets up -------------------------------------------------------------------
    def fail(self, operation: str, message: str, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` raise DriverError(message)."""
        self._failures.setdefault(operation, []).extend([message] * times)

    def hold(self, checkpoint: str) -> Gate:
        """The next operation that reaches ``checkpoint`` waits there (see ``Gate``)."""
        gate = self._gates[checkpoint] = Gate()
        return gate

    def count(self, operation: str, server_id: str | None = None) -> int:
        return sum(1 for op, sid in self.calls
                   if op == operation and (server_id is None or sid == server_id))

    # -- internals -------------------------------------------------------------------------------
    def _call(self, operation: str, server_id: str) -> None:
        self.calls.append((operation, server_id))
        failures = self._failures.get(operation)
        if failures:
            raise qemu.DriverError(failures.pop(0))

    def _checkpoint(self, name: str) -> None:
        gate = self._gates.pop(name, None)
        if gate is not None:
            gate.pass_()

    def _vm(self, server_id: str) -> Vm:
        self.dir(server_id).mkdir(parents=True, exist_ok=True)
        return self.vms.setdefault(server_id, Vm())

    # -- paths and records -----------------------------------------------------------------------
    def dir(self, server_id: str) -> pathlib.Path:
        return self.instances / server_id

    def serial_log(self, server_id: str) -> pathlib.Path:
        return self.dir(server_id) / "serial.log"

    def console(self, server_id: str, limit: int = qemu.CONSOLE_TAIL) -> str:
        try:
            return self.serial_log(server_id).read_text()[-limit:]
        except FileNotFoundError:
            return ""

    def record(self, server_id: str) -> qemu.Record:
        vm = self.vms.get(server_id)
        return vm.record if vm is not None else qemu.Record()

    def document(self, server_id: str) -> dict[str, Any]:
        vm = self.vms.get(server_id)
        return dict(vm.document) if vm is not None else {}

    def update(self, server_id: str, **changes: Any) -> qemu.Record:
        with self.lock(server_id):
            vm = self._vm(server_id)
            vm.record = dataclasses.replace(vm.record, **changes)
            vm.document = dataclasses.asdict(vm.record)  # as the driver writes record.json
            return vm.record

    @contextlib.contextmanager
    def lock(self, server_id: str, timeout: float = 120) -> Iterator[None]:
        with self._mutex:
            lock = self._locks.setdefault(server_id, threading.RLock())
        if not lock.acquire(timeout=timeout):
            raise qemu.DriverError(f"Server {server_id} is locked.")
        try:
            yield
        finally:
            lock.release()

    # -- observation -----------------------------------------------------------------------------
    def server_ids(self) -> list[str]:
        return sorted(self.vms)

    def observe_all(self) -> list[qemu.Status]:
        return [self.observe(sid) for sid in self.server_ids()]

    def observe(self, server_id: str) -> qemu.Status:
        vm = self.vms[server_id]
        return qemu.Status(server_id, vm.state, vm.record, vm.disk, pid=vm.pid,
                           qemu_status=None if vm.pid is None else "running",
                           ready=vm.pid is not None)

    def pid(self, server_id: str) -> int | None:
        vm = self.vms.get(server_id)
        return vm.pid if vm is not None else None

    # -- disks -----------------------------------------------------------------------------------
    def create_disk(self, server_id: str, image_id: str, base: pathlib.Path, base_format: str,
                    root_gb: int) -> None:
        with self.lock(server_id):
            self._call("create_disk", server_id)
            vm = self._vm(server_id)
            self._require_stopped(vm, server_id)
            vm.disk = True
            self.update(server_id, image_id=image_id, root_gb=root_gb)
            self._checkpoint("disk created")

    def resize_disk(self, server_id: str, root_gb: int) -> None:
        with self.lock(server_id):
            self._call("resize_disk", server_id)
            self._require_stopped(self._vm(server_id), server_id)
            self.update(server_id, root_gb=root_gb)

    def remove_disk(self, server_id: str) -> None:
        with self.lock(server_id):
            self._call("remove_disk", server_id)
            vm = self._vm(server_id)
            self._require_stopped(vm, server_id)
            vm.disk = False

    def snapshot(self, server_id: str, target: pathlib.Path, timeout: float = 3600) -> None:
        with self.lock(server_id):
            self._call("snapshot", server_id)
            target.write_bytes(b"snapshot of " + server_id.encode())

    # -- power -----------------------------------------------------------------------------------
    def start(self, boot: qemu.Boot) -> int:
        sid = boot.id
        with self.lock(sid):
            vm = self._vm(sid)
            if vm.pid is not None:
                return vm.pid
            self._call("start", sid)
            self._checkpoint("starting")
            if boot.root_volume is None and not vm.disk:
                raise qemu.DriverError(f"Server {sid} has no root disk.")
            self._next_pid += 1
            vm.pid, vm.state = self._next_pid, "running"
            vm.nics = [nic.tap for nic in boot.nics]
            vm.volumes = [disk.volume_id for disk in boot.volumes]
            with open(self.serial_log(sid), "a") as f:
                f.write(f"boot {self._next_pid}\n")
            self.update(sid, intent="running", started=True, vcpus=boot.vcpus,
                        memory_mb=boot.memory_mb)
            self._checkpoint("started")
            return vm.pid

    def stop(self, server_id: str, graceful: bool = True, timeout: float | None = None) -> None:
        with self.lock(server_id):
            self._call("stop", server_id)
            self._stopped(server_id)

    def kill(self, server_id: str) -> None:
        with self.lock(server_id):
            self._call("kill", server_id)
            self._stopped(server_id)

    def reboot(self, boot: qemu.Boot, hard: bool) -> int:
        with self.lock(boot.id):
            self._call("reboot", boot.id)
            self._stopped(boot.id)
            return self.start(boot)

    def pause(self, server_id: str) -> None:
        self._power(server_id, "pause", "paused")

    def resume(self, server_id: str) -> None:
        self._power(server_id, "resume", "running")

    def suspend(self, server_id: str) -> None:
        self._power(server_id, "suspend", "suspended")

    def resume_suspended(self, server_id: str) -> None:
        self._power(server_id, "resume_suspended", "running")

    def destroy(self, server_id: str) -> None:
        with self.lock(server_id):
            self._call("destroy", server_id)
            self.vms.pop(server_id, None)

    def _power(self, server_id: str, operation: str, state: qemu.HostState) -> None:
        with self.lock(server_id):
            self._call(operation, server_id)
            vm = self._vm(server_id)
            if vm.pid is None:
                raise qemu.DriverError(f"Server {server_id} is not running.")
            vm.state = state
            self.update(server_id, intent=state)

    def _stopped(self, server_id: str) -> None:
        vm = self._vm(server_id)
        vm.pid, vm.state, vm.nics, vm.volumes = None, "stopped", [], []
        self.update(server_id, intent="stopped")

    @staticmethod
    def _require_stopped(vm: Vm, server_id: str) -> None:
        if vm.pid is not None:
            raise qemu.DriverError(f"Server {server_id} must be stopped.")


class FakeQmp:
    """``qmp.execute`` over the fake host's model: the devices of a running QEMU."""

    def __init__(self, host: FakeHost) -> None:
        self.host = host

    def execute(self, sock: pathlib.Path, command: str, arguments: dict[str, Any] | None = None,
                timeout: float = 10) -> Any:
        vm = self.host.vms.get(sock.parent.name)
        if vm is None or vm.pid is None:
            raise qmp.QmpError(f"QMP {sock}: connection refused")
        args = arguments or {}
        if command == "qom-list":
            return ([{"name": f"nic-{tap}"} for tap in vm.nics]
                    + [{"name": f"vol-{v}"} for v in vm.volumes])
        if command == "query-named-block-nodes":
            return []
        if command == "device_add" and args["id"].startswith("nic-"):
            vm.nics.append(args["id"][4:])
        elif command == "device_del" and args["id"].startswith("nic-"):
            vm.nics.remove(args["id"][4:])
        return {}


class FakeApi:
    """The internal API as the agent's client sees it: one desired document, the reports."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.revision = 0
        self.document: contract.Desired = self._document([])
        self.reports: list[contract.Observed] = []
        self.report_failures: list[str] = []
        self.uploads: list[str] = []

    def want(self, *servers: contract.DesiredServer) -> None:
        """A new revision of the desired state with these servers."""
        self.revision += 1
        self.document = self._document(list(servers))

    def _document(self, servers: list[contract.DesiredServer]) -> contract.Desired:
        return {"version": contract.VERSION, "host_id": HOST_ID,  # type: ignore[typeddict-item]
                "revision": self.revision, "servers": servers}

    # -- the client's interface ----------------------------------------------------------------
    def register(self, registration: contract.Registration,
                 key: str) -> contract.RegistrationReply:
        return {"host_id": HOST_ID, "token": "host-token"}

    def desired(self, host_id: str, after: int | None = None,
                wait: float | None = None) -> contract.Desired:
        return copy.deepcopy(self.document)

    def report(self, observed: contract.Observed) -> None:
        if self.report_failures:
            raise ClientError(self.report_failures.pop(0))
        self.reports.append(copy.deepcopy(observed))

    @contextlib.contextmanager
    def download(self, url: str) -> Iterator[Iterator[bytes]]:
        yield iter([b"image data"])

    def upload(self, url: str, path: pathlib.Path) -> None:
        path.read_bytes()
        self.uploads.append(url)

    def close(self) -> None:
        pass

    # -- what the agent said ----------------------------------------------------------------------
    def last(self, server_id: str) -> contract.ObservedServer:
        """The server as the last report described it."""
        servers = {s["id"]: s for s in self.reports[-1]["servers"]}
        return servers[server_id]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeNetwork:
    """The network reconciler, with nothing to wire (these tests have no networks)."""

    def reconcile(self, desired: contract.Desired) -> None:
        pass

    def report(self, observed: contract.Observed) -> None:
        observed["ports_up"], observed["network_errors"] = [], []

    def reported(self, accepted: bool) -> None:
        pass

    def busy(self) -> bool:
        return False

    def close(self) -> None:
        pass


class Harness:
    """An agent on the fakes, driven one iteration at a time. ``restart`` is a new agent
    process on the same host and state dir (the old one is simply never heard of again)."""

    def __init__(self, state_dir: pathlib.Path) -> None:
        self.state_dir = state_dir
        self.host = FakeHost(state_dir)
        self.api = FakeApi()
        self.clock = FakeClock()
        self.cfg = agent_config.AgentConfig(state_dir=state_dir, host_name="fake",
                                            vcpus=4, memory_mb=4096, disk_gb=100)
        self.delays: list[float] = []
        self.agent = self._new_agent()

    def _new_agent(self) -> loop.Agent:
        agent = loop.Agent(self.cfg, client=self.api,  # type: ignore[arg-type]
                           driver=self.host, clock=self.clock)  # type: ignore[arg-type]
        agent.network = FakeNetwork()  # type: ignore[assignment]
        return agent

    def restart(self) -> None:
        self.agent = self._new_agent()

    def iterate(self) -> contract.Observed | None:
        """One pass of the loop; the report it sent (None when it sent none)."""
        before = len(self.api.reports)
        self.delays.append(self.agent.iterate())
        return self.api.reports[-1] if len(self.api.reports) > before else None

    def settle(self, limit: int = 20) -> contract.Observed:
        """Iterate until a report says no server is busy and nothing was left to do."""
        for _ in range(limit):
            calls = len(self.host.calls)
            report = self.iterate()
            if report is not None and not any(s.get("busy") for s in report["servers"]) \
                    and len(self.host.calls) == calls:
                return report
        raise AssertionError(f"the agent did not settle in {limit} iterations: "
                             f"{self.host.calls}")

    def wait_idle(self, timeout: float = 5) -> None:
        """Until the agent's jobs in flight have ended."""
        deadline = time.monotonic() + timeout
        while self.agent.compute.runner.running():
            if time.monotonic() > deadline:
                raise AssertionError("the agent's jobs did not end")
            time.sleep(0.005)

    def close(self) -> None:
        self.agent.stop.set()
        self.agent.compute.runner.close()


def server(sid: str = "s1", **changes: Any) -> contract.DesiredServer:
    base: contract.DesiredServer = {
        "id": sid, "name": "vm", "hostname": "vm", "power": "running", "power_seq": 1,
        "vcpus": 1, "memory_mb": 256, "root_gb": 1, "image": IMAGE, "reboot_seq": 0,
        "reboot_kind": "soft", "rebuild_seq": 0, "resize_seq": 0, "snapshots": [],
    }
    base.update(changes)  # type: ignore[typeddict-item]
    return base


IMAGE: contract.ImageRef = {"id": "img-1", "disk_format": "qcow2", "checksum": None,
                            "size": None, "url": "/internal/v1/images/img-1/file"}
