"""Servers with real networking through the API: requested networks become Neutron ports,
ports become addresses, os-interface attaches and detaches them, and each host's desired state
carries what it must wire (NICs, networks with peers, DHCP, port filters, routers). Also the
bootstrap networks a fresh cloud starts with."""

from __future__ import annotations

import pathlib
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from sausage import config
from sausage.db.models import network as nm
from sausage.services.network import bootstrap
from sausage.services.runtime import Cloud
from tests.api.conftest import Api, DEMO_PASSWORD
from tests.api.test_compute import image_id, nova
from tests.api.test_network_core import make, neutron


def network(api: Api, token: dict[str, str], name: str = "n1", cidr: str = "10.1.0.0/24"
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    net = make(api, token, "network", name=name)
    sub = make(api, token, "subnet", network_id=net["id"], ip_version=4, cidr=cidr,
               name=f"{name}-subnet")
    return net, sub


class NetHost:
    """A host speaking the internal contract as an agent would, with its tunnel address."""

    def __init__(self, api: Api, name: str, tunnel_ip: str, network_node: bool = False,
                 vcpus: int = 8) -> None:
        self.api, self.name, self.vcpus = api, name, vcpus
        r = api.client.post("/internal/v1/hosts", json={
            "name": name, "vcpus": vcpus, "memory_mb": 16384, "disk_gb": 100, "virt_type": "tcg",
            "tunnel_ip": tunnel_ip, "network_node": network_node},
            headers={"X-Sausage-Registration-Key": api.cloud.agent_key})
        assert r.status_code == 201, r.text
        self.id = r.json()["host_id"]
        self.headers = {"X-Sausage-Host-Token": r.json()["token"]}
        self.report()

    def desired(self) -> dict[str, Any]:
        r = self.api.client.get(f"/internal/v1/hosts/{self.id}/desired?after=0&wait=0",
                                headers=self.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def report(self, running: tuple[str, ...] = (), ports_up: list[str] | None = None) -> None:
        servers = []
        if running:
            desired = {d["id"]: d for d in self.desired()["servers"]}
            for sid in running:
                d = desired[sid]
                servers.append({"id": sid, "state": "running", "power_seq": d["power_seq"],
                                "reboot_seq": 0, "rebuild_seq": 0, "resize_seq": 0,
                                "snapshots_done": []})
        body: dict[str, Any] = {"version": 1, "host_id": self.id, "revision_seen": 0,
                                "vcpus": self.vcpus, "memory_mb": 16384, "disk_gb": 100,
                                "servers": servers}
        if ports_up is not None:
            body["ports_up"] = ports_up
        r = self.api.client.post(f"/internal/v1/hosts/{self.id}/observed",
                                 headers=self.headers, json=body)
        assert r.status_code == 204, r.text


@pytest.fixture
def demo(api: Api) -> dict[str, str]:
    return {"X-Auth-Token": api.token("demo", DEMO_PASSWORD, "demo")}


def boot(api: Api, token: dict[str, str], version: str = "2.26", **server: Any
         ) -> httpx.Response:
    body = {"name": server.pop("name", "vm"), "imageRef": image_id(api), "flavorRef": "1",
            **server}
    return nova(api, "POST", "/servers", token, version, json={"server": body})


def booted(api: Api, token: dict[str, str], **server: Any) -> str:
    r = boot(api, token, **server)
    assert r.status_code == 202, r.text
    return str(r.json()["server"]["id"])


def ports_of(api: Api, server_id: str) -> list[dict[str, Any]]:
    r = neutron(api, "GET", f"/ports?device_id={server_id}", api.admin)
    return list(r.json()["ports"])


def all_ports(api: Api) -> list[dict[str, Any]]:
    return list(neutron(api, "GET", "/ports", api.admin).json()["ports"])


def test_a_server_without_networks_gets_a_port_on_its_projects_only_network(
        api: Api, demo: dict[str, str]) -> None:
    host = NetHost(api, "cn1", "192.0.2.1")
    net, sub = network(api, demo)
    server_id = booted(api, demo, name="web")  # 2.26: no networks key
    [port] = ports_of(api, server_id)
    assert port["device_owner"] == "compute:nova" and port["network_id"] == net["id"]
    assert port["binding:host_id"] == "cn1"
    ip = port["fixed_ips"][0]["ip_address"]
    shown = nova(api, "GET", f"/servers/{server_id}", demo).json()["server"]
    assert shown["addresses"] == {"n1": [{"version": 4, "addr": ip, "OS-EXT-IPS:type": "fixed",
                                          "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}]}
    assert shown["security_groups"] == [{"name": "default"}]
    assert nova(api, "GET", f"/servers/{server_id}/ips", demo).json() == {
        "addresses": {"n1": [{"version": 4, "addr": ip}]}}
    assert nova(api, "GET", f"/servers/{server_id}/ips/n1", demo).json() == {
        "n1": [{"version": 4, "addr": ip}]}
    assert nova(api, "GET", f"/servers/{server_id}/ips/other", demo).status_code == 404
    nic = host.desired()["servers"][0]["nics"]
    assert nic == [{"port_id": port["id"], "mac": port["mac_address"],
                    "tap": "tap" + port["id"][:11], "mtu": 1450}]


def test_no_network_means_no_nic_and_several_mean_novas_409(api: Api,
                                                             demo: dict[str, str]) -> None:
    NetHost(api, "cn1", "192.0.2.1")
    server_id = booted(api, demo, name="lonely")
    assert ports_of(api, server_id) == []
    assert "security_groups" not in nova(api, "GET", f"/servers/{server_id}", demo).json()[
        "server"]
    network(api, demo, "n1", "10.1.0.0/24")
    network(api, demo, "n2", "10.2.0.0/24")
    before = len(all_ports(api))
    r = boot(api, demo)
    assert r.status_code == 409
    assert r.json()["conflictingRequest"]["message"] == (
        "Multiple possible networks found, use a Network ID to be more specific.")
    r = boot(api, demo, "2.37", networks="auto")
    assert r.status_code == 409
    assert len(all_ports(api)) == before


def test_bad_network_requests_are_novas_400s_and_write_nothing(api: Api,
                                                               demo: dict[str, str]) -> None:
    NetHost(api, "cn1", "192.0.2.1")
    net, _ = network(api, demo)
    servers_before = nova(api, "GET", "/servers", demo).json()["servers"]
    r = boot(api, demo, networks=[{"fixed_ip": "10.0.1.1", "uuid": "a-b-c-d-e-f-g-h-i-j"}])
    assert r.status_code == 400 and "network uuid is not in proper format" in r.text
    missing = "3f1c5a8e-0000-4000-8000-000000000000"
    r = boot(api, demo, networks=[{"uuid": missing}])
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == f"Network {missing} could not be found."
    r = boot(api, demo, networks=[{"uuid": net["id"], "fixed_ip": "10.9.9.9"}])
    assert r.status_code == 400
    r = boot(api, demo, networks=[{"uuid": net["id"]}], security_groups=[{"name": "nope"}])
    assert r.status_code == 400
    r = boot(api, demo, "2.37", networks="auto", name="x")
    assert r.status_code == 202  # the project's one network
    # Another project's private network is not there at all.
    _, _, other = api.user_in_project()
    r = boot(api, other, networks=[{"uuid": net["id"]}])
    assert r.status_code == 400 and "could not be found" in r.text
    assert len(nova(api, "GET", "/servers", demo).json()["servers"]) == len(servers_before) + 1


def test_fixed_ip_and_user_ports_are_honoured_and_user_ports_survive_the_server(
        api: Api, demo: dict[str, str]) -> None:
    NetHost(api, "cn1", "192.0.2.1")
    net, sub = network(api, demo)
    server_id = booted(api, demo, networks=[{"uuid": net["id"], "fixed_ip": "10.1.0.50"}])
    [made] = ports_of(api, server_id)
    assert made["fixed_ips"][0]["ip_address"] == "10.1.0.50"
    r = boot(api, demo, networks=[{"uuid": net["id"], "fixed_ip": "10.1.0.50"}])
    assert r.status_code == 400 and "already in use" in r.text
    mine = make(api, demo, "port", network_id=net["id"], name="mine")
    second = booted(api, demo, networks=[{"port": mine["id"]}])
    bound = neutron(api, "GET", f"/ports/{mine['id']}", api.admin).json()["port"]
    assert bound["device_id"] == second and bound["binding:host_id"] == "cn1"
    r = boot(api, demo, networks=[{"port": mine["id"]}])
    assert r.status_code == 409  # in use
    assert nova(api, "DELETE", f"/servers/{second}", demo).status_code == 204
    assert nova(api, "DELETE", f"/servers/{server_id}", demo).status_code == 204
    kept = neutron(api, "GET", f"/ports/{mine['id']}", api.admin).json()["port"]
    assert kept["device_id"] == "" and kept["device_owner"] == "" and \
        kept["binding:host_id"] == ""
    assert neutron(api, "GET", f"/ports/{made['id']}", demo).status_code == 404


def test_running_out_of_port_quota_is_403_and_leaves_nothing(api: Api,
                                                             demo: dict[str, str]) -> None:
    NetHost(api, "cn1", "192.0.2.1")
    net, _ = network(api, demo)
    project = api.id_of("project", "demo")
    used = len([p for p in all_ports(api) if p["project_id"] == project])
    r = neutron(api, "PUT", f"/quotas/{project}", api.admin,
                json={"quota": {"port": used + 1}})
    assert r.status_code == 200, r.text
    r = boot(api, demo, networks=[{"uuid": net["id"]}], min_count=2, max_count=2)
    assert r.status_code == 403
    assert nova(api, "GET", "/servers", demo).json()["servers"] == []
    booted(api, demo, networks=[{"uuid": net["id"]}])


def test_interfaces_attach_and_detach_on_a_running_server(api: Api,
                                                          demo: dict[str, str]) -> None:
    host = NetHost(api, "cn1", "192.0.2.1")
    net, _ = network(api, demo)
    net2, _ = network(api, demo, "n2", "10.2.0.0/24")
    server_id = booted(api, demo, networks=[{"uuid": net["id"]}])
    r = nova(api, "POST", f"/servers/{server_id}/os-interface", demo,
             json={"interfaceAttachment": {"net_id": net2["id"]}})
    assert r.status_code == 409  # still building
    host.report(running=(server_id,))
    r = nova(api, "POST", f"/servers/{server_id}/os-interface", demo,
             json={"interfaceAttachment": {"net_id": net2["id"],
                                           "fixed_ips": [{"ip_address": "10.2.0.9"}]}})
    assert r.status_code == 200, r.text
    att = r.json()["interfaceAttachment"]
    assert att["net_id"] == net2["id"] and att["fixed_ips"][0]["ip_address"] == "10.2.0.9"
    listed = nova(api, "GET", f"/servers/{server_id}/os-interface", demo).json()
    assert [a["net_id"] for a in listed["interfaceAttachments"]] == [net["id"], net2["id"]]
    assert [n["port_id"] for n in host.desired()["servers"][0]["nics"]] == [
        a["port_id"] for a in listed["interfaceAttachments"]]
    reader = api.user_in_project("reader", "demo")[2]
    path = f"/servers/{server_id}/os-interface/{att['port_id']}"
    assert nova(api, "DELETE", path, reader).status_code == 403
    assert nova(api, "GET", path, api.user_in_project()[2]).status_code == 404
    assert nova(api, "GET", path, demo).json()["interfaceAttachment"]["port_id"] == \
        att["port_id"]
    assert nova(api, "DELETE", path, demo).status_code == 202
    assert nova(api, "GET", path, demo).status_code == 404
    assert len(host.desired()["servers"][0]["nics"]) == 1
    assert neutron(api, "GET", f"/ports/{att['port_id']}", demo).status_code == 404


def test_each_host_gets_what_it_must_wire_and_ports_go_active_when_reported(
        api: Api, demo: dict[str, str]) -> None:
    node = NetHost(api, "net1", "192.0.2.10", network_node=True, vcpus=0)  # no VMs there
    cn = NetHost(api, "cn1", "192.0.2.1")
    net, sub = network(api, demo)
    server_id = booted(api, demo, networks=[{"uuid": net["id"]}])
    [port] = ports_of(api, server_id)
    ip = port["fixed_ips"][0]["ip_address"]
    doc = cn.desired()
    [wired] = doc["networks"]
    assert wired["id"] == net["id"] and wired["network_type"] == "vxlan"
    assert wired["peers"] == ["192.0.2.10"] and "dhcp" not in wired
    [dport] = doc["ports"]
    assert dport["id"] == port["id"] and dport["fixed_ips"] == [ip]
    assert dport["server_id"] == server_id and dport["port_security"] is True
    egress = [r for r in dport["rules"] if r["direction"] == "egress"]
    ingress = [r for r in dport["rules"] if r["direction"] == "ingress"]
    assert {r["ethertype"] for r in egress} == {"IPv4", "IPv6"}
    assert all(r["remote_ip_prefixes"] is None for r in egress)
    # default group: ingress from its members, expanded to their addresses of that family
    assert {(r["ethertype"], tuple(r["remote_ip_prefixes"])) for r in ingress} == {
        ("IPv4", (ip,)), ("IPv6", ())}
    assert doc["routers"] == []
    ndoc = node.desired()
    [served] = ndoc["networks"]
    assert served["peers"] == ["192.0.2.1"]
    dhcp = served["dhcp"]
    assert dhcp["hosts"] == [{"mac": port["mac_address"], "ip": ip, "hostname": "vm",
                              "fqdn": "vm.openstacklocal."}]
    assert dhcp["dns_domain"] == "openstacklocal." and dhcp["dns_resolvers"] == []
    assert dhcp["subnets"][0]["id"] == sub["id"] and dhcp["subnets"][0]["dhcp_ip"]
    assert ndoc["ports"] == [] and ndoc["servers"] == []
    assert neutron(api, "GET", f"/ports/{port['id']}", demo).json()["port"]["status"] == "DOWN"
    cn.report(ports_up=[port["id"]])
    assert neutron(api, "GET", f"/ports/{port['id']}", demo).json()["port"]["status"] == \
        "ACTIVE"
    cn.report(ports_up=[])
    assert neutron(api, "GET", f"/ports/{port['id']}", demo).json()["port"]["status"] == "DOWN"


def test_the_bootstrap_makes_public_private_and_router1_once(api: Api,
                                                             demo: dict[str, str]) -> None:
    for _ in range(2):
        with api.cloud.db.transaction() as s:
            bootstrap.bootstrap(s, api.cloud.settings.public_cidr)
    nets = {n["name"]: n for n in neutron(api, "GET", "/networks", api.admin).json()["networks"]}
    assert set(nets) == {"public", "private"}
    public = nets["public"]
    assert public["router:external"] is True and public["shared"] is False
    assert public["provider:network_type"] == "flat" and public["mtu"] == 1500
    assert public["provider:physical_network"] == "public"
    subs = {s["name"]: s for s in neutron(api, "GET", "/subnets", api.admin).json()["subnets"]}
    assert subs["public-subnet"]["cidr"] == "203.0.113.0/24"
    assert subs["public-subnet"]["gateway_ip"] == "203.0.113.1"
    assert subs["public-subnet"]["enable_dhcp"] is False
    assert subs["public-subnet"]["allocation_pools"] == [{"start": "203.0.113.10",
                                                          "end": "203.0.113.254"}]
    assert subs["private-subnet"]["cidr"] == "10.0.0.0/26"
    assert subs["private-subnet"]["dns_nameservers"] == []
    routers = neutron(api, "GET", "/routers", demo).json()["routers"]
    assert [r["name"] for r in routers] == ["router1"]
    assert routers[0]["external_gateway_info"]["network_id"] == public["id"]
    # demo sees public and its own private; a demo server lands on private without asking
    node = NetHost(api, "aio", "192.0.2.1", network_node=True)
    server_id = booted(api, demo)
    [port] = ports_of(api, server_id)
    assert port["network_id"] == nets["private"]["id"]
    doc = node.desired()
    [router] = doc["routers"]
    assert router["gateway"]["addresses"][0].startswith("203.0.113.")
    assert router["gateway_ip"] == "203.0.113.1" and router["enable_snat"] is True
    assert router["interfaces"][0]["addresses"] == ["10.0.0.1/26"]
    kinds = {n["id"]: n["network_type"] for n in doc["networks"]}
    assert kinds == {public["id"]: "flat", nets["private"]["id"]: "vxlan"}
    r = neutron(api, "PUT", f"/routers/{routers[0]['id']}", demo,
                json={"router": {"admin_state_up": False}})
    assert r.status_code == 200, r.text
    # A router set down stays plugged (its ports go ACTIVE, as Neutron's do) but forwards
    # nothing.
    [down] = node.desired()["routers"]
    assert down["admin_state_up"] is False and down["interfaces"] == router["interfaces"]


def test_os_networks_lists_neutron_networks_before_2_36(api: Api,
                                                         demo: dict[str, str]) -> None:
    net, _ = network(api, demo)
    listed = nova(api, "GET", "/os-networks", demo, "2.35").json()["networks"]
    assert [(n["id"], n["label"]) for n in listed] == [(net["id"], "n1")]
    one = nova(api, "GET", f"/os-networks/{net['id']}", demo, "2.35").json()["network"]
    assert one["label"] == "n1"
    assert nova(api, "GET", "/os-networks", demo, "2.36").status_code == 404
    assert nova(api, "GET", f"/os-networks/{net['id']}", api.user_in_project()[2],
                "2.35").status_code == 404


def test_a_new_member_of_a_group_reaches_hosts_on_other_networks_that_allow_the_group(
        api: Api, demo: dict[str, str]) -> None:
    cn1 = NetHost(api, "cn1", "192.0.2.1")
    n1, _ = network(api, demo, "n1", "10.1.0.0/24")
    n2, _ = network(api, demo, "n2", "10.2.0.0/24")
    first = booted(api, demo, networks=[{"uuid": n1["id"]}])
    r = nova(api, "PUT", "/os-services/disable", api.admin, "2.1",
             json={"host": "cn1", "binary": "nova-compute"})
    assert r.status_code == 200
    cn2 = NetHost(api, "cn2", "192.0.2.2")
    before = cn1.desired()["revision"]
    second = booted(api, demo, networks=[{"uuid": n2["id"]}])
    [port] = ports_of(api, second)
    assert cn2.desired()["servers"][0]["id"] == second
    doc = cn1.desired()
    assert doc["revision"] > before and doc["servers"][0]["id"] == first
    [ingress] = [r for r in doc["ports"][0]["rules"]
                 if r["direction"] == "ingress" and r["ethertype"] == "IPv4"]
    assert port["fixed_ips"][0]["ip_address"] in ingress["remote_ip_prefixes"]
    # n2 is not wired on cn1: no VXLAN peer relation between the hosts for it
    assert [n["id"] for n in doc["networks"]] == [n1["id"]] and doc["networks"][0]["peers"] == []


def test_add_and_remove_floating_ip_actions_associate_the_servers_fixed_ip(
        api: Api, demo: dict[str, str]) -> None:
    NetHost(api, "cn1", "192.0.2.1")
    with api.cloud.db.transaction() as s:
        bootstrap.bootstrap(s, api.cloud.settings.public_cidr)
    server_id = booted(api, demo)  # on private, behind router1
    [port] = ports_of(api, server_id)
    public = neutron(api, "GET", "/networks?name=public", demo).json()["networks"][0]
    fip = make(api, demo, "floatingip", floating_network_id=public["id"])
    address = fip["floating_ip_address"]

    def act(body: dict[str, Any], token: dict[str, str] = demo) -> httpx.Response:
        return nova(api, "POST", f"/servers/{server_id}/action", token, json=body)

    assert act({"addFloatingIp": {"address": "203.0.113.99"}}).status_code == 404
    assert act({"addFloatingIp": {"address": address, "fixed_address": "10.9.9.9"}}
               ).status_code == 400
    reader = api.user_in_project("reader", "demo")[2]
    assert act({"addFloatingIp": {"address": address}}, reader).status_code == 403
    assert act({"addFloatingIp": {"address": address}}).status_code == 202
    shown = neutron(api, "GET", f"/floatingips/{fip['id']}", demo).json()["floatingip"]
    assert shown["port_id"] == port["id"]
    assert shown["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    kinds = [a["OS-EXT-IPS:type"] for a in nova(api, "GET", f"/servers/{server_id}", demo)
             .json()["server"]["addresses"]["private"]]
    assert kinds == ["fixed", "floating"]
    assert act({"removeFloatingIp": {"address": address}}).status_code == 202
    assert neutron(api, "GET", f"/floatingips/{fip['id']}", demo).json()["floatingip"][
        "port_id"] is None
    assert act({"removeFloatingIp": {"address": address}}).status_code == 409


def test_a_host_registering_a_bad_tunnel_address_is_refused_and_peers_follow_a_new_one(
        api: Api, demo: dict[str, str]) -> None:
    r = api.client.post("/internal/v1/hosts", json={
        "name": "bad", "vcpus": 1, "memory_mb": 512, "disk_gb": 1, "virt_type": "tcg",
        "tunnel_ip": "not-an-ip"}, headers={"X-Sausage-Registration-Key": api.cloud.agent_key})
    assert r.status_code == 400
    node = NetHost(api, "net1", "192.0.2.10", network_node=True, vcpus=0)
    NetHost(api, "cn1", "192.0.2.1")
    net, _ = network(api, demo)
    booted(api, demo, networks=[{"uuid": net["id"]}])
    assert node.desired()["networks"][0]["peers"] == ["192.0.2.1"]
    before = node.desired()["revision"]
    NetHost(api, "cn1", "192.0.2.7")  # the agent re-registers with a new underlay address
    doc = node.desired()
    assert doc["revision"] > before and doc["networks"][0]["peers"] == ["192.0.2.7"]


def test_every_start_of_the_cloud_keeps_one_set_of_bootstrap_networks(
        tmp_path: pathlib.Path) -> None:
    settings = config.load(tmp_path, network_bootstrap=True)
    for _ in range(2):  # sausage up, down, up
        cloud = Cloud(settings)
        cloud.prepare(admin_password="a", demo_password="d", catalog=[])
        cloud.close()
    cloud = Cloud(settings)
    with cloud.db.transaction() as s:
        names = sorted(s.scalars(select(nm.Network.name)))
        routers = list(s.scalars(select(nm.Router.name)))
        ports = {p.device_owner for p in s.scalars(select(nm.Port))}
    cloud.close()
    assert names == ["private", "public"] and routers == ["router1"]
    assert ports == {"network:dhcp", "network:router_gateway", "network:router_interface"}


def _statements(api: Api, fn: Any) -> int:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(api.cloud.db.engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(api.cloud.db.engine, "before_cursor_execute", count)
    return len(seen)


def test_desired_state_and_server_lists_cost_the_same_queries_for_1_or_6_servers(
        api: Api, demo: dict[str, str]) -> None:
    with api.cloud.db.transaction() as s:
        bootstrap.bootstrap(s, api.cloud.settings.public_cidr)
    node = NetHost(api, "aio", "192.0.2.1", network_node=True)
    booted(api, demo)
    one = (_statements(api, node.desired),
           _statements(api, lambda: nova(api, "GET", "/servers/detail", demo)))
    for i in range(5):
        booted(api, demo, name=f"vm{i}")
    six = (_statements(api, node.desired),
           _statements(api, lambda: nova(api, "GET", "/servers/detail", demo)))
    assert len(node.desired()["ports"]) == 6
    assert six == one and min(one) > 5


def test_servers_are_listed_by_a_pattern_on_their_fixed_ip(api: Api,
                                                           demo: dict[str, str]) -> None:
    NetHost(api, "cn1", "192.0.2.1")
    net, _ = network(api, demo)
    a = booted(api, demo, name="a", networks=[{"uuid": net["id"], "fixed_ip": "10.1.0.10"}])
    booted(api, demo, name="b", networks=[{"uuid": net["id"], "fixed_ip": "10.1.0.20"}])
    found = nova(api, "GET", "/servers?ip=10.1.0.1", demo).json()["servers"]
    assert [s["id"] for s in found] == [a]
    assert len(nova(api, "GET", "/servers?ip=10%5C.1%5C.", demo).json()["servers"]) == 2
    assert nova(api, "GET", "/servers?ip6=10", demo).json()["servers"] == []
    assert nova(api, "GET", "/servers?ip=%5B", demo).status_code == 400


def test_update_and_rebuild_answers_show_plain_addresses_as_novas_schemas_demand(
        api: Api, demo: dict[str, str]) -> None:
    host = NetHost(api, "cn1", "192.0.2.1")
    net, _ = network(api, demo)
    server_id = booted(api, demo, networks=[{"uuid": net["id"], "fixed_ip": "10.1.0.10"}])
    host.report(running=(server_id,))
    r = nova(api, "PUT", f"/servers/{server_id}", demo, json={"server": {"name": "renamed"}})
    assert r.status_code == 200, r.text
    assert r.json()["server"]["addresses"] == {"n1": [{"version": 4, "addr": "10.1.0.10"}]}
    r = nova(api, "POST", f"/servers/{server_id}/action", demo,
             json={"rebuild": {"imageRef": image_id(api)}})
    assert r.status_code == 202, r.text
    assert r.json()["server"]["addresses"] == {"n1": [{"version": 4, "addr": "10.1.0.10"}]}


def test_security_groups_are_added_to_and_removed_from_all_the_servers_ports(
        api: Api, demo: dict[str, str]) -> None:
    host = NetHost(api, "cn1", "192.0.2.1")
    net, _ = network(api, demo)
    r = neutron(api, "POST", "/security-groups", demo, json={"security_group": {"name": "web"}})
    assert r.status_code == 201, r.text
    web = r.json()["security_group"]
    server_id = booted(api, demo, networks=[{"uuid": net["id"]}])
    host.report(running=(server_id,))

    def act(body: dict[str, Any]) -> httpx.Response:
        return nova(api, "POST", f"/servers/{server_id}/action", demo, json=body)

    def groups() -> Any:
        return nova(api, "GET", f"/servers/{server_id}", demo).json()["server"].get(
            "security_groups")

    assert act({"addSecurityGroup": {"name": "nope"}}).status_code == 404
    assert act({"addSecurityGroup": {"name": "web"}}).status_code == 202
    assert groups() == [{"name": "default"}, {"name": "web"}]
    [port] = ports_of(api, server_id)
    assert web["id"] in port["security_groups"] and len(port["security_groups"]) == 2
    assert act({"removeSecurityGroup": {"name": "default"}}).status_code == 202
    assert act({"removeSecurityGroup": {"name": "default"}}).status_code == 400
    assert act({"removeSecurityGroup": {"name": "web"}}).status_code == 202
    assert groups() is None  # Nova leaves the key out when the ports have no groups
    assert host.desired()["ports"][0]["rules"] == []  # nothing may come in


def test_a_create_that_fails_while_making_its_ports_leaves_nothing_behind(
        api: Api, demo: dict[str, str]) -> None:
    NetHost(api, "cn1", "192.0.2.1")
    net, _ = network(api, demo)
    before = len(all_ports(api))
    wanted = {"uuid": net["id"], "fixed_ip": "10.1.0.10"}
    r = boot(api, demo, networks=[wanted, dict(wanted)])  # the second NIC cannot get it
    assert r.status_code == 400, r.text
    assert len(all_ports(api)) == before
    assert nova(api, "GET", "/servers", demo).json()["servers"] == []
    booted(api, demo, networks=[wanted])  # the address was never taken
