"""The networking half of a host's desired-state document (``sausage.contract.host``).

Called by the network section of each host's document (``host_section.py``) for every
long-poll answer, so everything here is a handful of batched queries whatever the number of
ports (no query per port or per server):

- ``nics`` of each server on the host: its ports in creation order;
- ``networks`` the host must have: those of its servers' ports and, on the network node, every
  network with a DHCP server or a router port; each with the tunnel IPs of its other hosts;
- ``dhcp`` of those networks, on the network node only;
- ``ports``: the host's VM ports with their addresses and resolved security-group rules;
- ``routers``: on the network node only.

The network node is the first enabled, alive host registered with ``network_node`` (by
registration time); routers and DHCP servers live there.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sausage.contract import host as contract
from sausage.db.models import compute as cm
from sausage.db.models import network as nm
from sausage.db.models.base import utcnow
from sausage.services.network import dns_names

__all__ = ["HostNetworking", "build", "report_ports", "network_node", "tap_name", "COMPUTE_PREFIX",
           "DHCP_OWNER", "INTERFACE_OWNER", "GATEWAY_OWNER", "ROUTER_OWNERS"]

COMPUTE_PREFIX = "compute:"
DHCP_OWNER = "network:dhcp"
INTERFACE_OWNER = "network:router_interface"
GATEWAY_OWNER = "network:router_gateway"
ROUTER_OWNERS = (INTERFACE_OWNER, GATEWAY_OWNER)
# A host that has not reported for this long is down (the same rule as the scheduler's).
ALIVE_SECONDS = 60


@dataclasses.dataclass
class HostNetworking:
    nics: dict[str, list[contract.ServerNic]]  # server id → its NICs in PCI order
    networks: list[contract.DesiredNetwork]
    ports: list[contract.DesiredPort]
    routers: list[contract.DesiredRouter]


def tap_name(port_id: str) -> str:
    return "tap" + port_id[:11]


def network_node(s: Session) -> cm.Host | None:
    """The host that runs routers and DHCP servers: the first enabled, alive network node."""
    now = utcnow()
    for row in s.scalars(select(cm.Host).where(
            cm.Host.network_node.is_(True), cm.Host.enabled.is_(True),
            cm.Host.forced_down.is_(False)).order_by(cm.Host.created_at, cm.Host.id)):
        if row.last_seen is not None and \
                (now - row.last_seen).total_seconds() < ALIVE_SECONDS:
            return row
    return None


def build(s: Session, host: cm.Host, server_ids: Sequence[str]) -> HostNetworking:
    """The networking part of ``host``'s document for its servers ``server_ids``."""
    vm_ports = list(s.scalars(select(nm.Port).where(
        nm.Port.device_id.in_(list(server_ids)),
        nm.Port.device_owner.startswith(COMPUTE_PREFIX)).order_by(
        nm.Port.created_at, nm.Port.id))) if server_ids else []
    node = network_node(s)
    is_node = node is not None and node.id == host.id
    infra: list[nm.Port] = []
    if is_node:
        infra = list(s.scalars(select(nm.Port).where(
            nm.Port.device_owner.in_((DHCP_OWNER, *ROUTER_OWNERS))).order_by(
            nm.Port.created_at, nm.Port.id)))
    net_ids = sorted({p.network_id for p in vm_ports} | {p.network_id for p in infra})
    nets = {n.id: n for n in s.scalars(select(nm.Network).where(nm.Network.id.in_(net_ids)))} \
        if net_ids else {}
    subnets = _subnets(s, net_ids)
    ips = _fixed_ips(s, [p.id for p in vm_ports] + [p.id for p in infra])

    nics: dict[str, list[contract.ServerNic]] = {sid: [] for sid in server_ids}
    for port in vm_ports:
        net = nets.get(port.network_id)
        nics.setdefault(port.device_id, []).append({
            "port_id": port.id, "mac": port.mac_address, "tap": tap_name(port.id),
            "mtu": net.mtu if net is not None else 1450})

    dhcp_ports = {p.network_id: p for p in infra if p.device_owner == DHCP_OWNER}
    peers = _peers(s, host, net_ids)
    if node is not None and not is_node:
        # The network node serves DHCP and routing of these networks: it is a peer too.
        served = _served_by_node(s, net_ids)
        for net_id in served:
            if node.tunnel_ip and node.tunnel_ip not in peers[net_id]:
                peers[net_id].append(node.tunnel_ip)
    serving = [n for n in net_ids if n in dhcp_ports] if is_node else []
    domains = _domains(s, [nets[n] for n in serving if n in nets])
    dhcp_hosts = _dhcp_hosts(s, serving, domains)
    networks: list[contract.DesiredNetwork] = []
    for net_id in net_ids:
        net = nets.get(net_id)
        if net is None:
            continue
        doc: contract.DesiredNetwork = {
            "id": net.id, "mtu": net.mtu,
            "network_type": "flat" if net.network_type == "flat" else "vxlan",
            "segmentation_id": net.segmentation_id if net.network_type != "flat" else None,
            "physical_network": net.physical_network, "peers": sorted(peers.get(net_id, []))}
        dport = dhcp_ports.get(net_id)
        if dport is not None:
            own = {sub: ip for sub, ip in ips.get(dport.id, [])}
            doc["dhcp"] = {
                "port_id": dport.id, "mac": dport.mac_address,
                "subnets": [_subnet_doc(sub, own.get(sub.id) if sub.enable_dhcp else None)
                            for sub in subnets.get(net_id, [])],
                "hosts": dhcp_hosts.get(net_id, []),
                "dns_domain": domains.get(net_id, dns_names.cloud_domain(s)),
                "dns_resolvers": _resolvers(s, subnets.get(net_id, []), set(own.values()))}
        networks.append(doc)

    ports = _port_docs(s, vm_ports, ips)
    routers = _routers(s, infra, ips, subnets) if is_node else []
    return HostNetworking(nics, networks, ports, routers)


def report_ports(s: Session, host: cm.Host, ports_up: Sequence[str]) -> None:
    """Fold a host's ``ports_up`` into Neutron's port status: its ports in the list are
    ACTIVE, its others DOWN (the network node's are also its DHCP and router ports); floating
    IPs follow their fixed port when the network node reports."""
    up = sorted(set(ports_up))
    mine = [nm.Port.binding_host_id == host.name]
    node = network_node(s)
    is_node = node is not None and node.id == host.id
    if is_node:
        mine.append(nm.Port.device_owner.in_((DHCP_OWNER, *ROUTER_OWNERS)))
    own = or_(*mine)
    s.execute(update(nm.Port).where(own, nm.Port.id.in_(up), nm.Port.status != "ACTIVE")
              .values(status="ACTIVE").execution_options(synchronize_session=False))
    s.execute(update(nm.Port).where(own, nm.Port.id.not_in(up), nm.Port.status != "DOWN")
              .values(status="DOWN").execution_options(synchronize_session=False))
    if is_node:
        active = select(nm.Port.id).where(nm.Port.status == "ACTIVE")
        s.execute(update(nm.FloatingIP).where(
            nm.FloatingIP.fixed_port_id.in_(active), nm.FloatingIP.router_id.is_not(None),
            nm.FloatingIP.status != "ACTIVE").values(status="ACTIVE")
            .execution_options(synchronize_session=False))
        s.execute(update(nm.FloatingIP).where(
            or_(nm.FloatingIP.fixed_port_id.is_(None), nm.FloatingIP.router_id.is_(None),
                nm.FloatingIP.fixed_port_id.not_in(active)),
            nm.FloatingIP.status != "DOWN").values(status="DOWN")
            .execution_options(synchronize_session=False))


# --- pieces -----------------------------------------------------------------------------------

def _subnets(s: Session, net_ids: Sequence[str]) -> dict[str, list[nm.Subnet]]:
    out: dict[str, list[nm.Subnet]] = {}
    if net_ids:
        for sub in s.scalars(select(nm.Subnet).where(nm.Subnet.network_id.in_(list(net_ids)))
                             .order_by(nm.Subnet.created_at, nm.Subnet.id)):
            out.setdefault(sub.network_id, []).append(sub)
    return out


def _fixed_ips(s: Session, port_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Port id → [(subnet id, address)], IPv4 first, in one query."""
    out: dict[str, list[tuple[str, str]]] = {p: [] for p in port_ids}
    if not port_ids:
        return out
    rows = s.execute(select(nm.IPAllocation.port_id, nm.IPAllocation.subnet_id,
                            nm.IPAllocation.ip_address).where(
        nm.IPAllocation.port_id.in_(list(port_ids)))).tuples().all()
    for port_id, subnet_id, address in sorted(rows, key=lambda r: _ip_key(r[2])):
        out[port_id].append((subnet_id, address))
    return out


def _ip_key(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return ip.version, int(ip)


def _subnet_doc(sub: nm.Subnet, dhcp_ip: str | None) -> contract.DesiredSubnet:
    return {"id": sub.id, "cidr": sub.cidr, "ip_version": 6 if sub.ip_version == 6 else 4,
            "gateway_ip": sub.gateway_ip, "enable_dhcp": sub.enable_dhcp,
            "dns_nameservers": list(sub.dns_nameservers or []),
            "host_routes": [{"destination": r["destination"], "nexthop": r["nexthop"]}
                            for r in sub.host_routes or []],
            "ipv6_ra_mode": sub.ipv6_ra_mode, "ipv6_address_mode": sub.ipv6_address_mode,
            "dhcp_ip": dhcp_ip}


def _peers(s: Session, host: cm.Host, net_ids: Sequence[str]) -> dict[str, list[str]]:
    """Network id → tunnel IPs of the other hosts with VM ports on it."""
    out: dict[str, list[str]] = {n: [] for n in net_ids}
    if not net_ids:
        return out
    rows = s.execute(select(nm.Port.network_id, cm.Host.tunnel_ip).join(
        cm.Host, cm.Host.name == nm.Port.binding_host_id).where(
        nm.Port.network_id.in_(list(net_ids)), cm.Host.id != host.id,
        cm.Host.tunnel_ip.is_not(None),
        nm.Port.device_owner.startswith(COMPUTE_PREFIX)).distinct()).tuples()
    for net_id, tunnel_ip in rows:
        if tunnel_ip and tunnel_ip not in out[net_id]:
            out[net_id].append(tunnel_ip)
    return out


def _served_by_node(s: Session, net_ids: Sequence[str]) -> set[str]:
    """Those of ``net_ids`` the network node has (DHCP server or router port on them)."""
    if not net_ids:
        return set()
    return set(s.scalars(select(nm.Port.network_id).where(
        nm.Port.network_id.in_(list(net_ids)),
        nm.Port.device_owner.in_((DHCP_OWNER, *ROUTER_OWNERS))).distinct()))


def _domains(s: Session, nets: Sequence[nm.Network]) -> dict[str, str]:
    """Network id → the domain its names are under: its dns_domain (keywords replaced by its
    project's), else the cloud's."""
    names = dns_names.project_names(s, [n.project_id for n in nets
                                        if "<project_name>" in n.dns_domain])
    return {n.id: dns_names.expand(n.dns_domain, n.project_id, names.get(n.project_id))
            if n.dns_domain else dns_names.cloud_domain(s) for n in nets}


def _resolvers(s: Session, subs: Sequence[nm.Subnet], own: set[str]) -> list[str]:
    """Where the network's DNS forwards other names: its subnets' name servers (not "any",
    not the DHCP port itself), else the cloud's resolvers."""
    out: list[str] = []
    for sub in subs:
        for server in sub.dns_nameservers or []:
            if ipaddress.ip_address(server).is_unspecified or server in own:
                continue
            if server not in out:
                out.append(server)
    return out or dns_names.cloud_resolvers(s)


def _dhcp_hosts(s: Session, net_ids: Sequence[str], domains: dict[str, str]
                ) -> dict[str, list[contract.DhcpHost]]:
    """Static leases: every compute port's MAC and address, with its name (its dns_name, else
    its server's hostname) and the fqdn of its dns_assignment."""
    out: dict[str, list[contract.DhcpHost]] = {n: [] for n in net_ids}
    if not net_ids:
        return out
    rows = s.execute(select(nm.Port.network_id, nm.Port.project_id, nm.Port.mac_address,
                            nm.Port.dns_name, nm.Port.dns_domain,
                            nm.IPAllocation.ip_address, cm.Server.hostname).join(
        nm.IPAllocation, nm.IPAllocation.port_id == nm.Port.id).outerjoin(
        cm.Server, cm.Server.id == nm.Port.device_id).where(
        nm.Port.network_id.in_(list(net_ids)),
        nm.Port.device_owner.startswith(COMPUTE_PREFIX)).order_by(
        nm.Port.created_at, nm.Port.id)).tuples().all()
    owners = dns_names.project_names(s, [r[1] for r in rows if "<project_name>" in r[4]])
    for net_id, project, mac, dns_name, dns_domain, address, hostname in rows:
        domain = dns_names.expand(dns_domain, project, owners.get(project)) if dns_domain \
            else domains.get(net_id, dns_names.cloud_domain(s))
        fqdn = dns_names.assignment(dns_name, [address], domain)[0]["fqdn"]
        name = dns_name.split(".")[0] if dns_name else \
            hostname or dns_names.host_label(address)
        out[net_id].append({"mac": mac, "ip": address, "hostname": name, "fqdn": fqdn})
    return out


def _port_docs(s: Session, vm_ports: Sequence[nm.Port], ips: dict[str, list[tuple[str, str]]]
               ) -> list[contract.DesiredPort]:
    port_ids = [p.id for p in vm_ports]
    groups: dict[str, list[str]] = {p: [] for p in port_ids}
    if port_ids:
        for port_id, group_id in s.execute(select(
                nm.PortSecurityGroup.port_id, nm.PortSecurityGroup.security_group_id).where(
                nm.PortSecurityGroup.port_id.in_(port_ids)).order_by(
                nm.PortSecurityGroup.security_group_id)).tuples():
            groups[port_id].append(group_id)
    rules = _rules(s, sorted({g for gs in groups.values() for g in gs}))
    out: list[contract.DesiredPort] = []
    for port in vm_ports:
        resolved: list[contract.SecurityRule] = []
        for gid in groups[port.id]:
            for rule in rules.get(gid, []):
                if rule not in resolved:
                    resolved.append(rule)
        out.append({
            "id": port.id, "network_id": port.network_id, "server_id": port.device_id,
            "mac": port.mac_address, "tap": tap_name(port.id),
            "fixed_ips": [ip for _sub, ip in ips.get(port.id, [])],
            "port_security": port.port_security_enabled,
            "allowed_address_pairs": [{"ip_address": p["ip_address"],
                                       "mac_address": p.get("mac_address") or port.mac_address}
                                      for p in port.allowed_address_pairs or []],
            "rules": resolved if port.port_security_enabled else []})
    return out


def _rules(s: Session, group_ids: Sequence[str]) -> dict[str, list[contract.SecurityRule]]:
    """Group id → its rules, remote groups expanded into their members' addresses."""
    out: dict[str, list[contract.SecurityRule]] = {g: [] for g in group_ids}
    if not group_ids:
        return out
    rows = list(s.scalars(select(nm.SecurityGroupRule).where(
        nm.SecurityGroupRule.security_group_id.in_(list(group_ids))).order_by(
        nm.SecurityGroupRule.created_at, nm.SecurityGroupRule.id)))
    remotes = sorted({r.remote_group_id for r in rows if r.remote_group_id})
    members: dict[str, list[str]] = {g: [] for g in remotes}
    if remotes:
        member_rows = s.execute(select(nm.PortSecurityGroup.security_group_id,
                                       nm.IPAllocation.ip_address).join(
            nm.IPAllocation, nm.IPAllocation.port_id == nm.PortSecurityGroup.port_id).where(
            nm.PortSecurityGroup.security_group_id.in_(remotes))).tuples().all()
        for gid, address in sorted(member_rows, key=lambda r: (r[0], _ip_key(r[1]))):
            if address not in members[gid]:
                members[gid].append(address)
    for rule in rows:
        version = 6 if rule.ethertype == "IPv6" else 4
        prefixes: list[str] | None
        if rule.remote_group_id:
            prefixes = [a for a in members.get(rule.remote_group_id, [])
                        if ipaddress.ip_address(a).version == version]
        elif rule.remote_address_group_id:
            prefixes = []  # address groups are not offered: nobody matches
        elif rule.remote_ip_prefix:
            prefixes = [rule.remote_ip_prefix]
        else:
            prefixes = None
        out[rule.security_group_id].append({
            "direction": "egress" if rule.direction == "egress" else "ingress",
            "ethertype": "IPv6" if version == 6 else "IPv4", "protocol": rule.protocol,
            "port_range_min": rule.port_range_min, "port_range_max": rule.port_range_max,
            "remote_ip_prefixes": prefixes})
    return out


def _router_port(port: nm.Port, ips: dict[str, list[tuple[str, str]]],
                 cidrs: dict[str, str]) -> contract.RouterPort:
    addresses = []
    for sub, ip in ips.get(port.id, []):
        prefix = cidrs.get(sub, "").rpartition("/")[2]
        if prefix:
            addresses.append(f"{ip}/{prefix}")
    return {"port_id": port.id, "network_id": port.network_id, "mac": port.mac_address,
            "addresses": addresses}


def _routers(s: Session, infra: Sequence[nm.Port], ips: dict[str, list[tuple[str, str]]],
             subnets: dict[str, list[nm.Subnet]]) -> list[contract.DesiredRouter]:
    # An administratively down router is plugged (its ports go ACTIVE, which Tempest waits
    # for: its routers are made down) but forwards nothing.
    routers = list(s.scalars(select(nm.Router)
                             .order_by(nm.Router.created_at, nm.Router.id)))
    if not routers:
        return []
    by_subnet = {sub.id: sub for subs in subnets.values() for sub in subs}
    cidrs = {sid: sub.cidr for sid, sub in by_subnet.items()}
    ports = {p.id: p for p in infra}
    interfaces: dict[str, list[nm.Port]] = {}
    for port in infra:
        if port.device_owner == INTERFACE_OWNER:
            interfaces.setdefault(port.device_id, []).append(port)
    routes: dict[str, list[contract.Route]] = {}
    for rid, destination, nexthop in s.execute(select(
            nm.RouterRoute.router_id, nm.RouterRoute.destination, nm.RouterRoute.nexthop).order_by(
            nm.RouterRoute.destination, nm.RouterRoute.nexthop)).tuples():
        routes.setdefault(rid, []).append({"destination": destination, "nexthop": nexthop})
    fips: dict[str, list[contract.FloatingIp]] = {}
    for fip_router, floating, fixed in s.execute(select(
            nm.FloatingIP.router_id, nm.FloatingIP.floating_ip_address,
            nm.FloatingIP.fixed_ip_address).where(
            nm.FloatingIP.router_id.is_not(None), nm.FloatingIP.fixed_ip_address.is_not(None),
            nm.FloatingIP.fixed_port_id.is_not(None)).order_by(
            nm.FloatingIP.floating_ip_address)).tuples():
        if fip_router is not None and fixed is not None:
            fips.setdefault(fip_router, []).append({"floating_ip": floating, "fixed_ip": fixed})
    out: list[contract.DesiredRouter] = []
    for router in routers:
        gw = ports.get(router.gw_port_id or "")
        gateway_ip: str | None = None
        if gw is not None:
            for sub_id, _ip in ips.get(gw.id, []):
                sub = by_subnet.get(sub_id)
                if sub is not None and sub.gateway_ip and sub.ip_version == 4:
                    gateway_ip = sub.gateway_ip
                    break
        out.append({
            "id": router.id,
            "gateway": _router_port(gw, ips, cidrs) if gw is not None else None,
            "gateway_ip": gateway_ip, "enable_snat": router.enable_snat,
            "interfaces": [_router_port(p, ips, cidrs) for p in interfaces.get(router.id, [])],
            "routes": routes.get(router.id, []), "floating_ips": fips.get(router.id, []),
            "admin_state_up": router.admin_state_up})
    return out
