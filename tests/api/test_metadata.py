"""The metadata service as a guest sees it through its agent's proxy: the OpenStack and EC2
trees, answered only about the server that owns the asking address."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api, DEMO_PASSWORD
from tests.api.test_compute import nova
from tests.api.test_server_networking import (NetHost, booted, make, network, neutron,
                                              ports_of)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnkDpmHHRkWFkxvk6K5m1fPGMmwKpsRz8zqK/x2Dbmv t@x"


class Guest:
    """A guest's view: GETs through the proxy of the host serving its network."""

    def __init__(self, api: Api, host: NetHost, network_id: str, ip: str) -> None:
        self.api, self.host, self.network_id, self.ip = api, host, network_id, ip

    def get(self, path: str, **headers: str) -> httpx.Response:
        return self.api.client.get(f"/internal/v1/metadata{path}", headers={
            **self.host.headers, "X-Sausage-Network-Id": self.network_id,
            "X-Forwarded-For": self.ip, **headers})

    def text(self, path: str) -> str:
        r = self.get(path)
        assert r.status_code == 200, (path, r.text)
        return r.text

    def json(self, path: str) -> Any:
        return json.loads(self.text(path))


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    demo = {"X-Auth-Token": api.token("demo", DEMO_PASSWORD, "demo")}
    node = NetHost(api, "net1", "192.0.2.10", network_node=True)
    r = nova(api, "POST", "/os-keypairs", demo, json={"keypair": {"name": "k1",
                                                                   "public_key": KEY}})
    assert r.status_code in (200, 201), r.text
    net, sub = network(api, demo)
    neutron(api, "PUT", f"/subnets/{sub['id']}", demo,
            json={"subnet": {"dns_nameservers": ["192.0.2.53"]}})
    server_id = booted(api, demo, name="Web_1", key_name="k1", metadata={"role": "web"},
                       user_data=base64.b64encode(b"#!/bin/sh\necho hi\n").decode(),
                       networks=[{"uuid": net["id"]}])
    [port] = ports_of(api, server_id)
    ip = port["fixed_ips"][0]["ip_address"]
    return {"demo": demo, "node": node, "net": net, "sub": sub, "server_id": server_id,
            "port": port, "guest": Guest(api, node, net["id"], ip), "ip": ip}


def test_the_openstack_tree_describes_the_asking_server(api: Api, world: dict[str, Any]
                                                        ) -> None:
    guest: Guest = world["guest"]
    versions = guest.text("/openstack").split("\n")
    assert versions[-1] == "latest" and "2018-08-27" in versions and "2012-08-10" in versions
    assert guest.text("/openstack/2018-08-27").split("\n") == [
        "meta_data.json", "user_data", "password", "vendor_data.json", "network_data.json",
        "vendor_data2.json"]
    assert guest.text("/openstack/2013-04-04").split("\n") == [
        "meta_data.json", "user_data", "password"]
    for version in ("2018-08-27", "latest"):
        meta = guest.json(f"/openstack/{version}/meta_data.json")
        assert meta["uuid"] == world["server_id"] and meta["name"] == "Web_1"
        assert meta["hostname"] == "web-1" and meta["availability_zone"] == "nova"
        assert meta["public_keys"] == {"k1": KEY}
        assert meta["keys"] == [{"name": "k1", "type": "ssh", "data": KEY}]
        assert meta["meta"] == {"role": "web"} and meta["launch_index"] == 0
        assert meta["project_id"] == api.id_of("project", "demo")
        assert meta["devices"] == [] and len(base64.b64decode(meta["random_seed"])) == 512
    assert "dedicated_cpus" not in guest.json("/openstack/2018-08-27/meta_data.json")
    assert guest.json("/openstack/latest/meta_data.json")["dedicated_cpus"] == []
    old = guest.json("/openstack/2012-08-10/meta_data.json")
    assert "random_seed" not in old and "project_id" not in old and old["keys"]
    r = guest.get("/openstack/2018-08-27/user_data")
    assert r.status_code == 200 and r.content == b"#!/bin/sh\necho hi\n"
    assert guest.json("/openstack/latest/vendor_data.json") == {}
    assert guest.json("/openstack/latest/vendor_data2.json") == {"static": {}}
    assert guest.text("/openstack/latest/password") == ""
    # The subnet has DHCP (and the network a DHCP port): the guest is told to use DHCP,
    # which also hands out the MTU, and the DNS servers stay listed.
    data = guest.json("/openstack/2018-08-27/network_data.json")
    port = world["port"]
    assert data["links"] == [{"id": "tap" + port["id"][:11], "vif_id": port["id"],
                              "type": "bridge", "mtu": None,
                              "ethernet_mac_address": port["mac_address"]}]
    assert data["networks"] == [{"id": "network0", "type": "ipv4_dhcp",
                                 "link": data["links"][0]["id"],
                                 "network_id": world["net"]["id"]}]
    assert data["services"] == [{"type": "dns", "address": "192.0.2.53"}]
    assert guest.get("/openstack/2009-01-01/meta_data.json").status_code == 404
    assert guest.get("/openstack/latest/nothing").status_code == 404


def test_the_ec2_tree_lists_directories_and_leaves(api: Api, world: dict[str, Any]) -> None:
    guest: Guest = world["guest"]
    assert guest.text("/").split("\n")[-2:] == ["2009-04-04", "latest"]
    assert guest.text("/latest") == "meta-data/\nuser-data"
    listing = guest.text("/latest/meta-data/").split("\n")
    assert listing == sorted(listing) and {
        "instance-id", "local-hostname", "hostname", "local-ipv4", "public-ipv4", "public-keys/",
        "placement/", "instance-type", "ami-id", "reservation-id", "security-groups",
        "block-device-mapping/", "instance-action"} <= set(listing)
    assert guest.text("/2009-04-04/meta-data/instance-id") == \
        "i-" + world["server_id"].replace("-", "")[:8]
    assert guest.text("/latest/meta-data/local-ipv4") == world["ip"]
    assert guest.text("/latest/meta-data/local-hostname") == "web-1"
    assert guest.text("/latest/meta-data/public-ipv4") == ""
    assert guest.text("/latest/meta-data/public-keys/") == "0=k1"
    assert guest.text("/latest/meta-data/public-keys/0/") == "openssh-key"
    assert guest.text("/latest/meta-data/public-keys/0/openssh-key") == KEY
    assert guest.text("/latest/meta-data/placement/availability-zone") == "nova"
    assert guest.text("/latest/meta-data/instance-type") == "m1.tiny"
    assert guest.text("/latest/meta-data/security-groups") == "default"
    assert guest.text("/latest/meta-data/block-device-mapping/") == "ami\nroot"
    assert guest.text("/1.0/meta-data/").split("\n") == [
        "ami-id", "ami-launch-index", "ami-manifest-path", "hostname", "instance-id",
        "local-ipv4", "public-keys/", "reservation-id", "security-groups"]
    assert guest.text("/latest/meta-data/block-device-mapping/root") == "/dev/vda"
    assert guest.get("/latest/user-data").content == b"#!/bin/sh\necho hi\n"
    assert guest.get("/latest/meta-data/nothing").status_code == 404


def test_only_a_known_address_on_that_network_gets_answers(api: Api, world: dict[str, Any]
                                                           ) -> None:
    guest: Guest = world["guest"]
    stranger = Guest(api, world["node"], world["net"]["id"], "10.1.0.200")
    assert stranger.get("/openstack/latest/meta_data.json").status_code == 404
    elsewhere = Guest(api, world["node"], "00000000-0000-4000-8000-000000000000", guest.ip)
    assert elsewhere.get("/openstack").status_code == 404
    # a port that is not a server's (the DHCP port) is nobody's metadata
    dhcp = [p for p in neutron(api, "GET", f"/ports?network_id={world['net']['id']}",
                               api.admin).json()["ports"] if p["device_owner"] == "network:dhcp"]
    assert Guest(api, world["node"], world["net"]["id"],
                 dhcp[0]["fixed_ips"][0]["ip_address"]).get("/openstack").status_code == 404
    r = api.client.get("/internal/v1/metadata/openstack", headers={
        "X-Sausage-Host-Token": "wrong", "X-Sausage-Network-Id": world["net"]["id"],
        "X-Forwarded-For": guest.ip})
    assert r.status_code == 401
    r = api.client.get("/internal/v1/metadata/openstack", headers={**world["node"].headers})
    assert r.status_code == 400
    assert guest.get("/openstack/../../etc").status_code == 404
    # a second server answers about itself only; a deleted one is gone
    other = booted(api, world["demo"], name="db", networks=[{"uuid": world["net"]["id"]}])
    [port] = ports_of(api, other)
    theirs = Guest(api, world["node"], world["net"]["id"], port["fixed_ips"][0]["ip_address"])
    assert theirs.json("/openstack/latest/meta_data.json")["uuid"] == other
    assert theirs.get("/openstack/latest/user_data").status_code == 404
    assert theirs.text("/latest") == "meta-data/"
    assert nova(api, "DELETE", f"/servers/{other}", world["demo"]).status_code == 204
    assert theirs.get("/openstack").status_code == 404


def test_public_ipv4_is_the_floating_ip(api: Api, world: dict[str, Any]) -> None:
    guest: Guest = world["guest"]
    admin = api.admin
    public = make(api, admin, "network", name="public", **{"router:external": True})
    make(api, admin, "subnet", network_id=public["id"], ip_version=4, cidr="203.0.113.0/24",
         enable_dhcp=False)
    demo = world["demo"]
    router = make(api, demo, "router", name="r",
                  external_gateway_info={"network_id": public["id"]})
    r = neutron(api, "PUT", f"/routers/{router['id']}/add_router_interface", demo,
                json={"subnet_id": world["sub"]["id"]})
    assert r.status_code == 200, r.text
    fip = make(api, demo, "floatingip", floating_network_id=public["id"],
               port_id=world["port"]["id"])
    assert guest.text("/latest/meta-data/public-ipv4") == fip["floating_ip_address"]
    addresses = nova(api, "GET", f"/servers/{world['server_id']}", demo).json()["server"][
        "addresses"]["n1"]
    assert [a["OS-EXT-IPS:type"] for a in addresses] == ["fixed", "floating"]
    assert addresses[1]["addr"] == fip["floating_ip_address"]


def test_a_static_subnet_tells_the_guest_its_address_routes_and_dns(
        api: Api, world: dict[str, Any]) -> None:
    demo = world["demo"]
    net, sub = network(api, demo, name="n2", cidr="10.2.0.0/26")
    neutron(api, "PUT", f"/subnets/{sub['id']}", demo, json={"subnet": {
        "enable_dhcp": False, "dns_nameservers": ["10.2.0.53"],
        "host_routes": [{"destination": "192.168.9.0/24", "nexthop": "10.2.0.9"}]}})
    server_id = booted(api, demo, name="static", networks=[{"uuid": net["id"]}])
    [port] = ports_of(api, server_id)
    ip = port["fixed_ips"][0]["ip_address"]
    data = Guest(api, world["node"], net["id"], ip).json("/openstack/latest/network_data.json")
    assert data["links"][0]["mtu"] == 1450
    assert data["networks"] == [{
        "id": "network0", "type": "ipv4", "link": "tap" + port["id"][:11], "ip_address": ip,
        "netmask": "255.255.255.192",
        "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.2.0.1"},
                   {"network": "192.168.9.0", "netmask": "255.255.255.0",
                    "gateway": "10.2.0.9"}],
        "network_id": net["id"], "services": [{"type": "dns", "address": "10.2.0.53"}]}]
    assert data["services"] == [{"type": "dns", "address": "10.2.0.53"}]


def test_ipv6_subnets_are_named_by_their_address_mode(api: Api, world: dict[str, Any]
                                                      ) -> None:
    demo = world["demo"]
    net, _sub = network(api, demo, name="n6", cidr="10.6.0.0/24")
    for n, mode in enumerate(("slaac", "dhcpv6-stateless", "dhcpv6-stateful")):
        make(api, demo, "subnet", network_id=net["id"], ip_version=6,
             cidr=f"fd00:{n + 1}::/64", ipv6_ra_mode=mode, ipv6_address_mode=mode)
    server_id = booted(api, demo, name="six", networks=[{"uuid": net["id"]}])
    [port] = ports_of(api, server_id)
    v4 = next(f["ip_address"] for f in port["fixed_ips"] if "." in f["ip_address"])
    v6 = [f["ip_address"] for f in port["fixed_ips"] if ":" in f["ip_address"]]
    data = Guest(api, world["node"], net["id"], v4).json("/openstack/latest/network_data.json")
    # Only the first subnet of each family counts, as in Nova.
    assert [n["type"] for n in data["networks"]] == ["ipv4_dhcp", "ipv6_slaac"]
    six = data["networks"][1]
    assert six["ip_address"] in v6 and six["ip_address"].startswith("fd00:1::")
    assert six["netmask"] == "ffff:ffff:ffff:ffff::"
    assert six["routes"] == [{"network": "::", "netmask": "::", "gateway": "fd00:1::1"}]


def test_older_ec2_versions_leave_out_what_came_later(api: Api, world: dict[str, Any]
                                                     ) -> None:
    guest: Guest = world["guest"]
    assert guest.text("/2007-10-10/meta-data/").count("block-device-mapping") == 0
    assert guest.get("/2007-10-10/meta-data/placement/availability-zone").status_code == 404
