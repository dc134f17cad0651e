"""Neutron's external DNS with the cloud's own DNS service: a named port's floating IP gets an
A record in the project's zone for its network's domain and a PTR back, as managed records,
and both go when the address goes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sausage.db.models import dns as m
from tests.api.conftest import Api
from tests.api.test_dns_tlds import dns, ok, tld
from tests.api.test_network_core import neutron
from tests.api.test_network_floatingips import allocate, port, routed
from tests.api.test_network_routers import external


def records(api: Api) -> set[tuple[str, str, str, bool]]:
    """(name, type, data, managed) of every record of live recordsets but SOA and NS."""
    with api.cloud.db.transaction() as s:
        return {(rs.name, rs.type, r.data, r.managed) for r, rs in s.execute(
            select(m.DnsRecord, m.DnsRecordset).join(
                m.DnsRecordset, m.DnsRecordset.id == m.DnsRecord.recordset_id).where(
                m.DnsRecordset.action != "DELETE",
                m.DnsRecordset.type.not_in(("SOA", "NS")))).tuples()}


def zone(api: Api, token: dict[str, str], name: str) -> dict[str, Any]:
    return dict(ok(dns(api, "POST", "/zones", token, json={
        "name": name, "email": "hostmaster@example.org"}), 202))


def test_a_named_ports_floating_ip_is_published_in_its_networks_zone_and_unpublished(
        api: Api) -> None:
    public, _ = external(api)
    _, project, token = api.user_in_project()
    example = zone(api, token, "example.org.")
    net, _, _ = routed(api, token, public)
    ok(neutron(api, "PUT", f"/networks/{net}", token,
               json={"network": {"dns_domain": "example.org."}}))
    vm1 = port(api, token, net, dns_name="vm1")
    assert records(api) == set()  # a tenant network's fixed IPs are not published
    fip = ok(allocate(api, token, public, port_id=vm1["id"]), 201)["floatingip"]
    address = fip["floating_ip_address"]
    ptr = ".".join(reversed(address.split("."))) + ".in-addr.arpa."
    assert records(api) == {("vm1.example.org.", "A", address, True),
                            (ptr, "PTR", "vm1.example.org.", True)}
    shown = ok(dns(api, "GET", f"/zones/{example['id']}", token))
    assert (shown["status"], shown["serial"] > example["serial"]) == ("PENDING", True)
    # A user may not change the managed record without the header.
    rs = [r for r in ok(dns(api, "GET", f"/zones/{example['id']}/recordsets", token))
          ["recordsets"] if r["type"] == "A"][0]
    refused = dns(api, "PUT", f"/zones/{example['id']}/recordsets/{rs['id']}", token,
                  json={"records": ["192.0.2.1"]})
    assert refused.status_code == 400, refused.text
    ok(neutron(api, "PUT", f"/floatingips/{fip['id']}", token,
               json={"floatingip": {"port_id": None}}))
    assert records(api) == set()
    ok(neutron(api, "PUT", f"/floatingips/{fip['id']}", token,
               json={"floatingip": {"port_id": vm1["id"]}}))
    assert ("vm1.example.org.", "A", address, True) in records(api)
    ok(neutron(api, "DELETE", f"/ports/{vm1['id']}", token), 204)
    assert records(api) == set()
    assert project


def test_a_floating_ip_with_its_own_name_is_published_until_it_is_released(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    zone(api, token, "example.org.")
    fip = ok(allocate(api, token, public, dns_name="web", dns_domain="example.org."),
             201)["floatingip"]
    address = fip["floating_ip_address"]
    assert ("web.example.org.", "A", address, True) in records(api)
    ok(neutron(api, "DELETE", f"/floatingips/{fip['id']}", token), 204)
    assert records(api) == set()


def test_another_projects_zone_gets_no_records_from_my_ports(api: Api) -> None:
    public, _ = external(api)
    _, _, owner = api.user_in_project()
    zone(api, owner, "example.org.")
    _, _, token = api.user_in_project()
    fip = ok(allocate(api, token, public, dns_name="web", dns_domain="example.org."),
             201)["floatingip"]
    address = fip["floating_ip_address"]
    # Only the PTR (the cloud's reverse zone) is published; the forward zone is not mine.
    assert {(name, rtype) for name, rtype, _, _ in records(api)} == {
        (".".join(reversed(address.split("."))) + ".in-addr.arpa.", "PTR")}


def test_a_tld_list_without_reverse_zones_costs_the_ptr_not_the_floating_ip(api: Api) -> None:
    tld(api, "org")  # in-addr.arpa is not among the TLDs: no reverse zone may be made
    public, _ = external(api)
    _, _, token = api.user_in_project()
    zone(api, token, "example.org.")
    fip = ok(allocate(api, token, public, dns_name="web", dns_domain="example.org."),
             201)["floatingip"]
    assert records(api) == {("web.example.org.", "A", fip["floating_ip_address"], True)}
