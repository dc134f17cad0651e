"""Volumes on the real storage backend (qcow2 files, QMP hotplug), driven as ``demo`` with the
unmodified openstack CLI: the guest writes to an attached volume, another guest reads it back."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
from typing import Any

import pytest

from tests.e2e.conftest import Cloud
from tests.e2e.test_compute_cli import MARKER, eventually

DEMO = "sausage-demo"

# The guest's side: every second, say what /dev/vdb is (its size in sectors and its first
# line); the writer also puts a marker on a blank one. Printed on the serial console, which the
# test reads with `console log show`. Runs in the background so the guest reaches READY.
WATCH = """#!/bin/sh
(
last=""
while true; do
  if [ -b /dev/vdb ]; then
    size=$(cat /sys/block/vdb/size)
    data=$(dd if=/dev/vdb bs=512 count=1 2>/dev/null | tr -d '\\000' | head -n 1)
    if [ "{write}" = yes ] && [ -z "$data" ]; then
      printf 'MARKER-%s\\n' 4f2a9c | dd of=/dev/vdb bs=512 count=1 conv=sync,fsync 2>/dev/null
      data=$(dd if=/dev/vdb bs=512 count=1 2>/dev/null | tr -d '\\000' | head -n 1)
    fi
    now="VDB size=$size data=$data"
  else
    now="VDB none"
  fi
  if [ "$now" != "$last" ]; then echo "SAUSAGE-$now" > /dev/ttyS0; last="$now"; fi
  sleep 1
done
) </dev/null >/dev/null 2>&1 &
"""
SECTORS_1G = 2 * 1024 * 1024
WRITTEN = "data=MARKER-4f2a9c"


def demo(cloud: Cloud, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return cloud.openstack(*args, cloud=DEMO, check=check)


def demo_json(cloud: Cloud, *args: str) -> Any:
    return cloud.json(*args, cloud=DEMO)


def volume_status(cloud: Cloud, name: str) -> str:
    return str(demo_json(cloud, "volume", "show", name)["status"])


def wait_volume(cloud: Cloud, name: str, wanted: str, timeout: float = 120) -> None:
    eventually(lambda: volume_status(cloud, name) == wanted, timeout=timeout,
               what=f"volume {name} {wanted} (is {volume_status(cloud, name)})")


def vdb_lines(cloud: Cloud, server: str) -> list[str]:
    text = demo(cloud, "console", "log", "show", server, check=False).stdout
    # A line may follow other console output ("Please press Enter … SAUSAGE-VDB …").
    return [line[line.index("SAUSAGE-VDB"):].strip() for line in text.splitlines()
            if "SAUSAGE-VDB" in line]


def wait_vdb(cloud: Cloud, server: str, wanted: str, after: int = 0,
             timeout: float = 120) -> int:
    """Wait until a VDB line after the first ``after`` ones contains ``wanted``; returns how
    many VDB lines there were then."""
    def seen() -> int:
        lines = vdb_lines(cloud, server)
        return len(lines) if any(wanted in line for line in lines[after:]) else 0
    try:
        return int(eventually(seen, timeout=timeout, what=f"{wanted!r} on {server}"))
    except AssertionError:
        text = demo(cloud, "console", "log", "show", server, check=False).stdout
        log = (cloud.state_dir / "agent.log").read_text()[-5000:]
        raise AssertionError(f"{wanted!r} not on {server}'s console; saw "
                             f"{vdb_lines(cloud, server)[after:]}\nconsole:\n{text[-3000:]}"
                             f"\nagent log:\n{log}") from None


def boot(cloud: Cloud, name: str, user_data: pathlib.Path,
         *how: str) -> None:
    """Boot ``name`` from the test image, or as ``how`` says (e.g. ``--volume V``)."""
    how = how or ("--image", "sausage-test")
    server = demo_json(cloud, "server", "create", "--flavor", "m1.tiny", "--network",
                       "private", "--user-data", str(user_data), "--wait", *how, name)
    assert server["status"] == "ACTIVE", server
    eventually(lambda: MARKER in demo(cloud, "console", "log", "show", name,
                                      check=False).stdout,
               timeout=180, what=f"{name}'s ready marker")


def volume_file(cloud: Cloud, volume_id: str) -> pathlib.Path:
    return cloud.state_dir / "agent" / "volumes" / f"volume-{volume_id}.qcow2"


def same_bytes(a: pathlib.Path, b: pathlib.Path) -> bool:
    result = subprocess.run(["qemu-img", "compare", "-U", str(a), str(b)],
                            capture_output=True, text=True, timeout=120)
    return result.returncode == 0


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    root = tmp_path_factory.mktemp("userdata")
    out = {}
    for name, write in (("writer", "yes"), ("reader", "no")):
        out[name] = root / f"{name}.sh"
        out[name].write_text(WATCH.replace("{write}", write))
    return out


def test_a_volume_carries_data_from_one_vm_to_another(
        cloud: Cloud, scripts: dict[str, pathlib.Path]) -> None:
    demo(cloud, "volume", "create", "--size", "1", "v1")
    wait_volume(cloud, "v1", "available")
    v1 = demo_json(cloud, "volume", "show", "v1")["id"]
    assert volume_file(cloud, v1).exists()
    boot(cloud, "vm1", scripts["writer"])
    boot(cloud, "vm2", scripts["reader"])

    demo(cloud, "server", "add", "volume", "vm1", "v1")
    wait_volume(cloud, "v1", "in-use")
    attached = demo_json(cloud, "volume", "show", "v1")["attachments"]
    assert [a["server_id"] for a in attached] == [demo_json(cloud, "server", "show", "vm1")["id"]]
    wait_vdb(cloud, "vm1", f"size={SECTORS_1G} {WRITTEN}")

    demo(cloud, "server", "remove", "volume", "vm1", "v1")
    wait_volume(cloud, "v1", "available")
    seen = wait_vdb(cloud, "vm1", "VDB none")

    demo(cloud, "server", "add", "volume", "vm2", "v1")
    wait_volume(cloud, "v1", "in-use")
    seen = wait_vdb(cloud, "vm2", WRITTEN)

    # The agent restarts (its supervisor brings it back); the VM and its volume carry on.
    agents = subprocess.run(["pgrep", "-f", f"sausage.cli agent --state-dir {cloud.state_dir} "],
                            capture_output=True, text=True).stdout.split()
    assert agents, "the all-in-one agent is running"
    for pid in agents:
        os.kill(int(pid), signal.SIGKILL)
    # A hard reboot restarts QEMU: the volume is on its command line and the data is there.
    demo(cloud, "server", "reboot", "--hard", "--wait", "vm2")
    wait_vdb(cloud, "vm2", WRITTEN, after=seen, timeout=240)
    assert volume_status(cloud, "v1") == "in-use"


def test_snapshots_clones_images_and_extend(cloud: Cloud,
                                            scripts: dict[str, pathlib.Path]) -> None:
    v1 = demo_json(cloud, "volume", "show", "v1")["id"]
    demo(cloud, "server", "remove", "volume", "vm2", "v1")
    wait_volume(cloud, "v1", "available")

    demo(cloud, "volume", "snapshot", "create", "--volume", "v1", "s1")
    eventually(lambda: demo_json(cloud, "volume", "snapshot", "show", "s1")["status"]
               == "available", what="snapshot s1 available")
    demo(cloud, "volume", "create", "--snapshot", "s1", "--size", "1", "from-snap")
    demo(cloud, "volume", "create", "--source", "v1", "--size", "1", "clone")
    for name in ("from-snap", "clone"):
        wait_volume(cloud, name, "available")
        other = demo_json(cloud, "volume", "show", name)["id"]
        assert same_bytes(volume_file(cloud, v1), volume_file(cloud, other)), name

    # Extend while detached; the guest sees the new size once the volume is attached again.
    demo(cloud, "volume", "set", "--size", "2", "from-snap")
    wait_volume(cloud, "from-snap", "available")
    assert demo_json(cloud, "volume", "show", "from-snap")["size"] == 2
    seen = len(vdb_lines(cloud, "vm2"))
    demo(cloud, "server", "add", "volume", "vm2", "from-snap")
    wait_volume(cloud, "from-snap", "in-use")
    wait_vdb(cloud, "vm2", f"size={2 * SECTORS_1G} {WRITTEN}", after=seen)

    # Boot from a volume made from the test image.
    demo(cloud, "volume", "create", "--image", "sausage-test", "--size", "1", "--bootable",
         "bootvol")
    wait_volume(cloud, "bootvol", "available")
    assert demo_json(cloud, "volume", "show", "bootvol")["bootable"] in (True, "true")
    boot(cloud, "bfv", scripts["reader"], "--volume", "bootvol")
    assert demo_json(cloud, "server", "show", "bfv")["image"] in ("", None, "N/A (booted from volume)")
    assert volume_status(cloud, "bootvol") == "in-use"


def test_bad_requests_get_cinder_errors_and_delete_cleans_up(cloud: Cloud) -> None:
    in_use = demo(cloud, "volume", "delete", "from-snap", check=False)
    assert in_use.returncode != 0 and "Invalid volume" in in_use.stderr, in_use.stderr
    with_snapshots = demo(cloud, "volume", "delete", "v1", check=False)
    assert with_snapshots.returncode != 0 and "snapshots" in with_snapshots.stderr
    assert volume_status(cloud, "v1") == "available"

    before = len(demo_json(cloud, "volume", "list"))
    cloud.openstack("quota", "set", "--volumes", str(before), "demo")
    over = demo(cloud, "volume", "create", "--size", "1", "one-too-many", check=False)
    assert over.returncode != 0 and "413" in over.stderr, over.stderr
    assert "Maximum number of volumes allowed" in over.stderr, over.stderr
    assert len(demo_json(cloud, "volume", "list")) == before
    cloud.openstack("quota", "set", "--volumes", "10", "demo")

    clone = demo_json(cloud, "volume", "show", "clone")["id"]
    demo(cloud, "volume", "delete", "clone")
    eventually(lambda: demo(cloud, "volume", "show", "clone", check=False).returncode != 0,
               what="the clone gone")
    assert not volume_file(cloud, clone).exists()

    demo(cloud, "server", "delete", "--wait", "vm1", "vm2", "bfv")
    wait_volume(cloud, "from-snap", "available")
    demo(cloud, "volume", "snapshot", "delete", "s1")
    eventually(lambda: demo(cloud, "volume", "snapshot", "show", "s1", check=False).returncode
               != 0, what="the snapshot gone")
    ids = [v["ID"] for v in demo_json(cloud, "volume", "list")]
    demo(cloud, "volume", "delete", *ids)
    eventually(lambda: demo_json(cloud, "volume", "list") == [], what="every volume gone")
    left = list((cloud.state_dir / "agent" / "volumes").glob("*.qcow2"))
    assert left == [], left
