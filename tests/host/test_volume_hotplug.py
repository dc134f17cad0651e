"""Volumes on the test guest (root, QEMU/TCG): on the command line at boot, hot-plugged, grown
live, unplugged, and a guest booted from a volume.

No network: the guests get no NIC. The guest's kernel logs to its serial console, which is how
the test sees what the guest sees (the block device appearing, its new capacity); its init
prints ``SAUSAGE-DISKS:`` once at boot. Every test works in its own temp state dir and ends
with nothing left: no QEMU process naming it, no files.
"""

from __future__ import annotations

import pathlib
import re
import time
import uuid


from sausage.agent import hotplug, observe
from sausage.agent.plan import hotplug as hotplug_plan
from sausage.agent.drivers import blockdevs, images, qemu, qmp
from sausage.contract import host as contract
from tests.host.conftest import run
from tests.host.test_qemu_driver import cmdline, image_ref, local_fetch, wait_until

GiB = images.GiB


def new_volume(state_dir: pathlib.Path, size_gb: int = 1,
               source: pathlib.Path | None = None) -> qemu.Disk:
    """A volume file as the file backend keeps it: blank, or a standalone copy of ``source``;
    its first MiB holds a pattern the test checks later (blank volumes only)."""
    volume_id = str(uuid.uuid4())
    path = state_dir / "volumes" / f"volume-{volume_id}.qcow2"
    path.parent.mkdir(exist_ok=True)
    if source is None:
        run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), str(size_gb * GiB)])
        run(["qemu-io", "-f", "qcow2", "-c", "write -P 0xab 0 1M", str(path)])
    else:
        run(["qemu-img", "convert", "-q", "-f", "qcow2", "-O", "qcow2", str(source), str(path)])
    return qemu.Disk(volume_id, {"driver": "file", "filename": str(path)})


def volume_path(disk: qemu.Disk) -> pathlib.Path:
    return pathlib.Path(str(disk.protocol["filename"]))


def pattern_intact(disk: qemu.Disk) -> bool:
    """The volume's first MiB still holds the pattern (and nobody holds its lock any more).

    A lock still held is waited out for a few seconds (the kernel releases a killed process's
    locks as it exits); any other failure to read says what qemu-io said."""
    deadline = time.monotonic() + 10
    while True:
        result = run(["qemu-io", "-f", "qcow2", "-c", "read -P 0xab 0 1M",
                      str(volume_path(disk))], check=False)
        if "Pattern verification failed" in result.stdout:
            return False
        if result.returncode == 0:
            return True
        if "lock" not in result.stderr or time.monotonic() > deadline:
            raise AssertionError(f"qemu-io could not read {volume_path(disk)}: "
                                 f"{result.stdout} {result.stderr}")
        time.sleep(0.2)


def virtual_size(disk: qemu.Disk) -> int:
    return int(images.qemu_img_info(volume_path(disk), "qcow2")["virtual-size"])


def disks_line(driver: qemu.QemuDriver, sid: str) -> str:
    return next(line.strip() for line in driver.console(sid).splitlines()
                if line.startswith("SAUSAGE-DISKS:"))


def serial_of(sock: pathlib.Path, disk: qemu.Disk) -> str:
    return str(qmp.execute(sock, "qom-get", {"path": f"/machine/peripheral/{disk.device}",
                                             "property": "serial"}))


def block_size(sock: pathlib.Path, disk: qemu.Disk) -> int:
    for block in qmp.execute(sock, "query-block"):
        inserted = block.get("inserted") or {}
        if inserted.get("node-name") == disk.node:
            return int(inserted["image"]["virtual-size"])
    raise AssertionError(f"QEMU has no block node {disk.node}")


def test_volumes_go_on_the_command_line_hot_plug_grow_live_and_unplug_with_their_data(
        driver: qemu.QemuDriver, testimage: pathlib.Path, state_dir: pathlib.Path) -> None:
    sid = str(uuid.uuid4())
    ref = image_ref(testimage / "disk.qcow2", "testimage-disk", "qcow2")
    base = driver.images.ensure(ref, local_fetch)
    driver.create_disk(sid, ref["id"], base, "qcow2", root_gb=1)
    at_boot, hot = new_volume(state_dir), new_volume(state_dir)

    boot = qemu.Boot(sid, vcpus=1, memory_mb=256, volumes=(at_boot,))
    pid = driver.start(boot)
    wait_until(lambda: driver.observe(sid).ready, "SAUSAGE-READY")
    assert disks_line(driver, sid) == "SAUSAGE-DISKS: vda vdb"
    args = cmdline(pid)
    assert "-blockdev" in args and f"id=vol-{at_boot.volume_id}" in args
    sock = driver.dir(sid) / "qmp.sock"
    assert blockdevs.attached(sock) == [at_boot.volume_id]
    assert serial_of(sock, at_boot) == at_boot.volume_id[:20]

    # Attach: the guest's kernel finds a new virtio disk.
    assert blockdevs.sync(sock, (at_boot, hot)) == ([hot.volume_id], [])
    assert blockdevs.attached(sock) == sorted([at_boot.volume_id, hot.volume_id])
    assert serial_of(sock, hot) == hot.volume_id[:20]
    wait_until(lambda: "[vdc]" in driver.console(sid), "the guest's vdc", timeout=30)
    assert blockdevs.sync(sock, (at_boot, hot)) == ([], [])

    # Extend while attached: QEMU grows the file, the guest sees the new capacity.
    blockdevs.resize(sock, hot.volume_id, 2 * GiB)
    assert block_size(sock, hot) == 2 * GiB
    wait_until(lambda: re.search(r"vdc: detected capacity change from \d+ to 4194304",
                                 driver.console(sid)) is not None,
               "the guest to see vdc grow", timeout=30)

    # Detach: the guest releases the device, QEMU drops the nodes, the file stays as it was.
    assert blockdevs.sync(sock, (at_boot,)) == ([], [hot.volume_id])
    assert blockdevs.attached(sock) == [at_boot.volume_id]
    assert not {hot.node, hot.protocol_node} & blockdevs.nodes(sock)
    assert pattern_intact(hot) and virtual_size(hot) == 2 * GiB

    # Re-attach after a detach works, and a stop/start keeps what is on the command line.
    assert blockdevs.sync(sock, (at_boot, hot)) == ([hot.volume_id], [])
    assert blockdevs.sync(sock, ()) == ([], sorted([at_boot.volume_id, hot.volume_id]))
    driver.stop(sid, graceful=False)
    driver.start(boot)
    assert blockdevs.attached(sock) == [at_boot.volume_id]

    # Removing the server leaves its volumes alone.
    driver.destroy(sid)
    assert pattern_intact(at_boot) and pattern_intact(hot)
    assert virtual_size(at_boot) == GiB


def test_a_read_only_volume_is_attached_read_only(
        driver: qemu.QemuDriver, testimage: pathlib.Path, state_dir: pathlib.Path) -> None:
    sid = str(uuid.uuid4())
    ref = image_ref(testimage / "disk.qcow2", "testimage-disk", "qcow2")
    driver.create_disk(sid, ref["id"], driver.images.ensure(ref, local_fetch), "qcow2", 1)
    volume = new_volume(state_dir)
    read_only = qemu.Disk(volume.volume_id, volume.protocol, read_only=True)
    driver.start(qemu.Boot(sid, vcpus=1, memory_mb=256))
    sock = driver.dir(sid) / "qmp.sock"
    assert blockdevs.sync(sock, (read_only,)) == ([volume.volume_id], [])
    inserted = next(b["inserted"] for b in qmp.execute(sock, "query-block")
                    if (b.get("inserted") or {}).get("node-name") == read_only.node)
    assert inserted["ro"] is True
    # A plug that QEMU refuses leaves no node behind.
    broken = qemu.Disk(str(uuid.uuid4()), {"driver": "file",
                                           "filename": str(state_dir / "missing.qcow2")})
    errors: dict[str, str] = {}
    assert blockdevs.sync(sock, (read_only, broken), errors) == ([], [])
    assert "missing.qcow2" in errors[broken.volume_id]
    assert not {broken.node, broken.protocol_node} & blockdevs.nodes(sock)
    driver.destroy(sid)
    assert pattern_intact(volume)


def test_a_server_boots_from_a_volume_without_a_disk_of_its_own(
        driver: qemu.QemuDriver, testimage: pathlib.Path, state_dir: pathlib.Path) -> None:
    sid = str(uuid.uuid4())
    copy = new_volume(state_dir, source=testimage / "disk.qcow2")
    root = qemu.Disk(copy.volume_id, copy.protocol, boot_index=0)
    data = new_volume(state_dir)
    pid = driver.start(qemu.Boot(sid, vcpus=1, memory_mb=256, volumes=(data, root)))
    wait_until(lambda: driver.observe(sid).ready, "SAUSAGE-READY from the volume")
    assert disks_line(driver, sid) == "SAUSAGE-DISKS: vda vdb"
    args = cmdline(pid)
    assert "disk.qcow2" not in args
    assert f"virtio-blk-pci,id=vol-{root.volume_id},drive={root.node}" in args
    assert "bootindex=0" in args
    assert not driver.disk(sid).exists()
    sock = driver.dir(sid) / "qmp.sock"
    assert blockdevs.attached(sock) == sorted([root.volume_id, data.volume_id])
    driver.destroy(sid)
    assert volume_path(root).exists() and pattern_intact(data)
    assert not driver.dir(sid).exists()


# -- what the agent reports and when it hot-plugs (no QEMU needed) ----------------------------------

V1, V2, V3 = (str(uuid.UUID(int=n)) for n in (1, 2, 3))


def desired_with(*volume_ids: str) -> contract.DesiredServer:
    return {
        "id": "s1", "name": "vm", "hostname": "vm", "power": "running", "power_seq": 1,
        "vcpus": 1, "memory_mb": 256, "root_gb": 1, "image": None, "reboot_seq": 0,
        "reboot_kind": "soft", "rebuild_seq": 0, "resize_seq": 0, "snapshots": [],
        "volumes": [{"volume_id": v, "backend": "file", "connection": {}, "serial": v[:20],
                     "read_only": False, "boot_index": None} for v in volume_ids],
    }


def test_a_running_server_reports_what_qemu_has_in_attach_order() -> None:
    volumes, errors = observe.server_volumes(desired_with(V2, V1), [V1, V2, V3], True,
                                             frozenset({V1, V2}), {})
    assert (volumes, errors) == ([V2, V1, V3], {})
    # QEMU could not be asked: nothing is said about its volumes.
    assert observe.server_volumes(desired_with(V1), None, True, frozenset({V1}), {}) == (None, {})


def test_a_stopped_server_reports_the_volumes_it_would_start_with() -> None:
    volumes, errors = observe.server_volumes(desired_with(V1, V2), None, False,
                                             frozenset({V1}), {})
    assert volumes == [V1]
    assert errors == {V2: f"volume {V2} is not on this host"}


def test_a_hotplug_failure_is_reported_while_qemu_still_differs() -> None:
    failures = {V1: "QMP device_add: boom", V2: "the guest did not release it"}
    # V1 failed to attach and is still missing; V2 failed to detach but has gone since.
    volumes, errors = observe.server_volumes(desired_with(V1), [], True, frozenset({V1, V2}),
                                             failures)
    assert volumes == [] and errors == {V1: "QMP device_add: boom"}
    report = observe.server_report("s1", None, desired_with(V1), busy=False, console=None,
                                   volumes=volumes, volume_errors=errors)
    assert report["volumes"] == [] and report["volume_errors"] == errors


def volumes_due(plug: hotplug.Hotplug, driver: qemu.QemuDriver, sid: str,
                disks: tuple[qemu.Disk, ...]) -> bool:
    """Whether the agent would give the running server a volume hotplug job now."""
    attached = blockdevs.attached(driver.dir(sid) / "qmp.sock")
    devices = plug.devices(sid, driver.observe(sid).state, attached)
    return hotplug_plan.due((), [d.volume_id for d in disks], devices, time.monotonic()).volumes


def test_a_guest_that_ignores_the_eject_is_asked_again_before_the_detach_fails(
        driver: qemu.QemuDriver, state_dir: pathlib.Path) -> None:
    """A guest without an OS (SeaBIOS finds nothing to boot on a blank volume) never answers
    the ACPI eject: the detach is not reported failed at once, only after the agent's patience."""
    sid = str(uuid.uuid4())
    blank_root = new_volume(state_dir)
    root = qemu.Disk(blank_root.volume_id, blank_root.protocol, boot_index=0)
    driver.start(qemu.Boot(sid, vcpus=1, memory_mb=128, volumes=(root,)))
    sock = driver.dir(sid) / "qmp.sock"
    data = new_volume(state_dir)
    blockdevs.plug(sock, data)
    assert data.volume_id in blockdevs.attached(sock)
    plug = hotplug.Hotplug(driver, unplug_timeout=0.5, detach_patience=2.0)
    plug.sync(sid, None, (root,))
    assert plug.volume_failures(sid) == {}  # still waiting for the guest, not failed
    wait_until(lambda: volumes_due(plug, driver, sid, (root,)),
               "the detach asked again within seconds")
    time.sleep(2.0)
    plug.sync(sid, None, (root,))
    assert "did not release" in plug.volume_failures(sid)[data.volume_id]
    assert data.volume_id in blockdevs.attached(sock)  # the device is still the guest's
    driver.destroy(sid)
    assert pattern_intact(data)


def test_an_in_use_volume_is_copied_by_the_qemu_that_has_it(
        driver: qemu.QemuDriver, state_dir: pathlib.Path) -> None:
    """Snapshots, clones and uploads of an attached volume are QEMU's point-in-time copies
    (drive-backup of the volume's node), not a read of a file QEMU is writing."""
    sid = str(uuid.uuid4())
    blank_root = new_volume(state_dir)
    root = qemu.Disk(blank_root.volume_id, blank_root.protocol, boot_index=0)
    data = new_volume(state_dir)
    driver.start(qemu.Boot(sid, vcpus=1, memory_mb=128, volumes=(root, data)))
    plug = hotplug.Hotplug(driver)
    target = state_dir / "copy.qcow2"
    assert plug.copy_live(data.volume_id, target, "qcow2")
    copy = qemu.Disk(data.volume_id, {"driver": "file", "filename": str(target)})
    assert pattern_intact(copy)
    raw = state_dir / "copy.raw"
    assert plug.copy_live(data.volume_id, raw, "raw")
    assert raw.stat().st_size == virtual_size(data)
    assert not plug.copy_live(str(uuid.uuid4()), state_dir / "none.qcow2", "qcow2")
    driver.destroy(sid)
