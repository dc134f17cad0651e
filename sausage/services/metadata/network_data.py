"""``network_data.json`` exactly as Nova writes it (``nova/virt/netutils.get_network_metadata``).

Pure: ``render`` turns the server's ports (``Vif``, loaded by ``services/metadata/tree.py``)
into the document real cloud-init reads to configure the guest's network:

- one ``links[]`` entry per port that has addresses: the tap name, the port id, the MAC, type
  ``bridge``, and the network's MTU — ``null`` when a DHCP server serves one of the port's
  subnets, so the guest takes the MTU from DHCP (Nova since 2022);
- for the first IPv4 and the first IPv6 subnet of each port, one ``networks[]`` entry:
  ``ipv4_dhcp`` / ``ipv6_dhcp`` (id, type, link, network_id only) where DHCP serves the subnet,
  ``ipv6_slaac`` / ``ipv6_dhcpv6-stateless`` / ``ipv6_dhcpv6-stateful`` by the IPv6 subnet's
  address mode, else static ``ipv4`` / ``ipv6``; all but the DHCP kinds carry the address,
  netmask, routes (the default route via the gateway first, then the subnet's host routes) and
  the subnet's DNS servers as ``services``;
- top-level ``services[]``: every subnet's DNS servers once, in order.

cloud-init renders a static default route as a command that needs tools a minimal image may
lack; with ``ipv4_dhcp`` the guest runs its DHCP client and gets the route from DHCP.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence
from typing import NotRequired, TypedDict

__all__ = ["Subnet", "Vif", "NetworkData", "render"]


@dataclasses.dataclass(frozen=True)
class Subnet:
    """One subnet a port has addresses on, as Nova's network model sees it."""

    cidr: str
    ips: tuple[str, ...]  # the port's addresses on it, first one used
    gateway_ip: str | None = None
    enable_dhcp: bool = False
    ipv6_address_mode: str | None = None  # slaac | dhcpv6-stateless | dhcpv6-stateful
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()  # (destination CIDR, nexthop)
    dhcp_server: str | None = None  # the network's DHCP port's address on this subnet

    @property
    def version(self) -> int:
        return ipaddress.ip_network(self.cidr, strict=False).version


@dataclasses.dataclass(frozen=True)
class Vif:
    """A server's port: its network and the subnets it has addresses on, in order."""

    port_id: str
    mac_address: str
    network_id: str
    mtu: int | None
    subnets: tuple[Subnet, ...]
    vif_type: str = "bridge"

    @property
    def devname(self) -> str:
        return "tap" + self.port_id[:11]


class Link(TypedDict):
    id: str
    vif_id: str
    type: str
    mtu: int | None
    ethernet_mac_address: str


class Route(TypedDict):
    network: str
    netmask: str
    gateway: str


class Service(TypedDict):
    type: str
    address: str


class Network(TypedDict):
    id: str
    type: str
    link: str
    network_id: str
    ip_address: NotRequired[str]
    netmask: NotRequired[str]
    routes: NotRequired[list[Route]]
    services: NotRequired[list[Service]]


class NetworkData(TypedDict):
    links: list[Link]
    networks: list[Network]
    services: list[Service]


def render(vifs: Sequence[Vif]) -> NetworkData:
    """The ``network_data.json`` document for a server with these ports, in port order."""
    links: list[Link] = []
    nets: list[Network] = []
    services: list[Service] = []
    for vif in vifs:
        first = {v: next((s for s in vif.subnets if s.version == v), None) for v in (4, 6)}
        if first[4] is None and first[6] is None:
            continue  # a port without addresses is no link either
        link = _link(vif)
        links.append(link)
        for subnet in (first[4], first[6]):
            if subnet is None or not subnet.ips:
                continue
            nets.append(_network(vif, subnet, f"network{len(nets)}", link["id"]))
            services += [d for d in _dns(subnet) if d not in services]
    return {"links": links, "networks": nets, "services": services}


def _link(vif: Vif) -> Link:
    # DHCP hands out the MTU where a DHCP server serves the port; a static MTU written by
    # cloud-init would only get in its way.
    served = any(s.dhcp_server for s in vif.subnets)
    return {"id": vif.devname, "vif_id": vif.port_id, "type": vif.vif_type,
            "mtu": None if served else vif.mtu, "ethernet_mac_address": vif.mac_address}


def _network(vif: Vif, subnet: Subnet, net_id: str, link_id: str) -> Network:
    version = subnet.version
    kind = f"ipv{version}"
    if subnet.ipv6_address_mode is not None:
        kind += f"_{subnet.ipv6_address_mode}"
    elif subnet.dhcp_server is not None or subnet.enable_dhcp:
        return {"id": net_id, "type": f"{kind}_dhcp", "link": link_id,
                "network_id": vif.network_id}
    cidr = ipaddress.ip_network(subnet.cidr, strict=False)
    routes: list[Route] = []
    if subnet.gateway_ip:
        anywhere = "0.0.0.0" if version == 4 else "::"
        routes.append({"network": anywhere, "netmask": anywhere, "gateway": subnet.gateway_ip})
    for destination, nexthop in subnet.host_routes:
        dest = ipaddress.ip_network(destination, strict=False)
        routes.append({"network": str(dest.network_address), "netmask": str(dest.netmask),
                       "gateway": nexthop})
    return {"id": net_id, "type": kind, "link": link_id, "ip_address": subnet.ips[0],
            "netmask": str(cidr.netmask), "routes": routes, "network_id": vif.network_id,
            "services": _dns(subnet)}


def _dns(subnet: Subnet) -> list[Service]:
    return [{"type": "dns", "address": a} for a in subnet.dns_nameservers]
