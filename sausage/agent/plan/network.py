"""The L2 planner: the desired networks and ports of a host + the links observed → link actions.

Pure (no I/O): called by the network reconciler (``sausage.agent.network``) with what the
netlink driver observed (``drivers/netlink.py``); the driver executes the actions in order.
Names follow the host contract (``sausage.contract.host``): bridge ``brq<network[:11]>`` for
a VXLAN network, the mapped bridge (``bridge_mappings``) for a flat one, ``vxlan-<vni>`` and
``tap<port[:11]>``. Only links with our prefixes are ever removed, and of the ``tap…`` links
only real taps (kind ``tun``): a ``tap…`` veth is the host end of a DHCP/router namespace
(helper drivers own those) or a test's stand-in for a VM.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping, Sequence

from sausage.contract import host as contract

__all__ = [
    "VXLAN_PORT", "Link", "Settings", "Action", "CreateBridge", "CreateVxlan", "CreateTap",
    "SetMtu", "SetMaster", "SetUp", "AddAddress", "AddFdb", "DelFdb", "DeleteLink", "Plan",
    "bridge_name", "vxlan_name", "plan", "simulate", "ports_up", "is_ours",
]

VXLAN_PORT = 4789
BRIDGE_PREFIX = "brq"
VXLAN_PREFIX = "vxlan-"
TAP_PREFIX = "tap"


@dataclasses.dataclass(frozen=True)
class Link:
    """One link of the host namespace, as observed."""

    name: str
    kind: str | None  # "bridge" | "vxlan" | "tun" | "veth" | ... (None: a plain device)
    master: str | None = None  # the bridge it is a port of
    mtu: int = 1500
    up: bool = False
    vni: int | None = None  # vxlan only
    local: str | None = None
    port: int | None = None
    learning: bool | None = None
    addresses: frozenset[str] = frozenset()  # "a.b.c.d/len"
    fdb: frozenset[str] = frozenset()  # vxlan: peers of the all-zero (flood) entries


@dataclasses.dataclass(frozen=True)
class Settings:
    """What of the agent's configuration shapes the data plane."""

    tunnel_ip: str | None = None
    bridge_mappings: Mapping[str, str] = dataclasses.field(default_factory=dict)
    external_address: str | None = None  # put on the flat networks' bridges


@dataclasses.dataclass(frozen=True)
class CreateBridge:
    name: str
    mtu: int


@dataclasses.dataclass(frozen=True)
class CreateVxlan:
    name: str
    vni: int
    local: str | None
    mtu: int


@dataclasses.dataclass(frozen=True)
class CreateTap:
    """A persistent tap, so that QEMU opens it by name and it is on its bridge before the
    guest's first DHCP request."""

    name: str
    mtu: int


@dataclasses.dataclass(frozen=True)
class SetMtu:
    name: str
    mtu: int


@dataclasses.dataclass(frozen=True)
class SetMaster:
    name: str
    master: str


@dataclasses.dataclass(frozen=True)
class SetUp:
    name: str


@dataclasses.dataclass(frozen=True)
class AddAddress:
    name: str
    address: str  # CIDR form


@dataclasses.dataclass(frozen=True)
class AddFdb:
    name: str
    dst: str


@dataclasses.dataclass(frozen=True)
class DelFdb:
    name: str
    dst: str


@dataclasses.dataclass(frozen=True)
class DeleteLink:
    name: str


Action = (CreateBridge | CreateVxlan | CreateTap | SetMtu | SetMaster | SetUp | AddAddress
          | AddFdb | DelFdb | DeleteLink)


@dataclasses.dataclass(frozen=True)
class Plan:
    actions: list[Action]
    bridges: dict[str, str]  # network id → its bridge on this host
    errors: list[str]  # networks and ports that cannot be wired, for the operator


def bridge_name(network_id: str) -> str:
    return BRIDGE_PREFIX + network_id[:11]


def vxlan_name(vni: int) -> str:
    return f"{VXLAN_PREFIX}{vni}"


def is_ours(link: Link) -> bool:
    """Links this planner may remove when nothing desires them."""
    if link.name.startswith(BRIDGE_PREFIX):
        return link.kind == "bridge"
    if link.name.startswith(VXLAN_PREFIX):
        return link.kind == "vxlan"
    return link.name.startswith(TAP_PREFIX) and link.kind == "tun"


def plan(networks: Sequence[contract.DesiredNetwork], ports: Sequence[contract.DesiredPort],
         links: Iterable[Link], settings: Settings) -> Plan:
    """The link actions that make the host match ``networks`` and ``ports``.

    Stale links of ours go first (a VNI or name may be reused), then bridges, VXLAN devices
    and their flood entries, then taps. A network or port that cannot be wired (a flat network
    without a bridge mapping, a port on an unknown network) is reported in ``errors`` and
    skipped; the rest is still planned.
    """
    observed = {link.name: link for link in links}
    actions: list[Action] = []
    errors: list[str] = []
    bridges: dict[str, str] = {}
    wanted: set[str] = set()
    mtus: dict[str, int] = {}

    for net in networks:
        if net["network_type"] == "flat":
            mapped = settings.bridge_mappings.get(net["physical_network"])
            if mapped is None:
                errors.append(f"network {net['id']}: no bridge mapping for physical network "
                              f"{net['physical_network']!r} on this host")
                continue
            bridges[net["id"]] = mapped
        elif net["network_type"] == "vxlan" and net["segmentation_id"] is not None:
            bridges[net["id"]] = bridge_name(net["id"])
        else:
            errors.append(f"network {net['id']}: unsupported segment "
                          f"{net['network_type']}/{net['segmentation_id']}")
            continue
        mtus[net["id"]] = net["mtu"]
        wanted.add(bridges[net["id"]])
        if net["network_type"] == "vxlan" and settings.tunnel_ip is not None:
            wanted.add(vxlan_name(int(net["segmentation_id"] or 0)))
    port_taps = {p["tap"]: p for p in ports if p["network_id"] in bridges}
    for port in ports:
        if port["network_id"] not in bridges:
            errors.append(f"port {port['id']}: its network {port['network_id']} is not wired "
                          "on this host")
    wanted |= set(port_taps)

    # 1. what is ours and no longer wanted; and links of ours that cannot be repaired in place
    doomed: set[str] = set()
    for name, link in observed.items():
        if name not in wanted and is_ours(link):
            doomed.add(name)
    for net in networks:
        if net["id"] not in bridges or net["network_type"] != "vxlan":
            continue
        vni = int(net["segmentation_id"] or 0)
        vx = observed.get(vxlan_name(vni))
        if vx is not None and vxlan_name(vni) in wanted and (
                vx.kind != "vxlan" or vx.vni != vni or vx.local != settings.tunnel_ip
                or vx.port != VXLAN_PORT or vx.learning):
            doomed.add(vx.name)
        br = observed.get(bridges[net["id"]])
        if br is not None and br.kind != "bridge":
            doomed.add(br.name)
    actions += [DeleteLink(name) for name in sorted(doomed)]
    present = {name: link for name, link in observed.items() if name not in doomed}

    # 2. bridges, with the external address on flat ones
    for net in networks:
        if net["id"] not in bridges:
            continue
        name, mtu = bridges[net["id"]], mtus[net["id"]]
        br = present.get(name)
        if br is None:
            actions.append(CreateBridge(name, mtu))
        elif br.kind != "bridge":
            errors.append(f"network {net['id']}: {name} exists but is not a bridge")
            continue
        else:
            if br.mtu != mtu:
                actions.append(SetMtu(name, mtu))
        if br is None or not br.up:
            actions.append(SetUp(name))
        if net["network_type"] == "flat" and settings.external_address:
            have = br.addresses if br is not None else frozenset()
            if _normal(settings.external_address) not in {_normal(a) for a in have}:
                actions.append(AddAddress(name, settings.external_address))

        # 3. the VXLAN device on the bridge, one flood entry per peer
        if net["network_type"] != "vxlan" or settings.tunnel_ip is None:
            continue
        vni = int(net["segmentation_id"] or 0)
        vname = vxlan_name(vni)
        vx = present.get(vname)
        if vx is None:
            actions.append(CreateVxlan(vname, vni, settings.tunnel_ip, mtu))
            fdb: frozenset[str] = frozenset()
        else:
            fdb = vx.fdb
            if vx.mtu != mtu:
                actions.append(SetMtu(vname, mtu))
        if vx is None or vx.master != name:
            actions.append(SetMaster(vname, name))
        if vx is None or not vx.up:
            actions.append(SetUp(vname))
        peers = {p for p in net["peers"] if p != settings.tunnel_ip}
        actions += [AddFdb(vname, p) for p in sorted(peers - fdb)]
        actions += [DelFdb(vname, p) for p in sorted(fdb - peers)]

    # 4. taps
    for tap, port in port_taps.items():
        bridge, mtu = bridges[port["network_id"]], mtus[port["network_id"]]
        tap_link = present.get(tap)
        if tap_link is None:
            actions.append(CreateTap(tap, mtu))
        elif tap_link.mtu != mtu:
            actions.append(SetMtu(tap, mtu))
        if tap_link is None or tap_link.master != bridge:
            actions.append(SetMaster(tap, bridge))
        if tap_link is None or not tap_link.up:
            actions.append(SetUp(tap))
    return Plan(actions, bridges, errors)


def simulate(links: Iterable[Link], actions: Iterable[Action]) -> list[Link]:
    """The links as they are after ``actions`` succeeded: what the reconciler plans against
    next time, instead of dumping every link again (a dump of 500 links costs ~0.5 s)."""
    by_name = {link.name: link for link in links}
    for action in actions:
        current = by_name.get(action.name)
        match action:
            case CreateBridge(name=name, mtu=mtu):
                by_name[name] = Link(name, "bridge", mtu=mtu)
            case CreateVxlan(name=name, vni=vni, local=local, mtu=mtu):
                by_name[name] = Link(name, "vxlan", mtu=mtu, vni=vni, local=local,
                                     port=VXLAN_PORT, learning=False)
            case CreateTap(name=name, mtu=mtu):
                by_name[name] = Link(name, "tun", mtu=mtu)
            case DeleteLink(name=name):
                by_name.pop(name, None)
                for other, link in list(by_name.items()):
                    if link.master == name:
                        by_name[other] = dataclasses.replace(link, master=None)
            case _ if current is None:
                continue
            case SetMtu(mtu=mtu):
                by_name[action.name] = dataclasses.replace(current, mtu=mtu)
            case SetMaster(master=master):
                by_name[action.name] = dataclasses.replace(current, master=master)
            case SetUp():
                by_name[action.name] = dataclasses.replace(current, up=True)
            case AddAddress(address=address):
                by_name[action.name] = dataclasses.replace(
                    current, addresses=current.addresses | {_normal(address)})
            case AddFdb(dst=dst):
                by_name[action.name] = dataclasses.replace(current, fdb=current.fdb | {dst})
            case DelFdb(dst=dst):
                by_name[action.name] = dataclasses.replace(current, fdb=current.fdb - {dst})
    return list(by_name.values())


def ports_up(ports: Sequence[contract.DesiredPort], bridges: Mapping[str, str],
             links: Iterable[Link], filtered: Iterable[str]) -> list[str]:
    """Ports whose tap exists on its network's bridge and whose filter is in place
    (``filtered``: the taps the last applied nft ruleset covers; ports without port
    security need none)."""
    masters = {link.name: link.master for link in links}
    covered = set(filtered)
    up = []
    for port in ports:
        bridge = bridges.get(port["network_id"])
        if bridge is None or masters.get(port["tap"]) != bridge:
            continue
        if port["port_security"] and port["tap"] not in covered:
            continue
        up.append(port["id"])
    return up


def _normal(cidr: str) -> str:
    return str(ipaddress.ip_interface(cidr))
