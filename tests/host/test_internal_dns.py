"""A network's internal DNS (its dnsmasq, as Neutron's) on a real data plane, in throwaway
namespaces: a guest that got its lease asks the DHCP port for another guest's name.

The world (host namespace, tenant bridge, a client namespace playing the guest) is
``test_l3_dataplane``'s; queries go only to the DHCP port's address inside it, and with no
resolvers dnsmasq forwards nothing anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sausage.contract import host as contract
from tests.host.test_l3_dataplane import (
    CLIENT_IP, CLIENT_MAC, World, desired_network, dnsmasq_pid, world)

__all__ = ["world"]  # the fixture, imported for this module's tests

DNS = "10.0.0.2"  # the DHCP port's address
VM1 = {"mac": "fa:16:3e:00:00:11", "ip": "10.0.0.11", "hostname": "vm1",
       "fqdn": "vm1.example.org."}


def dns_network(*hosts: dict[str, str]) -> contract.DesiredNetwork:
    client: contract.DhcpHost = {"mac": CLIENT_MAC, "ip": CLIENT_IP, "hostname": "client-1",
                                 "fqdn": "client-1.example.org."}
    net = desired_network([client, *hosts])  # type: ignore[list-item]
    net["dhcp"]["subnets"][0]["dns_nameservers"] = []
    net["dhcp"]["dns_domain"] = "example.org."
    net["dhcp"]["dns_resolvers"] = []
    return net


def lookup(w: World, name: str) -> tuple[list[str], str, float]:
    """(addresses or names answered, busybox nslookup's output, seconds taken) for ``name``
    asked of the network's DNS from the guest."""
    started = time.monotonic()
    result = w.client.run("busybox", "nslookup", name, DNS, timeout=20)
    took = time.monotonic() - started
    out = result.stdout + result.stderr
    answers = []
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Name:") and i + 1 < len(lines) and lines[i + 1].startswith(
                "Address:"):
            answers.append(lines[i + 1].split(":", 1)[1].strip())
        elif "name =" in line:
            answers.append(line.split("name =", 1)[1].strip())
    return answers, out, took


def test_a_guest_resolves_another_guest_by_short_name_and_fqdn_through_dnsmasq(
        world: World) -> None:
    assert world.dhcp.apply([dns_network(VM1)], world.bridge_for) == []
    lease = world.lease()
    assert lease["ip"] == CLIENT_IP
    assert lease["dns"].split() == [DNS]  # no name servers on the subnet: the DHCP port
    assert lease.get("domain") == "example.org"

    for name in ("vm1", "vm1.example.org.", "VM1.Example.Org"):
        answers, out, _ = lookup(world, name)
        assert answers == ["10.0.0.11"], out
    answers, out, _ = lookup(world, "10.0.0.11")
    assert answers == ["vm1.example.org"], out

    # A name of the domain that is no guest: NXDOMAIN here. Anything else: refused, at once
    # (no resolvers, nothing is forwarded).
    answers, out, took = lookup(world, "nobody.example.org")
    assert answers == [] and "NXDOMAIN" in out and took < 5, out
    answers, out, took = lookup(world, "www.example.com")
    assert answers == [] and "REFUSED" in out and took < 5, out


def test_a_renamed_or_new_guest_is_answered_after_a_reload_not_a_restart(world: World) -> None:
    assert world.dhcp.apply([dns_network(VM1)], world.bridge_for) == []
    world.lease()
    pid = dnsmasq_pid(world)
    renamed = {**VM1, "hostname": "db", "fqdn": "db.example.org."}
    vm2 = {"mac": "fa:16:3e:00:00:12", "ip": "10.0.0.12", "hostname": "vm2",
           "fqdn": "vm2.example.org."}
    assert world.dhcp.apply([dns_network(renamed, vm2)], world.bridge_for) == []
    assert dnsmasq_pid(world) == pid
    # dnsmasq rereads its files when it handles the SIGHUP, a moment after apply returns.
    assert eventually(lambda: lookup(world, "db.example.org")[0] == ["10.0.0.11"])
    assert lookup(world, "vm2")[0] == ["10.0.0.12"]
    assert lookup(world, "vm1")[0] == []


def eventually(check: Callable[[], bool], seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
