"""The QEMU driver and the base image cache, with the real test guest (root, QEMU/TCG).

No network: the guests get no NIC (they print SAUSAGE-NO-NETWORK and go on to SAUSAGE-READY).
Every test works in its own temp state dir and ends with nothing left: no QEMU process naming
it, no files. Boots are few: one disk guest lives through the whole lifecycle, one kernel guest
checks the stop fallback.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import signal
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from sausage.agent.drivers import images, qemu
from sausage.contract import host as contract
from tests.host.conftest import TIMINGS, processes_mentioning, run

BOOT_TIMEOUT = 120


def image_ref(path: pathlib.Path, image_id: str, disk_format: str) -> contract.ImageRef:
    data = path.read_bytes()
    return {"id": image_id, "disk_format": disk_format, "size": len(data),
            "checksum": hashlib.md5(data, usedforsecurity=False).hexdigest(),
            "url": f"file://{path}"}


@contextlib.contextmanager
def local_fetch(url: str) -> Iterator[Iterator[bytes]]:
    """Stands in for the internal API's image download: streams a local file."""
    def chunks() -> Iterator[bytes]:
        with open(url.removeprefix("file://"), "rb") as f:
            while chunk := f.read(1 << 20):
                yield chunk
    yield chunks()


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = BOOT_TIMEOUT) -> float:
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - t0


def cmdline(pid: int) -> str:
    return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


# -- the image cache -------------------------------------------------------------------------------

def test_the_cache_downloads_once_and_checks_the_checksum(
        state_dir: pathlib.Path, testimage: pathlib.Path) -> None:
    cache = images.ImageCache(state_dir / "images")
    ref = image_ref(testimage / "disk.qcow2", "img-1", "qcow2")
    fetched: list[str] = []

    @contextlib.contextmanager
    def counting(url: str) -> Iterator[Iterator[bytes]]:
        fetched.append(url)
        with local_fetch(url) as chunks:
            yield chunks

    path = cache.ensure(ref, counting)
    assert cache.ensure(ref, counting) == path
    assert fetched == [ref["url"]]
    assert path.read_bytes() == (testimage / "disk.qcow2").read_bytes()
    assert cache.ids() == {"img-1"}

    with pytest.raises(images.CacheError, match="does not match its checksum"):
        cache.ensure({**ref, "id": "img-2", "checksum": "0" * 32}, local_fetch)
    assert cache.ids() == {"img-1"}
    assert not [p for p in (state_dir / "images").iterdir() if p.name.endswith(".partial")]


def test_the_cache_refuses_an_image_that_refers_to_a_host_file(
        state_dir: pathlib.Path, testimage: pathlib.Path) -> None:
    sneaky = state_dir / "sneaky.qcow2"
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2",
         "-b", str(testimage / "disk.qcow2"), str(sneaky)])
    cache = images.ImageCache(state_dir / "images")
    with pytest.raises(images.CacheError, match="refers to other files"):
        cache.ensure(image_ref(sneaky, "img-1", "qcow2"), local_fetch)
    with pytest.raises(images.CacheError, match="declared raw"):
        cache.ensure(image_ref(testimage / "disk.qcow2", "img-2", "raw"), local_fetch)
    assert cache.ids() == frozenset()


def test_auto_picks_kvm_only_with_a_hardware_kvm_module(tmp_path: pathlib.Path) -> None:
    dev = tmp_path / "kvm"
    dev.touch()
    (tmp_path / "kvm_pvm").mkdir()
    assert not qemu.kvm_available(tmp_path, dev)
    assert qemu.choose_accel("auto", available=False) == "tcg"
    with pytest.raises(qemu.DriverError, match="kvm_intel"):
        qemu.choose_accel("kvm", available=False)
    (tmp_path / "kvm_intel").mkdir()
    assert qemu.kvm_available(tmp_path, dev)
    assert qemu.choose_accel("auto", available=True) == "kvm"
    assert qemu.choose_accel("tcg", available=True) == "tcg"
    if not (pathlib.Path("/sys/module/kvm_intel").exists()
            or pathlib.Path("/sys/module/kvm_amd").exists()):
        assert qemu.choose_accel("auto") == "tcg"  # this machine: kvm_pvm only


# -- a server's life -------------------------------------------------------------------------------

def test_a_server_starts_pauses_snapshots_reboots_stops_dies_and_is_destroyed(
        driver: qemu.QemuDriver, testimage: pathlib.Path, state_dir: pathlib.Path) -> None:
    sid = str(uuid.uuid4())
    ref = image_ref(testimage / "disk.qcow2", "testimage-disk", "qcow2")
    base = driver.images.ensure(ref, local_fetch)
    driver.create_disk(sid, ref["id"], base, images.cache_format("qcow2"), root_gb=1)
    disk = images.qemu_img_info(driver.disk(sid))
    assert disk["virtual-size"] == images.GiB
    assert disk["backing-filename"] == str(base)
    assert driver.observe(sid).state == "stopped"

    boot = qemu.Boot(sid, vcpus=1, memory_mb=256)
    t0 = time.monotonic()
    pid = driver.start(boot)
    seconds = wait_until(lambda: driver.observe(sid).ready, "SAUSAGE-READY")
    boot_time = time.monotonic() - t0
    ready = [line for line in driver.console(sid).splitlines() if line.startswith("SAUSAGE-READY")]
    TIMINGS.append(("driver, disk image", boot_time, ready[-1].split()[-1]))
    print(f"\nboot through the driver: SAUSAGE-READY {boot_time:.2f} s after start()")
    assert seconds < BOOT_TIMEOUT
    status = driver.observe(sid)
    assert (status.state, status.pid, status.qemu_status) == ("running", pid, "running")
    args = cmdline(pid)
    assert f"-uuid {sid}" in args
    assert f"product=OpenStack Nova,uuid={sid},serial={sid}" in args
    assert f"-accel {driver.accel}" in args and "-nodefaults" in args
    assert "SAUSAGE-NO-NETWORK" in driver.console(sid)

    # Never two processes; and another driver (the agent restarted) finds the same one.
    assert driver.start(boot) == pid
    again = qemu.QemuDriver(state_dir, accel=driver.accel)
    assert (again.observe(sid).state, again.observe(sid).pid) == ("running", pid)
    assert again.server_ids() == [sid]

    driver.pause(sid)
    assert driver.observe(sid).state == "paused"
    driver.resume(sid)
    assert driver.observe(sid).state == "running"
    driver.suspend(sid)
    assert driver.observe(sid).state == "suspended"
    driver.resume_suspended(sid)
    assert driver.observe(sid).state == "running"

    snapshot = state_dir / "snapshot.qcow2"
    driver.snapshot(sid, snapshot)
    info = images.qemu_img_info(snapshot)
    assert info["format"] == "qcow2" and "backing-filename" not in info
    assert info["virtual-size"] == images.GiB
    # The guest runs from its initramfs and never writes its disk: the snapshot is the image.
    assert run(["qemu-img", "compare", "-q", str(base), str(snapshot)], check=False).returncode == 0
    assert driver.observe(sid).state == "running"

    driver.reboot(boot, hard=True)
    rebooted = driver.observe(sid)
    assert rebooted.pid is not None and rebooted.pid != pid and not rebooted.ready
    wait_until(lambda: driver.observe(sid).ready, "SAUSAGE-READY after the hard reboot")

    t0 = time.monotonic()
    driver.stop(sid, graceful=True)
    stopped_in = time.monotonic() - t0
    assert driver.observe(sid).state == "stopped"
    assert "SAUSAGE-POWERDOWN" in driver.console(sid)
    assert stopped_in < driver.stop_timeout
    assert not (driver.dir(sid) / "qmp.sock").exists()

    pid = driver.start(boot)
    wait_until(lambda: driver.observe(sid).ready, "SAUSAGE-READY after a start")
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: driver.observe(sid).pid is None, "the killed QEMU to go", timeout=10)
    died = driver.observe(sid)
    assert died.state == "stopped"
    assert died.record.intent == "running"  # it went away by itself

    driver.destroy(sid)
    assert not driver.dir(sid).exists()
    assert driver.server_ids() == []
    assert not processes_mentioning(str(state_dir))


def test_a_guest_that_ignores_the_power_button_is_quit_after_the_timeout(
        driver: qemu.QemuDriver, testimage: pathlib.Path, state_dir: pathlib.Path) -> None:
    sid = str(uuid.uuid4())
    refs = {name: image_ref(testimage / file, f"testimage-{name}", fmt)
            for name, file, fmt in (("disk", "disk.qcow2", "qcow2"),
                                    ("kernel", "vmlinuz", "aki"), ("ramdisk", "initrd.img", "ari"))}
    ref: contract.ImageRef = {**refs["disk"], "kernel": refs["kernel"], "ramdisk": refs["ramdisk"]}
    base = driver.images.ensure(ref, local_fetch)
    assert driver.images.ids() == {r["id"] for r in refs.values()}
    driver.create_disk(sid, ref["id"], base, "qcow2", root_gb=0)
    pid = driver.start(qemu.Boot(sid, vcpus=1, memory_mb=256,
                                 kernel=driver.images.path(refs["kernel"]["id"]),
                                 initrd=driver.images.path(refs["ramdisk"]["id"]),
                                 cmdline="console=ttyS0"))
    assert "-kernel" in cmdline(pid)

    # Within its first second under TCG the guest has no ACPI button driver yet: the powerdown
    # goes unanswered, and the driver quits QEMU when the timeout is over.
    t0 = time.monotonic()
    driver.stop(sid, graceful=True, timeout=1)
    assert time.monotonic() - t0 >= 1
    assert driver.observe(sid).state == "stopped"
    assert "SAUSAGE-POWERDOWN" not in driver.console(sid)

    driver.destroy(sid)
    assert not driver.dir(sid).exists()
