"""Helpers for host tests: throwaway network namespaces, and guests booted inside them.

Network rule (DESIGN.md §9): everything here lives in a namespace `sg-<random>` that the test
creates — bridge, tap, dnsmasq, metadata server, QEMU — and traffic goes only to addresses inside
it. Nothing is added to this machine's own interfaces. `close()` removes every process, the
namespace and the temp dir, also when a step failed half-way.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from sausage.agent.drivers import qemu
from tests.conftest import REPO

TESTIMAGE_BUILD = REPO / "tools" / "testimage" / "build"
METADATA_SERVER = pathlib.Path(__file__).resolve().parent / "metadata_server.py"
HOST_TOOLS = ("ip", "qemu-system-x86_64", "qemu-img", "dnsmasq", "ssh", "ssh-keygen", "curl",
              "ping")

# time-to-READY per boot, printed in the terminal summary (timed goals are not assertions)
TIMINGS: list[tuple[str, float, str]] = []


def require_host() -> None:
    """Host tests need root and the tools tools/install puts there; say so clearly."""
    if os.geteuid() != 0:
        pytest.skip("host tests need root (network namespaces, taps)")
    missing = [tool for tool in HOST_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"missing host tools {missing}: run `make install` (tools/install)")


class CommandFailed(subprocess.CalledProcessError):
    """A CalledProcessError that says what the command printed on stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{self.stderr}"


def run(args: Sequence[str], timeout: float = 30, check: bool = True,
        **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                            check=False, **kwargs)
    if check and result.returncode != 0:
        raise CommandFailed(result.returncode, result.args, result.stdout, result.stderr)
    return result


def netns_list() -> list[str]:
    out = run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain `text` (a temp dir, a namespace name)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found


class Netns:
    """A network namespace named `sg-<random>`, deleted with every process left in it."""

    def __init__(self) -> None:
        self.name = f"sg-{secrets.token_hex(4)}"
        self.created = False

    def create(self) -> None:
        run(["ip", "netns", "add", self.name])
        self.created = True
        self.ip("link", "set", "lo", "up")

    def ip(self, *args: str) -> None:
        run(["ip", "-n", self.name, *args])

    def exec_args(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def run(self, *args: str, timeout: float = 30,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        return run(self.exec_args(*args), timeout=timeout, check=check)

    def delete(self) -> None:
        if not self.created:
            return
        pids = run(["ip", "netns", "pids", self.name], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        run(["ip", "netns", "delete", self.name], check=False)
        self.created = False


class GuestEnv:
    """One test guest booted under QEMU/TCG inside its own namespace.

    The namespace holds a bridge (192.0.2.1/24 and 169.254.169.254/32), the VM's tap on it,
    dnsmasq answering DHCP on the bridge only (fixed address for the VM's MAC, MTU 1450 and a
    classless static route to the metadata address) and a metadata server on 169.254.169.254:80.
    """

    SUBNET_GW = "192.0.2.1"
    VM_IP = "192.0.2.10"
    VM_MAC = "52:54:00:5a:00:10"
    MTU = 1450

    def __init__(self, image_dir: pathlib.Path, form: str, hostname: str = "vm-test",
                 user_data: str | None = None, data_disk_mib: int = 0, rng: bool = True,
                 memory_mib: int = 256) -> None:
        assert form in ("disk", "kernel")
        self.image_dir = image_dir.resolve()
        self.form = form
        self.hostname = hostname
        self.user_data = user_data
        self.data_disk_mib = data_disk_mib
        self.rng = rng  # without virtio-rng, dropbear waits ~3 s for the kernel's entropy
        self.memory_mib = memory_mib
        self.ns = Netns()
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="sausage-host-"))
        self.serial = self.tmp / "serial.log"
        self.key = self.tmp / "id_ed25519"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.pids: dict[str, int] = {}
        self.time_to_ready: float | None = None
        self.serial_text = ""
        self.closed = False

    # -- setup ---------------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sausage-host-test",
             "-f", str(self.key)])
        self.ns.create()
        ns = self.ns
        ns.ip("link", "add", "br0", "type", "bridge")
        ns.ip("addr", "add", f"{self.SUBNET_GW}/24", "dev", "br0")
        ns.ip("addr", "add", "169.254.169.254/32", "dev", "br0")
        ns.ip("link", "set", "br0", "up")
        ns.ip("tuntap", "add", "dev", "tap0", "mode", "tap")
        ns.ip("link", "set", "tap0", "master", "br0", "up")
        self._start_dnsmasq()
        self._start_metadata()
        self._start_qemu()

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 (closed right after spawn)
        try:
            proc = subprocess.Popen(self.ns.exec_args(*args), stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        self.procs[name] = proc
        self.pids[name] = proc.pid

    def _start_dnsmasq(self) -> None:
        gw = self.SUBNET_GW
        self._spawn("dnsmasq", [
            "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
            "--no-hosts", "--port=0", "--interface=br0", "--bind-interfaces",
            "--except-interface=lo", "--user=root", "--group=root",
            f"--pid-file={self.tmp / 'dnsmasq.pid'}",
            f"--dhcp-leasefile={self.tmp / 'dnsmasq.leases'}",
            "--log-dhcp", f"--log-facility={self.tmp / 'dnsmasq-events.log'}",
            "--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,1h",
            f"--dhcp-host={self.VM_MAC},{self.VM_IP},{self.hostname}",
            f"--dhcp-option=option:router,{gw}",
            f"--dhcp-option=option:mtu,{self.MTU}",
            f"--dhcp-option=option:classless-static-route,169.254.169.254/32,{gw},0.0.0.0/0,{gw}",
        ])

    def _start_metadata(self) -> None:
        meta = {
            "uuid": "6d3c1c36-6d8f-4a3e-9a4c-0a7d5c0f5a10",
            "name": self.hostname,
            "hostname": self.hostname,
            "availability_zone": "nova",
            "launch_index": 0,
            "project_id": "0c6f5b0de6a14b9db1d6d1f1e2a0c7e4",
            "public_keys": {"k": self.key.with_suffix(".pub").read_text().strip()},
            "keys": [{"name": "k", "type": "ssh",
                      "data": self.key.with_suffix(".pub").read_text().strip()}],
        }
        routes = {
            "/openstack": "latest\n",
            "/openstack/latest/meta_data.json": json.dumps(meta),
        }
        if self.user_data is not None:
            routes["/openstack/latest/user_data"] = self.user_data
        (self.tmp / "routes.json").write_text(json.dumps(routes))
        ready = self.tmp / "metadata.ready"
        self._spawn("metadata", [sys.executable, str(METADATA_SERVER),
                                 str(self.tmp / "routes.json"), "169.254.169.254", "80",
                                 str(ready)])
        deadline = time.monotonic() + 15
        while not ready.exists():
            if self.procs["metadata"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("metadata server did not start:\n" + self.log("metadata"))
            time.sleep(0.05)

    def _start_qemu(self) -> None:
        args = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(self.memory_mib), "-smp", "1",
                "-nographic", "-no-reboot", "-monitor", "none",
                "-serial", f"file:{self.serial}",
                "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
                "-device", f"virtio-net-pci,netdev=n0,mac={self.VM_MAC}"]
        if self.rng:
            args += ["-device", "virtio-rng-pci"]
        if self.form == "disk":
            overlay = self.tmp / "root.qcow2"
            run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2",
                 "-b", str(self.image_dir / "disk.qcow2"), str(overlay)])
            args += ["-drive", f"file={overlay},if=none,id=root,format=qcow2",
                     "-device", "virtio-blk-pci,drive=root,bootindex=0"]
        else:
            args += ["-kernel", str(self.image_dir / "vmlinuz"),
                     "-initrd", str(self.image_dir / "initrd.img"),
                     "-append", "console=ttyS0"]
        if self.data_disk_mib:
            data = self.tmp / "data.qcow2"
            run(["qemu-img", "create", "-q", "-f", "qcow2", str(data), f"{self.data_disk_mib}M"])
            args += ["-drive", f"file={data},if=none,id=data,format=qcow2",
                     "-device", "virtio-blk-pci,drive=data"]
        self.t0 = time.monotonic()
        self._spawn("qemu", args)

    # -- observing -------------------------------------------------------------------------------
    def log(self, name: str) -> str:
        try:
            return (self.tmp / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""

    def console(self) -> str:
        if self.closed:
            return self.serial_text
        try:
            return self.serial.read_text(errors="replace")
        except OSError:
            return ""

    def markers(self) -> list[str]:
        """Marker lines of the serial log (from the marker on: BIOS noise may precede it)."""
        found = []
        for line in self.console().splitlines():
            starts = [i for i in (line.find("SAUSAGE-"), line.find("USERDATA-")) if i >= 0]
            if starts:
                found.append(line[min(starts):].strip())
        return found

    def wait_for(self, marker: str, timeout: float = 120) -> float:
        """Seconds from QEMU's start until `marker` starts a line of the serial log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.startswith(marker) for line in self.markers()):
                return time.monotonic() - self.t0
            qemu = self.procs.get("qemu")
            if qemu is not None and qemu.poll() is not None:
                raise AssertionError(f"QEMU exited ({qemu.returncode}) before {marker!r}:\n"
                                     f"{self.log('qemu')}\n{self.tail()}")
            time.sleep(0.05)
        raise AssertionError(f"no {marker!r} within {timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "serial log tail:\n" + "\n".join(self.console().splitlines()[-lines:])

    def boot(self) -> None:
        self.start()
        try:
            self.time_to_ready = self.wait_for("SAUSAGE-READY")
        except BaseException:
            self.close()
            raise
        ready = [m for m in self.markers() if m.startswith("SAUSAGE-READY")]
        uptime = ready[0].split()[-1] if ready else "?"
        TIMINGS.append((self.form, self.time_to_ready, uptime))
        print(f"\n{self.form} boot: SAUSAGE-READY after {self.time_to_ready:.2f} s "
              f"(guest uptime {uptime} s)")

    def ssh(self, *command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return self.ns.run("ssh", "-F", "/dev/null", "-i", str(self.key), "-o", "IdentitiesOnly=yes",
                           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                           "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
                           f"root@{self.VM_IP}", *command, timeout=timeout)

    # -- teardown --------------------------------------------------------------------------------
    def close(self) -> None:
        """Stops QEMU, dnsmasq and the metadata server, deletes the namespace and temp dir.

        Safe to call twice and after a failed start."""
        if self.closed:
            return
        try:
            self.serial_text = self.serial.read_text(errors="replace")
        except OSError:
            self.serial_text = ""
        for name in ("qemu", "metadata", "dnsmasq"):
            proc = self.procs.get(name)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.ns.delete()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.closed = True

    def leftovers(self) -> list[str]:
        """What is still there after close(): must be nothing."""
        found = []
        if self.ns.name in netns_list():
            found.append(f"namespace {self.ns.name}")
        for name, pid in self.pids.items():
            if pathlib.Path(f"/proc/{pid}").exists():
                found.append(f"{name} process {pid}")
        found += processes_mentioning(str(self.tmp))
        found += processes_mentioning(self.ns.name)
        if self.tmp.exists():
            found.append(f"temp dir {self.tmp}")
        return found


@pytest.fixture(scope="session")
def testimage() -> Iterator[pathlib.Path]:
    """Builds (or finds up to date) the test guest with tools/testimage/build."""
    require_host()
    out = REPO / ".cache" / "testimage"
    result = run([str(TESTIMAGE_BUILD), "--out", str(out)], timeout=600, check=False)
    print(result.stdout, result.stderr)
    assert result.returncode == 0, f"tools/testimage/build failed:\n{result.stdout}{result.stderr}"
    yield out


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("test guest boot times (QEMU/TCG)")
        for form, seconds, uptime in TIMINGS:
            terminalreporter.write_line(f"{form}: SAUSAGE-READY {seconds:.2f} s after QEMU start "
                                        f"(guest uptime {uptime} s)")


# -- a QEMU driver in a throwaway state dir (the QEMU host tests) -----------------------------------

@pytest.fixture
def state_dir() -> Iterator[pathlib.Path]:
    require_host()
    path = pathlib.Path(tempfile.mkdtemp(prefix="sausage-qemu-"))
    try:
        yield path
    finally:
        leftovers = processes_mentioning(str(path))
        for line in leftovers:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(line.split(":")[0]), signal.SIGKILL)
        shutil.rmtree(path, ignore_errors=True)
        assert not leftovers, f"processes left behind: {leftovers}"


@pytest.fixture
def driver(state_dir: pathlib.Path) -> Iterator[qemu.QemuDriver]:
    drv = qemu.QemuDriver(state_dir, accel=qemu.choose_accel("auto"), stop_timeout=30)
    try:
        yield drv
    finally:
        for server_id in drv.server_ids():
            drv.destroy(server_id)
