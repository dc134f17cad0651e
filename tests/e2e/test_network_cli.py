"""Tenant networks, routers, floating IPs and security groups on the real data plane, driven as
the ``demo`` user with the unmodified openstack CLI; traffic only inside the cloud's namespace."""

from __future__ import annotations

import pathlib
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import UNDERLAY, Cloud, namespaces, netns, sausage
from tests.e2e.test_compute_cli import MARKER, eventually, qemu_pids

DEMO = "sausage-demo"


def demo(cloud: Cloud, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return cloud.openstack(*args, cloud=DEMO, check=check)


def demo_json(cloud: Cloud, *args: str) -> Any:
    return cloud.json(*args, cloud=DEMO)


def console(cloud: Cloud, name: str) -> str:
    return demo(cloud, "console", "log", "show", name, check=False).stdout


def boot(cloud: Cloud, name: str, network: str, *extra: str) -> dict[str, Any]:
    server: dict[str, Any] = demo_json(
        cloud, "server", "create", "--image", "sausage-test", "--flavor", "m1.tiny",
        "--network", network, "--wait", *extra, name)
    assert server["status"] == "ACTIVE"
    eventually(lambda: MARKER in console(cloud, name), timeout=180,
               what=f"{name}'s ready marker")
    return server


def fixed_ip(cloud: Cloud, name: str) -> str:
    addresses = demo_json(cloud, "server", "show", name)["addresses"]
    return str(next(iter(addresses.values()))[0])


def curl(cloud: Cloud, address: str) -> str:
    result = cloud.outside("curl", "-s", "-m", "3", f"http://{address}/")
    return result.stdout.strip() if result.returncode == 0 else ""


@pytest.fixture(scope="module")
def key(cloud: Cloud, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("ssh") / "k.pem"
    path.write_text(demo(cloud, "keypair", "create", "k").stdout)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def n1(cloud: Cloud) -> Iterator[str]:
    """The issue's topology: n1 10.0.0.0/24 behind r1, gateway on public."""
    demo(cloud, "network", "create", "n1")
    demo(cloud, "subnet", "create", "--network", "n1", "--subnet-range", "10.0.0.0/24", "s1")
    demo(cloud, "router", "create", "r1")
    demo(cloud, "router", "set", "--external-gateway", "public", "r1")
    demo(cloud, "router", "add", "subnet", "r1", "s1")
    for port in ("22",):
        demo(cloud, "security", "group", "rule", "create", "--protocol", "tcp",
             "--dst-port", port, "default")
    demo(cloud, "security", "group", "rule", "create", "--protocol", "icmp", "default")
    yield "n1"


def test_a_vm_behind_a_router_is_reached_through_its_floating_ip(
        cloud: Cloud, n1: str, key: pathlib.Path) -> None:
    demo(cloud, "network", "set", "--dns-domain", "example.org.", n1)
    boot(cloud, "vm1", n1, "--key-name", "k")
    fip = demo_json(cloud, "floating", "ip", "create", "public")["floating_ip_address"]
    demo(cloud, "server", "add", "floating", "ip", "vm1", fip)
    assert fip in str(demo_json(cloud, "server", "show", "vm1")["addresses"])

    eventually(lambda: cloud.outside("ping", "-c", "1", "-W", "1", fip).returncode == 0,
               timeout=60, what="ping to the floating IP")
    # No rule for port 80 yet: the default group lets nothing in from the outside.
    assert curl(cloud, fip) == ""
    rule = demo_json(cloud, "security", "group", "rule", "create", "--protocol", "tcp",
                     "--dst-port", "80", "default")["id"]
    # The hostname the page shows came from the metadata service.
    eventually(lambda: curl(cloud, fip) == "hello from vm1", timeout=30, what="HTTP via the FIP")
    demo(cloud, "security", "group", "rule", "delete", rule)
    eventually(lambda: curl(cloud, fip) == "", timeout=30, what="HTTP closed again")

    ssh = cloud.outside("ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o",
                        "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
                        f"root@{fip}", "hostname", timeout=60)
    assert ssh.returncode == 0 and ssh.stdout.strip() == "vm1", ssh.stderr

    # The network's dnsmasq is the guest's name server (the subnet names none): Nova named the
    # port vm1, so the guest's name answers, short and under the network's dns_domain.
    own = fixed_ip(cloud, "vm1")
    look = cloud.outside("ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o",
                         "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
                         f"root@{fip}", "cat /etc/resolv.conf; nslookup vm1; "
                         "nslookup vm1.example.org.", timeout=60)
    answers = [line for line in look.stdout.splitlines()
               if line.replace(" ", "").replace("\t", "") == f"Address:{own}"]
    assert len(answers) == 2 and "search example.org" in look.stdout, look.stdout + look.stderr


SPOOFER = """#!/bin/sh
get() {{ timeout 5 wget -q -O /tmp/probe http://{target}/ 2>/dev/null; }}
get && echo PROBE-REAL-OK || echo PROBE-REAL-FAIL
own=$(ip -4 -o addr show dev eth0 | awk '{{print $4}}')
ip addr flush dev eth0
ip addr add 10.0.0.222/24 dev eth0
get && echo PROBE-SPOOF-IP-OK || echo PROBE-SPOOF-IP-FAIL
ip addr flush dev eth0
ip link set eth0 down
ip link set eth0 address fa:16:3e:00:00:99
ip link set eth0 up
ip addr add "$own" dev eth0
get && echo PROBE-SPOOF-MAC-OK || echo PROBE-SPOOF-MAC-FAIL
"""

OUTSIDER = """#!/bin/sh
timeout 5 wget -q -O /tmp/probe http://{target}/ 2>/dev/null && echo PROBE-OUTSIDER-OK || echo PROBE-OUTSIDER-FAIL
"""


def probe(cloud: Cloud, name: str, prefix: str, who: str = DEMO) -> str:
    def found() -> str:
        text = cloud.openstack("console", "log", "show", name, cloud=who, check=False).stdout
        lines = [line for line in text.splitlines() if line.startswith(prefix)]
        return lines[-1] if lines else ""
    return str(eventually(found, timeout=180, what=f"{prefix} on {name}'s console"))


def test_spoofed_addresses_and_other_projects_cannot_reach_a_vm(
        cloud: Cloud, n1: str, tmp_path: pathlib.Path) -> None:
    target = fixed_ip(cloud, "vm1")
    demo(cloud, "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "80",
         "--remote-group", "default", "default")
    script = tmp_path / "spoof.sh"
    script.write_text(SPOOFER.format(target=target))
    boot(cloud, "vm3", n1, "--user-data", str(script))
    # From its own address vm3 reaches vm1 (same group); with a forged one it is dropped.
    assert probe(cloud, "vm3", "PROBE-REAL") == "PROBE-REAL-OK"
    assert probe(cloud, "vm3", "PROBE-SPOOF-IP") == "PROBE-SPOOF-IP-FAIL"
    assert probe(cloud, "vm3", "PROBE-SPOOF-MAC") == "PROBE-SPOOF-MAC-FAIL"
    demo(cloud, "server", "delete", "--wait", "vm3")

    # Another project, its own network with the same prefix: vm1's fixed IP is not reachable.
    cloud.openstack("project", "create", "np2")
    cloud.openstack("user", "create", "--password", "pw", "nu2")
    cloud.openstack("role", "add", "--project", "np2", "--user", "nu2", "member")
    nu2 = cloud.as_user("nu2", "pw", "np2")
    cloud.openstack("network", "create", "n2", auth=nu2)
    cloud.openstack("subnet", "create", "--network", "n2", "--subnet-range", "10.0.0.0/24",
                    "s2", auth=nu2)
    outsider = tmp_path / "outsider.sh"
    outsider.write_text(OUTSIDER.format(target=target))
    # Same prefix, another address: vm1's fixed IP would be on-link if the networks leaked.
    n2 = cloud.json("network", "show", "n2", auth=nu2)["id"]
    cloud.openstack("server", "create", "--image", "sausage-test", "--flavor", "m1.tiny",
                    "--nic", f"net-id={n2},v4-fixed-ip=10.0.0.200", "--user-data",
                    str(outsider), "--wait", "vm2", auth=nu2)
    text = ""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and "PROBE-OUTSIDER" not in text:
        time.sleep(1)
        text = cloud.openstack("console", "log", "show", "vm2", auth=nu2, check=False).stdout
    assert "PROBE-OUTSIDER-FAIL" in text
    cloud.openstack("server", "delete", "--wait", "vm2", auth=nu2)
    cloud.openstack("subnet", "delete", "s2", auth=nu2)
    cloud.openstack("network", "delete", "n2", auth=nu2)


def test_bad_network_input_gets_neutron_errors_and_writes_nothing(cloud: Cloud, n1: str) -> None:
    demo(cloud, "network", "create", "n9")
    demo(cloud, "subnet", "create", "--network", "n9", "--subnet-range", "10.0.0.0/25", "s9")
    overlap = demo(cloud, "router", "add", "subnet", "r1", "s9", check=False)
    assert overlap.returncode != 0 and "overlaps" in overlap.stderr
    outside = demo(cloud, "port", "create", "--network", "n9", "--fixed-ip",
                   "subnet=s9,ip-address=10.9.9.9", "p9", check=False)
    assert outside.returncode != 0
    demo(cloud, "port", "create", "--network", "n9", "p9")
    in_use = demo(cloud, "network", "delete", "n9", check=False)
    assert in_use.returncode != 0
    # A floating IP for a port whose subnet has no router to public.
    fip = demo_json(cloud, "floating", "ip", "create", "public")["floating_ip_address"]
    unroutable = demo(cloud, "floating", "ip", "set", "--port", "p9", fip, check=False)
    assert unroutable.returncode != 0 and "External network" in unroutable.stderr
    assert demo_json(cloud, "floating", "ip", "show", fip)["port_id"] is None
    demo(cloud, "floating", "ip", "delete", fip)
    demo(cloud, "port", "delete", "p9")
    demo(cloud, "network", "delete", "n9")


def test_two_hosts_carry_one_network_over_vxlan(cloud: Cloud, n1: str,
                                                tmp_path: pathlib.Path) -> None:
    cn2 = f"{cloud.ns}cn2"
    netns("add", cn2)
    agent = None
    log = None
    try:
        netns("exec", cn2, "ip", "link", "set", "lo", "up")
        subprocess.run(["ip", "-n", cloud.ns, "link", "add", "ul0", "type", "veth", "peer",
                        "name", "ul0", "netns", cn2], check=True)
        for ns, n in ((cloud.ns, 1), (cn2, 2)):
            subprocess.run(["ip", "-n", ns, "addr", "add", UNDERLAY.format(n), "dev", "ul0"],
                           check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", "ul0", "up"], check=True)
        log = (tmp_path / "cn2.log").open("w")
        agent = subprocess.Popen(
            [str(pathlib.Path(sausage.__globals__["BIN"]) / "sausage"), "agent",
             "--state-dir", str(cloud.state_dir), "--agent-dir",
             str(cloud.state_dir / "agent-cn2"), "--host-name", "cn2", "--netns", cn2,
             "--tunnel-ip", UNDERLAY.format(2).split("/")[0]],
            stdout=log, stderr=subprocess.STDOUT)
        eventually(lambda: "cn2" in cloud.openstack("compute", "service", "list").stdout,
                   timeout=60, what="cn2 registered")
        target = fixed_ip(cloud, "vm1")
        demo(cloud, "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port",
             "80", "--remote-ip", "10.0.0.0/24", "default")
        script = tmp_path / "probe.sh"
        script.write_text(OUTSIDER.format(target=target))
        # Admin forces the host; the VM belongs to demo's network n1.
        net = demo_json(cloud, "network", "show", "n1")["id"]
        cloud.openstack("server", "create", "--image", "sausage-test", "--flavor", "m1.tiny",
                        "--nic", f"net-id={net}", "--availability-zone", "nova:cn2",
                        "--user-data", str(script), "--wait", "far")
        # 'far' is admin's VM on demo's network, so demo's group must admit it explicitly.
        try:
            result = probe(cloud, "far", "PROBE-OUTSIDER", who="sausage")
        except AssertionError:
            result = cloud.openstack("console", "log", "show", "far", check=False).stdout
        assert result == "PROBE-OUTSIDER-OK", (
            f"{result[-3000:]}\ncn2 agent:\n{(tmp_path / 'cn2.log').read_text()[-3000:]}\n"
            + subprocess.run(["bridge", "-n", cn2, "fdb", "show"], capture_output=True,
                             text=True).stdout
            + f"\nnetwork node:\n{(cloud.state_dir / 'agent.log').read_text()[-4000:]}\n"
            + subprocess.run(["bridge", "-n", cloud.ns, "fdb", "show"], capture_output=True,
                             text=True).stdout + _dhcp_state(cloud, cn2))
        far_id = cloud.json("server", "show", "far")["id"]
        cloud.openstack("server", "delete", "--wait", "far")
        eventually(lambda: not qemu_pids(far_id), what="far's process gone")
    finally:
        if agent is not None:
            agent.terminate()
            agent.wait(30)
        if log is not None:
            log.close()
        netns("delete", cn2, check=False)


def _dhcp_state(cloud: Cloud, cn2: str) -> str:
    """What the network node's DHCP server knows, and both hosts' filters (for a failure)."""
    out = []
    for path in sorted((cloud.state_dir / "agent").rglob("dnsmasq.log")):
        out.append(f"== {path}\n{path.read_text()[-2000:]}")
        hosts = path.parent / "hosts"
        if hosts.exists():
            out.append(f"== hosts\n{hosts.read_text()}")
    for ns in (cloud.ns, cn2):
        out.append(subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "ruleset"],
                                  capture_output=True, text=True).stdout[-4000:])
    return "\n".join(out)


def test_deleting_everything_leaves_nothing_on_the_host(cloud: Cloud, n1: str) -> None:
    net = demo_json(cloud, "network", "show", "n1")["id"]
    router = demo_json(cloud, "router", "show", "r1")["id"]
    ports = [p["ID"] for p in demo_json(cloud, "port", "list", "--network", "n1")]
    assert ports, "n1 has its DHCP, router and VM ports"
    for fip in demo_json(cloud, "floating", "ip", "list"):
        demo(cloud, "floating", "ip", "delete", fip["ID"])
    demo(cloud, "server", "delete", "--wait", "vm1")
    demo(cloud, "router", "remove", "subnet", "r1", "s1")
    demo(cloud, "router", "delete", "r1")
    demo(cloud, "network", "delete", "n1")
    assert "n1" not in {n["Name"] for n in demo_json(cloud, "network", "list")}
    mine = {f"{cloud.ns}-qdhcp-{net}", f"{cloud.ns}-qrouter-{router}"}
    names = {f"brq{net[:11]}", *(f"tap{p[:11]}" for p in ports)}

    def gone() -> bool:
        links = subprocess.run(["ip", "-n", cloud.ns, "-o", "link"], capture_output=True,
                               text=True).stdout
        nft = subprocess.run(["ip", "netns", "exec", cloud.ns, "nft", "list", "ruleset"],
                             capture_output=True, text=True).stdout
        dnsmasq = subprocess.run(["pgrep", "-f", f"dnsmasq.*{net}"], capture_output=True,
                                 text=True).stdout
        return (not mine & set(namespaces()) and not any(n in links for n in names)
                and not any(p[:11] in nft for p in ports) and not dnsmasq.strip()
                and not (cloud.state_dir / "agent" / "network" / "dhcp" / net).exists())
    eventually(gone, timeout=60, what="n1's namespaces, links, filters, dnsmasq and files gone")
