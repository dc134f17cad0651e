"""Servers as real QEMU VMs, driven with the unmodified openstack CLI against ``sausage up``."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Cloud

MARKER = "SAUSAGE-READY"


def qemu_pids(server_id: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"qemu-system-x86_64.*{server_id}"],
                         capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def eventually(check: Callable[[], Any], timeout: float = 120, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what or check}")


def status(cloud: Cloud, name: str) -> str:
    return str(cloud.json("server", "show", name)["status"])


def console(cloud: Cloud, name: str) -> str:
    return cloud.openstack("console", "log", "show", name, check=False).stdout


@pytest.fixture(scope="module")
def keypair(cloud: Cloud) -> str:
    cloud.openstack("keypair", "create", "k")
    return "k"


def test_a_server_lives_and_dies_as_a_real_vm(cloud: Cloud, keypair: str) -> None:
    server = cloud.json("server", "create", "--image", "sausage-test", "--flavor", "m1.tiny",
                        "--key-name", keypair, "--no-network", "--wait", "s1")
    assert server["status"] == "ACTIVE"
    sid = server["id"]
    assert len(qemu_pids(sid)) == 1
    eventually(lambda: MARKER in console(cloud, "s1"), what="the guest's ready marker")

    cloud.openstack("server", "stop", "s1")
    eventually(lambda: status(cloud, "s1") == "SHUTOFF", what="SHUTOFF")
    assert qemu_pids(sid) == []
    cloud.openstack("server", "start", "s1")
    eventually(lambda: status(cloud, "s1") == "ACTIVE", what="ACTIVE after start")
    cloud.openstack("server", "reboot", "--hard", "--wait", "s1")
    assert status(cloud, "s1") == "ACTIVE" and len(qemu_pids(sid)) == 1

    cloud.openstack("server", "resize", "--flavor", "m1.small", "--wait", "s1")
    assert status(cloud, "s1") == "VERIFY_RESIZE"
    cloud.openstack("server", "resize", "confirm", "s1")
    eventually(lambda: status(cloud, "s1") == "ACTIVE", what="ACTIVE after confirm")
    (pid,) = qemu_pids(sid)
    cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"2048" in cmdline[cmdline.index(b"-m") + 1]

    image = cloud.json("server", "image", "create", "--name", "s1-snap", "--wait", "s1")
    assert cloud.json("image", "show", image["id"])["status"] == "active"
    s2 = cloud.json("server", "create", "--image", "s1-snap", "--flavor", "m1.small",
                    "--no-network", "--wait", "s2")
    assert s2["status"] == "ACTIVE"
    eventually(lambda: MARKER in console(cloud, "s2"), what="the snapshot's ready marker")

    instances = cloud.state_dir / "agent" / "instances"
    cloud.openstack("server", "delete", "--wait", "s1", "s2")
    eventually(lambda: not qemu_pids(sid) and not qemu_pids(s2["id"]), what="processes gone")
    eventually(lambda: not (instances / sid).exists() and not (instances / s2["id"]).exists(),
               what="instance files gone")
    cloud.openstack("image", "delete", "s1-snap")


def test_a_killed_vm_turns_shutoff_and_starts_again(cloud: Cloud) -> None:
    sid = cloud.json("server", "create", "--image", "sausage-test", "--flavor", "m1.tiny",
                     "--no-network", "--wait", "k1")["id"]
    (pid,) = qemu_pids(sid)
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: status(cloud, "k1") == "SHUTOFF", timeout=60, what="SHUTOFF after kill")
    cloud.openstack("server", "start", "k1")
    eventually(lambda: status(cloud, "k1") == "ACTIVE", what="ACTIVE after start")
    assert len(qemu_pids(sid)) == 1
    cloud.openstack("server", "delete", "--wait", "k1")


def test_killing_the_agent_mid_build_still_ends_with_one_vm_each(cloud: Cloud) -> None:
    cloud.openstack("server", "create", "--image", "sausage-test", "--flavor", "m1.tiny",
                    "--no-network", "--min", "5", "--max", "5", "b")
    agent = subprocess.run(["pgrep", "-f", f"sausage.cli agent --state-dir {cloud.state_dir} "],
                           capture_output=True, text=True).stdout.split()
    assert agent, "the all-in-one agent is running"
    for pid in agent:
        os.kill(int(pid), signal.SIGKILL)
    names = [f"b-{i}" for i in range(1, 6)]
    try:
        eventually(lambda: all(status(cloud, n) == "ACTIVE" for n in names), timeout=240,
                   what="all five ACTIVE")
    except AssertionError:
        listing = cloud.openstack("server", "list", "--long").stdout
        log = (cloud.state_dir / "agent.log").read_text()[-6000:]
        raise AssertionError(f"not all ACTIVE:\n{listing}\nagent log:\n{log}") from None
    for name in names:
        sid = cloud.json("server", "show", name)["id"]
        assert len(qemu_pids(sid)) == 1, name
    cloud.openstack("server", "delete", "--wait", *names)


def test_quota_and_isolation_with_the_cli(cloud: Cloud) -> None:
    cloud.openstack("project", "create", "cp1")
    cloud.openstack("user", "create", "--password", "pw", "cu1")
    cloud.openstack("role", "add", "--project", "cp1", "--user", "cu1", "member")
    cloud.openstack("quota", "set", "--instances", "1", "cp1")
    cu1 = cloud.as_user("cu1", "pw", "cp1")
    cloud.openstack("server", "create", "--image", "sausage-test", "--flavor", "m1.tiny",
                    "--no-network", "q1", auth=cu1)
    refused = cloud.openstack("server", "create", "--image", "sausage-test", "--flavor",
                              "m1.tiny", "--no-network", "q2", auth=cu1, check=False)
    assert refused.returncode != 0 and "Quota exceeded" in refused.stderr
    mine = [s["Name"] for s in cloud.json("server", "list", auth=cu1)]
    assert mine == ["q1"]
    assert "q1" not in [s["Name"] for s in cloud.json("server", "list")]
    assert "q1" in [s["Name"] for s in cloud.json("server", "list", "--all-projects")]
    cloud.openstack("server", "delete", "--wait", "q1", auth=cu1)
