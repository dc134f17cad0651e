"""Port security and security groups: one nftables bridge-family table, ``bridge sausage``.

The network reconciler (``sausage.agent.network``) builds the whole ruleset from the desired
ports with ``build`` (pure) and applies it with ``Nft.apply`` as ONE ``nft -f`` transaction
that replaces the table (add, delete, add: atomic, and idempotent). Per-port state lives in
sets and verdict maps keyed by the tap's name, so one more port costs a constant number of
set elements, two chains holding its own rules, and still one ``nft`` run.

For a port with port security:
  egress (bridge prerouting, from the tap): only its MAC (and its address pairs' MACs); ARP
  only for its addresses (or the 0.0.0.0 probe); IPv4/IPv6 only from its fixed IPs, address
  pairs and MAC-derived link-local address; DHCP from 0.0.0.0; no DHCP/RA server; then
  conntrack replies, DHCP, neighbour discovery and the port's egress rules; else drop.
  ingress (bridge forward/output, to the tap): ARP, replies (conntrack), DHCP replies, ND/RA,
  the port's ingress rules; invalid and everything else dropped.

Conntrack in the bridge family needs ``nf_conntrack_bridge``. Where the kernel lacks it (this
project's dev kernel: CONFIG_NF_CONNTRACK_BRIDGE unset, ``ct`` in a bridge table fails with
EPROTO), br_netfilter hands bridged IP to the IP hooks instead (bridge-nf-call-ip(6)tables=1,
see drivers/netlink.py), an ``inet sausage`` table copies the entry's state into two bits of
the packet mark right after conntrack has looked, and the bridge table tests those bits.
``probe_native_ct`` tells which mode the kernel allows.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import subprocess
import zlib
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from sausage.agent.drivers.errors import DriverError
from sausage.contract import host as contract

__all__ = ["TABLE", "EST_MARK", "INVALID_MARK", "Ruleset", "build", "Nft", "link_local"]

TABLE = "sausage"
EST_MARK = 0x10000000  # conntrack state established or related (fallback mode)
INVALID_MARK = 0x20000000
_MARKS = EST_MARK | INVALID_MARK

T = TypeVar("T")

_PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132,
              "udplite": 136, "dccp": 33, "gre": 47, "esp": 50, "ah": 51, "vrrp": 112,
              "igmp": 2, "ospf": 89, "pgm": 113, "ipip": 4}
_PORTED = {6, 17, 132, 136, 33}
_ND = ("nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, mld-listener-query, "
       "mld-listener-report, mld2-listener-report")


@dataclasses.dataclass(frozen=True)
class Ruleset:
    text: str  # the whole transaction for ``nft -f``
    taps: frozenset[str]  # the taps it protects (ports with port security)


def link_local(mac: str) -> str:
    """The EUI-64 IPv6 link-local address a guest derives from ``mac``."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    groups = [(eui[i] << 8) | eui[i + 1] for i in range(0, 8, 2)]
    return str(ipaddress.IPv6Address("fe80::" + ":".join(f"{g:x}" for g in groups)))


def build(ports: Sequence[contract.DesiredPort], native_ct: bool,
          bridges: Sequence[str] = ()) -> Ruleset:
    """The nft transaction that makes the table exactly what ``ports`` need (pure).

    ``bridges``: the tenant networks' bridges; each gets its own conntrack zone, so two
    networks with the same addresses never share connection state."""
    protected = sorted((p for p in ports if p["port_security"]), key=lambda p: p["tap"])
    macs: set[str] = set()
    ip4: set[str] = set()
    ip6: set[str] = set()
    per_port: list[str] = []
    out_map, in_map = [], []
    for port in protected:
        tap = _quote(port["tap"])
        bindings: dict[str, list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = {}
        own = port["mac"].lower()
        bindings.setdefault(own, [])
        for ip in port["fixed_ips"]:
            bindings[own].append(ipaddress.ip_network(ip))
        bindings[own].append(ipaddress.ip_network(link_local(own)))
        for pair in port["allowed_address_pairs"]:
            mac = (pair.get("mac_address") or own).lower()
            bindings.setdefault(mac, [ipaddress.ip_network(link_local(mac))])
            bindings[mac].append(ipaddress.ip_network(pair["ip_address"], strict=False))
        for mac, nets in bindings.items():
            macs.add(f"{tap} . {mac}")
            for version, target in ((4, ip4), (6, ip6)):
                same = [n for n in nets if n.version == version]
                for net in ipaddress.collapse_addresses(same):  # type: ignore[type-var]
                    target.add(f"{tap} . {mac} . {net}")
        chain = _chain_suffix(port["tap"])
        out_map.append(f"{tap} : jump e_{chain}")
        in_map.append(f"{tap} : jump i_{chain}")
        for direction in ("egress", "ingress"):
            body = [_rule(r) for r in port["rules"] if r["direction"] == direction]
            name = ("e_" if direction == "egress" else "i_") + chain
            per_port.append(_block(f"chain {name}", [b for b in body if b is not None]))

    est, invalid = _ct_tests(native_ct)
    sets = [
        _set("ports", "ifname", [_quote(p["tap"]) for p in protected]),
        _set("port_macs", "ifname . ether_addr", sorted(macs)),
        _set("port_v4", "ifname . ether_addr . ipv4_addr", sorted(ip4), interval=True),
        _set("port_v6", "ifname . ether_addr . ipv6_addr", sorted(ip6), interval=True),
        _set("port_egress", "ifname : verdict", out_map, kind="map"),
        _set("port_ingress", "ifname : verdict", in_map, kind="map"),
    ]
    chains = [
        _block("chain hook_pre", ["type filter hook prerouting priority 10; policy accept;",
                             "iifname @ports jump from_port"]),
        _block("chain hook_fwd", ["type filter hook forward priority -10; policy accept;",
                             "oifname @ports jump to_port"]),
        _block("chain hook_out", ["type filter hook output priority 10; policy accept;",
                             "oifname @ports jump to_port"]),
        _block("chain from_port", [
            "iifname . ether saddr != @port_macs drop",
            "ether type arp iifname . arp saddr ether . arp saddr ip @port_v4 accept",
            "ether type arp iifname . arp saddr ether @port_macs arp saddr ip 0.0.0.0 accept",
            "ether type arp drop",
            "ether type ip udp sport 67 drop",
            "ether type ip6 udp sport 547 drop",
            "ether type ip6 icmpv6 type nd-router-advert drop",
            "ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept",
            f"ether type ip6 ip6 saddr :: icmpv6 type {{ {_ND} }} accept",
            "ether type ip iifname . ether saddr . ip saddr != @port_v4 drop",
            "ether type ip6 iifname . ether saddr . ip6 saddr != @port_v6 drop",
            "ether type != { ip, ip6 } drop",
            f"{invalid} drop",
            f"{est} accept",
            "ether type ip udp sport 68 udp dport 67 accept",
            "ether type ip6 udp sport 546 udp dport 547 accept",
            f"ether type ip6 icmpv6 type {{ {_ND} }} accept",
            "iifname vmap @port_egress",
            "drop",
        ]),
        _block("chain to_port", [
            "ether type arp accept",
            f"{invalid} drop",
            f"{est} accept",
            "ether type ip udp sport 67 udp dport 68 accept",
            "ether type ip6 udp sport 547 udp dport 546 accept",
            f"ether type ip6 icmpv6 type {{ {_ND}, nd-router-advert }} accept",
            "oifname vmap @port_ingress",
            "drop",
        ]),
    ]
    lines = [f"table bridge {TABLE}", f"delete table bridge {TABLE}",
             _block(f"table bridge {TABLE}", sets + chains + per_port)]
    lines += [f"table inet {TABLE}", f"delete table inet {TABLE}"]
    if not native_ct:
        lines.append(_mark_table(bridges))
    return Ruleset("\n".join(lines) + "\n", frozenset(p["tap"] for p in protected))


def delete_text() -> str:
    """The transaction that removes our tables, whether they exist or not."""
    return "\n".join(f"table {family} {TABLE}\ndelete table {family} {TABLE}"
                     for family in ("bridge", "inet")) + "\n"


def zone(bridge: str) -> int:
    """A bridge's conntrack zone: stable across restarts, 1…65535."""
    return 1 + zlib.crc32(bridge.encode()) % 65535


def _mark_table(bridges: Sequence[str]) -> str:
    """Conntrack's verdict on bridged IP, as mark bits (fallback mode; see the docstring).
    br_netfilter shows a bridged packet to the IP hooks as coming in on the bridge, which
    picks the zone before conntrack (priority -200) looks."""
    zones = []
    if bridges:
        elements = ", ".join(f"{_quote(b)} : {zone(b)}" for b in sorted(set(bridges)))
        zones = [_block("chain zones", ["type filter hook prerouting priority -300; "
                                        "policy accept;",
                                        f"ct zone set iifname map {{ {elements} }}"])]
    body = [
        f"meta mark set meta mark and {~_MARKS & 0xFFFFFFFF:#x}",
        f"ct state established,related meta mark set meta mark or {EST_MARK:#x}",
        f"ct state invalid meta mark set meta mark or {INVALID_MARK:#x}",
    ]
    return _block(f"table inet {TABLE}", [
        *zones,
        _block("chain hook_pre", ["type filter hook prerouting priority -150; policy accept;", *body]),
        _block("chain hook_out", ["type filter hook output priority -150; policy accept;", *body]),
    ])


def _ct_tests(native_ct: bool) -> tuple[str, str]:
    if native_ct:
        return "ct state established,related", "ct state invalid"
    return (f"meta mark and {EST_MARK:#x} == {EST_MARK:#x}",
            f"meta mark and {INVALID_MARK:#x} == {INVALID_MARK:#x}")


def _rule(rule: contract.SecurityRule) -> str | None:
    """One allow rule as nft text; None when it can match nothing (an empty remote group, or
    remote prefixes of the other IP version only)."""
    v4 = rule["ethertype"] == "IPv4"
    family = "ip" if v4 else "ip6"
    parts = [f"ether type {family}"]
    proto_text = rule["protocol"]
    if proto_text is not None and proto_text.lower() not in ("any", "0"):
        proto = _PROTOCOLS.get(proto_text.lower())
        if proto is None:
            try:
                proto = int(proto_text)
            except ValueError:
                return None
        if proto == 1 and not v4:
            proto = 58  # Neutron: "icmp" in an IPv6 rule means ICMPv6
        low, high = rule["port_range_min"], rule["port_range_max"]
        if proto in (1, 58):
            kw = "icmp" if proto == 1 else "icmpv6"
            parts.append(f"meta l4proto {proto}")
            if low is not None:
                parts.append(f"{kw} type {low}")
                if high is not None:
                    parts.append(f"{kw} code {high}")
        else:
            parts.append(f"meta l4proto {proto}")
            if proto in _PORTED and (low is not None or high is not None):
                lo, hi = low or 1, high or 65535
                parts.append(f"th dport {lo}" if lo == hi else f"th dport {lo}-{hi}")
    prefixes = rule["remote_ip_prefixes"]
    if prefixes is not None:
        nets = [ipaddress.ip_network(p, strict=False) for p in prefixes]
        nets = [n for n in nets if n.version == (4 if v4 else 6)]
        if not nets:
            return None
        if all(n.prefixlen > 0 for n in nets):
            where = "saddr" if rule["direction"] == "ingress" else "daddr"
            parts.append(f"{family} {where} {{ {', '.join(str(n) for n in nets)} }}")
    return " ".join(parts) + " accept"


def _chain_suffix(tap: str) -> str:
    return _quote(tap)[1:-1].replace("-", "_").replace(".", "_")


def _quote(name: str) -> str:
    if not name or len(name) > 15 or not name.replace("-", "").replace("_", "").replace(
            ".", "").isalnum():
        raise DriverError(f"Invalid interface name {name!r}.")
    return f'"{name}"'


def _set(name: str, typ: str, elements: list[str], *, kind: str = "set",
         interval: bool = False) -> str:
    body = [f"type {typ};"]
    if interval:
        body.append("flags interval;")
    if elements:
        body.append("elements = { " + ",\n    ".join(elements) + " }")
    return _block(f"{kind} {name}", body)


def _block(head: str, body: Sequence[str]) -> str:
    inner = "\n".join("  " + line.replace("\n", "\n  ") for line in body)
    return f"{head} {{\n{inner}\n}}"


class Runner(Protocol):
    def run(self, fn: Callable[[], T]) -> T: ...


class Nft:
    """Runs ``nft`` in the data plane's namespace (through ``runner``, the netlink driver's
    namespace thread). ``ops``: nft runs, for the bench."""

    def __init__(self, runner: Runner, binary: str = "nft") -> None:
        self.runner = runner
        self.binary = binary
        self.ops = 0
        self._native: bool | None = None

    def native_ct(self) -> bool:
        """Whether ``ct`` works in the bridge family here (nf_conntrack_bridge); asked once,
        with a check-only transaction."""
        if self._native is None:
            probe = (f"table bridge {TABLE}-probe {{ chain c {{ type filter hook forward "
                     f"priority 0; ct state established accept; }} }}\n")
            self._native = self._nft(probe, check=True) is None
        return self._native

    def apply(self, ruleset: Ruleset) -> None:
        """Replace the table in one transaction; DriverError with nft's message if refused."""
        error = self._nft(ruleset.text)
        if error is not None:
            raise DriverError(f"nft refused the ruleset: {error}")

    def delete(self) -> None:
        error = self._nft(delete_text())
        if error is not None:
            raise DriverError(f"nft could not delete table {TABLE}: {error}")

    def list(self) -> str:
        """The tables' current text ('' when absent), for tests and the operator."""
        def run() -> str:
            out = []
            for family in ("bridge", "inet"):
                result = subprocess.run([self.binary, "list", "table", family, TABLE],
                                        capture_output=True, text=True, check=False)
                out.append(result.stdout if result.returncode == 0 else "")
            return "".join(out)
        return self.runner.run(run)

    def _nft(self, text: str, check: bool = False) -> str | None:
        """Run one transaction; None on success, else nft's message."""
        def run() -> str | None:
            self.ops += 1
            args = [self.binary, *(["-c"] if check else []), "-f", "-"]
            try:
                result = subprocess.run(args, input=text, capture_output=True, text=True,
                                        timeout=60, check=False)
            except (OSError, subprocess.TimeoutExpired) as e:
                return str(e)
            return None if result.returncode == 0 else result.stderr.strip()[-2000:]
        return self.runner.run(run)
