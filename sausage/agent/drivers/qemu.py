"""QEMU driver: one daemonized ``qemu-system-x86_64`` per server, spoken to over QMP.

Called by the agent loop for each planned action (``sausage.agent.loop``) and for observation
(``sausage.agent.observe``); the host tests call it directly. Everything of a server lives in
``<state>/instances/<id>/``:

    disk.qcow2    root disk: a qcow2 overlay on the base image cache (``drivers/images.py``);
                  absent for a server booted from a volume (its boot_index-0 ``Disk``)
    qemu.pid      written (and locked) by QEMU
    qmp.sock      the QMP socket
    serial.log    the guest's serial console (appended across restarts)
    qemu.log      QEMU's own messages (why it refused to start)
    record.json   the driver's bookkeeping: image, root volume, what it last did to the power,
                  the last start's size (the agent's applied counters: ``sausage.agent.state``)
    .lock         flock'd while an action runs, so two agents never act on one server

QEMU daemonizes into its own session, so VMs survive an agent restart; observation finds them
again by pidfile and ``/proc/<pid>/cmdline`` (never trusting a pid that does not name the
instance). Suspend is QMP ``stop`` like pause (the guest's memory stays in the QEMU process); the
record tells the two apart. Volumes (``Disk``) are not the instance's: they go on the command line
with the ids hotplug uses (``drivers/blockdevs.py``), and removing a server never touches them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import pathlib
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal

from sausage.agent.drivers import disks, flock, images, qmp
from sausage.agent.drivers.blockdevs import Disk
from sausage.agent.drivers.errors import DriverError

__all__ = [
    "DriverError", "Nic", "Disk", "Boot", "Record", "Status", "QemuDriver", "kvm_available",
    "choose_accel", "READY_MARKER", "CONSOLE_TAIL",
]

log = logging.getLogger(__name__)

READY_MARKER = b"SAUSAGE-READY"
CONSOLE_TAIL = 64 << 10
_SERIAL_KEEP = 1 << 20  # at start, a serial log above 4 MiB is cut to its last MiB
_SERIAL_MAX = 4 << 20
HostState = Literal["running", "paused", "suspended", "stopped"]


# -- what to start -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Nic:
    """One virtio NIC on the tap the network reconciler made; ids name the tap, so hotplug
    (``drivers/nics.py``) finds boot-time and hot-plugged NICs alike."""

    mac: str
    tap: str
    mtu: int = 1450

    def args(self, index: int) -> list[str]:
        del index  # PCI order is argument order
        return ["-netdev", f"tap,id=hn-{self.tap},ifname={self.tap},script=no,downscript=no",
                "-device", f"virtio-net-pci,id=nic-{self.tap},netdev=hn-{self.tap},"
                f"mac={self.mac},host_mtu={self.mtu}"]


@dataclasses.dataclass(frozen=True)
class Boot:
    """Everything ``start`` needs besides the disk already in the instance dir."""

    id: str
    vcpus: int
    memory_mb: int
    kernel: pathlib.Path | None = None
    initrd: pathlib.Path | None = None
    cmdline: str | None = None
    nics: tuple[Nic, ...] = ()  # the server's ports, in order
    volumes: tuple[Disk, ...] = ()  # attached volumes, in attach order (the root one first)

    @property
    def root_volume(self) -> Disk | None:
        """The volume the server boots from (boot index 0), if it boots from one."""
        return next((v for v in self.volumes if v.boot_index == 0), None)


@dataclasses.dataclass(frozen=True)
class Record:
    """The driver's bookkeeping for one server, kept in ``record.json`` across agent restarts."""

    host_id: str | None = None  # the host registration the server was created under
    image_id: str | None = None
    root_gb: int = 0
    root_volume: str | None = None  # booted from this volume: no disk.qcow2 of its own
    intent: HostState = "stopped"  # the power state the agent last put it in
    started: bool = False  # started at least once (until then it is "building")
    vcpus: int | None = None  # of the last start
    memory_mb: int | None = None
    log_offset: int = 0  # serial log size at the last start: the ready marker counts after it

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Record:
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclasses.dataclass(frozen=True)
class Status:
    """One observation of a server on this host."""

    id: str
    state: HostState
    record: Record
    has_disk: bool
    pid: int | None = None
    qemu_status: str | None = None  # QMP query-status, e.g. "running", "paused", "io-error"
    ready: bool = False  # the ready marker appeared on the console since the last start
    problem: str | None = None  # QMP did not answer: the process is there but not controllable


# -- acceleration ----------------------------------------------------------------------------------

def kvm_available(sys_module: pathlib.Path = pathlib.Path("/sys/module"),
                  dev: pathlib.Path = pathlib.Path("/dev/kvm")) -> bool:
    """KVM with a real hardware module; ``kvm_pvm`` (on these dev machines) hangs stock guests."""
    hardware = (sys_module / "kvm_intel").exists() or (sys_module / "kvm_amd").exists()
    return hardware and dev.exists()


def choose_accel(virt_type: str, available: bool | None = None) -> Literal["kvm", "tcg"]:
    """The accelerator for ``virt_type`` (auto | kvm | tcg); DriverError when kvm is impossible."""
    has_kvm = kvm_available() if available is None else available
    if virt_type == "tcg":
        return "tcg"
    if virt_type == "kvm":
        if not has_kvm:
            raise DriverError("virt_type is kvm but neither kvm_intel nor kvm_amd is loaded.")
        return "kvm"
    if virt_type == "auto":
        return "kvm" if has_kvm else "tcg"
    raise DriverError(f"Unknown virt_type {virt_type!r}: use auto, kvm or tcg.")


# -- the driver -----------------------------------------------------------------------------------

class _Lock:
    def __init__(self) -> None:
        self.mutex = threading.RLock()
        self.depth = 0
        self.fd: int | None = None


class QemuDriver:
    """Runs servers under ``state_dir``. Every public method that acts takes the instance lock
    (re-entrant within a thread, so a caller may hold it around several calls)."""

    def __init__(self, state_dir: pathlib.Path, *, accel: Literal["kvm", "tcg"] = "tcg",
                 netns: str | None = None, stop_timeout: float = 30,
                 qemu_binary: str = "qemu-system-x86_64") -> None:
        # Absolute: QEMU's arguments and the overlays' backing files name these paths.
        state_dir = pathlib.Path(os.path.abspath(state_dir))
        if "," in str(state_dir):
            raise DriverError(f"The state dir {state_dir} must not contain a comma (QEMU options).")
        self.state_dir = state_dir
        self.instances = state_dir / "instances"
        self.images = images.ImageCache(state_dir / "images")
        self.accel = accel
        self.netns = netns
        self.stop_timeout = stop_timeout
        self.qemu_binary = qemu_binary
        self._locks: dict[str, _Lock] = {}
        self._locks_mutex = threading.Lock()

    # -- paths and records -------------------------------------------------------------------------
    def dir(self, server_id: str) -> pathlib.Path:
        if not server_id or "/" in server_id or server_id.startswith(".") or "," in server_id:
            raise DriverError(f"Invalid server id {server_id!r}.")
        return self.instances / server_id

    def disk(self, server_id: str) -> pathlib.Path:
        return self.dir(server_id) / "disk.qcow2"

    def serial_log(self, server_id: str) -> pathlib.Path:
        return self.dir(server_id) / "serial.log"

    def record(self, server_id: str) -> Record:
        try:
            return Record.from_json((self.dir(server_id) / "record.json").read_text())
        except FileNotFoundError:
            return Record()
        except (ValueError, TypeError) as e:
            log.warning("server %s: unreadable record.json (%s); starting afresh", server_id, e)
            return Record()

    def document(self, server_id: str) -> dict[str, Any]:
        """``record.json`` as stored ({} when there is none or it is unreadable). Agents before
        the agent's own store (``sausage.agent.state``) kept the applied counters in it; the
        store takes them from here once."""
        try:
            data = json.loads((self.dir(server_id) / "record.json").read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def update(self, server_id: str, **changes: Any) -> Record:
        """Change fields of the record (written atomically); returns the new record."""
        with self.lock(server_id):
            record = dataclasses.replace(self.record(server_id), **changes)
            path = self.dir(server_id) / "record.json"
            tmp = path.with_name(".record.json.tmp")
            tmp.write_text(record.to_json())
            os.replace(tmp, path)
            return record

    @contextlib.contextmanager
    def lock(self, server_id: str, timeout: float = 120) -> Iterator[None]:
        """Exclusive use of one server, across threads and across agent processes."""
        path = self.dir(server_id)
        with self._locks_mutex:
            entry = self._locks.setdefault(server_id, _Lock())
        with entry.mutex:
            if entry.depth == 0:
                path.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(path / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
                if not flock.acquire(fd, timeout):
                    os.close(fd)
                    raise DriverError(f"Server {server_id} is locked by another process "
                                      "(a second agent?).")
                entry.fd = fd
            entry.depth += 1
            try:
                yield
            finally:
                entry.depth -= 1
                if entry.depth == 0 and entry.fd is not None:
                    os.close(entry.fd)
                    entry.fd = None

    # -- observation -------------------------------------------------------------------------------
    def server_ids(self) -> list[str]:
        """Servers with an instance dir or a QEMU process of ours."""
        ids = set(self._processes())
        if self.instances.is_dir():
            ids |= {p.name for p in self.instances.iterdir()
                    if p.is_dir() and not p.name.startswith(".")}
        return sorted(ids)

    def observe_all(self) -> list[Status]:
        processes = self._processes()
        return [self._observe(i, processes.get(i)) for i in self.server_ids()]

    def observe(self, server_id: str) -> Status:
        return self._observe(server_id, self.pid(server_id))

    def pid(self, server_id: str) -> int | None:
        """The live QEMU process of the server: the pidfile's, if it names the server, else any
        process of ours that does."""
        try:
            pid = int((self.dir(server_id) / "qemu.pid").read_text().strip())
        except (OSError, ValueError):
            pid = None
        if pid is not None and self._is_ours(pid, server_id):
            return pid
        return self._processes().get(server_id)

    def console(self, server_id: str, limit: int = CONSOLE_TAIL) -> str:
        """The last ``limit`` bytes of the serial log ('' when there is none)."""
        try:
            with open(self.serial_log(server_id), "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - limit))
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _observe(self, server_id: str, pid: int | None) -> Status:
        record = self.record(server_id)
        has_disk = self.disk(server_id).exists()
        if pid is None:
            return Status(server_id, "stopped", record, has_disk)
        qemu_status, problem = None, None
        try:
            qemu_status = str(qmp.execute(self.dir(server_id) / "qmp.sock", "query-status",
                                          timeout=5)["status"])
        except DriverError as e:
            problem = e.message
        if qemu_status == "running":
            state: HostState = "running"
        elif qemu_status is None:
            state = record.intent if record.intent != "stopped" else "running"
        else:
            # paused by us, or stopped by QEMU itself (io-error, guest-panicked ...)
            state = "suspended" if record.intent == "suspended" else "paused"
        return Status(server_id, state, record, has_disk, pid=pid, qemu_status=qemu_status,
                      ready=self._ready(server_id, record), problem=problem)

    def _ready(self, server_id: str, record: Record) -> bool:
        try:
            with open(self.serial_log(server_id), "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(record.log_offset, size - CONSOLE_TAIL))
                text = f.read()
        except FileNotFoundError:
            return False
        return text.startswith(READY_MARKER) or b"\n" + READY_MARKER in text

    def _processes(self) -> dict[str, int]:
        """server id → pid of every live QEMU process started from this state dir."""
        found: dict[str, int] = {}
        marker = str(self.instances) + "/"
        for entry in pathlib.Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            args = _cmdline(int(entry.name))
            if not args or "qemu-system" not in os.path.basename(args[0]):
                continue
            if "-uuid" not in args or not any(marker in arg for arg in args):
                continue
            uuid = args[args.index("-uuid") + 1] if args.index("-uuid") + 1 < len(args) else ""
            if uuid and _alive(int(entry.name)):
                found[uuid] = int(entry.name)
        return found

    def _is_ours(self, pid: int, server_id: str) -> bool:
        args = _cmdline(pid)
        if not args or "-uuid" not in args:
            return False
        i = args.index("-uuid")
        return (i + 1 < len(args) and args[i + 1] == server_id
                and any(str(self.dir(server_id)) + "/" in a for a in args) and _alive(pid))

    # -- disks ------------------------------------------------------------------------------------
    def create_disk(self, server_id: str, image_id: str, base: pathlib.Path, base_format: str,
                    root_gb: int) -> None:
        """Create (or replace) the root overlay of a stopped server on ``base``: ``root_gb`` GiB,
        or the image's size when that is larger or ``root_gb`` is 0. Raises DriverError."""
        with self.lock(server_id):
            self._require_stopped(server_id, "create its disk")
            size = disks.create_overlay(self.disk(server_id), base, base_format, root_gb)
            self.update(server_id, image_id=image_id, root_gb=root_gb)
            log.info("server %s: root disk on image %s (%.2f GiB)", server_id, image_id,
                     size / images.GiB)

    def resize_disk(self, server_id: str, root_gb: int) -> None:
        """Grow the root disk of a stopped server to ``root_gb`` GiB (never shrinks it)."""
        with self.lock(server_id):
            self._require_stopped(server_id, "resize its disk")
            if disks.grow(self.disk(server_id), root_gb):
                log.info("server %s: root disk grown to %d GiB", server_id, root_gb)
            self.update(server_id, root_gb=root_gb)

    def remove_disk(self, server_id: str) -> None:
        with self.lock(server_id):
            self._require_stopped(server_id, "remove its disk")
            self.disk(server_id).unlink(missing_ok=True)

    def snapshot(self, server_id: str, target: pathlib.Path, timeout: float = 3600) -> None:
        """Write the root disk's current content, flattened, as a standalone qcow2 ``target``.

        Consistent while running (QEMU's drive-backup, without pausing the guest); qemu-img
        for a stopped server. Raises DriverError; ``target`` only exists on success.
        """
        partial = target.with_name(f".{target.name}.partial")
        partial.unlink(missing_ok=True)
        with self.lock(server_id):
            if not self.disk(server_id).exists():
                raise DriverError(f"Server {server_id} has no root disk to snapshot.")
            try:
                if self.pid(server_id) is not None:
                    disks.copy_running(self.dir(server_id) / "qmp.sock", partial, timeout)
                else:
                    disks.copy_stopped(self.disk(server_id), partial, timeout)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
        log.info("server %s: snapshot written to %s", server_id, target)

    # -- power -------------------------------------------------------------------------------------
    def start(self, boot: Boot) -> int:
        """Start the server's QEMU (a no-op when it already runs); returns its pid.

        Raises DriverError with QEMU's own message when it refuses to start.
        """
        sid = boot.id
        with self.lock(sid):
            running = self.pid(sid)
            if running is not None:
                log.info("server %s: already running (pid %d)", sid, running)
                return running
            d = self.dir(sid)
            if boot.root_volume is None and not self.disk(sid).exists():
                raise DriverError(f"Server {sid} has no root disk.")
            for stale in ("qmp.sock", "qemu.pid"):
                (d / stale).unlink(missing_ok=True)
            offset = self._trim_serial_log(sid)
            args = self._qemu_args(boot)
            if self.netns:
                args = ["ip", "netns", "exec", self.netns, *args]
            t0 = time.monotonic()
            with open(d / "qemu.log", "ab") as qemu_log:
                try:
                    result = subprocess.run(args, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=qemu_log,
                                            timeout=60, check=False)
                except (OSError, subprocess.TimeoutExpired) as e:
                    raise DriverError(f"QEMU for server {sid} did not start: {e}") from e
            if result.returncode != 0:
                raise DriverError(f"QEMU refused to start server {sid}: "
                                  f"{_tail(d / 'qemu.log')}", code=result.returncode)
            pid = self.pid(sid)
            if pid is None:
                raise DriverError(f"QEMU for server {sid} exited right after starting: "
                                  f"{_tail(d / 'qemu.log')}")
            self.update(sid, intent="running", started=True, vcpus=boot.vcpus,
                        memory_mb=boot.memory_mb, log_offset=offset)
            log.info("server %s: started pid %d (%s, %d vCPU, %d MiB) in %.2f s", sid, pid,
                     self.accel, boot.vcpus, boot.memory_mb, time.monotonic() - t0)
            return pid

    def stop(self, server_id: str, graceful: bool = True, timeout: float | None = None) -> None:
        """Power off. Graceful: ACPI powerdown, wait up to ``timeout`` (default: the driver's
        stop_timeout); then QMP quit; then SIGKILL. Raises DriverError if the process survives."""
        with self.lock(server_id):
            pid = self.pid(server_id)
            if pid is None:
                self.update(server_id, intent="stopped")
                return
            sock = self.dir(server_id) / "qmp.sock"
            wait = self.stop_timeout if timeout is None else timeout
            if graceful:
                try:
                    running = qmp.execute(sock, "query-status", timeout=5)["status"] == "running"
                    if running:
                        qmp.execute(sock, "system_powerdown", timeout=5)
                except DriverError as e:
                    log.warning("server %s: no ACPI powerdown: %s", server_id, e.message)
                    running = False
                if running and _wait_gone(pid, wait):
                    log.info("server %s: powered off by the guest", server_id)
                    self._stopped(server_id)
                    return
                if running:
                    log.warning("server %s: guest did not power off within %.0f s; quitting",
                                server_id, wait)
            with contextlib.suppress(DriverError):
                qmp.execute(sock, "quit", timeout=5)
            if not _wait_gone(pid, 5):
                self._sigkill(server_id, pid)
            self._stopped(server_id)
            log.info("server %s: stopped", server_id)

    def kill(self, server_id: str) -> None:
        """SIGKILL the server's process (every process of ours naming it)."""
        with self.lock(server_id):
            pids = {p for p in (self.pid(server_id), self._processes().get(server_id)) if p}
            for pid in pids:
                self._sigkill(server_id, pid)
            self._stopped(server_id)
            if pids:
                log.info("server %s: killed pid %s", server_id,
                         ", ".join(str(p) for p in sorted(pids)))

    def reboot(self, boot: Boot, hard: bool) -> int:
        """Soft: graceful stop (the guest shuts down) and start. Hard: kill and start."""
        with self.lock(boot.id):
            if hard:
                self.kill(boot.id)
            else:
                self.stop(boot.id, graceful=True)
            return self.start(boot)

    def pause(self, server_id: str) -> None:
        self._qmp_power(server_id, "stop", "paused")

    def resume(self, server_id: str) -> None:
        self._qmp_power(server_id, "cont", "running")

    def suspend(self, server_id: str) -> None:
        self._qmp_power(server_id, "stop", "suspended")

    def resume_suspended(self, server_id: str) -> None:
        self._qmp_power(server_id, "cont", "running")

    def destroy(self, server_id: str) -> None:
        """Kill the process and remove the instance dir: nothing of the server is left."""
        with self.lock(server_id):
            self.kill(server_id)
            shutil.rmtree(self.dir(server_id), ignore_errors=True)
        if self.dir(server_id).exists():
            raise DriverError(f"Could not remove {self.dir(server_id)}.")
        log.info("server %s: destroyed", server_id)

    # -- internals ------------------------------------------------------------------------------
    def _qemu_args(self, boot: Boot) -> list[str]:
        d = self.dir(boot.id)
        smbios = (f"type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,"
                  f"uuid={boot.id},serial={boot.id}")
        args = [
            self.qemu_binary, "-name", f"guest={boot.id}", "-uuid", boot.id,
            "-machine", "pc", "-accel", self.accel,
            *(["-cpu", "host"] if self.accel == "kvm" else []),
            "-smp", str(boot.vcpus), "-m", str(boot.memory_mb),
            "-smbios", smbios,
            # No default devices: above all no default user-mode NIC reaching the host's network.
            "-nodefaults", "-no-user-config", "-display", "none",
            "-chardev", f"file,id=serial0,path={d / 'serial.log'},append=on",
            "-serial", "chardev:serial0",
            "-qmp", f"unix:{d / 'qmp.sock'},server=on,wait=off",
            "-pidfile", str(d / "qemu.pid"), "-daemonize", "-msg", "timestamp=on",
            "-device", "virtio-rng-pci",
        ]
        root = boot.root_volume
        drive = ["-drive", f"file={d / 'disk.qcow2'},if=none,id=root,format=qcow2,discard=unmap"]
        if root is not None:
            # Boot from volume: no disk of the instance's own; the root volume is vda.
            args += root.args()
        elif boot.kernel is None:
            args += [*drive, "-device", "virtio-blk-pci,drive=root,bootindex=0"]
        else:
            # QEMU's direct kernel boot takes boot index 0 itself.
            args += [*drive, "-device", "virtio-blk-pci,drive=root", "-kernel", str(boot.kernel)]
            if boot.initrd is not None:
                args += ["-initrd", str(boot.initrd)]
            args += ["-append", boot.cmdline or "console=ttyS0"]
        for volume in boot.volumes:
            if volume is not root:
                args += volume.args()
        for index, nic in enumerate(boot.nics):
            args += nic.args(index)
        return args

    def _qmp_power(self, server_id: str, command: str, intent: HostState) -> None:
        with self.lock(server_id):
            if self.pid(server_id) is None:
                raise DriverError(f"Server {server_id} is not running.")
            qmp.execute(self.dir(server_id) / "qmp.sock", command)
            self.update(server_id, intent=intent)
            log.info("server %s: %s", server_id, intent)

    def _require_stopped(self, server_id: str, what: str) -> None:
        if self.pid(server_id) is not None:
            raise DriverError(f"Server {server_id} must be stopped to {what}.")

    def _sigkill(self, server_id: str, pid: int) -> None:
        if not self._is_ours(pid, server_id):
            return  # exited meanwhile (and the pid may be someone else's by now)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not _wait_gone(pid, 10):
            raise DriverError(f"QEMU of server {server_id} (pid {pid}) survived SIGKILL.")

    def _stopped(self, server_id: str) -> None:
        d = self.dir(server_id)
        for stale in ("qmp.sock", "qemu.pid"):
            (d / stale).unlink(missing_ok=True)
        self.update(server_id, intent="stopped")

    def _trim_serial_log(self, server_id: str) -> int:
        """Keep the serial log bounded; returns its size (where this boot's output starts)."""
        path = self.serial_log(server_id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return 0
        if size <= _SERIAL_MAX:
            return size
        with open(path, "rb") as f:
            f.seek(size - _SERIAL_KEEP)
            keep = f.read()
        tmp = path.with_name(".serial.log.tmp")
        tmp.write_bytes(keep)
        os.replace(tmp, path)
        return len(keep)


def _cmdline(pid: int) -> list[str]:
    try:
        raw = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _alive(pid: int) -> bool:
    """Running and not a zombie waiting for its parent (init) to reap it."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:][:1] not in ("Z", "X", "")


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _tail(path: pathlib.Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return " / ".join(line.strip() for line in text.splitlines()[-lines:]) or "(empty log)"
