"""``network_data.json`` as Nova writes it, for every subnet mode: what cloud-init in a real
guest turns into its network configuration."""

from __future__ import annotations

from sausage.services.metadata import network_data as nd

PORT = "3f1c2a9e-5b7d-4c1e-9f00-aaaaaaaaaaaa"
NET = "9e8d7c6b-0000-4000-8000-bbbbbbbbbbbb"
MAC = "fa:16:3e:00:00:01"


def vif(*subnets: nd.Subnet, port: str = PORT, mtu: int = 1450) -> nd.Vif:
    return nd.Vif(port_id=port, mac_address=MAC, network_id=NET, mtu=mtu, subnets=subnets)


def v4(**kw: object) -> nd.Subnet:
    args: dict[str, object] = {"cidr": "10.0.0.0/26", "ips": ("10.0.0.5",),
                               "gateway_ip": "10.0.0.1", "dns_nameservers": ("10.0.0.2",)}
    return nd.Subnet(**{**args, **kw})  # type: ignore[arg-type]


def v6(**kw: object) -> nd.Subnet:
    args: dict[str, object] = {"cidr": "fd00:1::/64", "ips": ("fd00:1::5",),
                               "gateway_ip": "fd00:1::1"}
    return nd.Subnet(**{**args, **kw})  # type: ignore[arg-type]


def test_a_dhcp_ipv4_subnet_is_ipv4_dhcp_and_the_link_leaves_the_mtu_to_dhcp() -> None:
    data = nd.render([vif(v4(enable_dhcp=True, dhcp_server="10.0.0.2"))])
    assert data == {
        "links": [{"id": "tap3f1c2a9e-5b", "vif_id": PORT, "type": "bridge", "mtu": None,
                   "ethernet_mac_address": MAC}],
        "networks": [{"id": "network0", "type": "ipv4_dhcp", "link": "tap3f1c2a9e-5b",
                      "network_id": NET}],
        "services": [{"type": "dns", "address": "10.0.0.2"}]}


def test_dhcp_enabled_without_a_dhcp_port_is_still_ipv4_dhcp_but_keeps_the_mtu() -> None:
    data = nd.render([vif(v4(enable_dhcp=True))])
    assert data["networks"][0]["type"] == "ipv4_dhcp"
    assert data["links"][0]["mtu"] == 1450


def test_a_static_ipv4_subnet_carries_address_routes_and_dns() -> None:
    data = nd.render([vif(v4(host_routes=(("192.168.7.0/24", "10.0.0.9"),)))])
    assert data["links"][0]["mtu"] == 1450
    assert data["networks"] == [{
        "id": "network0", "type": "ipv4", "link": "tap3f1c2a9e-5b", "ip_address": "10.0.0.5",
        "netmask": "255.255.255.192",
        "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"},
                   {"network": "192.168.7.0", "netmask": "255.255.255.0",
                    "gateway": "10.0.0.9"}],
        "network_id": NET, "services": [{"type": "dns", "address": "10.0.0.2"}]}]


def test_a_subnet_without_a_gateway_has_no_default_route() -> None:
    [net] = nd.render([vif(v4(gateway_ip=None))])["networks"]
    assert net["routes"] == []


def test_ipv6_address_modes_name_the_network_and_keep_the_static_details() -> None:
    for mode in ("slaac", "dhcpv6-stateless", "dhcpv6-stateful"):
        [net] = nd.render([vif(v6(enable_dhcp=True, ipv6_address_mode=mode,
                                  dns_nameservers=("fd00:1::53",)))])["networks"]
        assert net == {
            "id": "network0", "type": f"ipv6_{mode}", "link": "tap3f1c2a9e-5b",
            "ip_address": "fd00:1::5", "netmask": "ffff:ffff:ffff:ffff::",
            "routes": [{"network": "::", "netmask": "::", "gateway": "fd00:1::1"}],
            "network_id": NET, "services": [{"type": "dns", "address": "fd00:1::53"}]}


def test_ipv6_without_an_address_mode_is_ipv6_dhcp_or_static_ipv6() -> None:
    [dhcp] = nd.render([vif(v6(enable_dhcp=True))])["networks"]
    assert dhcp["type"] == "ipv6_dhcp" and "ip_address" not in dhcp
    [static] = nd.render([vif(v6(host_routes=(("fd00:9::/48", "fd00:1::9"),)))])["networks"]
    assert static["type"] == "ipv6" and static["routes"][1] == {
        "network": "fd00:9::", "netmask": "ffff:ffff:ffff::", "gateway": "fd00:1::9"}


def test_a_dual_stack_port_is_one_link_with_an_ipv4_then_an_ipv6_network() -> None:
    data = nd.render([vif(v6(ipv6_address_mode="slaac", dns_nameservers=("10.0.0.2",)),
                          v4(enable_dhcp=True, dhcp_server="10.0.0.2"))])
    assert len(data["links"]) == 1
    assert [(n["id"], n["type"]) for n in data["networks"]] == [
        ("network0", "ipv4_dhcp"), ("network1", "ipv6_slaac")]
    assert data["services"] == [{"type": "dns", "address": "10.0.0.2"}]  # once


def test_only_the_first_subnet_of_each_family_and_its_first_address_count() -> None:
    second = v4(cidr="10.0.1.0/24", ips=("10.0.1.7",), gateway_ip="10.0.1.1",
                dns_nameservers=("10.0.1.2",))
    [net] = nd.render([vif(v4(ips=("10.0.0.5", "10.0.0.6")), second)])["networks"]
    assert net["ip_address"] == "10.0.0.5" and net["routes"][0]["gateway"] == "10.0.0.1"


def test_each_port_is_a_link_and_networks_are_numbered_across_ports() -> None:
    other = "77777777-8888-4999-8aaa-bbbbbbbbbbbb"
    data = nd.render([vif(v4()), vif(port="nothing-here"),
                      vif(v4(ips=("10.0.0.9",), dns_nameservers=("10.0.0.3",)), port=other)])
    assert [link["id"] for link in data["links"]] == ["tap3f1c2a9e-5b", "tap77777777-88"]
    assert [(n["id"], n["link"]) for n in data["networks"]] == [
        ("network0", "tap3f1c2a9e-5b"), ("network1", "tap77777777-88")]
    assert [s["address"] for s in data["services"]] == ["10.0.0.2", "10.0.0.3"]
