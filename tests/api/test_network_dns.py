"""Neutron's DNS integration through the API: networks' and ports' DNS domains and names are
checked as Neutron checks them, ports show their dns_assignment, floating IPs take a name and a
domain at create, the extensions are listed, Nova names a server's ports by its hostname, and
the network node's document carries what its dnsmasq answers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sausage.db.models import identity as im
from sausage.db.models import network as nm
from sausage.services.context import Context
from sausage.services.network import dns_names
from tests.api.conftest import Api
from tests.api.test_compute import image_id, nova
from tests.api.test_network_core import fault, make, neutron
from tests.api.test_network_floatingips import routed
from tests.api.test_network_routers import external
from tests.api.test_server_networking import NetHost, booted, demo, network, ports_of

__all__ = ["demo"]  # the fixture, imported for this module's tests


def port_of(api: Api, token: dict[str, str], port_id: str) -> dict[str, Any]:
    r = neutron(api, "GET", f"/ports/{port_id}", token)
    assert r.status_code == 200, r.text
    return dict(r.json()["port"])


def test_the_dns_extensions_are_listed(api: Api, demo: dict[str, str]) -> None:
    aliases = {e["alias"] for e in neutron(api, "GET", "/extensions", demo).json()["extensions"]}
    assert {"dns-integration", "dns-domain-ports", "dns-integration-domain-keywords"} <= aliases
    shown = neutron(api, "GET", "/extensions/dns-integration", demo).json()["extension"]
    assert shown["name"] == "DNS Integration"


def test_a_network_dns_domain_is_an_fqdn_lower_cased_and_can_be_cleared(
        api: Api, demo: dict[str, str]) -> None:
    net = make(api, demo, "network", name="n", dns_domain="Example.ORG.")
    assert net["dns_domain"] == "example.org."
    r = neutron(api, "PUT", f"/networks/{net['id']}", demo,
                json={"network": {"dns_domain": "corp.example.com."}})
    assert r.status_code == 200 and r.json()["network"]["dns_domain"] == "corp.example.com."
    r = neutron(api, "PUT", f"/networks/{net['id']}", demo, json={"network": {"dns_domain": ""}})
    assert r.json()["network"]["dns_domain"] == ""


@pytest.mark.parametrize("domain", [
    "example.org",  # no trailing dot: not an FQDN
    "-bad.example.org.", "bad_label.example.org.", "a..example.org.", "example.123.",
    ("a" * 64) + ".example.org.", ("a" * 63 + ".") * 3 + "b" * 61 + ".",  # 254: no room
])
def test_a_bad_network_dns_domain_is_neutrons_400_and_nothing_changes(
        api: Api, demo: dict[str, str], domain: str) -> None:
    r = neutron(api, "POST", "/networks", demo, json={"network": {"name": "x",
                                                                  "dns_domain": domain}})
    assert r.status_code == 400 and fault(r) == "InvalidInput", r.text
    assert r.json()["NeutronError"]["message"].startswith("Invalid input for dns_domain.")
    net = make(api, demo, "network", name="n", dns_domain="good.example.")
    r = neutron(api, "PUT", f"/networks/{net['id']}", demo,
                json={"network": {"dns_domain": domain, "name": "renamed"}})
    assert r.status_code == 400 and fault(r) == "InvalidInput"
    shown = neutron(api, "GET", f"/networks/{net['id']}", demo).json()["network"]
    assert (shown["dns_domain"], shown["name"]) == ("good.example.", "n")
    assert [n["name"] for n in neutron(api, "GET", "/networks?name=x", demo).json()[
        "networks"]] == []


def test_a_port_without_dns_name_is_assigned_host_dashes_under_the_cloud_domain(
        api: Api, demo: dict[str, str]) -> None:
    net, sub = network(api, demo)
    port = make(api, demo, "port", network_id=net["id"],
                fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.1.0.7"}])
    assert (port["dns_name"], port["dns_domain"]) == ("", "")
    assert port["dns_assignment"] == [{"hostname": "host-10-1-0-7", "ip_address": "10.1.0.7",
                                       "fqdn": "host-10-1-0-7.openstacklocal."}]


def test_a_port_dns_name_is_assigned_under_its_networks_domain_and_its_own_first(
        api: Api, demo: dict[str, str]) -> None:
    net, sub = network(api, demo)
    neutron(api, "PUT", f"/networks/{net['id']}", demo,
            json={"network": {"dns_domain": "example.org."}})
    port = make(api, demo, "port", network_id=net["id"], dns_name="Web-1", name="web",
                fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.1.0.8"}])
    assert port["dns_name"] == "web-1"
    assert [p["id"] for p in neutron(api, "GET", "/ports?dns_name=web-1", demo).json()[
        "ports"]] == [port["id"]]
    assert port["dns_assignment"] == [{"hostname": "web-1", "ip_address": "10.1.0.8",
                                       "fqdn": "web-1.example.org."}]
    r = neutron(api, "PUT", f"/ports/{port['id']}", demo,
                json={"port": {"dns_domain": "ports.example.net."}})
    assert r.status_code == 200, r.text
    assert r.json()["port"]["dns_domain"] == "ports.example.net."
    assert r.json()["port"]["dns_assignment"][0]["fqdn"] == "web-1.ports.example.net."
    listed = neutron(api, "GET", "/ports?name=web", demo).json()
    assert [p["dns_assignment"][0]["fqdn"] for p in listed["ports"]] == [
        "web-1.ports.example.net."]
    fqdn = make(api, demo, "port", network_id=net["id"], dns_name="db.example.org.")
    assert fqdn["dns_assignment"][0]["hostname"] == "db.example.org."
    assert fqdn["dns_assignment"][0]["fqdn"] == "db.example.org."


@pytest.mark.parametrize("name", ["-web", "web_1", "a" * 64, "db.example.com.", "example.org.",
                                  "web.123"])
def test_a_bad_port_dns_name_is_neutrons_400_and_nothing_is_written(
        api: Api, demo: dict[str, str], name: str) -> None:
    net, _ = network(api, demo)
    neutron(api, "PUT", f"/networks/{net['id']}", demo,
            json={"network": {"dns_domain": "example.org."}})
    before = len(neutron(api, "GET", "/ports", api.admin).json()["ports"])
    r = neutron(api, "POST", "/ports", demo, json={"port": {"network_id": net["id"],
                                                            "dns_name": name}})
    assert r.status_code == 400 and fault(r) == "InvalidInput", r.text
    assert r.json()["NeutronError"]["message"].startswith("Invalid input for dns_name.")
    assert len(neutron(api, "GET", "/ports", api.admin).json()["ports"]) == before
    port = make(api, demo, "port", network_id=net["id"], dns_name="ok", name="p")
    r = neutron(api, "PUT", f"/ports/{port['id']}", demo,
                json={"port": {"dns_name": name, "name": "changed"}})
    assert r.status_code == 400 and fault(r) == "InvalidInput"
    shown = port_of(api, demo, port["id"])
    assert (shown["dns_name"], shown["name"]) == ("ok", "p")


def test_keywords_in_a_network_domain_become_the_ports_project(
        api: Api, demo: dict[str, str]) -> None:
    net, sub = network(api, demo)
    r = neutron(api, "PUT", f"/networks/{net['id']}", demo,
                json={"network": {"dns_domain": "<project_name>.example.org."}})
    assert r.status_code == 200, r.text
    assert r.json()["network"]["dns_domain"] == "<project_name>.example.org."
    port = make(api, demo, "port", network_id=net["id"], dns_name="app")
    assert port["dns_assignment"][0]["fqdn"] == "app.demo.example.org."


def test_a_floating_ip_takes_a_name_and_a_domain_at_create_only(
        api: Api, demo: dict[str, str]) -> None:
    public = {"id": external(api)[0]}
    fip = make(api, demo, "floatingip", floating_network_id=public["id"], dns_name="WWW",
               dns_domain="example.org.")
    assert (fip["dns_name"], fip["dns_domain"]) == ("www", "example.org.")
    r = neutron(api, "PUT", f"/floatingips/{fip['id']}", demo,
                json={"floatingip": {"dns_name": "other"}})
    assert r.status_code == 400
    plain = make(api, demo, "floatingip", floating_network_id=public["id"])
    assert (plain["dns_name"], plain["dns_domain"]) == ("", "")
    before = len(neutron(api, "GET", "/floatingips", demo).json()["floatingips"])
    for body, kind in (({"dns_name": "www"}, "BadRequest"),
                       ({"dns_domain": "example.org."}, "BadRequest"),
                       ({"dns_name": "www.example.org.", "dns_domain": "example.org."},
                        "InvalidInput"),
                       ({"dns_name": "www", "dns_domain": "example.org"}, "InvalidInput")):
        r = neutron(api, "POST", "/floatingips", demo, json={"floatingip": {
            "floating_network_id": public["id"], **body}})
        assert r.status_code == 400 and fault(r) == kind, (body, r.text)
    assert len(neutron(api, "GET", "/floatingips", demo).json()["floatingips"]) == before


def test_a_booted_server_names_its_port_by_its_hostname_and_dnsmasq_hears_of_it(
        api: Api, demo: dict[str, str]) -> None:
    NetHost(api, "cn1", "192.0.2.1")
    node = NetHost(api, "nn1", "192.0.2.9", network_node=True)
    net, _ = network(api, demo)
    neutron(api, "PUT", f"/networks/{net['id']}", demo,
            json={"network": {"dns_domain": "example.org."}})
    server_id = booted(api, demo, name="Web Server_1", networks=[{"uuid": net["id"]}])
    [port] = ports_of(api, server_id)
    assert port["dns_name"] == "web-server-1"
    ip = port["fixed_ips"][0]["ip_address"]
    assert port["dns_assignment"] == [{"hostname": "web-server-1", "ip_address": ip,
                                       "fqdn": "web-server-1.example.org."}]
    [served] = [n for n in node.desired()["networks"] if n["id"] == net["id"]]
    assert served["dhcp"]["dns_domain"] == "example.org."
    assert served["dhcp"]["hosts"] == [{"mac": port["mac_address"], "ip": ip,
                                        "hostname": "web-server-1",
                                        "fqdn": "web-server-1.example.org."}]
    # A renamed port is a changed document (the revision watch checks it moved).
    r = neutron(api, "PUT", f"/ports/{port['id']}", demo, json={"port": {"dns_name": "www"}})
    assert r.status_code == 200
    [served] = [n for n in node.desired()["networks"] if n["id"] == net["id"]]
    assert served["dhcp"]["hosts"][0]["fqdn"] == "www.example.org."


def test_a_users_port_must_be_named_as_the_server_or_not_at_all(
        api: Api, demo: dict[str, str]) -> None:
    NetHost(api, "cn1", "192.0.2.1")
    net, _ = network(api, demo)
    named = make(api, demo, "port", network_id=net["id"], dns_name="other")
    r = nova(api, "POST", "/servers", demo, json={"server": {
        "name": "vm1", "imageRef": image_id(api), "flavorRef": "1",
        "networks": [{"port": named["id"]}]}})
    assert r.status_code == 400, r.text
    assert "does not match instance's hostname vm1" in r.json()["badRequest"]["message"]
    assert port_of(api, demo, named["id"])["device_id"] == ""
    bare = make(api, demo, "port", network_id=net["id"])
    server_id = booted(api, demo, name="vm1", networks=[{"port": bare["id"]}])
    assert port_of(api, demo, bare["id"])["dns_name"] == "vm1"
    assert nova(api, "DELETE", f"/servers/{server_id}", demo).status_code == 204
    kept = port_of(api, demo, bare["id"])
    assert (kept["device_id"], kept["dns_name"]) == ("", "")


def test_a_network_dns_domain_change_reaches_the_network_node(
        api: Api, demo: dict[str, str]) -> None:
    node = NetHost(api, "nn1", "192.0.2.9", network_node=True)
    net, _ = network(api, demo)
    make(api, demo, "subnet", network_id=net["id"], ip_version=4, cidr="10.9.0.0/24",
         dns_nameservers=["192.0.2.53"])
    [served] = [n for n in node.desired()["networks"] if n["id"] == net["id"]]
    assert (served["dhcp"]["dns_domain"], served["dhcp"]["dns_resolvers"]) == (
        "openstacklocal.", ["192.0.2.53"])
    neutron(api, "PUT", f"/networks/{net['id']}", demo,
            json={"network": {"dns_domain": "example.org."}})
    [served] = [n for n in node.desired()["networks"] if n["id"] == net["id"]]
    assert served["dhcp"]["dns_domain"] == "example.org."


def test_what_the_dns_service_publishes_for_floating_ips_and_ports(
        api: Api, demo: dict[str, str]) -> None:
    public = external(api)[0]
    net, _, _ = routed(api, demo, public)
    neutron(api, "PUT", f"/networks/{net}", demo,
            json={"network": {"dns_domain": "<project_name>.example.org."}})
    vm = make(api, demo, "port", network_id=net, dns_name="web")
    own = make(api, demo, "floatingip", floating_network_id=public, dns_name="www",
               dns_domain="example.net.")
    via_port = make(api, demo, "floatingip", floating_network_id=public, port_id=vm["id"])
    bare = make(api, demo, "floatingip", floating_network_id=public)
    personal = make(api, demo, "floatingip", floating_network_id=public, dns_name="me",
                    dns_domain="<user_name>.users.example.")
    with api.cloud.db.transaction() as s:
        def of(kind: type[nm.FloatingIP] | type[nm.Port], row_id: str
               ) -> dns_names.Publication | None:
            row = s.get(kind, row_id)
            assert isinstance(row, (nm.FloatingIP, nm.Port))
            return dns_names.published(s, row)

        assert of(nm.FloatingIP, own["id"]) == dns_names.Publication(
            "www", "example.net.", "www.example.net.", [own["floating_ip_address"]])
        assert of(nm.FloatingIP, via_port["id"]) == dns_names.Publication(
            "web", "demo.example.org.", "web.demo.example.org.",
            [via_port["floating_ip_address"]])
        assert of(nm.FloatingIP, bare["id"]) is None
        # A tenant (VXLAN) network's port is reached through its floating IP, as in Neutron.
        assert of(nm.Port, vm["id"]) is None
        # The caller's keywords come from the context the glue passes.
        user = s.scalars(select(im.User).where(im.User.name == "demo")).one()
        row = s.get(nm.FloatingIP, personal["id"])
        assert row is not None
        assert dns_names.published(s, row, Context(user_id=user.id)) == dns_names.Publication(
            "me", "demo.users.example.", "me.demo.users.example.",
            [personal["floating_ip_address"]])


def test_an_attached_interface_is_named_by_the_servers_hostname_too(
        api: Api, demo: dict[str, str]) -> None:
    host = NetHost(api, "cn1", "192.0.2.1")
    net, _ = network(api, demo)
    net2, _ = network(api, demo, "n2", "10.2.0.0/24")
    server_id = booted(api, demo, name="app.example", networks=[{"uuid": net["id"]}])
    host.report(running=(server_id,))
    r = nova(api, "POST", f"/servers/{server_id}/os-interface", demo,
             json={"interfaceAttachment": {"net_id": net2["id"]}})
    assert r.status_code == 200, r.text
    attached = port_of(api, demo, r.json()["interfaceAttachment"]["port_id"])
    assert attached["dns_name"] == "app.example"
    assert attached["dns_assignment"][0]["fqdn"] == "app.example.openstacklocal."
    named = make(api, demo, "port", network_id=net2["id"], dns_name="someone-else")
    r = nova(api, "POST", f"/servers/{server_id}/os-interface", demo,
             json={"interfaceAttachment": {"port_id": named["id"]}})
    assert r.status_code == 400, r.text
    assert port_of(api, demo, named["id"])["device_id"] == ""
