"""DHCP, metadata and routers on a real Linux data plane, in throwaway namespaces.

Each test makes its own host namespace `sg-<random>` standing in for the agent's data plane
(`sausage up --netns …`): a tenant bridge and an external bridge `br-ex` holding the outside
address 203.0.113.1/24, as the L2 driver would leave them. A "client" namespace joined to the
tenant bridge by a veth plays the guest. The metadata API is a tiny echo server on loopback.
Traffic goes only to loopback and to addresses inside these namespaces.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sausage.agent.drivers import dhcp, namespaces, router
from sausage.contract import host as contract
from tests.host.conftest import Netns, netns_list, processes_mentioning, require_host, run

NET_ID = "5e1d0c3a-8b7f-4a61-9d2e-000000000001"
EXT_ID = "5e1d0c3a-8b7f-4a61-9d2e-0000000000ee"
DHCP_PORT = "d1c9a7e5b3f1-4000-8000-000000000001"
CLIENT_MAC = "fa:16:3e:00:00:10"
CLIENT_IP = "10.0.0.10"
BRIDGE = "brq-l3test"
OUTSIDE = "203.0.113.1"
GATEWAY_ADDR = "203.0.113.10"
FLOATING = "203.0.113.20"

# udhcpc's event script: record the lease, then configure the client as a guest would.
UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew)
    env > "$LEASE_OUT"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    set -- $staticroutes
    while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
    ;;
esac
exit 0
"""

# A listener that answers every GET with the address the request came from.
WHOAMI = """
import sys, pathlib
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.client_address[0].encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
server = HTTPServer((sys.argv[1], int(sys.argv[2])), H)
pathlib.Path(sys.argv[3]).write_text("ready")
server.serve_forever()
"""


class EchoApi:
    """The metadata API stand-in on 127.0.0.1: answers with the path and headers it got."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = json.dumps({"path": self.path, "headers": dict(self.headers)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class World:
    """The host namespace with its bridges, a client namespace, the drivers under test."""

    def __init__(self) -> None:
        self.host = Netns()
        self.client = Netns()
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="sausage-l3-"))
        self.api = EchoApi()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.extra: list[Netns] = []
        self.host.create()
        self.client.create()
        self.host.ip("link", "add", BRIDGE, "type", "bridge")
        self.host.ip("link", "set", BRIDGE, "mtu", "1450", "up")
        self.host.ip("link", "add", "br-ex", "type", "bridge")
        self.host.ip("addr", "add", f"{OUTSIDE}/24", "dev", "br-ex")
        self.host.ip("link", "set", "br-ex", "up")
        self.host.ip("link", "add", "tapclient0", "type", "veth", "peer", "name", "eth0",
                     "netns", self.client.name)
        self.host.ip("link", "set", "tapclient0", "master", BRIDGE, "up")
        self.client.ip("link", "set", "eth0", "address", CLIENT_MAC, "up")
        self.prefix = f"{self.host.name}-"
        self.dhcp = dhcp.DhcpDriver(self.tmp / "state", self.host.name, self.prefix,
                                    self.api.url, lambda: "host-secret")
        self.routers = router.RouterDriver(self.tmp / "state", self.host.name, self.prefix)

    def bridge_for(self, network_id: str) -> str:
        return {NET_ID: BRIDGE, EXT_ID: "br-ex"}[network_id]

    def neighbour(self, address: str) -> Netns:
        """Another guest on the tenant network, configured by hand."""
        ns = Netns()
        self.extra.append(ns)
        ns.create()
        self.host.ip("link", "add", "tapclient1", "type", "veth", "peer", "name", "eth0",
                     "netns", ns.name)
        self.host.ip("link", "set", "tapclient1", "master", BRIDGE, "up")
        ns.ip("addr", "add", f"{address}/24", "dev", "eth0")
        ns.ip("link", "set", "eth0", "up")
        ns.ip("route", "add", "default", "via", "10.0.0.1")
        return ns

    def lease(self) -> dict[str, str]:
        """Run busybox udhcpc in the client namespace; the lease's variables."""
        script = self.tmp / "udhcpc.sh"
        script.write_text(UDHCPC_SCRIPT)
        script.chmod(0o755)
        out = self.tmp / "lease.env"
        result = self.client.run("env", f"LEASE_OUT={out}", "busybox", "udhcpc", "-i", "eth0",
                                 "-f", "-q", "-n", "-t", "5", "-T", "1", "-s", str(script),
                                 "-O", "staticroutes", "-O", "mtu", "-O", "hostname",
                                 timeout=30)
        assert result.returncode == 0, f"no lease:\n{result.stdout}{result.stderr}"
        return dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)

    def whoami_server(self, ns: Netns, address: str, port: int) -> None:
        ready = self.tmp / f"whoami-{ns.name}.ready"
        proc = subprocess.Popen(ns.exec_args(sys.executable, "-c", WHOAMI, address, str(port),
                                             str(ready)))
        self.procs.append(proc)
        assert namespaces.wait_for(ready.exists, timeout=10), "listener did not start"

    def curl(self, ns: Netns, url: str) -> str:
        result = ns.run("curl", "-sS", "--max-time", "5", url, timeout=15)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def ours(self) -> list[str]:
        return [name for name in netns_list() if name.startswith(self.prefix)]

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(timeout=10)
        self.dhcp.purge()
        self.routers.purge()
        self.api.close()
        for ns in self.extra:
            ns.delete()
        self.client.delete()
        self.host.delete()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def world() -> Iterator[World]:
    require_host()
    if shutil.which("busybox") is None:
        pytest.skip("busybox (udhcpc) is not installed")
    w = World()
    try:
        yield w
    finally:
        w.close()
    assert not w.ours(), f"namespaces left: {w.ours()}"
    assert not processes_mentioning(str(w.tmp)), processes_mentioning(str(w.tmp))
    assert not w.tmp.exists()


V6_SUBNET: contract.DesiredSubnet = {
    "id": "sub-6", "cidr": "2001:db8:5::/64", "ip_version": 6, "gateway_ip": "2001:db8:5::1",
    "enable_dhcp": True, "dns_nameservers": [], "host_routes": [], "ipv6_ra_mode": None,
    "ipv6_address_mode": "dhcpv6-stateful", "dhcp_ip": "2001:db8:5::2",
}


def desired_network(hosts: list[contract.DhcpHost],
                    v6: bool = False) -> contract.DesiredNetwork:
    net: contract.DesiredNetwork = {
        "id": NET_ID, "mtu": 1450, "network_type": "vxlan", "segmentation_id": 100,
        "physical_network": "", "peers": [],
        "dhcp": {
            "port_id": DHCP_PORT, "mac": "fa:16:3e:00:00:02", "hosts": hosts,
            "subnets": [{
                "id": "sub-1", "cidr": "10.0.0.0/24", "ip_version": 4, "gateway_ip": "10.0.0.1",
                "enable_dhcp": True, "dns_nameservers": ["192.0.2.53"], "host_routes": [],
                "ipv6_ra_mode": None, "ipv6_address_mode": None, "dhcp_ip": "10.0.0.2",
            }],
        },
    }
    if v6:
        net["dhcp"]["subnets"].append(V6_SUBNET)
    return net


CLIENT_HOST: contract.DhcpHost = {"mac": CLIENT_MAC, "ip": CLIENT_IP, "hostname": "client-1"}


def desired_router(floating: bool) -> contract.DesiredRouter:
    return {
        "id": "7a0b1c2d-0000-4000-8000-00000000r001",
        "gateway": {"port_id": "9e0f1a2b3c4d-gw", "network_id": EXT_ID,
                    "mac": "fa:16:3e:00:01:01", "addresses": [f"{GATEWAY_ADDR}/24"]},
        "gateway_ip": OUTSIDE,
        "enable_snat": True,
        "interfaces": [{"port_id": "8d9e0f1a2b3c-if", "network_id": NET_ID,
                        "mac": "fa:16:3e:00:00:01", "addresses": ["10.0.0.1/24"]}],
        "routes": [],
        "floating_ips": ([{"floating_ip": FLOATING, "fixed_ip": CLIENT_IP}] if floating else []),
    }


def dnsmasq_pid(w: World) -> int:
    return int((w.tmp / "state" / "dhcp" / NET_ID / "dnsmasq.pid").read_text())


def test_a_guest_gets_its_lease_and_reaches_metadata_through_the_proxy(world: World) -> None:
    assert world.dhcp.apply([desired_network([CLIENT_HOST])], world.bridge_for) == []
    made = pathlib.Path("/run/netns", dhcp.namespace_name(world.prefix, NET_ID))
    assert made.stat().st_ino != pathlib.Path("/proc/self/ns/net").stat().st_ino

    lease = world.lease()
    assert lease["ip"] == CLIENT_IP
    assert lease["mask"] == "24"
    assert lease["mtu"] == "1450"
    assert lease["router"] == "10.0.0.1"
    assert lease["dns"].split() == ["192.0.2.53"]
    assert lease["hostname"] == "client-1"
    assert lease["staticroutes"].split() == ["169.254.169.254/32", "10.0.0.2",
                                             "0.0.0.0/0", "10.0.0.1"]

    answer = json.loads(world.curl(world.client, "http://169.254.169.254/openstack/latest/"
                                                 "meta_data.json"))
    assert answer["path"] == "/internal/v1/metadata/openstack/latest/meta_data.json"
    headers = {k.lower(): v for k, v in answer["headers"].items()}
    assert headers["x-sausage-network-id"] == NET_ID
    assert headers["x-forwarded-for"] == CLIENT_IP
    assert headers["x-sausage-host-token"] == "host-secret"
    status = world.client.run("curl", "-sS", "--max-time", "5", "--path-as-is", "-o", "/dev/null",
                              "-w", "%{http_code}", "http://169.254.169.254/openstack/../../hosts",
                              timeout=15)
    assert status.stdout == "400"


def test_a_new_host_is_served_after_a_reload_not_a_restart(world: World) -> None:
    assert world.dhcp.apply([desired_network([])], world.bridge_for) == []
    pid = dnsmasq_pid(world)
    assert world.dhcp.apply([desired_network([])], world.bridge_for) == []  # unchanged: no-op

    assert world.dhcp.apply([desired_network([CLIENT_HOST])], world.bridge_for) == []
    assert dnsmasq_pid(world) == pid
    assert world.lease()["ip"] == CLIENT_IP


def test_a_restarted_agent_adopts_dnsmasq_and_a_new_subnet_restarts_it(world: World) -> None:
    assert world.dhcp.apply([desired_network([CLIENT_HOST])], world.bridge_for) == []
    pid = dnsmasq_pid(world)
    world.dhcp.close()  # the agent stops; dnsmasq, a daemon, runs on
    restarted = dhcp.DhcpDriver(world.tmp / "state", world.host.name, world.prefix,
                                world.api.url, lambda: "host-secret")
    world.dhcp = restarted

    assert restarted.apply([desired_network([CLIENT_HOST])], world.bridge_for) == []
    assert dnsmasq_pid(world) == pid

    assert restarted.apply([desired_network([CLIENT_HOST], v6=True)], world.bridge_for) == []
    assert dnsmasq_pid(world) != pid
    ns = dhcp.namespace_name(world.prefix, NET_ID)
    shown = run(["ip", "-n", ns, "addr", "show", "dev", "ns-d1c9a7e5b3f"]).stdout
    assert "2001:db8:5::2/64" in shown and "10.0.0.2/24" in shown
    assert world.lease()["ip"] == CLIENT_IP


def test_a_network_that_leaves_the_document_leaves_nothing_behind(world: World) -> None:
    assert world.dhcp.apply([desired_network([CLIENT_HOST])], world.bridge_for) == []
    pid = dnsmasq_pid(world)

    assert world.dhcp.apply([], world.bridge_for) == []

    assert world.ours() == []
    assert not namespaces.alive(pid)
    assert "tapd1c9a7e5b3f" not in namespaces.link_names(world.host.name)
    assert not (world.tmp / "state" / "dhcp" / NET_ID).exists()
    assert world.dhcp.proxy.serving() == set()


def test_a_router_snats_to_its_gateway_and_dnats_floating_ips(world: World) -> None:
    assert world.dhcp.apply([desired_network([CLIENT_HOST])], world.bridge_for) == []
    world.lease()  # the client's address and its default route via 10.0.0.1
    world.whoami_server(world.host, OUTSIDE, 8080)
    world.whoami_server(world.client, CLIENT_IP, 8081)

    assert world.routers.apply([desired_router(floating=False)], world.bridge_for) == []
    assert world.curl(world.client, f"http://{OUTSIDE}:8080/") == GATEWAY_ADDR

    assert world.routers.apply([desired_router(floating=True)], world.bridge_for) == []
    assert world.curl(world.client, f"http://{OUTSIDE}:8080/") == FLOATING
    # From the outside, the floating IP reaches the client, which sees the real source.
    assert world.curl(world.host, f"http://{FLOATING}:8081/") == OUTSIDE
    # A neighbour on the same network reaches it by its floating IP too (hairpin NAT).
    neighbour = world.neighbour("10.0.0.11")
    assert world.curl(neighbour, f"http://{FLOATING}:8081/") == GATEWAY_ADDR

    # Set administratively down, the router keeps its ports but forwards nothing.
    down = {**desired_router(floating=True), "admin_state_up": False}
    assert world.routers.apply([down], world.bridge_for) == []
    blocked = world.client.run("curl", "-sS", "--max-time", "2", f"http://{OUTSIDE}:8080/")
    assert blocked.returncode != 0
    assert world.routers.apply([desired_router(floating=True)], world.bridge_for) == []
    assert world.curl(world.client, f"http://{OUTSIDE}:8080/") == FLOATING

    assert world.routers.apply([], world.bridge_for) == []
    assert world.ours() == [dhcp.namespace_name(world.prefix, NET_ID)]
    links = namespaces.link_names(world.host.name)
    assert "tap9e0f1a2b3c4" not in links and "tap8d9e0f1a2b3" not in links
    failed = world.host.run("curl", "-sS", "--max-time", "2", f"http://{FLOATING}:8081/")
    assert failed.returncode != 0


def test_purge_removes_every_namespace_process_and_file_it_made(world: World) -> None:
    assert world.dhcp.apply([desired_network([CLIENT_HOST])], world.bridge_for) == []
    assert world.routers.apply([desired_router(floating=True)], world.bridge_for) == []
    pid = dnsmasq_pid(world)
    # A fresh driver (an agent restarted, or `sausage down --purge`) finds them by prefix.
    fresh_dhcp = dhcp.DhcpDriver(world.tmp / "state", world.host.name, world.prefix,
                                 world.api.url, lambda: "x")
    fresh_routers = router.RouterDriver(world.tmp / "state", world.host.name, world.prefix)

    fresh_dhcp.purge()
    fresh_routers.purge()

    assert world.ours() == []
    assert not namespaces.alive(pid)
    assert not (world.tmp / "state" / "dhcp").exists()
    assert {name for name in namespaces.link_names(world.host.name)
            if name.startswith("tap") and name != "tapclient0"} == set()
