"""Routers: one ``qrouter-<router_id>`` namespace per router, with NAT in nftables.

Called by the agent's network reconciler (``sausage/agent/network.py``) after L2 is in place:
``RouterDriver(...).apply(routers, bridge_for)`` with the routers of the desired document
(every other qrouter namespace of ours is removed), and ``purge()`` on ``sausage down --purge``.

Per router: a veth ``tap<port>`` (on the network's bridge, host namespace) ↔ ``qr-<port>`` per
interface, and ↔ ``qg-<port>`` on the external network's bridge for the gateway, each with the
port's MAC and addresses; every floating IP is also a /32 on ``qg-`` so that the router answers
ARP for it. Routes: the default via the external subnet's gateway, plus the extra routes. NAT
is one nftables table (``ip sausage-nat``) replaced in one ``nft -f`` transaction: floating IP
DNAT in prerouting (and output, for the router's own traffic), then in postrouting, for what
leaves by ``qg-``, SNAT of each fixed address to its floating IP before the SNAT of the
interface subnets to the gateway address (when ``enable_snat``). Traffic between the router's
own interfaces is routed, never NATed, except a guest's connection to a floating IP of the
same router ("hairpin"), whose source becomes the gateway address.

``render_nat`` is pure (tested in tests/unit/test_dhcp_router_render.py).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import pathlib
import subprocess
import time
from collections.abc import Callable

from sausage.agent.drivers import namespaces
from sausage.agent.drivers.errors import DriverError
from sausage.contract import host as contract

__all__ = ["RouterDriver", "TABLE", "render_nat", "namespace_name", "device_names",
           "SYSCTLS"]

log = logging.getLogger("sausage.agent.router")

TABLE = "ip sausage-nat"
OUTSIDE_MARK = 0x2  # packets that came in by the gateway (qg-) port
RESYNC_SECONDS = 300.0

SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv6.conf.all.forwarding": "1",
    # Loose reverse-path filtering (2), set on "all" (the kernel uses the larger of "all" and
    # the interface's value) and on "default" (the interfaces made after this). Strict mode
    # (1) would drop the legitimate asymmetric paths that extra routes and several subnets on
    # one router make; off (0) would also accept sources the router has no route back to at
    # all. Spoofing by a guest is stopped earlier, by port security on its tap.
    "net.ipv4.conf.all.rp_filter": "2",
    "net.ipv4.conf.default.rp_filter": "2",
}
OPTIONAL_SYSCTLS = frozenset({"net.ipv6.conf.all.forwarding"})


def namespace_name(prefix: str, router_id: str) -> str:
    return f"{prefix}qrouter-{router_id}"


def device_names(port_id: str, kind: str) -> tuple[str, str]:
    """(host end on the bridge, end in the router namespace); ``kind`` is "qr" or "qg"."""
    return f"tap{port_id[:11]}", f"{kind}-{port_id[:11]}"


def _ipv4(cidrs: list[str]) -> list[ipaddress.IPv4Interface]:
    found = []
    for cidr in cidrs:
        iface = ipaddress.ip_interface(cidr)
        if isinstance(iface, ipaddress.IPv4Interface):
            found.append(iface)
    return found


def render_nat(router: contract.DesiredRouter) -> str:
    """The ``nft -f`` script that makes the NAT table exactly what ``router`` needs (it
    deletes the table when the router has no gateway)."""
    lines = [f"add table {TABLE}", f"delete table {TABLE}"]
    gateway = router["gateway"]
    if gateway is None:
        return "\n".join(lines) + "\n"
    _, qg = device_names(gateway["port_id"], "qg")
    floating = sorted(((str(ipaddress.IPv4Address(f["floating_ip"])),
                        str(ipaddress.IPv4Address(f["fixed_ip"])))
                       for f in router["floating_ips"]), key=lambda pair: pair[0])
    dnat = [f"ip daddr {float_ip} dnat to {fixed_ip}" for float_ip, fixed_ip in floating]
    snat = [f'oifname "{qg}" ip saddr {fixed_ip} snat to {float_ip}'
            for float_ip, fixed_ip in floating]
    gateway_v4 = _ipv4(gateway["addresses"])
    if router["enable_snat"] and gateway_v4:
        subnets = sorted({str(iface.network) for port in router["interfaces"]
                          for iface in _ipv4(port["addresses"])})
        if subnets:
            snat.append(f'oifname "{qg}" ip saddr {{ {", ".join(subnets)} }} '
                        f"snat to {gateway_v4[0].ip}")
    if gateway_v4 and floating:
        # Hairpin: a guest reaching a floating IP from inside. Without this SNAT the target
        # would answer it directly, from its fixed address, and the guest would drop that.
        # What came in from outside was marked on the way in and keeps its source.
        snat.append(f"ct status dnat meta mark != {OUTSIDE_MARK:#x} snat to {gateway_v4[0].ip}")
    lines += [
        f"table {TABLE} {{",
        "  chain prerouting {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        f'    iifname "{qg}" meta mark set {OUTSIDE_MARK:#x}',
        *(f"    {rule}" for rule in dnat),
        "  }",
        "  chain output {",
        "    type nat hook output priority -100; policy accept;",
        *(f"    {rule}" for rule in dnat),
        "  }",
        "  chain postrouting {",
        "    type nat hook postrouting priority srcnat; policy accept;",
        *(f"    {rule}" for rule in snat),
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _routes(router: contract.DesiredRouter) -> list[tuple[str, str]]:
    routes = [(r["destination"], r["nexthop"]) for r in router["routes"]]
    if router["gateway"] is not None and router["gateway_ip"]:
        default = "::/0" if ipaddress.ip_address(router["gateway_ip"]).version == 6 else "0.0.0.0/0"
        if all(ipaddress.ip_network(dst, strict=False) != ipaddress.ip_network(default)
               for dst, _ in routes):
            routes.append((default, router["gateway_ip"]))
    return routes


class RouterDriver:
    """The routers of the desired document, each in its namespace.

    ``state_dir`` is kept for symmetry with the DHCP driver (routers keep no files);
    ``host_netns`` is where the bridges are (None: the root namespace); ``prefix`` starts
    every namespace name (``f"{host_netns}-"`` or ""), and ``purge`` removes by it.
    """

    def __init__(self, state_dir: pathlib.Path, host_netns: str | None, prefix: str) -> None:
        self.state_dir = state_dir
        self.host_netns = host_netns
        self.prefix = prefix
        self._applied: dict[str, tuple[str, float]] = {}

    def apply(self, routers: list[contract.DesiredRouter],
              bridge_for: Callable[[str], str]) -> list[str]:
        """Converge to ``routers``; returns what failed, one message per router; never
        raises."""
        errors: list[str] = []
        wanted = {router["id"]: router for router in routers}
        for router_id in self._ours() - set(wanted):
            try:
                self._remove(router_id)
            except (DriverError, OSError) as e:
                errors.append(f"router {router_id}: cannot remove: {e}")
        for router_id, router in wanted.items():
            try:
                self._apply_one(router, bridge_for)
            except (DriverError, OSError, KeyError, ValueError) as e:
                self._applied.pop(router_id, None)
                errors.append(f"router {router_id}: {e}")
        return errors

    def purge(self) -> None:
        """Remove every router namespace with our prefix (links and NAT go with them)."""
        for router_id in self._ours():
            with contextlib.suppress(DriverError, OSError):
                self._remove(router_id)

    def _ours(self) -> set[str]:
        marker = namespace_name(self.prefix, "")
        return {name[len(marker):] for name in namespaces.names(marker)} | set(self._applied)

    def _apply_one(self, router: contract.DesiredRouter,
                   bridge_for: Callable[[str], str]) -> None:
        ns = namespace_name(self.prefix, router["id"])
        ports = [(port, "qr") for port in router["interfaces"]]
        if router["gateway"] is not None:
            ports.append((router["gateway"], "qg"))
        bridges = {port["network_id"]: bridge_for(port["network_id"]) for port, _ in ports}
        what = json.dumps([router, bridges], sort_keys=True)
        last = self._applied.get(router["id"])
        if (last is not None and last[0] == what and time.monotonic() - last[1] < RESYNC_SECONDS
                and namespaces.exists(ns)):
            return
        namespaces.create(ns)
        forwarding = "1" if router.get("admin_state_up", True) else "0"
        namespaces.set_sysctls(ns, {**SYSCTLS, "net.ipv4.ip_forward": forwarding,
                                    "net.ipv6.conf.all.forwarding": forwarding},
                               optional=OPTIONAL_SYSCTLS)
        expected = {"lo"}
        for port, kind in ports:
            outside, inside = device_names(port["port_id"], kind)
            expected.add(inside)
            namespaces.plug_veth(self.host_netns, bridges[port["network_id"]], outside, ns,
                                 inside, port["mac"])
        for stale in namespaces.link_names(ns) - expected:  # interfaces removed from it
            namespaces.delete_link(ns, stale)
        for port, kind in ports:
            addresses = list(port["addresses"])
            if kind == "qg":
                addresses += [f"{f['floating_ip']}/32" for f in router["floating_ips"]]
            namespaces.set_addresses(ns, device_names(port["port_id"], kind)[1], addresses)
        _nft(ns, render_nat(router))
        namespaces.set_routes(ns, _routes(router))
        self._applied[router["id"]] = (what, time.monotonic())

    def _remove(self, router_id: str) -> None:
        self._applied.pop(router_id, None)
        namespaces.delete(namespace_name(self.prefix, router_id))
        log.info("removed router %s", router_id)


def _nft(ns: str, script: str) -> None:
    """Run one nft transaction in the namespace (all of it applies, or none)."""
    result = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=script,
                            capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise DriverError(f"nft in {ns}: {result.stderr.strip()}", result.returncode)
