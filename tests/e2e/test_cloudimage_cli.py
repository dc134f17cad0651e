"""A real Debian 12 cloud image (``tools/cloudimage``: the distribution's kernel, systemd,
ifupdown, cloud-init 22.4, openssh-server) on the tenant network ``private`` behind ``router1``,
driven as the ``demo`` user with the unmodified openstack CLI, checked over SSH through its
floating IP from inside the cloud's namespace. One VM for the whole module (TCG, 2 cores)."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shlex
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import Cloud
from tests.e2e.test_compute_cli import eventually, qemu_pids

pytestmark = pytest.mark.e2e

DEMO = "sausage-demo"
NAME = "debian-e2e"
USER_DATA = """#cloud-config
write_files:
  - path: /etc/sausage-e2e
    content: "written by cloud-init\\n"
runcmd:
  - [sh, -c, "echo ran on $(hostname) > /var/tmp/sausage-runcmd"]
"""


def demo(cloud: Cloud, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return cloud.openstack(*args, cloud=DEMO, check=check)


def demo_json(cloud: Cloud, *args: str) -> Any:
    return cloud.json(*args, cloud=DEMO)


@dataclasses.dataclass
class Guest:
    cloud: Cloud
    key: pathlib.Path
    server: dict[str, Any]
    fip: str
    fixed_ip: str

    def ssh(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """``command`` as the image's default user ``debian``, logged in with the injected key."""
        return self.cloud.outside(
            "ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=5", f"debian@{self.fip}", command, timeout=timeout)

    def run(self, command: str) -> str:
        result = self.ssh(command)
        assert result.returncode == 0, f"{command}: rc {result.returncode}\n{result.stderr}"
        return result.stdout.strip()


@pytest.fixture(scope="module")
def image() -> pathlib.Path:
    out = REPO / ".cache" / "cloudimage"
    t0 = time.monotonic()
    build = subprocess.run([str(REPO / "tools" / "cloudimage" / "build"), "--out", str(out)],
                           capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout + build.stderr
    print(f"\ncloud image ready in {time.monotonic() - t0:.0f} s:"
          f" {build.stdout.strip().splitlines()[-1]}")
    return out / "disk.qcow2"


@pytest.fixture(scope="module")
def guest(cloud: Cloud, image: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Guest]:
    """One Debian guest booted as a user would, up to the end of cloud-init."""
    demo(cloud, "image", "create", "--disk-format", "qcow2", "--container-format", "bare",
         "--file", str(image), "--min-ram", "512", "debian-12")
    key = tmp_path_factory.mktemp("ssh") / "debian.pem"
    key.write_text(demo(cloud, "keypair", "create", "debian-key").stdout)
    key.chmod(0o600)
    demo(cloud, "security", "group", "create", "ssh-in")
    demo(cloud, "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
         "ssh-in")
    demo(cloud, "security", "group", "rule", "create", "--protocol", "icmp", "ssh-in")
    user_data = tmp_path_factory.mktemp("ud") / "user-data.yaml"
    user_data.write_text(USER_DATA)
    t0 = time.monotonic()
    server = demo_json(cloud, "server", "create", "--image", "debian-12", "--flavor", "m1.tiny",
                       "--network", "private", "--key-name", "debian-key", "--security-group",
                       "ssh-in", "--user-data", str(user_data), "--wait", NAME)
    assert server["status"] == "ACTIVE", server
    active = time.monotonic() - t0
    fip = demo_json(cloud, "floating", "ip", "create", "public")["floating_ip_address"]
    demo(cloud, "server", "add", "floating", "ip", NAME, fip)
    addresses = demo_json(cloud, "server", "show", NAME)["addresses"]["private"]
    fixed = next(a for a in addresses if a != fip)
    found = Guest(cloud, key, server, fip, fixed)
    try:
        eventually(lambda: found.ssh("true", timeout=30).returncode == 0, timeout=600,
                   what="SSH as debian through the floating IP")
    except AssertionError as e:
        console = demo(cloud, "console", "log", "show", NAME, check=False).stdout
        raise AssertionError(f"{e}; the console log ends:\n{console[-3000:]}") from None
    ssh_up = time.monotonic() - t0
    # The final stage writes boot-finished last, with or without errors (checked below).
    eventually(lambda: found.ssh("test -e /var/lib/cloud/instance/boot-finished",
                                 timeout=30).returncode == 0,
               timeout=600, what="cloud-init's final stage")
    finished = time.monotonic() - t0
    print(f"\n{NAME}: ACTIVE after {active:.0f} s, SSH after {ssh_up:.0f} s,"
          f" cloud-init finished after {finished:.0f} s (TCG)")
    yield found


def test_cloud_init_finished_without_errors_on_the_openstack_datasource(guest: Guest) -> None:
    status = guest.ssh("cloud-init status --long").stdout
    problems = guest.ssh("grep -E -A3 'WARNING|ERROR|Traceback' /var/log/cloud-init.log").stdout
    result = json.loads(guest.run("cat /run/cloud-init/result.json"))["v1"]
    assert result["errors"] == [], f"{result}\n{problems}"
    assert "status: done" in status, f"{status}\n{problems}"
    assert "Traceback" not in problems, problems
    assert result["datasource"].startswith("DataSourceOpenStack"), result
    assert guest.run("cloud-init query v1.platform") == "openstack"


def test_the_guest_knows_its_name_and_its_id(guest: Guest) -> None:
    assert guest.run("hostname") == NAME
    assert guest.run("cloud-init query v1.instance_id") == guest.server["id"]


def test_the_injected_key_logs_in_as_debian_with_passwordless_sudo(guest: Guest) -> None:
    assert guest.run("id -un") == "debian"
    assert guest.run("sudo -n true && echo sudo-ok") == "sudo-ok"


def test_user_data_wrote_its_file_and_ran_its_command(guest: Guest) -> None:
    assert guest.run("cat /etc/sausage-e2e") == "written by cloud-init"
    assert guest.run("cat /var/tmp/sausage-runcmd") == f"ran on {NAME}"


def test_the_network_comes_from_dhcp_with_the_default_route_and_the_mtu(guest: Guest) -> None:
    subnet = demo_json(guest.cloud, "subnet", "show", "private-subnet")
    mtu = demo_json(guest.cloud, "network", "show", "private")["mtu"]
    route = guest.run("ip -j route show default")
    [default] = json.loads(route)
    assert default["gateway"] == subnet["gateway_ip"], route
    dev = default["dev"]
    assert guest.run(f"cat /sys/class/net/{shlex.quote(dev)}/mtu") == str(mtu)
    addrs = json.loads(guest.run(f"ip -j -4 addr show dev {shlex.quote(dev)}"))
    assert guest.fixed_ip in [a["local"] for a in addrs[0]["addr_info"]]
    # cloud-init rendered network_data.json's ipv4_dhcp for ifupdown, which ran dhclient.
    assert f"iface {dev} inet dhcp" in guest.run("cat /etc/network/interfaces.d/50-cloud-init")
    assert guest.cloud.outside("ping", "-c", "1", "-W", "2", guest.fip).returncode == 0


def test_the_console_log_shows_the_kernel_and_cloud_init(guest: Guest) -> None:
    log = demo(guest.cloud, "console", "log", "show", NAME).stdout
    assert "Cloud-init v. 22.4" in log and "finished at" in log, log[-2000:]


def test_deleting_everything_leaves_nothing(guest: Guest) -> None:
    cloud = guest.cloud
    server_id = guest.server["id"]
    ports = [p["ID"] for p in demo_json(cloud, "port", "list", "--server", server_id)]
    demo(cloud, "server", "remove", "floating", "ip", NAME, guest.fip)
    demo(cloud, "floating", "ip", "delete", guest.fip)
    demo(cloud, "server", "delete", "--wait", NAME)
    demo(cloud, "security", "group", "delete", "ssh-in")
    demo(cloud, "keypair", "delete", "debian-key")
    demo(cloud, "image", "delete", "debian-12")
    assert demo_json(cloud, "server", "list") == []
    assert demo_json(cloud, "floating", "ip", "list") == []
    assert demo_json(cloud, "keypair", "list") == []
    assert "debian-12" not in {i["Name"] for i in demo_json(cloud, "image", "list")}
    assert "ssh-in" not in {g["Name"] for g in demo_json(cloud, "security", "group", "list")}
    assert not set(ports) & {p["ID"] for p in demo_json(cloud, "port", "list")}

    def gone() -> bool:
        links = subprocess.run(["ip", "-n", cloud.ns, "-o", "link"], capture_output=True,
                               text=True).stdout
        return not qemu_pids(server_id) and not any(f"tap{p[:11]}" in links for p in ports)
    eventually(gone, timeout=60, what="the VM's QEMU and tap gone")
