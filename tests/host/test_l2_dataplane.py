"""The agent's L2 data plane on real bridges, VXLAN and nftables, in throwaway namespaces.

Each "host" is a namespace `sg-…` that the network reconciler works in (as `sausage agent
--netns` does); each "VM" is another namespace whose eth0 is the peer of a veth named like
the port's tap in the host namespace. Traffic goes only between these namespaces.
"""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sausage.agent import config as agent_config
from sausage.agent import network
from sausage.agent.drivers import images, nics, qemu
from sausage.contract import host as contract
from tests.host.conftest import Netns, netns_list, processes_mentioning, require_host, run

NET = "5b0a3f4e-0c6e-4a59-9d2b-6f1c2d3e4f50"
VNI = 4242
LISTENER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(5)
print("listening", flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"hello\\n"); c.close()
"""


def rule(direction: str, protocol: str | None = None, port: int | None = None,
         remote: list[str] | None = None) -> contract.SecurityRule:
    return {"direction": direction, "ethertype": "IPv4", "protocol": protocol,  # type: ignore[typeddict-item]
            "port_range_min": port, "port_range_max": port, "remote_ip_prefixes": remote}


EGRESS_ANY = rule("egress")
PING_IN = rule("ingress", "icmp")


def port(n: int, rules: list[contract.SecurityRule], security: bool = True) -> contract.DesiredPort:
    port_id = f"{n:02d}aa0000-1111-4222-8333-444455556666"
    return {"id": port_id, "network_id": NET, "server_id": f"server-{n}",
            "mac": f"fa:16:3e:00:00:{n:02x}", "tap": "tap" + port_id[:11],
            "fixed_ips": [f"10.9.0.{n}"], "port_security": security,
            "allowed_address_pairs": [], "rules": rules}


def desired(ports: list[contract.DesiredPort], peers: list[str] | None = None,
            revision: int = 1) -> contract.Desired:
    net: contract.DesiredNetwork = {"id": NET, "mtu": 1450, "network_type": "vxlan",
                                    "segmentation_id": VNI, "physical_network": "",
                                    "peers": peers or []}
    return {"version": 1, "host_id": "h", "revision": revision, "servers": [],
            "networks": [net] if ports or peers is not None else [], "ports": ports}


class Host:
    """A host namespace with the agent's network reconciler working in it."""

    def __init__(self, tmp: pathlib.Path, tunnel_ip: str | None = None) -> None:
        self.ns = Netns()
        self.ns.create()
        self.cfg = agent_config.AgentConfig(state_dir=tmp / self.ns.name, netns=self.ns.name,
                                            tunnel_ip=tunnel_ip, registration_key="")
        self.reconciler = network.NetworkReconciler(self.cfg)
        self.vms: list[Netns] = []

    def vm(self, p: contract.DesiredPort) -> Netns:
        """A VM namespace whose eth0 (the port's MAC and address) is the far end of the
        port's tap."""
        vm = Netns()
        vm.create()
        self.vms.append(vm)
        self.ns.ip("link", "add", p["tap"], "mtu", "1450", "type", "veth", "peer", "name",
                   "eth0", "netns", vm.name)
        vm.ip("link", "set", "eth0", "address", p["mac"], "mtu", "1450", "up")
        vm.ip("addr", "add", f"{p['fixed_ips'][0]}/24", "dev", "eth0")
        return vm

    def apply(self, doc: contract.Desired) -> network.Result:
        result = self.reconciler.reconcile(doc, force=True)
        assert not result.errors, result.errors
        return result

    def links(self) -> list[str]:
        out = run(["ip", "-n", self.ns.name, "-o", "link", "show"]).stdout
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]

    def close(self) -> None:
        try:
            self.reconciler.purge()
        finally:
            self.reconciler.close()
            for vm in self.vms:
                vm.delete()
            self.ns.delete()


@pytest.fixture
def hosts(tmp_path: pathlib.Path) -> Iterator[list[Host]]:
    require_host()
    made: list[Host] = []
    yield made
    for h in made:
        h.close()
    left = [h.ns.name for h in made if h.ns.name in netns_list()]
    left += [vm.name for h in made for vm in h.vms if vm.name in netns_list()]
    assert not left, f"namespaces left behind: {left}"


def pings(vm: Netns, address: str, source: str | None = None) -> bool:
    """Any of three pings answered (a freshly plugged port needs a moment for its carrier)."""
    args = ["ping", "-c", "3", "-i", "0.5", "-W", "1", *(["-I", source] if source else []),
            address]
    return vm.run(*args, timeout=10).returncode == 0


def connects(vm: Netns, address: str, port_number: int) -> bool:
    code = ("import socket,sys\ns=socket.create_connection((sys.argv[1], int(sys.argv[2])), "
            "timeout=2)\nassert s.recv(6) == b'hello\\n'")
    return vm.run(sys.executable, "-c", code, address, str(port_number),
                  timeout=15).returncode == 0


def listen(vm: Netns, port_number: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(vm.exec_args(sys.executable, "-c", LISTENER, str(port_number)),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().startswith("listening")
    return proc


def test_two_vms_on_a_network_ping_each_other_and_their_ports_are_up(
        hosts: list[Host], tmp_path: pathlib.Path) -> None:
    host = Host(tmp_path)
    hosts.append(host)
    a, b = port(1, [EGRESS_ANY, PING_IN]), port(2, [EGRESS_ANY, PING_IN])
    vm_a, vm_b = host.vm(a), host.vm(b)
    result = host.apply(desired([a, b]))
    assert sorted(result.ports_up) == sorted([a["id"], b["id"]])
    assert "brq" + NET[:11] in host.links()
    assert pings(vm_a, "10.9.0.2")
    assert pings(vm_b, "10.9.0.1")


def test_a_spoofed_source_address_or_mac_is_dropped(hosts: list[Host],
                                                     tmp_path: pathlib.Path) -> None:
    host = Host(tmp_path)
    hosts.append(host)
    a, b = port(1, [EGRESS_ANY, PING_IN]), port(2, [EGRESS_ANY, PING_IN])
    vm_a, vm_b = host.vm(a), host.vm(b)
    host.apply(desired([a, b]))
    assert pings(vm_a, "10.9.0.2")
    vm_a.ip("addr", "add", "10.9.0.99/24", "dev", "eth0")
    assert not pings(vm_a, "10.9.0.2", source="10.9.0.99")
    vm_b.ip("link", "set", "eth0", "address", "fa:16:3e:66:66:66")
    vm_b.ip("neigh", "flush", "all")
    assert not pings(vm_b, "10.9.0.1")


def test_a_port_without_port_security_may_send_from_any_address(
        hosts: list[Host], tmp_path: pathlib.Path) -> None:
    host = Host(tmp_path)
    hosts.append(host)
    a, b = port(1, [], security=False), port(2, [EGRESS_ANY, PING_IN])
    vm_a, _ = host.vm(a), host.vm(b)
    host.apply(desired([a, b]))
    vm_a.ip("addr", "add", "10.9.0.99/24", "dev", "eth0")
    assert pings(vm_a, "10.9.0.2", source="10.9.0.99")


def test_an_ingress_tcp_port_opens_only_with_a_rule(hosts: list[Host],
                                                   tmp_path: pathlib.Path) -> None:
    host = Host(tmp_path)
    hosts.append(host)
    a, b = port(1, [EGRESS_ANY]), port(2, [EGRESS_ANY, PING_IN])
    vm_a, vm_b = host.vm(a), host.vm(b)
    host.apply(desired([a, b]))
    server = listen(vm_b, 8080)
    try:
        assert pings(vm_a, "10.9.0.2")  # replies to A come back: conntrack
        assert not connects(vm_a, "10.9.0.2", 8080)
        b = port(2, [EGRESS_ANY, PING_IN, rule("ingress", "tcp", 8080, ["10.9.0.0/24"])])
        host.apply(desired([a, b], revision=2))
        assert connects(vm_a, "10.9.0.2", 8080)
        assert not pings(vm_b, "10.9.0.1")  # A allows no ingress ICMP: B's ping is dropped
    finally:
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()


def test_two_hosts_carry_a_network_over_vxlan(hosts: list[Host],
                                              tmp_path: pathlib.Path) -> None:
    one, two = Host(tmp_path, "192.0.2.1"), Host(tmp_path, "192.0.2.2")
    hosts += [one, two]
    one.ns.ip("link", "add", "underlay", "type", "veth", "peer", "name", "underlay",
              "netns", two.ns.name)
    for h, address in ((one, "192.0.2.1/24"), (two, "192.0.2.2/24")):
        h.ns.ip("addr", "add", address, "dev", "underlay")
        h.ns.ip("link", "set", "underlay", "up")
    a, b = port(1, [EGRESS_ANY, PING_IN]), port(2, [EGRESS_ANY, PING_IN])
    vm_a, vm_b = one.vm(a), two.vm(b)
    one.apply(desired([a], peers=["192.0.2.2"]))
    two.apply(desired([b], peers=["192.0.2.1"]))
    assert f"vxlan-{VNI}" in one.links()
    assert pings(vm_a, "10.9.0.2")
    assert pings(vm_b, "10.9.0.1")
    # the peer leaves: its flood entry goes, and the tunnel carries nothing more
    one.apply(desired([a], peers=[], revision=2))
    vm_a.ip("neigh", "flush", "all")
    assert not pings(vm_a, "10.9.0.2")


def test_taps_are_made_for_ports_and_nothing_is_left_when_nothing_is_desired(
        hosts: list[Host], tmp_path: pathlib.Path) -> None:
    host = Host(tmp_path, "192.0.2.1")
    hosts.append(host)
    a = port(1, [EGRESS_ANY, PING_IN])
    result = host.apply(desired([a], peers=[]))
    assert a["tap"] in host.links()  # a persistent tap for QEMU to open by name
    assert result.ports_up == [a["id"]]
    assert host.reconciler.nft.list() != ""
    host.apply(desired([], revision=2))
    ours = [n for n in host.links() if n.startswith(("brq", "vxlan-", "tap"))]
    assert ours == []
    assert host.reconciler.nft.list() == ""


def test_an_unchanged_desired_state_costs_no_kernel_calls(hosts: list[Host],
                                                          tmp_path: pathlib.Path) -> None:
    host = Host(tmp_path)
    hosts.append(host)
    doc = desired([port(1, [EGRESS_ANY])])
    host.apply(doc)
    before = host.reconciler.netlink.ops + host.reconciler.nft.ops
    t0 = time.monotonic()
    for _ in range(100):
        host.reconciler.reconcile(doc)
    assert host.reconciler.netlink.ops + host.reconciler.nft.ops == before
    print(f"\n100 unchanged reconciles: {(time.monotonic() - t0) * 1000:.1f} ms")




def test_down_purge_removes_the_data_plane_and_the_namespace_up_made(
        tmp_path: pathlib.Path) -> None:
    require_host()
    from sausage import cli

    state = tmp_path / "state"
    state.mkdir()
    ns = Netns()
    (state / "sausage.yaml").write_text(f"netns: {ns.name}\n")
    try:
        cli._ensure_netns(cli.config.load(state))
        ns.created = True
        assert ns.name in netns_list()
        cfg = agent_config.from_settings(cli.config.load(state), tunnel_ip="192.0.2.1",
                                         bridge_mappings={"public": "br-ex"})
        r = network.NetworkReconciler(cfg)
        try:
            assert not r.reconcile(desired([port(1, [EGRESS_ANY])], peers=[])).errors
        finally:
            r.close()
        cli._purge_host(state)
        assert ns.name not in netns_list()
    finally:
        ns.delete()


def test_a_nic_is_hot_plugged_into_a_running_vm_and_unplugged_again(
        hosts: list[Host], tmp_path: pathlib.Path, testimage: pathlib.Path) -> None:
    """The one VM this file boots: an interface attach and detach on a running server."""
    host = Host(tmp_path)
    hosts.append(host)
    p = port(1, [EGRESS_ANY, PING_IN])
    host.apply(desired([p]))
    state = pathlib.Path(tempfile.mkdtemp(prefix="sg-nic-"))  # short: QMP socket paths
    driver = qemu.QemuDriver(state, accel=qemu.choose_accel("auto"), netns=host.ns.name)
    sid = "0d1e2f30-4152-4637-8899-aabbccddeeff"
    try:
        base = driver.images.ensure(
            {"id": "img", "disk_format": "qcow2", "checksum": None, "size": None,
             "url": str(testimage / "disk.qcow2")},
            lambda url: _chunks(pathlib.Path(url)))
        driver.create_disk(sid, "img", base, images.cache_format("qcow2"), root_gb=0)
        driver.start(qemu.Boot(sid, vcpus=1, memory_mb=256))
        deadline = time.monotonic() + 120
        while not driver.observe(sid).ready:
            assert time.monotonic() < deadline, driver.console(sid)[-2000:]
            time.sleep(0.2)
        sock = driver.dir(sid) / "qmp.sock"
        nic = qemu.Nic(mac=p["mac"], tap=p["tap"], mtu=1450)
        assert nics.sync(sock, (nic,)) == ([p["tap"]], [])
        assert nics.attached(sock) == [p["tap"]]
        link = run(["ip", "-n", host.ns.name, "link", "show", p["tap"]]).stdout
        assert "NO-CARRIER" not in link and "master brq" in link  # QEMU has the tap, on its bridge
        assert nics.sync(sock, (nic,)) == ([], [])
        assert nics.sync(sock, ()) == ([], [p["tap"]])  # the guest released it (ACPI)
        assert nics.attached(sock) == []
    finally:
        driver.destroy(sid)
        shutil.rmtree(state, ignore_errors=True)
    assert processes_mentioning(str(state)) == []


@contextlib.contextmanager
def _chunks(path: pathlib.Path) -> Iterator[Iterator[bytes]]:
    def read() -> Iterator[bytes]:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                yield chunk
    yield read()


def test_two_networks_with_the_same_addresses_work_each_in_its_own_conntrack_zone(
        hosts: list[Host], tmp_path: pathlib.Path) -> None:
    host = Host(tmp_path)
    hosts.append(host)
    a, b = port(1, [EGRESS_ANY, PING_IN]), port(2, [EGRESS_ANY, PING_IN])
    other = "6c1b4f5e-1d7f-4b6a-8e3c-7a2d3e4f5061"
    c, d = port(3, [EGRESS_ANY, PING_IN]), port(4, [EGRESS_ANY, PING_IN])
    for p, address in ((c, "10.9.0.1"), (d, "10.9.0.2")):  # the same addresses as a and b
        p["network_id"], p["fixed_ips"] = other, [address]
    vms = [host.vm(p) for p in (a, b, c, d)]
    doc = desired([a, b, c, d])
    doc["networks"] = [*doc["networks"], {**doc["networks"][0], "id": other,
                                          "segmentation_id": VNI + 1}]
    host.apply(doc)
    assert pings(vms[0], "10.9.0.2") and pings(vms[2], "10.9.0.2")
    zones = run(["ip", "netns", "exec", host.ns.name, "nft", "list", "chain", "inet",
                 "sausage", "zones"]).stdout
    assert "brq" + NET[:11] in zones and "brq" + other[:11] in zones
