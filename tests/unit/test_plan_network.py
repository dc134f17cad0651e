"""The L2 planner and the nft ruleset builder, with plain data (no host)."""

from __future__ import annotations

from sausage.agent.drivers import nft
from sausage.agent.plan import network as plan
from sausage.contract import host as contract

NET = "5b0a3f4e-0c6e-4a59-9d2b-6f1c2d3e4f50"
BR = "brq5b0a3f4e-0c"
PUBLIC = "9e8d7c6b-5a49-4382-b1c0-f0e1d2c3b4a5"
SETTINGS = plan.Settings(tunnel_ip="192.0.2.1", bridge_mappings={"public": "br-ex"},
                         external_address="203.0.113.1/24")


def vxlan_net(peers: list[str] | None = None, mtu: int = 1450) -> contract.DesiredNetwork:
    return {"id": NET, "mtu": mtu, "network_type": "vxlan", "segmentation_id": 77,
            "physical_network": "", "peers": peers or []}


def flat_net(physical: str = "public") -> contract.DesiredNetwork:
    return {"id": PUBLIC, "mtu": 1500, "network_type": "flat", "segmentation_id": None,
            "physical_network": physical, "peers": []}


def port(n: int = 1, network: str = NET, security: bool = True,
         rules: list[contract.SecurityRule] | None = None) -> contract.DesiredPort:
    port_id = f"{n:02d}aa0000-1111-4222-8333-444455556666"
    return {"id": port_id, "network_id": network, "server_id": "s", "mac": f"fa:16:3e:00:00:0{n}",
            "tap": "tap" + port_id[:11], "fixed_ips": [f"10.0.0.{n}"], "port_security": security,
            "allowed_address_pairs": [], "rules": rules or []}


def wired(peers: frozenset[str] = frozenset()) -> list[plan.Link]:
    """The links a fully wired vxlan network with port 1 has."""
    return [
        plan.Link(BR, "bridge", mtu=1450, up=True),
        plan.Link("vxlan-77", "vxlan", master=BR, mtu=1450, up=True, vni=77, local="192.0.2.1",
                  port=4789, learning=False, fdb=peers),
        plan.Link(port(1)["tap"], "tun", master=BR, mtu=1450, up=True),
    ]


def test_a_new_vxlan_network_gets_a_bridge_a_tunnel_with_flood_entries_and_its_taps() -> None:
    result = plan.plan([vxlan_net(["192.0.2.2", "192.0.2.3"])], [port(1)], [], SETTINGS)
    tap = port(1)["tap"]
    assert result.actions == [
        plan.CreateBridge(BR, 1450), plan.SetUp(BR),
        plan.CreateVxlan("vxlan-77", 77, "192.0.2.1", 1450), plan.SetMaster("vxlan-77", BR),
        plan.SetUp("vxlan-77"), plan.AddFdb("vxlan-77", "192.0.2.2"),
        plan.AddFdb("vxlan-77", "192.0.2.3"),
        plan.CreateTap(tap, 1450), plan.SetMaster(tap, BR), plan.SetUp(tap),
    ]
    assert result.bridges == {NET: BR} and result.errors == []


def test_a_wired_host_needs_nothing() -> None:
    assert plan.plan([vxlan_net(["192.0.2.2"])], [port(1)], wired(frozenset({"192.0.2.2"})),
                     SETTINGS).actions == []


def test_peers_that_come_and_go_change_only_the_flood_entries() -> None:
    result = plan.plan([vxlan_net(["192.0.2.3"])], [port(1)], wired(frozenset({"192.0.2.2"})),
                       SETTINGS)
    assert result.actions == [plan.AddFdb("vxlan-77", "192.0.2.3"),
                              plan.DelFdb("vxlan-77", "192.0.2.2")]


def test_this_hosts_own_address_is_never_its_peer() -> None:
    result = plan.plan([vxlan_net(["192.0.2.1"])], [port(1)], wired(), SETTINGS)
    assert result.actions == []


def test_an_mtu_change_reaches_bridge_tunnel_and_tap() -> None:
    result = plan.plan([vxlan_net(mtu=1400)], [port(1)], wired(), SETTINGS)
    assert set(result.actions) == {plan.SetMtu(BR, 1400), plan.SetMtu("vxlan-77", 1400),
                                   plan.SetMtu(port(1)["tap"], 1400)}


def test_a_tunnel_with_learning_or_the_wrong_local_address_is_recreated() -> None:
    links = wired()
    links[1] = plan.Link("vxlan-77", "vxlan", master=BR, mtu=1450, up=True, vni=77,
                         local="192.0.2.9", port=4789, learning=True)
    result = plan.plan([vxlan_net()], [port(1)], links, SETTINGS)
    assert result.actions[0] == plan.DeleteLink("vxlan-77")
    assert plan.CreateVxlan("vxlan-77", 77, "192.0.2.1", 1450) in result.actions


def test_without_a_tunnel_address_there_is_no_vxlan_device() -> None:
    result = plan.plan([vxlan_net(["192.0.2.2"])], [], [], plan.Settings())
    assert result.actions == [plan.CreateBridge(BR, 1450), plan.SetUp(BR)]


def test_nothing_desired_removes_our_links_and_nothing_else() -> None:
    links = [*wired(), plan.Link("eth0", None, up=True), plan.Link("br-ex", "bridge"),
             plan.Link("tapdhcp00000", "veth", master=BR),  # a DHCP namespace's host end
             plan.Link("brqsomebody", "veth")]  # not a bridge: not ours after all
    result = plan.plan([], [], links, SETTINGS)
    assert result.actions == [plan.DeleteLink(BR), plan.DeleteLink(port(1)["tap"]),
                              plan.DeleteLink("vxlan-77")]


def test_a_flat_network_uses_the_mapped_bridge_with_the_external_address() -> None:
    result = plan.plan([flat_net()], [port(2, network=PUBLIC)], [], SETTINGS)
    tap = port(2)["tap"]
    assert result.actions == [
        plan.CreateBridge("br-ex", 1500), plan.SetUp("br-ex"),
        plan.AddAddress("br-ex", "203.0.113.1/24"),
        plan.CreateTap(tap, 1500), plan.SetMaster(tap, "br-ex"), plan.SetUp(tap),
    ]
    existing = [plan.Link("br-ex", "bridge", mtu=1500, up=True,
                          addresses=frozenset({"203.0.113.1/24"}))]
    assert plan.plan([flat_net()], [], existing, SETTINGS).actions == []


def test_a_flat_network_without_a_mapping_is_an_error_and_the_rest_is_still_wired() -> None:
    result = plan.plan([flat_net("elsewhere"), vxlan_net()], [port(1), port(2, network=PUBLIC)],
                       [], SETTINGS)
    assert any("elsewhere" in e for e in result.errors)
    assert any(PUBLIC in e for e in result.errors)
    assert plan.CreateBridge(BR, 1450) in result.actions
    assert result.bridges == {NET: BR}


def test_a_test_veth_named_like_the_tap_is_enslaved_not_replaced() -> None:
    links = [plan.Link(port(1)["tap"], "veth", mtu=1450, up=True)]
    result = plan.plan([vxlan_net()], [port(1)], links, plan.Settings())
    assert plan.SetMaster(port(1)["tap"], BR) in result.actions
    assert not any(isinstance(a, (plan.CreateTap, plan.DeleteLink)) for a in result.actions)


def test_a_port_is_up_when_its_tap_is_on_its_bridge_and_filtered() -> None:
    secured, open_port = port(1), port(2, security=False)
    links = [*wired(), plan.Link(open_port["tap"], "tun", master=BR)]
    bridges = {NET: BR}
    assert plan.ports_up([secured, open_port], bridges, links, {secured["tap"]}) == [
        secured["id"], open_port["id"]]
    assert plan.ports_up([secured, open_port], bridges, links, set()) == [open_port["id"]]
    assert plan.ports_up([secured], bridges, links[:2], {secured["tap"]}) == []


# -- the nft ruleset ---------------------------------------------------------------------------

def rule(direction: str, protocol: str | None, low: int | None = None, high: int | None = None,
         remote: list[str] | None = None, ethertype: str = "IPv4") -> contract.SecurityRule:
    return {"direction": direction, "ethertype": ethertype,  # type: ignore[typeddict-item]
            "protocol": protocol, "port_range_min": low, "port_range_max": high,
            "remote_ip_prefixes": remote}


def test_ports_without_port_security_are_not_in_the_table() -> None:
    ruleset = nft.build([port(1, security=False)], native_ct=False)
    assert ruleset.taps == frozenset()
    assert port(1)["tap"] not in ruleset.text


def test_security_group_rules_become_one_accept_each_in_the_ports_chain() -> None:
    p = port(1, rules=[rule("ingress", "tcp", 22, 22, ["10.0.0.0/24", "fd00::/64"]),
                       rule("ingress", "icmp", 8, None),
                       rule("egress", None, ethertype="IPv6"),
                       rule("ingress", "udp", 1000, 2000, []),  # empty remote group
                       rule("ingress", "tcp", None, None, ["fd00::/64"])])  # other version
    text = nft.build([p], native_ct=False).text
    assert "ether type ip meta l4proto 6 th dport 22 ip saddr { 10.0.0.0/24 } accept" in text
    assert "ether type ip meta l4proto 1 icmp type 8 accept" in text
    assert "ether type ip6 accept" in text
    assert "1000-2000" not in text
    assert "chain i_tap01aa0000_11" in text and "chain e_tap01aa0000_11" in text


def test_address_pairs_and_the_link_local_address_may_leave_the_port() -> None:
    p = port(1)
    p["allowed_address_pairs"] = [{"ip_address": "10.1.0.0/16", "mac_address": "fa:16:3e:aa:bb:cc"}]
    text = nft.build([p], native_ct=False).text
    assert f'"{p["tap"]}" . fa:16:3e:aa:bb:cc . 10.1.0.0/16' in text
    assert f'"{p["tap"]}" . fa:16:3e:00:00:01 . 10.0.0.1/32' in text
    assert nft.link_local("fa:16:3e:00:00:01") == "fe80::f816:3eff:fe00:1"


def test_one_more_port_adds_set_elements_and_its_own_rules_only() -> None:
    def size(n: int) -> int:
        return len(nft.build([port(i, rules=[rule("ingress", "icmp")]) for i in range(1, n + 1)],
                             native_ct=False).text.splitlines())
    assert size(3) - size(2) == size(2) - size(1)


def test_without_bridge_conntrack_the_state_travels_in_the_mark() -> None:
    assert "table inet sausage {" in nft.build([port(1)], native_ct=False).text
    native = nft.build([port(1)], native_ct=True).text
    assert "table inet sausage {" not in native and "ct state invalid drop" in native


def test_the_links_after_a_plan_need_no_further_actions() -> None:
    """What the reconciler plans against between two full looks at the host."""
    observed = [*wired(frozenset({"192.0.2.9"})), plan.Link("brqold0000000", "bridge"),
                plan.Link("tapold0000000", "tun", master="brqold0000000")]
    nets, ports = [vxlan_net(["192.0.2.2"], mtu=1400), flat_net()], [port(1), port(2, network=PUBLIC)]
    first = plan.plan(nets, ports, observed, SETTINGS)
    after = plan.simulate(observed, first.actions)
    assert plan.plan(nets, ports, after, SETTINGS).actions == []
    assert plan.plan([], [], plan.simulate(after, plan.plan([], [], after, SETTINGS).actions),
                     SETTINGS).actions == []
