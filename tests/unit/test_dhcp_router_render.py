"""What the DHCP and router drivers hand to dnsmasq and nft, rendered from desired documents."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

from sausage.agent.drivers import dhcp, metadata_proxy, router
from sausage.agent.drivers.errors import DriverError
from sausage.contract import host as contract

NET_ID = "3f1b2c4d-0000-4000-8000-000000000001"
PORT_ID = "9a8b7c6d5e4f-0000-4000-8000-000000000002"


def subnet(**overrides: object) -> contract.DesiredSubnet:
    base: contract.DesiredSubnet = {
        "id": "s1", "cidr": "10.0.0.0/24", "ip_version": 4, "gateway_ip": "10.0.0.1",
        "enable_dhcp": True, "dns_nameservers": [], "host_routes": [],
        "ipv6_ra_mode": None, "ipv6_address_mode": None, "dhcp_ip": "10.0.0.2",
    }
    base.update(overrides)  # type: ignore[typeddict-item]
    return base


def network(*subnets: contract.DesiredSubnet,
            hosts: list[contract.DhcpHost] | None = None) -> contract.DesiredNetwork:
    return {
        "id": NET_ID, "mtu": 1450, "network_type": "vxlan", "segmentation_id": 7,
        "physical_network": "", "peers": [],
        "dhcp": {"port_id": PORT_ID, "mac": "fa:16:3e:00:00:02", "subnets": list(subnets),
                 "hosts": hosts or []},
    }


def opts(net: contract.DesiredNetwork) -> list[str]:
    return dhcp.render_opts(net).splitlines()


def test_a_subnet_gets_mtu_router_and_classless_routes_with_metadata_and_default() -> None:
    lines = opts(network(subnet()))
    assert "tag:subnet-s1,option:mtu,1450" in lines
    assert "tag:subnet-s1,option:router,10.0.0.1" in lines
    routes = "169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1"
    assert f"tag:subnet-s1,option:classless-static-route,{routes}" in lines
    assert f"tag:subnet-s1,249,{routes}" in lines


def test_host_routes_come_first_and_a_host_default_route_replaces_the_gateway() -> None:
    lines = opts(network(subnet(host_routes=[
        {"destination": "192.168.5.0/24", "nexthop": "10.0.0.9"},
        {"destination": "0.0.0.0/0", "nexthop": "10.0.0.254"}])))
    assert ("tag:subnet-s1,option:classless-static-route,192.168.5.0/24,10.0.0.9,"
            "0.0.0.0/0,10.0.0.254,169.254.169.254/32,10.0.0.2") in lines


def test_a_subnet_without_gateway_sends_no_router_and_no_default_route() -> None:
    lines = opts(network(subnet(gateway_ip=None)))
    assert "tag:subnet-s1,option:router" in lines
    assert "tag:subnet-s1,option:classless-static-route,169.254.169.254/32,10.0.0.2" in lines


def test_dns_servers_are_sent_per_ip_version() -> None:
    lines = opts(network(subnet(dns_nameservers=["192.0.2.53", "2001:db8::53"]),
                         subnet(id="s6", cidr="2001:db8::/64", ip_version=6, gateway_ip=None,
                                dhcp_ip="2001:db8::2", ipv6_address_mode="dhcpv6-stateful",
                                dns_nameservers=["2001:db8::53"])))
    assert "tag:subnet-s1,option:dns-server,192.0.2.53" in lines
    assert "tag:subnet-s6,option6:dns-server,[2001:db8::53]" in lines


def test_subnets_without_dhcp_are_not_served() -> None:
    net = network(subnet(enable_dhcp=False), subnet(id="s2", cidr="10.1.0.0/24", dhcp_ip=None))
    assert dhcp.render_opts(net) == ""
    assert not [a for a in dhcp.dnsmasq_args(net, pathlib.Path("/x")) if "dhcp-range" in a]


def test_hosts_file_lists_static_leases_with_safe_hostnames() -> None:
    text = dhcp.render_hosts(network(subnet(), hosts=[
        {"mac": "FA:16:3E:00:00:10", "ip": "10.0.0.10", "hostname": "web-1"},
        {"mac": "fa:16:3e:00:00:11", "ip": "2001:db8::11", "hostname": "evil,name\ndhcp-range"},
        {"mac": "fa:16:3e:00:00:12", "ip": "10.0.0.12", "hostname": "..."},
    ])["dhcp"])
    assert text.splitlines() == [
        "fa:16:3e:00:00:10,10.0.0.10,web-1,24h",
        "fa:16:3e:00:00:11,[2001:db8::11],evil-name-dhcp-range,24h",
        "fa:16:3e:00:00:12,10.0.0.12,host-10-0-0-12,24h",
    ]


def test_a_malformed_mac_is_refused_rather_than_written() -> None:
    with pytest.raises(DriverError):
        dhcp.render_hosts(network(subnet(), hosts=[
            {"mac": "fa:16:3e:00:00:10\nx", "ip": "10.0.0.10", "hostname": "a"}])["dhcp"])


def test_dnsmasq_serves_static_ranges_per_ipv6_mode_on_the_port_only() -> None:
    net = network(
        subnet(),
        subnet(id="a", cidr="2001:db8:a::/64", ip_version=6, dhcp_ip="2001:db8:a::2",
               ipv6_address_mode="slaac"),
        subnet(id="b", cidr="2001:db8:b::/64", ip_version=6, dhcp_ip="2001:db8:b::2",
               ipv6_address_mode="dhcpv6-stateless"),
        subnet(id="c", cidr="2001:db8:c::/64", ip_version=6, dhcp_ip="2001:db8:c::2",
               ipv6_address_mode="dhcpv6-stateful"))
    args = dhcp.dnsmasq_args(net, pathlib.Path("/state/n"))
    assert "--interface=ns-9a8b7c6d5e4" in args
    assert "--conf-file=/dev/null" in args and "--dhcp-hostsfile=/state/n/hosts" in args
    assert [a for a in args if a.startswith("--dhcp-range=")] == [
        "--dhcp-range=set:subnet-s1,10.0.0.0,static,255.255.255.0,24h",
        "--dhcp-range=set:subnet-a,2001:db8:a::,ra-only,64,24h",
        "--dhcp-range=set:subnet-b,2001:db8:b::,ra-stateless,64,24h",
        "--dhcp-range=set:subnet-c,2001:db8:c::,static,64,24h",
    ]
    assert "--enable-ra" in args


def test_dnsmasq_accepts_the_rendered_command_line(tmp_path: pathlib.Path) -> None:
    if shutil.which("dnsmasq") is None:
        pytest.skip("dnsmasq is not installed")
    net = network(subnet(dns_nameservers=["192.0.2.53"],
                         host_routes=[{"destination": "192.168.5.0/24", "nexthop": "10.0.0.9"}]),
                  subnet(id="a", cidr="2001:db8:a::/64", ip_version=6, dhcp_ip="2001:db8:a::2",
                         ipv6_address_mode="slaac"),
                  hosts=[{"mac": "fa:16:3e:00:00:10", "ip": "10.0.0.10", "hostname": "web-1"}])
    (tmp_path / "hosts").write_text(dhcp.render_hosts(net["dhcp"]))
    (tmp_path / "opts").write_text(dhcp.render_opts(net))
    (tmp_path / "addn_hosts").write_text(dhcp.render_addn_hosts(net["dhcp"]))
    (tmp_path / "servers").write_text(dhcp.render_servers(net))
    result = subprocess.run(["dnsmasq", "--test", *dhcp.dnsmasq_args(net, tmp_path)],
                            capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode == 0, result.stderr


def dns_network(resolvers: list[str] | None = None, **subnet_overrides: object
                ) -> contract.DesiredNetwork:
    net = network(subnet(**subnet_overrides), hosts=[
        {"mac": "fa:16:3e:00:00:11", "ip": "10.0.0.11", "hostname": "vm2",
         "fqdn": "vm2.example.org."},
        {"mac": "fa:16:3e:00:00:10", "ip": "10.0.0.10", "hostname": "vm1",
         "fqdn": "vm1.example.org."}])
    net["dhcp"]["dns_domain"] = "example.org."
    net["dhcp"]["dns_resolvers"] = resolvers or []
    return net


def test_guests_are_told_the_dhcp_port_is_their_name_server_unless_the_subnet_names_some(
        ) -> None:
    assert "tag:subnet-s1,option:dns-server,10.0.0.2" in opts(dns_network())
    assert "tag:subnet-s1,option:dns-server,192.0.2.53" in opts(
        dns_network(dns_nameservers=["192.0.2.53"]))
    # Neutron's "any": no name server at all (an empty option sends none).
    assert "tag:subnet-s1,option:dns-server" in opts(dns_network(dns_nameservers=["0.0.0.0"]))
    assert "tag:subnet-s1,option:domain-name,example.org" in opts(dns_network())


def test_the_network_dns_answers_each_host_by_fqdn_then_short_name_in_address_order() -> None:
    assert dhcp.render_addn_hosts(dns_network()["dhcp"]).splitlines() == [
        "10.0.0.10 vm1.example.org vm1", "10.0.0.11 vm2.example.org vm2"]


def test_a_malformed_fqdn_never_reaches_the_hosts_file() -> None:
    net = dns_network()
    net["dhcp"]["hosts"][0]["fqdn"] = "evil\n10.0.0.1 x."
    assert "evil" not in dhcp.render_addn_hosts(net["dhcp"])


def test_the_domain_stays_local_and_other_names_go_only_to_the_resolvers() -> None:
    assert dhcp.render_servers(dns_network()).splitlines() == ["server=/example.org/"]
    assert dhcp.render_servers(dns_network(["192.0.2.53", "2001:db8::53"])).splitlines() == [
        "server=/example.org/", "server=192.0.2.53", "server=2001:db8::53"]


def test_dnsmasq_answers_dns_but_never_from_the_machine_resolv_conf_or_hosts() -> None:
    args = dhcp.dnsmasq_args(dns_network(), pathlib.Path("/state/n"))
    assert "--port=0" not in args
    assert {"--no-resolv", "--no-hosts", "--domain-needed", "--addn-hosts=/state/n/addn_hosts",
            "--servers-file=/state/n/servers"} <= set(args)


def desired_router(**overrides: object) -> contract.DesiredRouter:
    base: contract.DesiredRouter = {
        "id": "r1",
        "gateway": {"port_id": "gwport000001-x", "network_id": "ext", "mac": "fa:16:3e:00:01:01",
                    "addresses": ["203.0.113.10/24"]},
        "gateway_ip": "203.0.113.1", "enable_snat": True,
        "interfaces": [{"port_id": "ifport000001-x", "network_id": "n1",
                        "mac": "fa:16:3e:00:02:01", "addresses": ["10.0.0.1/24", "2001:db8::1/64"]}],
        "routes": [],
        "floating_ips": [{"floating_ip": "203.0.113.20", "fixed_ip": "10.0.0.5"}],
    }
    base.update(overrides)  # type: ignore[typeddict-item]
    return base


def test_router_nat_replaces_its_table_in_one_transaction() -> None:
    lines = router.render_nat(desired_router()).splitlines()
    assert lines[:3] == ["add table ip sausage-nat", "delete table ip sausage-nat",
                         "table ip sausage-nat {"]


def test_floating_ips_are_dnatted_in_and_snatted_out_before_the_subnet_snat() -> None:
    rules = [line.strip() for line in router.render_nat(desired_router()).splitlines()]
    assert rules.count("ip daddr 203.0.113.20 dnat to 10.0.0.5") == 2  # prerouting and output
    fip = rules.index('oifname "qg-gwport00000" ip saddr 10.0.0.5 snat to 203.0.113.20')
    snat = rules.index('oifname "qg-gwport00000" ip saddr { 10.0.0.0/24 } snat to 203.0.113.10')
    assert fip < snat


def test_a_guest_reaching_a_floating_ip_from_inside_is_snatted_to_the_gateway() -> None:
    rules = [line.strip() for line in router.render_nat(desired_router()).splitlines()]
    assert 'iifname "qg-gwport00000" meta mark set 0x2' in rules
    assert "ct status dnat meta mark != 0x2 snat to 203.0.113.10" in rules


def test_the_router_routes_by_default_via_the_external_gateway_plus_extra_routes() -> None:
    extra = {"destination": "172.16.0.0/16", "nexthop": "10.0.0.254"}
    assert router._routes(desired_router(routes=[extra])) == [
        ("172.16.0.0/16", "10.0.0.254"), ("0.0.0.0/0", "203.0.113.1")]
    assert router._routes(desired_router(gateway=None, routes=[extra])) == [
        ("172.16.0.0/16", "10.0.0.254")]


def test_without_enable_snat_only_floating_ips_are_translated() -> None:
    text = router.render_nat(desired_router(enable_snat=False))
    assert "snat to 203.0.113.20" in text and "10.0.0.0/24" not in text


def test_a_router_without_gateway_has_no_nat_table() -> None:
    assert router.render_nat(desired_router(gateway=None)) == (
        "add table ip sausage-nat\ndelete table ip sausage-nat\n")


def test_nft_accepts_the_router_ruleset() -> None:
    if shutil.which("nft") is None:
        pytest.skip("nft is not installed")
    result = subprocess.run(["nft", "--check", "-f", "-"], input=router.render_nat(desired_router()),
                            capture_output=True, text=True, timeout=10, check=False)
    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.skip("nft --check needs CAP_NET_ADMIN")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("raw", "target"), [
    ("/openstack", "openstack"),
    ("/openstack/latest/meta_data.json", "openstack/latest/meta_data.json"),
    ("/latest/meta-data/", "latest/meta-data/"),
    ("/", ""),
    ("/openstack?x=1", "openstack?x=1"),
    ("/openstack/../../hosts", None),
    ("/openstack/%2e%2e/x", None),
    ("http://elsewhere/openstack", None),
])
def test_metadata_paths_stay_under_the_metadata_root(raw: str, target: str | None) -> None:
    assert metadata_proxy._target_path(raw) == target


def test_a_removed_port_s_lease_is_forgotten_so_its_address_can_go_to_the_next_port(
        tmp_path: pathlib.Path) -> None:
    before = "fa:16:3e:00:00:01,10.0.0.4,vm3,86400\nfa:16:3e:00:00:02,10.0.0.5,vm1,86400\n"
    after = "fa:16:3e:00:00:03,10.0.0.4,far,86400\nfa:16:3e:00:00:02,10.0.0.5,vm1,86400\n"
    assert dhcp.host_pairs(before) - dhcp.host_pairs(after) == {("fa:16:3e:00:00:01",
                                                                 "10.0.0.4")}
    leases = tmp_path / "leases"
    leases.write_text("1764000000 fa:16:3e:00:00:01 10.0.0.4 vm3 *\n"
                      "1764000000 fa:16:3e:00:00:02 10.0.0.5 vm1 *\n")
    dhcp.prune_leases(leases, dhcp.host_pairs(after))
    assert leases.read_text() == "1764000000 fa:16:3e:00:00:02 10.0.0.5 vm1 *\n"
