"""Neutron floating IPs through the API: allocate, associate behind a router, release."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Api
from tests.api.test_network_routers import attach, detach, external, network, port_count
from tests.api.test_network_routers import router
from tests.api.test_network_security_groups import fault, neutron, ok


def allocate(api: Api, token: dict[str, str], public: str, **values: Any) -> httpx.Response:
    return neutron(api, "POST", "/floatingips", token,
                   json={"floatingip": {"floating_network_id": public, **values}})


def port(api: Api, token: dict[str, str], net: str, **values: Any) -> dict[str, Any]:
    return dict(ok(neutron(api, "POST", "/ports", token,
                           json={"port": {"network_id": net, **values}}), 201)["port"])


def routed(api: Api, token: dict[str, str], public: str, cidr: str = "10.0.0.0/24"
           ) -> tuple[str, str, str]:
    """A project network behind a router with a gateway on ``public``:
    (network id, subnet id, router id)."""
    net, sub = network(api, token, cidr)
    made = router(api, token, external_gateway_info={"network_id": public})
    ok(attach(api, token, made["id"], subnet_id=sub))
    return net, sub, made["id"]


def fip(api: Api, token: dict[str, str], fip_id: str) -> dict[str, Any]:
    return dict(ok(neutron(api, "GET", f"/floatingips/{fip_id}", token))["floatingip"])


def test_a_floating_ip_is_allocated_from_the_external_network_and_released(api: Api) -> None:
    public, public_subnet = external(api)
    _, project, token = api.user_in_project()
    made = ok(allocate(api, token, public, description="for web"), 201)["floatingip"]
    assert (made["status"], made["port_id"], made["router_id"], made["fixed_ip_address"],
            made["port_details"]) == ("DOWN", None, None, None, None)
    assert made["floating_network_id"] == public and made["project_id"] == project
    assert made["floating_ip_address"].startswith("203.0.113.")
    assert made["description"] == "for web"
    holders = ok(neutron(api, "GET", f"/ports?device_id={made['id']}", api.admin))["ports"]
    assert [(p["device_owner"], p["project_id"], p["fixed_ips"]) for p in holders] == \
        [("network:floatingip", "", [{"subnet_id": public_subnet,
                                      "ip_address": made["floating_ip_address"]}])]
    assert made["id"] in {f["id"] for f in ok(neutron(api, "GET", "/floatingips",
                                                      token))["floatingips"]}
    ok(neutron(api, "DELETE", f"/floatingips/{made['id']}", token), 204)
    fault(neutron(api, "GET", f"/floatingips/{made['id']}", token), 404, "FloatingIPNotFound")
    assert ok(neutron(api, "GET", f"/ports?device_id={made['id']}", api.admin))["ports"] == []


def test_a_floating_ip_is_associated_with_a_port_behind_a_router(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    net, _, router_id = routed(api, token, public)
    vm = port(api, token, net, name="vm")
    made = ok(allocate(api, token, public), 201)["floatingip"]
    r = neutron(api, "PUT", f"/floatingips/{made['id']}", token,
                json={"floatingip": {"port_id": vm["id"]}})
    associated = ok(r)["floatingip"]
    assert (associated["status"], associated["port_id"], associated["router_id"]) == \
        ("ACTIVE", vm["id"], router_id)
    assert associated["fixed_ip_address"] == vm["fixed_ips"][0]["ip_address"]
    assert associated["port_details"] == {
        "name": "vm", "network_id": net, "mac_address": vm["mac_address"],
        "admin_state_up": True, "status": vm["status"], "device_id": "", "device_owner": ""}
    listed = ok(neutron(api, "GET", f"/floatingips?port_id={vm['id']}", token))["floatingips"]
    assert [f["id"] for f in listed] == [made["id"]]
    r = neutron(api, "PUT", f"/floatingips/{made['id']}", token,
                json={"floatingip": {"port_id": None}})
    assert (ok(r)["floatingip"]["status"], ok(r)["floatingip"]["port_id"]) == ("DOWN", None)
    # Allocate-and-associate in one call.
    again = ok(allocate(api, token, public, port_id=vm["id"]), 201)["floatingip"]
    assert again["router_id"] == router_id and again["status"] == "ACTIVE"


def test_a_port_with_no_route_to_the_external_network_gets_no_floating_ip(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    net, sub = network(api, token)
    vm = port(api, token, net)
    before = port_count(api)
    message = fault(allocate(api, token, public, port_id=vm["id"]), 404,
                    "ExternalGatewayForFloatingIPNotFound")
    assert message == (f"External network {public} is not reachable from subnet {sub}.  "
                       f"Therefore, cannot associate Port {vm['id']} with a Floating IP.")
    assert ok(neutron(api, "GET", "/floatingips", token))["floatingips"] == []
    assert port_count(api) == before
    # A router with an interface but no gateway does not help either.
    made = router(api, token)
    ok(attach(api, token, made["id"], subnet_id=sub))
    fip_id = ok(allocate(api, token, public), 201)["floatingip"]["id"]
    fault(neutron(api, "PUT", f"/floatingips/{fip_id}", token,
                  json={"floatingip": {"port_id": vm["id"]}}), 404,
          "ExternalGatewayForFloatingIPNotFound")
    assert fip(api, token, fip_id)["port_id"] is None


def test_one_fixed_ip_has_at_most_one_floating_ip(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    net, _, _ = routed(api, token, public)
    vm = port(api, token, net)
    ok(allocate(api, token, public, port_id=vm["id"]), 201)
    fault(allocate(api, token, public, port_id=vm["id"]), 409,
          "FloatingIPPortAlreadyAssociated")
    assert len(ok(neutron(api, "GET", "/floatingips", token))["floatingips"]) == 1


def test_a_port_with_several_addresses_needs_the_fixed_ip_named(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    net, sub, _ = routed(api, token, public)
    vm = port(api, token, net, fixed_ips=[{"subnet_id": sub, "ip_address": "10.0.0.10"},
                                          {"subnet_id": sub, "ip_address": "10.0.0.11"}])
    message = fault(allocate(api, token, public, port_id=vm["id"]), 400)
    assert "has multiple fixed IPv4 addresses" in message
    fault(allocate(api, token, public, port_id=vm["id"], fixed_ip_address="10.0.0.99"), 400)
    made = ok(allocate(api, token, public, port_id=vm["id"], fixed_ip_address="10.0.0.11"),
              201)["floatingip"]
    assert made["fixed_ip_address"] == "10.0.0.11"


def test_floating_ips_come_only_from_existing_external_networks(api: Api) -> None:
    external(api)
    _, _, token = api.user_in_project()
    private, _ = network(api, token)
    message = fault(allocate(api, token, private), 400)
    assert message == f"Bad floatingip request: Network {private} is not a valid external network."
    fault(allocate(api, token, "0d1c6d6e-8d1a-4d8e-9d1c-3c2b1a0f9e8d"), 404, "NetworkNotFound")
    fault(neutron(api, "POST", "/floatingips", token, json={"floatingip": {}}), 400)
    assert ok(neutron(api, "GET", "/floatingips", token))["floatingips"] == []


def test_an_admin_may_pick_the_address_and_a_taken_one_is_a_conflict(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    fault(allocate(api, token, public, floating_ip_address="203.0.113.50"), 403)
    made = ok(allocate(api, api.admin, public, floating_ip_address="203.0.113.50"),
              201)["floatingip"]
    assert made["floating_ip_address"] == "203.0.113.50"
    assert allocate(api, api.admin, public, floating_ip_address="203.0.113.50").status_code \
        == 409


def test_deleting_the_associated_port_disassociates(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    net, _, _ = routed(api, token, public)
    vm = port(api, token, net)
    made = ok(allocate(api, token, public, port_id=vm["id"]), 201)["floatingip"]
    ok(neutron(api, "DELETE", f"/ports/{vm['id']}", token), 204)
    shown = fip(api, token, made["id"])
    assert (shown["port_id"], shown["router_id"], shown["fixed_ip_address"],
            shown["status"]) == (None, None, None, "DOWN")


def test_the_interface_and_gateway_an_associated_floating_ip_needs_cannot_go(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    net, sub, router_id = routed(api, token, public)
    vm = port(api, token, net)
    made = ok(allocate(api, token, public, port_id=vm["id"]), 201)["floatingip"]
    message = fault(detach(api, token, router_id, subnet_id=sub), 409,
                    "RouterInterfaceInUseByFloatingIP")
    assert message == (f"Router interface for subnet {sub} on router {router_id} cannot be "
                       "deleted, as it is required by one or more floating IPs.")
    fault(neutron(api, "PUT", f"/routers/{router_id}", token, json={"router": {
        "external_gateway_info": None}}), 409, "RouterExternalGatewayInUseByFloatingIp")
    ok(neutron(api, "PUT", f"/floatingips/{made['id']}", token,
               json={"floatingip": {"port_id": None}}))
    ok(detach(api, token, router_id, subnet_id=sub))


def test_another_projects_floating_ips_and_ports_are_invisible(api: Api) -> None:
    public, _ = external(api)
    _, _, mine = api.user_in_project()
    _, _, theirs = api.user_in_project()
    net, _, _ = routed(api, mine, public)
    vm = port(api, mine, net)
    made = ok(allocate(api, mine, public), 201)["floatingip"]
    fault(neutron(api, "GET", f"/floatingips/{made['id']}", theirs), 404)
    fault(neutron(api, "PUT", f"/floatingips/{made['id']}", theirs,
                  json={"floatingip": {"port_id": None}}), 404)
    fault(neutron(api, "DELETE", f"/floatingips/{made['id']}", theirs), 404)
    assert ok(neutron(api, "GET", "/floatingips", theirs))["floatingips"] == []
    their_fip = ok(allocate(api, theirs, public), 201)["floatingip"]
    fault(neutron(api, "PUT", f"/floatingips/{their_fip['id']}", theirs,
                  json={"floatingip": {"port_id": vm["id"]}}), 404, "PortNotFound")
    assert fip(api, api.admin, made["id"])["id"] == made["id"]


def test_a_reader_sees_floating_ips_but_cannot_change_them(api: Api) -> None:
    public, _ = external(api)
    _, project, member = api.user_in_project()
    name = ok(api.request("GET", f"/projects/{project}", api.admin))["project"]["name"]
    _, _, reader = api.user_in_project("reader", name)
    made = ok(allocate(api, member, public), 201)["floatingip"]
    assert fip(api, reader, made["id"])["id"] == made["id"]
    fault(allocate(api, reader, public), 403)
    fault(neutron(api, "PUT", f"/floatingips/{made['id']}", reader,
                  json={"floatingip": {"description": "x"}}), 403)
    fault(neutron(api, "DELETE", f"/floatingips/{made['id']}", reader), 403)


def test_a_router_with_an_associated_floating_ip_can_be_taken_apart(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    net, sub, router_id = routed(api, token, public)
    vm = port(api, token, net)
    made = ok(allocate(api, token, public, port_id=vm["id"]), 201)["floatingip"]
    ok(neutron(api, "DELETE", f"/floatingips/{made['id']}", token), 204)
    ok(detach(api, token, router_id, subnet_id=sub))
    ok(neutron(api, "DELETE", f"/routers/{router_id}", token), 204)
    assert ok(neutron(api, "GET", f"/ports?device_id={router_id}", api.admin))["ports"] == []
