"""The Neutron v2.0 core through the API: networks, subnets, subnet pools, ports and IPAM,
tags, paging, quotas, extensions, and who may see and change what."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api


def neutron(api: Api, method: str, path: str, token: dict[str, str], **kwargs: Any
            ) -> httpx.Response:
    return api.client.request(method, "/network/v2.0" + path, headers=token, **kwargs)


def make(api: Api, token: dict[str, str], kind: str, **values: Any) -> dict[str, Any]:
    r = neutron(api, "POST", f"/{kind}s", token, json={kind: values})
    assert r.status_code == 201, r.text
    return dict(r.json()[kind])


def fault(r: httpx.Response) -> str:
    return str(r.json()["NeutronError"]["type"])


def net_with_subnet(api: Api, token: dict[str, str], cidr: str = "10.1.0.0/24",
                    **subnet: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    net = make(api, token, "network", name="n")
    sub = make(api, token, "subnet", network_id=net["id"], ip_version=4, cidr=cidr, **subnet)
    return net, sub


def test_the_network_root_lists_v2_and_its_resources_and_the_catalog_has_neutron(
        api: Api) -> None:
    r = api.client.get("/network/")
    assert r.json()["versions"][0]["id"] == "v2.0"
    assert r.json()["versions"][0]["status"] == "CURRENT"
    r = api.client.get("/network/v2.0/", headers=api.admin)
    names = {res["name"] for res in r.json()["resources"]}
    assert {"network", "subnet", "port"} <= names
    r = api.client.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": "admin", "domain": {
            "name": "Default"}, "password": "admin-secret"}}}, "scope": {"project": {
                "name": "admin", "domain": {"name": "Default"}}}}})
    types = {e["type"] for e in r.json()["token"]["catalog"]}
    assert "network" in types


def test_a_network_is_created_shown_listed_updated_and_deleted(api: Api) -> None:
    _, project, member = api.user_in_project()
    net = make(api, member, "network", name="blue", description="d1")
    assert net["status"] == "ACTIVE" and net["mtu"] == 1450 and net["subnets"] == []
    assert net["project_id"] == net["tenant_id"] == project
    assert net["revision_number"] == 0 and net["created_at"].endswith("Z")
    assert "provider:segmentation_id" not in net  # admin-only to see
    r = neutron(api, "GET", f"/networks/{net['id']}", api.admin)
    assert r.json()["network"]["provider:network_type"] == "vxlan"
    assert r.json()["network"]["provider:segmentation_id"] >= 1
    r = neutron(api, "PUT", f"/networks/{net['id']}", member,
                json={"network": {"name": "green", "description": "d2"}})
    assert r.status_code == 200, r.text
    assert r.json()["network"]["name"] == "green"
    assert r.json()["network"]["revision_number"] == 1
    r = neutron(api, "GET", "/networks", member)
    assert [n["name"] for n in r.json()["networks"]] == ["green"]
    r = neutron(api, "GET", f"/networks/{net['id']}?fields=id&fields=mtu", member)
    assert r.json()["network"] == {"id": net["id"], "mtu": 1450}
    r = neutron(api, "GET", "/networks?fields=id&fields=name", member)
    assert all(sorted(n) == ["id", "name"] for n in r.json()["networks"])
    assert neutron(api, "DELETE", f"/networks/{net['id']}", member).status_code == 204
    r = neutron(api, "GET", f"/networks/{net['id']}", member)
    assert r.status_code == 404 and fault(r) == "NetworkNotFound"


def test_every_network_gets_its_own_vxlan_id(api: Api) -> None:
    ids = {make(api, api.admin, "network")["provider:segmentation_id"] for _ in range(3)}
    assert len(ids) == 3


def test_bad_network_input_is_a_400_and_writes_nothing(api: Api) -> None:
    _, _, member = api.user_in_project()
    for body in ({"network": {"name": 5}}, {"network": {"bogus": 1}},
                 {"network": {"admin_state_up": "maybe"}}, {"networks": []}, {"net": {}}):
        r = neutron(api, "POST", "/networks", member, json=body)
        assert r.status_code == 400, (body, r.text)
        assert "NeutronError" in r.json()
    assert neutron(api, "GET", "/networks", member).json()["networks"] == []


def test_provider_and_shared_attributes_are_admin_only(api: Api) -> None:
    _, _, member = api.user_in_project()
    for extra in ({"shared": True}, {"router:external": True},
                  {"provider:network_type": "vxlan"}):
        r = neutron(api, "POST", "/networks", member, json={"network": extra})
        assert r.status_code == 403, r.text
    net = make(api, api.admin, "network", **{
        "router:external": True, "provider:network_type": "flat",
        "provider:physical_network": "public"})
    assert net["mtu"] == 1500 and net["provider:segmentation_id"] is None
    r = neutron(api, "POST", "/networks", api.admin, json={"network": {
        "provider:network_type": "flat", "provider:physical_network": "public"}})
    assert r.status_code == 409 and fault(r) == "FlatNetworkInUse"


def test_other_projects_networks_are_invisible_and_readers_cannot_write(api: Api) -> None:
    _, project, member = api.user_in_project()
    _, _, other = api.user_in_project()
    _, _, reader = api.user_in_project("reader", project=project_name(api, project))
    net = make(api, member, "network", name="mine")
    assert neutron(api, "GET", f"/networks/{net['id']}", other).status_code == 404
    assert neutron(api, "GET", "/networks", other).json()["networks"] == []
    assert neutron(api, "DELETE", f"/networks/{net['id']}", other).status_code == 404
    assert neutron(api, "GET", f"/networks/{net['id']}", reader).status_code == 200
    assert neutron(api, "PUT", f"/networks/{net['id']}", reader,
                   json={"network": {"name": "x"}}).status_code == 403
    assert neutron(api, "POST", "/networks", reader,
                   json={"network": {"name": "x"}}).status_code == 403
    r = neutron(api, "POST", "/subnets", other, json={"subnet": {
        "network_id": net["id"], "ip_version": 4, "cidr": "10.9.0.0/24"}})
    assert r.status_code == 404 and fault(r) == "NetworkNotFound"


def project_name(api: Api, project_id: str) -> str:
    r = api.request("GET", f"/projects/{project_id}", api.admin)
    return str(r.json()["project"]["name"])


def test_external_networks_and_their_subnets_are_visible_to_every_project(api: Api) -> None:
    public = make(api, api.admin, "network", name="public", **{
        "router:external": True, "provider:network_type": "flat",
        "provider:physical_network": "public"})
    make(api, api.admin, "subnet", network_id=public["id"], ip_version=4,
         cidr="203.0.113.0/24", enable_dhcp=False)
    _, _, member = api.user_in_project()
    make(api, member, "network", name="private")
    r = neutron(api, "GET", "/networks?router:external=True", member)
    assert [n["id"] for n in r.json()["networks"]] == [public["id"]]
    r = neutron(api, "GET", f"/subnets?network_id={public['id']}", member)
    assert len(r.json()["subnets"]) == 1
    assert neutron(api, "PUT", f"/networks/{public['id']}", member,
                   json={"network": {"name": "mine"}}).status_code == 403


def test_a_subnet_gets_neutrons_defaults_and_its_dhcp_port(api: Api) -> None:
    _, _, member = api.user_in_project()
    net, sub = net_with_subnet(api, member)
    assert sub["gateway_ip"] == "10.1.0.1"
    assert sub["allocation_pools"] == [{"start": "10.1.0.2", "end": "10.1.0.254"}]
    assert sub["enable_dhcp"] is True and sub["host_routes"] == [] and sub["ip_version"] == 4
    r = neutron(api, "GET", f"/ports?network_id={net['id']}&device_owner=network:dhcp",
                api.admin)
    (dhcp,) = r.json()["ports"]
    assert dhcp["device_id"] == f"dhcp-{net['id']}"
    assert dhcp["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.1.0.2"}]
    r = neutron(api, "GET", f"/networks/{net['id']}", member)
    assert r.json()["network"]["subnets"] == [sub["id"]]


def test_subnet_attributes_as_tempest_sends_them(api: Api) -> None:
    _, _, member = api.user_in_project()
    net = make(api, member, "network")
    sub = make(api, member, "subnet", network_id=net["id"], ip_version=4,
               cidr="10.100.0.0/28", gateway_ip="10.100.0.1",
               allocation_pools=[{"start": "10.100.0.3", "end": "10.100.0.7"}],
               dns_nameservers=["8.8.4.4", "8.8.8.8"],
               host_routes=[{"destination": "10.20.0.0/32", "nexthop": "10.100.1.1"}])
    assert sub["allocation_pools"] == [{"start": "10.100.0.3", "end": "10.100.0.7"}]
    assert sub["host_routes"] == [{"destination": "10.20.0.0/32", "nexthop": "10.100.1.1"}]
    r = neutron(api, "PUT", f"/subnets/{sub['id']}", member, json={"subnet": {
        "name": "New_subnet", "gateway_ip": "10.100.0.2", "enable_dhcp": True,
        "dns_nameservers": ["7.8.8.8", "7.8.4.4"],
        "host_routes": [{"destination": "10.20.0.0/32", "nexthop": "10.100.1.2"}]}})
    assert r.status_code == 200, r.text
    got = r.json()["subnet"]
    assert got["gateway_ip"] == "10.100.0.2" and got["name"] == "New_subnet"
    assert got["dns_nameservers"] == ["7.8.8.8", "7.8.4.4"]
    assert got["host_routes"][0]["nexthop"] == "10.100.1.2"
    r = neutron(api, "POST", "/subnets", member, json={"subnet": {
        "network_id": net["id"], "ip_version": 4, "cidr": "10.100.0.0/28"}})
    assert r.status_code == 400 and "overlaps with another subnet" in r.text
    nogw = make(api, member, "subnet", network_id=net["id"], ip_version=4,
                cidr="10.100.0.16/28", gateway_ip=None)
    assert nogw["gateway_ip"] is None
    assert nogw["allocation_pools"] == [{"start": "10.100.0.17", "end": "10.100.0.30"}]


@pytest.mark.parametrize("subnet", [
    {"cidr": "10.2.0.0/24", "allocation_pools": [{"start": "10.3.0.2", "end": "10.3.0.9"}]},
    {"cidr": "10.2.0.0/24", "allocation_pools": [{"start": "10.2.0.9", "end": "10.2.0.2"}]},
    {"cidr": "10.2.0.0/24", "allocation_pools": [{"start": "10.2.0.2", "end": "10.2.0.9"},
                                                 {"start": "10.2.0.5", "end": "10.2.0.20"}]},
    {"cidr": "10.2.0.1/24"},
    {"cidr": "fd00::/64"},
    {"cidr": "10.2.0.0/24", "gateway_ip": "10.2.0.0"},
    {"cidr": "10.2.0.0/24", "host_routes": [{"destination": "x", "nexthop": "10.2.0.1"}]},
    {"cidr": "10.2.0.0/24", "ipv6_ra_mode": "slaac"},
])
def test_bad_subnets_are_a_400_and_write_nothing(api: Api, subnet: dict[str, Any]) -> None:
    _, _, member = api.user_in_project()
    net = make(api, member, "network")
    r = neutron(api, "POST", "/subnets", member,
                json={"subnet": {"network_id": net["id"], "ip_version": 4, **subnet}})
    assert r.status_code == 400, r.text
    assert neutron(api, "GET", "/subnets", member).json()["subnets"] == []
    assert neutron(api, "GET", "/ports", api.admin).json()["ports"] == []


def test_a_gateway_inside_the_pools_is_a_conflict(api: Api) -> None:
    _, _, member = api.user_in_project()
    net = make(api, member, "network")
    r = neutron(api, "POST", "/subnets", member, json={"subnet": {
        "network_id": net["id"], "ip_version": 4, "cidr": "10.2.0.0/24",
        "gateway_ip": "10.2.0.5",
        "allocation_pools": [{"start": "10.2.0.2", "end": "10.2.0.9"}]}})
    assert r.status_code == 409 and fault(r) == "GatewayConflictWithAllocationPools"


def test_ipv6_subnets_validate_their_modes_and_slaac_ports_get_eui64_addresses(
        api: Api) -> None:
    _, _, member = api.user_in_project()
    net = make(api, member, "network")
    r = neutron(api, "POST", "/subnets", member, json={"subnet": {
        "network_id": net["id"], "ip_version": 6, "cidr": "fd00:1::/64",
        "ipv6_ra_mode": "slaac", "ipv6_address_mode": "dhcpv6-stateful"}})
    assert r.status_code == 400
    r = neutron(api, "POST", "/subnets", member, json={"subnet": {
        "network_id": net["id"], "ip_version": 6, "cidr": "fd00:1::/80",
        "ipv6_address_mode": "slaac", "ipv6_ra_mode": "slaac"}})
    assert r.status_code == 400
    sub = make(api, member, "subnet", network_id=net["id"], ip_version=6, cidr="fd00:1::/64",
               ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    assert sub["gateway_ip"] == "fd00:1::1"
    port = make(api, member, "port", network_id=net["id"])
    mac = bytes.fromhex(port["mac_address"].replace(":", ""))
    eui64 = bytes([mac[0] ^ 2, *mac[1:3], 0xFF, 0xFE, *mac[3:]])
    expected = ipaddress.IPv6Address(b"\xfd\x00\x00\x01" + bytes(4) + eui64)
    assert ipaddress.IPv6Address(port["fixed_ips"][0]["ip_address"]) == expected


def test_deleting_a_network_takes_its_subnets_and_dhcp_port_but_not_while_ports_use_it(
        api: Api) -> None:
    _, _, member = api.user_in_project()
    net, sub = net_with_subnet(api, member)
    port = make(api, member, "port", network_id=net["id"])
    r = neutron(api, "DELETE", f"/networks/{net['id']}", member)
    assert r.status_code == 409 and fault(r) == "NetworkInUse"
    r = neutron(api, "DELETE", f"/subnets/{sub['id']}", member)
    assert r.status_code == 409 and fault(r) == "SubnetInUse"
    assert neutron(api, "DELETE", f"/ports/{port['id']}", member).status_code == 204
    assert neutron(api, "DELETE", f"/networks/{net['id']}", member).status_code == 204
    assert neutron(api, "GET", f"/subnets/{sub['id']}", member).status_code == 404
    assert neutron(api, "GET", "/ports", api.admin).json()["ports"] == []
    assert neutron(api, "GET", "/subnets", api.admin).json()["subnets"] == []


def test_deleting_the_last_dhcp_subnet_removes_the_dhcp_port(api: Api) -> None:
    _, _, member = api.user_in_project()
    net, sub = net_with_subnet(api, member)
    assert neutron(api, "DELETE", f"/subnets/{sub['id']}", member).status_code == 204
    assert neutron(api, "GET", "/ports", api.admin).json()["ports"] == []
    sub = make(api, member, "subnet", network_id=net["id"], ip_version=4, cidr="10.5.0.0/24",
               enable_dhcp=False)
    assert neutron(api, "GET", "/ports", api.admin).json()["ports"] == []
    r = neutron(api, "PUT", f"/subnets/{sub['id']}", member,
                json={"subnet": {"enable_dhcp": True}})
    assert r.status_code == 200
    (dhcp,) = neutron(api, "GET", "/ports", api.admin).json()["ports"]
    assert dhcp["device_owner"] == "network:dhcp"
    neutron(api, "PUT", f"/subnets/{sub['id']}", member, json={"subnet": {"enable_dhcp": False}})
    assert neutron(api, "GET", "/ports", api.admin).json()["ports"] == []


def test_a_port_gets_an_address_a_mac_and_the_default_security_group(api: Api) -> None:
    _, project, member = api.user_in_project()
    net, sub = net_with_subnet(api, member)
    port = make(api, member, "port", network_id=net["id"], name="p1")
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.1.0.3"}]
    assert port["mac_address"].startswith("fa:16:3e:")
    assert port["status"] == "DOWN" and port["admin_state_up"] is True
    assert port["port_security_enabled"] is True and len(port["security_groups"]) == 1
    assert port["extra_dhcp_opts"] == [] and port["binding:vnic_type"] == "normal"
    assert "binding:host_id" not in port
    r = neutron(api, "GET", f"/ports/{port['id']}", api.admin)
    assert r.json()["port"]["binding:vif_type"] == "unbound"
    r = neutron(api, "GET", f"/ports/{port['id']}", member)
    shown = r.json()["port"]
    assert {k: v for k, v in shown.items() if k not in ("created_at", "updated_at")} == \
        {k: v for k, v in port.items() if k not in ("created_at", "updated_at")}
    r = neutron(api, "GET", f"/ports/{port['id']}?fields=id&fields=mac_address", member)
    assert r.json()["port"] == {"id": port["id"], "mac_address": port["mac_address"]}
    r = neutron(api, "PUT", f"/ports/{port['id']}", member,
                json={"port": {"name": "New_Port", "admin_state_up": False}})
    assert r.json()["port"]["name"] == "New_Port" and r.json()["port"]["admin_state_up"] is False
    assert neutron(api, "DELETE", f"/ports/{port['id']}", member).status_code == 204
    assert neutron(api, "GET", f"/ports/{port['id']}", member).status_code == 404


def test_port_fixed_ips_are_checked_and_exhaustion_is_a_conflict(api: Api) -> None:
    _, _, member = api.user_in_project()
    net, sub = net_with_subnet(api, member, cidr="10.7.0.0/29", enable_dhcp=False)
    r = neutron(api, "POST", "/ports", member, json={"port": {
        "network_id": net["id"], "fixed_ips": [{"subnet_id": sub["id"],
                                                "ip_address": "10.8.0.5"}]}})
    assert r.status_code == 400 and fault(r) == "InvalidIpForSubnet"
    for odd in ({"subnet_id": {}}, {"subnet_id": 7}, {"ip_address": 168230917}):
        r = neutron(api, "POST", "/ports", member, json={"port": {
            "network_id": net["id"], "fixed_ips": [odd]}})
        assert r.status_code == 400 and fault(r) == "InvalidInput", r.text
    port = make(api, member, "port", network_id=net["id"],
                fixed_ips=[{"ip_address": "10.7.0.5"}])
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.7.0.5"}]
    r = neutron(api, "POST", "/ports", member, json={"port": {
        "network_id": net["id"], "fixed_ips": [{"ip_address": "10.7.0.5"}]}})
    assert r.status_code == 409 and fault(r) == "IpAddressAlreadyAllocated"
    got = [make(api, member, "port", network_id=net["id"])["fixed_ips"][0]["ip_address"]
           for _ in range(4)]
    assert got == ["10.7.0.2", "10.7.0.3", "10.7.0.4", "10.7.0.6"]
    r = neutron(api, "POST", "/ports", member, json={"port": {"network_id": net["id"]}})
    assert r.status_code == 409 and fault(r) == "IpAddressGenerationFailure"
    r = neutron(api, "PUT", f"/ports/{port['id']}", member,
                json={"port": {"fixed_ips": []}})
    assert r.json()["port"]["fixed_ips"] == []
    r = neutron(api, "PUT", f"/ports/{port['id']}", member,
                json={"port": {"fixed_ips": [{"subnet_id": sub["id"]}]}})
    assert r.json()["port"]["fixed_ips"] == [{"subnet_id": sub["id"],
                                              "ip_address": "10.7.0.5"}]


def test_ports_are_created_in_bulk_all_or_nothing(api: Api) -> None:
    _, _, member = api.user_in_project()
    a, b = make(api, member, "network"), make(api, member, "network")
    r = neutron(api, "POST", "/ports", member,
                json={"ports": [{"network_id": a["id"]}, {"network_id": b["id"]}]})
    assert r.status_code == 201, r.text
    assert [p["network_id"] for p in r.json()["ports"]] == [a["id"], b["id"]]
    r = neutron(api, "POST", "/ports", member, json={"ports": [
        {"network_id": a["id"]}, {"network_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12}]})
    assert r.status_code == 404
    assert len(neutron(api, "GET", "/ports", member).json()["ports"]) == 2


def test_ports_are_filtered_by_device_and_fixed_ips(api: Api) -> None:
    _, _, member = api.user_in_project()
    net, sub = net_with_subnet(api, member, enable_dhcp=False)
    p1 = make(api, member, "port", network_id=net["id"], device_id="vm-1")
    p2 = make(api, member, "port", network_id=net["id"], device_id="vm-2")
    r = neutron(api, "GET", "/ports?device_id=vm-2", member)
    assert [p["id"] for p in r.json()["ports"]] == [p2["id"]]
    ip = p1["fixed_ips"][0]["ip_address"]
    r = neutron(api, "GET", f"/ports?fixed_ips=ip_address%3D{ip}", member)
    assert [p["id"] for p in r.json()["ports"]] == [p1["id"]]
    r = neutron(api, "GET", f"/ports?fixed_ips=subnet_id%3D{sub['id']}", member)
    assert len(r.json()["ports"]) == 2
    r = neutron(api, "GET", "/ports?device_id=vm-1&device_id=vm-2", member)
    assert len(r.json()["ports"]) == 2


def test_port_security_off_refuses_security_groups(api: Api) -> None:
    _, _, member = api.user_in_project()
    net, _ = net_with_subnet(api, member)
    port = make(api, member, "port", network_id=net["id"])
    r = neutron(api, "PUT", f"/ports/{port['id']}", member,
                json={"port": {"port_security_enabled": False}})
    assert r.status_code == 409, r.text
    r = neutron(api, "PUT", f"/ports/{port['id']}", member,
                json={"port": {"port_security_enabled": False, "security_groups": []}})
    assert r.status_code == 200 and r.json()["port"]["security_groups"] == []
    plain = make(api, member, "port", network_id=net["id"], port_security_enabled=False)
    assert plain["security_groups"] == []
    r = neutron(api, "PUT", f"/ports/{plain['id']}", member, json={"port": {
        "allowed_address_pairs": [{"ip_address": "10.1.0.99"}]}})
    assert r.status_code == 409
    r = neutron(api, "PUT", f"/ports/{port['id']}", member, json={"port": {
        "port_security_enabled": True,
        "allowed_address_pairs": [{"ip_address": "10.1.0.0/28"}]}})
    assert r.json()["port"]["allowed_address_pairs"] == [
        {"ip_address": "10.1.0.0/28", "mac_address": port["mac_address"]}]


def test_other_projects_ports_are_invisible_and_their_networks_refuse_ports(api: Api) -> None:
    _, _, member = api.user_in_project()
    _, _, other = api.user_in_project()
    net, _ = net_with_subnet(api, member)
    port = make(api, member, "port", network_id=net["id"])
    assert neutron(api, "GET", f"/ports/{port['id']}", other).status_code == 404
    assert neutron(api, "GET", "/ports", other).json()["ports"] == []
    r = neutron(api, "POST", "/ports", other, json={"port": {"network_id": net["id"]}})
    assert r.status_code == 404


def test_subnet_pools_hand_out_the_first_free_prefix(api: Api) -> None:
    _, _, member = api.user_in_project()
    pool = make(api, member, "subnetpool", name="p", prefixes=["10.10.0.0/16"],
                default_prefixlen=24)
    assert pool["ip_version"] == 4 and pool["min_prefixlen"] == 8
    r = neutron(api, "PUT", f"/subnetpools/{pool['id']}", member,
                json={"subnetpool": {"name": "q"}})
    assert r.json()["subnetpool"]["name"] == "q"
    net = make(api, member, "network")
    a = make(api, member, "subnet", network_id=net["id"], ip_version=4,
             subnetpool_id=pool["id"])
    b = make(api, member, "subnet", network_id=net["id"], ip_version=4,
             subnetpool_id=pool["id"], prefixlen=26)
    assert (a["cidr"], b["cidr"]) == ("10.10.0.0/24", "10.10.1.0/26")
    assert a["subnetpool_id"] == pool["id"]
    r = neutron(api, "DELETE", f"/subnetpools/{pool['id']}", member)
    assert r.status_code == 409
    assert neutron(api, "DELETE", f"/networks/{net['id']}", member).status_code == 204
    assert neutron(api, "DELETE", f"/subnetpools/{pool['id']}", member).status_code == 204
    r = neutron(api, "GET", f"/subnetpools/{pool['id']}", member)
    assert r.status_code == 404 and fault(r) == "SubnetPoolNotFound"


def test_tags_are_set_listed_filtered_and_removed(api: Api) -> None:
    _, _, member = api.user_in_project()
    a, b = make(api, member, "network", name="a"), make(api, member, "network", name="b")
    assert neutron(api, "PUT", f"/networks/{a['id']}/tags/red", member).status_code == 201
    r = neutron(api, "PUT", f"/networks/{b['id']}/tags", member,
                json={"tags": ["blue", "red"]})
    assert r.json()["tags"] == ["blue", "red"]
    assert neutron(api, "GET", f"/networks/{a['id']}/tags/red", member).status_code == 204
    assert neutron(api, "GET", f"/networks/{a['id']}/tags/blue", member).status_code == 404
    names = lambda q: sorted(n["name"] for n in neutron(  # noqa: E731
        api, "GET", f"/networks?{q}", member).json()["networks"])
    assert names("tags=red") == ["a", "b"]
    assert names("tags=red,blue") == ["b"]
    assert names("tags-any=blue") == ["b"]
    assert names("not-tags=blue") == ["a"]
    r = neutron(api, "GET", f"/networks/{b['id']}", member)
    assert r.json()["network"]["tags"] == ["blue", "red"]
    assert r.json()["network"]["revision_number"] == 1
    assert neutron(api, "DELETE", f"/networks/{b['id']}/tags", member).status_code == 204
    assert neutron(api, "GET", f"/networks/{b['id']}/tags", member).json() == {"tags": []}
    _, _, other = api.user_in_project()
    assert neutron(api, "PUT", f"/networks/{a['id']}/tags/x", other).status_code == 404


def test_lists_are_sorted_and_paged_with_links(api: Api) -> None:
    _, _, member = api.user_in_project()
    for name in ("c", "a", "d", "b", "e"):
        make(api, member, "network", name=name)
    r = neutron(api, "GET", "/networks?sort_key=name&sort_dir=desc", member)
    assert [n["name"] for n in r.json()["networks"]] == ["e", "d", "c", "b", "a"]
    r = neutron(api, "GET", "/networks?sort_key=name&sort_dir=asc&limit=2", member)
    body = r.json()
    assert [n["name"] for n in body["networks"]] == ["a", "b"]
    (nxt,) = [link for link in body["networks_links"] if link["rel"] == "next"]
    r = api.client.get(nxt["href"], headers=member)
    assert [n["name"] for n in r.json()["networks"]] == ["c", "d"]
    assert {link["rel"] for link in r.json()["networks_links"]} == {"next", "previous"}
    assert neutron(api, "GET", "/networks?limit=x", member).status_code == 400
    assert neutron(api, "GET", "/networks?sort_key=bogus", member).status_code == 400


def test_quotas_have_neutrons_defaults_and_admin_sets_them(api: Api) -> None:
    _, project, member = api.user_in_project()
    r = neutron(api, "GET", f"/quotas/{project}", member)
    assert r.json()["quota"]["network"] == 100 and r.json()["quota"]["subnetpool"] == -1
    r = neutron(api, "PUT", f"/quotas/{project}", member, json={"quota": {"network": 1}})
    assert r.status_code == 403
    r = neutron(api, "PUT", f"/quotas/{project}", api.admin, json={"quota": {"network": 1}})
    assert r.json()["quota"]["network"] == 1
    make(api, member, "network")
    r = neutron(api, "POST", "/networks", member, json={"network": {}})
    assert r.status_code == 409 and fault(r) == "OverQuota"
    r = neutron(api, "GET", f"/quotas/{project}/details", member)
    assert r.json()["quota"]["network"] == {"limit": 1, "used": 1, "reserved": 0}
    r = neutron(api, "GET", f"/quotas/{project}/default", member)
    assert r.json()["quota"]["network"] == 100
    r = neutron(api, "GET", "/quotas", api.admin)
    assert project in [q["project_id"] for q in r.json()["quotas"]]
    assert neutron(api, "DELETE", f"/quotas/{project}", api.admin).status_code == 204
    assert neutron(api, "GET", f"/quotas/{project}", member).json()["quota"]["network"] == 100


def test_extensions_list_what_is_built(api: Api) -> None:
    r = neutron(api, "GET", "/extensions", api.admin)
    aliases = {e["alias"] for e in r.json()["extensions"]}
    assert {"quotas", "binding", "subnet_allocation", "standard-attr-tag", "provider",
            "external-net", "router", "security-group", "net-mtu"} <= aliases
    r = neutron(api, "GET", "/extensions/net-mtu", api.admin)
    assert r.json()["extension"]["alias"] == "net-mtu"
    assert neutron(api, "GET", "/extensions/bogus", api.admin).status_code == 404


def test_deleting_a_slaac_subnet_takes_its_addresses_from_the_ports(api: Api) -> None:
    _, _, member = api.user_in_project()
    net, v4 = net_with_subnet(api, member)
    v6 = make(api, member, "subnet", network_id=net["id"], ip_version=6, cidr="fd00:2::/64",
              ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    port = make(api, member, "port", network_id=net["id"])
    assert {f["subnet_id"] for f in port["fixed_ips"]} == {v4["id"], v6["id"]}
    assert neutron(api, "DELETE", f"/subnets/{v6['id']}", member).status_code == 204
    r = neutron(api, "GET", f"/ports/{port['id']}", member)
    assert [f["subnet_id"] for f in r.json()["port"]["fixed_ips"]] == [v4["id"]]


def test_rebinding_a_port_wakes_the_host_it_leaves_and_the_one_it_joins(api: Api) -> None:
    from tests.api.test_compute import Host

    old, new = Host(api, "cn-old"), Host(api, "cn-new")
    _, _, member = api.user_in_project()
    net, _ = net_with_subnet(api, member, enable_dhcp=False)
    port = make(api, member, "port", network_id=net["id"])
    r = neutron(api, "PUT", f"/ports/{port['id']}", api.admin,
                json={"port": {"binding:host_id": "cn-old"}})
    assert r.json()["port"]["binding:vif_type"] == "bridge"
    before = {h.id: h.desired()["revision"] for h in (old, new)}
    neutron(api, "PUT", f"/ports/{port['id']}", api.admin,
            json={"port": {"binding:host_id": "cn-new"}})
    after = {h.id: h.desired()["revision"] for h in (old, new)}
    assert after[old.id] > before[old.id] and after[new.id] > before[new.id]


def test_paging_backwards_returns_the_previous_page(api: Api) -> None:
    _, _, member = api.user_in_project()
    for name in "abcde":
        make(api, member, "network", name=name)
    r = neutron(api, "GET", "/networks?sort_key=name&limit=2", member)
    r = api.client.get(next(link["href"] for link in r.json()["networks_links"]
                            if link["rel"] == "next"), headers=member)
    assert [n["name"] for n in r.json()["networks"]] == ["c", "d"]
    prev = next(link["href"] for link in r.json()["networks_links"]
                if link["rel"] == "previous")
    r = api.client.get(prev, headers=member)
    assert [n["name"] for n in r.json()["networks"]] == ["a", "b"]
