"""Neutron routers through the API: gateway, interfaces, extra routes, as Tempest uses them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Api
from tests.api.test_network_security_groups import fault, neutron, ok


def external(api: Api, cidr: str = "203.0.113.0/24") -> tuple[str, str]:
    """An external network (admin-made) with one subnet: (network id, subnet id)."""
    net = ok(neutron(api, "POST", "/networks", api.admin, json={"network": {
        "name": "public", "router:external": True}}), 201)["network"]["id"]
    sub = ok(neutron(api, "POST", "/subnets", api.admin, json={"subnet": {
        "network_id": net, "cidr": cidr, "ip_version": 4}}), 201)["subnet"]["id"]
    return net, sub


def network(api: Api, token: dict[str, str], cidr: str = "10.0.0.0/24", **subnet: Any
            ) -> tuple[str, str]:
    """A project network with one subnet: (network id, subnet id)."""
    net = ok(neutron(api, "POST", "/networks", token, json={"network": {"name": "n"}}),
             201)["network"]["id"]
    sub = ok(neutron(api, "POST", "/subnets", token, json={"subnet": {
        "network_id": net, "cidr": cidr, "ip_version": 6 if ":" in cidr else 4, **subnet}}),
        201)["subnet"]["id"]
    return net, sub


def router(api: Api, token: dict[str, str], **values: Any) -> dict[str, Any]:
    return dict(ok(neutron(api, "POST", "/routers", token,
                           json={"router": {"name": "r", **values}}), 201)["router"])


def attach(api: Api, token: dict[str, str], router_id: str, **what: str) -> httpx.Response:
    return neutron(api, "PUT", f"/routers/{router_id}/add_router_interface", token, json=what)


def detach(api: Api, token: dict[str, str], router_id: str, **what: str) -> httpx.Response:
    return neutron(api, "PUT", f"/routers/{router_id}/remove_router_interface", token,
                   json=what)


def ports_of(api: Api, token: dict[str, str], device_id: str) -> list[dict[str, Any]]:
    return list(ok(neutron(api, "GET", f"/ports?device_id={device_id}", token))["ports"])


def port_count(api: Api) -> int:
    return len(ok(neutron(api, "GET", "/ports", api.admin))["ports"])


def test_a_router_with_a_gateway_is_created_shown_listed_updated_and_deleted(api: Api) -> None:
    public, public_subnet = external(api)
    _, project, token = api.user_in_project()
    made = router(api, token, admin_state_up=False, external_gateway_info={"network_id": public})
    assert (made["admin_state_up"], made["status"], made["project_id"]) == \
        (False, "ACTIVE", project)
    gateway = made["external_gateway_info"]
    assert gateway["network_id"] == public and gateway["enable_snat"] is True
    assert [ip["subnet_id"] for ip in gateway["external_fixed_ips"]] == [public_subnet]
    assert (made["routes"], made["distributed"], made["ha"], made["flavor_id"]) == \
        ([], False, False, None)
    # The gateway port belongs to no project and is the router's.
    gw_ports = ports_of(api, api.admin, made["id"])
    assert [(p["device_owner"], p["project_id"], p["network_id"]) for p in gw_ports] == \
        [("network:router_gateway", "", public)]
    assert gw_ports[0]["fixed_ips"][0]["ip_address"] == \
        gateway["external_fixed_ips"][0]["ip_address"]
    shown = ok(neutron(api, "GET", f"/routers/{made['id']}", token))["router"]
    assert shown == made
    assert made["id"] in {r["id"] for r in ok(neutron(api, "GET", "/routers", token))["routers"]}
    updated = ok(neutron(api, "PUT", f"/routers/{made['id']}", token, json={"router": {
        "name": "renamed", "admin_state_up": True}}))["router"]
    assert (updated["name"], updated["admin_state_up"], updated["revision_number"]) == \
        ("renamed", True, 1)
    ok(neutron(api, "DELETE", f"/routers/{made['id']}", token), 204)
    fault(neutron(api, "GET", f"/routers/{made['id']}", token), 404, "RouterNotFound")
    assert ports_of(api, api.admin, made["id"]) == []


def test_an_empty_gateway_means_none_and_a_gateway_can_be_set_and_cleared(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    made = router(api, token, external_gateway_info={})
    assert made["external_gateway_info"] is None
    r = neutron(api, "PUT", f"/routers/{made['id']}", token,
                json={"router": {"external_gateway_info": {"network_id": public}}})
    assert ok(r)["router"]["external_gateway_info"]["network_id"] == public
    r = neutron(api, "PUT", f"/routers/{made['id']}", token,
                json={"router": {"external_gateway_info": None}})
    assert ok(r)["router"]["external_gateway_info"] is None
    assert ports_of(api, api.admin, made["id"]) == []


def test_a_gateway_needs_an_existing_external_network(api: Api) -> None:
    _, _, token = api.user_in_project()
    made = router(api, token)
    private, _ = network(api, token)
    before = port_count(api)
    message = fault(neutron(api, "PUT", f"/routers/{made['id']}", token, json={"router": {
        "external_gateway_info": {"network_id": private}}}), 400)
    assert message == f"Bad router request: Network {private} is not an external network."
    fault(neutron(api, "PUT", f"/routers/{made['id']}", token, json={"router": {
        "external_gateway_info": {"network_id": made["id"]}}}), 404, "NetworkNotFound")
    fault(neutron(api, "POST", "/routers", token, json={"router": {
        "external_gateway_info": {"network_id": private}}}), 400)
    assert port_count(api) == before
    assert len(ok(neutron(api, "GET", "/routers", token))["routers"]) == 1


def test_a_gateway_whose_network_id_or_fixed_ips_have_the_wrong_type_is_a_400(api: Api) -> None:
    public, _ = external(api)
    before = port_count(api)
    for gateway in ({"network_id": []}, {"network_id": {"a": 1}}, {"network_id": 5},
                    {"network_id": public, "external_fixed_ips": [1]},
                    {"network_id": public, "external_fixed_ips": [{"ip_address": []}]},
                    {"network_id": public, "external_fixed_ips": [{"subnet": "x"}]}):
        fault(neutron(api, "POST", "/routers", api.admin, json={"router": {
            "external_gateway_info": gateway}}), 400, "InvalidInput")
    assert port_count(api) == before
    assert ok(neutron(api, "GET", "/routers", api.admin))["routers"] == []


def test_only_an_admin_chooses_snat_and_distributed_routers_are_not_offered(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    fault(neutron(api, "POST", "/routers", token, json={"router": {
        "external_gateway_info": {"network_id": public, "enable_snat": False}}}), 403)
    fault(neutron(api, "POST", "/routers", token, json={"router": {"distributed": True}}), 403)
    made = router(api, api.admin, external_gateway_info={"network_id": public,
                                                         "enable_snat": False})
    assert made["external_gateway_info"]["enable_snat"] is False


def test_an_interface_on_a_subnet_holds_its_gateway_address(api: Api) -> None:
    _, project, token = api.user_in_project()
    net, sub = network(api, token)
    made = router(api, token)
    reply = ok(attach(api, token, made["id"], subnet_id=sub))
    assert reply["id"] == made["id"] and reply["network_id"] == net
    assert (reply["subnet_id"], reply["subnet_ids"]) == (sub, [sub])
    assert reply["project_id"] == reply["tenant_id"] == project
    port = ok(neutron(api, "GET", f"/ports/{reply['port_id']}", token))["port"]
    assert (port["device_id"], port["device_owner"]) == (made["id"], "network:router_interface")
    assert port["fixed_ips"] == [{"subnet_id": sub, "ip_address": "10.0.0.1"}]
    # Tempest finds a router's interfaces by listing ports with its id as device_id.
    assert [p["id"] for p in ports_of(api, token, made["id"])] == [reply["port_id"]]
    fault(neutron(api, "DELETE", f"/routers/{made['id']}", token), 409, "RouterInUse")
    removed = ok(detach(api, token, made["id"], subnet_id=sub))
    assert removed["port_id"] == reply["port_id"] and removed["subnet_id"] == sub
    fault(neutron(api, "GET", f"/ports/{reply['port_id']}", token), 404)
    fault(detach(api, token, made["id"], subnet_id=sub), 404,
          "RouterInterfaceNotFoundForSubnet")
    ok(neutron(api, "DELETE", f"/routers/{made['id']}", token), 204)


def test_an_unowned_port_becomes_an_interface_and_goes_away_with_it(api: Api) -> None:
    _, _, token = api.user_in_project()
    net, sub = network(api, token)
    made = router(api, token)
    port = ok(neutron(api, "POST", "/ports", token, json={"port": {"network_id": net}}),
              201)["port"]
    reply = ok(attach(api, token, made["id"], port_id=port["id"]))
    assert (reply["port_id"], reply["subnet_id"]) == (port["id"], sub)
    shown = ok(neutron(api, "GET", f"/ports/{port['id']}", token))["port"]
    assert (shown["device_id"], shown["device_owner"]) == (made["id"], "network:router_interface")
    other = router(api, token)
    fault(attach(api, token, other["id"], port_id=port["id"]), 409, "PortInUse")
    ok(detach(api, token, made["id"], port_id=port["id"]))
    fault(neutron(api, "GET", f"/ports/{port['id']}", token), 404)
    fault(detach(api, token, made["id"], port_id=port["id"]), 404, "RouterInterfaceNotFound")


def test_several_subnets_may_be_attached_but_not_overlapping_ones(api: Api) -> None:
    _, _, token = api.user_in_project()
    _, first = network(api, token, "10.0.0.0/24")
    _, second = network(api, token, "10.0.1.0/24")
    _, overlapping = network(api, token, "10.0.0.0/16")
    made = router(api, token)
    ok(attach(api, token, made["id"], subnet_id=first))
    ok(attach(api, token, made["id"], subnet_id=second))
    before = port_count(api)
    message = fault(attach(api, token, made["id"], subnet_id=overlapping), 400)
    assert message == (f"Bad router request: Cidr 10.0.0.0/16 of subnet {overlapping} "
                       f"overlaps with cidr 10.0.0.0/24 of subnet {first}.")
    assert port_count(api) == before
    fault(attach(api, token, made["id"], subnet_id=first), 400)
    assert len(ports_of(api, token, made["id"])) == 2


def test_an_interface_needs_a_subnet_gateway_that_is_free(api: Api) -> None:
    _, _, token = api.user_in_project()
    _, no_gateway = network(api, token, "10.0.0.0/24", gateway_ip=None)
    net, sub = network(api, token, "10.0.1.0/24")
    made = router(api, token)
    message = fault(attach(api, token, made["id"], subnet_id=no_gateway), 400)
    assert message == "Bad router request: Subnet for router interface must have a gateway IP."
    ok(neutron(api, "POST", "/ports", token, json={"port": {
        "network_id": net, "fixed_ips": [{"subnet_id": sub, "ip_address": "10.0.1.1"}]}}), 201)
    fault(attach(api, token, made["id"], subnet_id=sub), 409, "IpAddressInUse")
    fault(attach(api, token, made["id"]), 400)
    fault(attach(api, token, made["id"], subnet_id="0d1c6d6e-8d1a-4d8e-9d1c-3c2b1a0f9e8d"),
          404, "SubnetNotFound")
    assert ports_of(api, token, made["id"]) == []


def test_extra_routes_need_a_nexthop_on_the_routers_subnets(api: Api) -> None:
    _, _, token = api.user_in_project()
    _, sub = network(api, token, "10.0.0.0/24")
    made = router(api, token)
    ok(attach(api, token, made["id"], subnet_id=sub))
    routes = [{"destination": "192.168.0.0/24", "nexthop": "10.0.0.2"},
              {"destination": "172.16.0.0/12", "nexthop": "10.0.0.3"}]
    r = neutron(api, "PUT", f"/routers/{made['id']}", token, json={"router": {"routes": routes}})
    assert sorted(ok(r)["router"]["routes"], key=str) == sorted(routes, key=str)
    shown = ok(neutron(api, "GET", f"/routers/{made['id']}", token))["router"]
    assert sorted(shown["routes"], key=str) == sorted(routes, key=str)
    # The interface a nexthop needs cannot go.
    fault(detach(api, token, made["id"], subnet_id=sub), 409, "RouterInterfaceInUseByRoute")
    bad = [{"destination": "192.168.0.0/24", "nexthop": "10.9.0.2"}]
    message = fault(neutron(api, "PUT", f"/routers/{made['id']}", token,
                            json={"router": {"routes": bad}}), 400, "InvalidRoutes")
    assert "the nexthop is not connected with router" in message
    assert len(ok(neutron(api, "GET", f"/routers/{made['id']}", token))["router"]["routes"]) == 2
    fault(neutron(api, "PUT", f"/routers/{made['id']}", token, json={"router": {"routes": [
        {"destination": "nonsense", "nexthop": "10.0.0.2"}]}}), 400)
    r = neutron(api, "PUT", f"/routers/{made['id']}", token, json={"router": {"routes": None}})
    assert ok(r)["router"]["routes"] == []
    ok(detach(api, token, made["id"], subnet_id=sub))


def test_unknown_routers_are_not_found(api: Api) -> None:
    _, _, token = api.user_in_project()
    for method, path, body in (("GET", "", None), ("DELETE", "", None),
                               ("PUT", "", {"router": {"name": "x"}})):
        fault(neutron(api, method, f"/routers/non_exist_router{path}", token, json=body), 404,
              "RouterNotFound")


def test_another_projects_router_is_invisible(api: Api) -> None:
    _, _, mine = api.user_in_project()
    _, _, theirs = api.user_in_project()
    made = router(api, mine)
    _, their_subnet = network(api, theirs)
    fault(neutron(api, "GET", f"/routers/{made['id']}", theirs), 404)
    fault(neutron(api, "PUT", f"/routers/{made['id']}", theirs,
                  json={"router": {"name": "x"}}), 404)
    fault(neutron(api, "DELETE", f"/routers/{made['id']}", theirs), 404)
    fault(attach(api, theirs, made["id"], subnet_id=their_subnet), 404)
    # Nor may a project attach another project's subnet to its router.
    fault(attach(api, mine, made["id"], subnet_id=their_subnet), 404, "SubnetNotFound")
    assert ok(neutron(api, "GET", "/routers", theirs))["routers"] == []


def test_a_reader_sees_routers_but_cannot_change_them(api: Api) -> None:
    _, project, member = api.user_in_project()
    name = ok(api.request("GET", f"/projects/{project}", api.admin))["project"]["name"]
    _, _, reader = api.user_in_project("reader", name)
    made = router(api, member)
    _, sub = network(api, member)
    ok(neutron(api, "GET", f"/routers/{made['id']}", reader))
    fault(neutron(api, "POST", "/routers", reader, json={"router": {"name": "x"}}), 403)
    fault(neutron(api, "PUT", f"/routers/{made['id']}", reader,
                  json={"router": {"name": "x"}}), 403)
    fault(attach(api, reader, made["id"], subnet_id=sub), 403)
    fault(neutron(api, "DELETE", f"/routers/{made['id']}", reader), 403)


@pytest.mark.parametrize("cidr", ["2001:db8:1::/64"])
def test_ipv6_subnets_are_attached_too(api: Api, cidr: str) -> None:
    _, _, token = api.user_in_project()
    _, sub = network(api, token, cidr)
    made = router(api, token)
    reply = ok(attach(api, token, made["id"], subnet_id=sub))
    port = ok(neutron(api, "GET", f"/ports/{reply['port_id']}", token))["port"]
    assert port["fixed_ips"] == [{"subnet_id": sub, "ip_address": "2001:db8:1::1"}]
    ok(detach(api, token, made["id"], port_id=reply["port_id"]))


def test_the_network_node_learns_of_router_changes(api: Api) -> None:
    from sqlalchemy import select

    from sausage.db.models import compute as cm
    from tests.api.test_compute import Host
    host_id = Host(api, "nn1").id
    with api.cloud.db.transaction() as s:  # as an agent started with --network-node says
        node = s.get(cm.Host, host_id)
        assert node is not None
        node.network_node = True

    def revision() -> int:
        with api.cloud.db.transaction() as s:
            return int(s.scalar(select(cm.Host.revision).where(cm.Host.id == host_id)) or 0)

    public, _ = external(api)
    _, _, token = api.user_in_project()
    _, sub = network(api, token)
    made = router(api, token)
    steps = [lambda: attach(api, token, made["id"], subnet_id=sub),
             lambda: neutron(api, "PUT", f"/routers/{made['id']}", token, json={"router": {
                 "external_gateway_info": {"network_id": public}}}),
             lambda: neutron(api, "PUT", f"/routers/{made['id']}", token, json={"router": {
                 "routes": [{"destination": "192.168.5.0/24", "nexthop": "10.0.0.9"}]}}),
             lambda: detach(api, token, made["id"], subnet_id=sub)]
    for step in steps[:3]:
        before = revision()
        ok(step())
        assert revision() > before
    neutron(api, "PUT", f"/routers/{made['id']}", token, json={"router": {"routes": None}})
    before = revision()
    ok(steps[3]())
    assert revision() > before
