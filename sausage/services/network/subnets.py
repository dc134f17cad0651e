"""Subnets: IPv4 and IPv6 address ranges of a network, with gateway, allocation pools, DNS
servers, host routes, DHCP (the network's DHCP port gets an address in each DHCP subnet) and
allocation from subnet pools.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete as sql_delete, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.network import ipam, networks, ports, query, quotas
from sausage.services.network import standard, subnetpools

__all__ = ["View", "view_of", "find", "show", "list_subnets", "create", "update", "delete"]

IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclasses.dataclass
class View:
    found: query.Found[nm.Subnet]


def view_of(s: Session, rows: Sequence[nm.Subnet]) -> View:
    """``rows`` (just written by this caller) as the API renders them."""
    return View(query.found_of(s, rows))


def not_found(subnet_id: str) -> errors.NotFound:
    return errors.NotFound(f"Subnet {subnet_id} could not be found.", kind="SubnetNotFound")


def _public_nets() -> Any:
    return select(nm.Network.id).where((nm.Network.shared.is_(True))
                                       | (nm.Network.external.is_(True)))


def find(s: Session, ctx: Context, subnet_id: str) -> nm.Subnet:
    row = s.get(nm.Subnet, subnet_id)
    if row is None:
        raise not_found(subnet_id)
    net = s.get(nm.Network, row.network_id)
    if not policy.allowed(ctx, "get_subnet", {
            "project_id": row.project_id,
            "public": net is not None and (net.shared or net.external),
            "network_project_id": net.project_id if net else None}):
        raise not_found(subnet_id)
    return row


def show(s: Session, ctx: Context, subnet_id: str) -> View:
    row = find(s, ctx, subnet_id)
    return View(query.found_of(s, [row]))


def list_subnets(s: Session, ctx: Context, q: query.ListQuery) -> View:
    stmt = select(nm.Subnet).where(query.owned_or(
        nm.Subnet, ctx, nm.Subnet.network_id.in_(_public_nets())))
    return View(query.run(s, stmt, nm.Subnet, q))


def bad(message: str) -> errors.BadRequest:
    return errors.BadRequest(f"Invalid input for operation: {message}", kind="InvalidInput")


def _parse_cidr(text: str, version: int) -> Net:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError as e:
        raise errors.BadRequest(f"Invalid input for cidr. Reason: '{text}' is not a valid IP "
                                "subnet.", kind="InvalidInput") from e
    if str(net) != text and str(net) != str(ipaddress.ip_network(text, strict=False)) or \
            int(ipaddress.ip_interface(text).ip) != int(net.network_address):
        raise errors.BadRequest(f"Invalid input for cidr. Reason: '{text}' isn't a recognized "
                                f"IP subnet cidr, '{net}' is recommended.", kind="InvalidInput")
    if net.version != version:
        raise bad("Cidr and IP version are not compatible.")
    if net.prefixlen == 0:
        raise bad("0 is not allowed as CIDR prefix length.")
    return net


def _gateway(net: Net, values: Mapping[str, Any], current: str | None = None) -> str | None:
    if "gateway_ip" not in values:
        if current is not None:
            return current
        lo, hi = ipam.host_range(net)
        return str(type(net.network_address)(lo)) if lo <= hi else None
    raw = values["gateway_ip"]
    if raw is None:
        return None
    try:
        gw = ipaddress.ip_address(raw)
    except ValueError as e:
        raise bad(f"'{raw}' is not a valid IP address") from e
    if gw.version != net.version:
        raise bad(f"Gateway IP version inconsistent with subnet IP version")
    if gw in net and net.version == 4 and net.prefixlen < 31 and \
            gw in (net.network_address, net.broadcast_address):
        raise bad(f"Gateway is not valid on subnet")
    if net.version == 6 and gw == net.network_address and net.prefixlen < 127:
        raise bad(f"Gateway is not valid on subnet")
    return str(gw)


def _dns(values: Sequence[Any], version: int) -> list[str]:
    out: list[str] = []
    for raw in values:
        try:
            out.append(str(ipaddress.ip_address(raw)))
        except ValueError as e:
            raise bad(f"'{raw}' is not a valid nameserver. The IP address '{raw}' is not "
                      "valid.") from e
    if len(set(out)) != len(out):
        raise bad(f"Duplicate nameserver '{out[0]}'.")
    return out


def _routes(values: Sequence[Any], version: int) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for route in values:
        if not isinstance(route, Mapping) or set(route) != {"destination", "nexthop"}:
            raise bad(f"Validation of dictionary's keys failed. Expected keys: "
                      f"{{'destination', 'nexthop'}} Provided keys: {route}")
        try:
            dest = ipaddress.ip_network(route["destination"], strict=False)
            hop = ipaddress.ip_address(route["nexthop"])
        except (ValueError, TypeError) as e:
            raise bad(f"Invalid route {route}") from e
        if dest.version != version or hop.version != version:
            raise bad(f"Invalid route {route}: IP version mismatch")
        entry = {"destination": str(dest), "nexthop": str(hop)}
        if entry in out:
            raise bad(f"Duplicate hostroute '{entry}'.")
        out.append(entry)
    return out


def _ipv6_modes(values: Mapping[str, Any], version: int, net: Net) -> tuple[str | None,
                                                                             str | None]:
    ra, addr = values.get("ipv6_ra_mode"), values.get("ipv6_address_mode")
    if version == 4:
        if ra or addr:
            raise bad("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is "
                      "set to False or the ip_version is 4.")
        return None, None
    for mode in (ra, addr):
        if mode is not None and mode not in IPV6_MODES:
            raise bad(f"'{mode}' is not in {list(IPV6_MODES)}")
    if ra and addr and ra != addr:
        raise bad(f"ipv6_ra_mode set to '{ra}' with ipv6_address_mode set to '{addr}' is not "
                  "valid. If both attributes are set, they must be the same value")
    if addr in ("slaac", "dhcpv6-stateless") and net.prefixlen != 64:
        raise bad(f"Invalid CIDR {net} for IPv6 address mode. OpenStack uses the EUI-64 "
                  "address format, which requires the prefix to be /64")
    if (ra or addr) and values.get("enable_dhcp") is False:
        raise bad("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to "
                  "False.")
    return ra, addr


def _overlap(s: Session, network_id: str, net: Net, except_id: str | None = None) -> None:
    for sid, cidr in s.execute(select(nm.Subnet.id, nm.Subnet.cidr).where(
            nm.Subnet.network_id == network_id)).tuples():
        if sid != except_id and net.overlaps(ipaddress.ip_network(cidr)):
            raise bad(f"Requested subnet with cidr: {net} for network: {network_id} overlaps "
                      "with another subnet")


def _pool_for(s: Session, ctx: Context, values: Mapping[str, Any], version: int | None
              ) -> nm.SubnetPool | None:
    if values.get("subnetpool_id"):
        pool = subnetpools.find(s, ctx, values["subnetpool_id"])
        if version is not None and pool.ip_version != version:
            raise bad(f"Cannot allocate IPv{version} subnet from IPv{pool.ip_version} subnet "
                      "pool")
        return pool
    if values.get("use_default_subnetpool"):
        if version is None:
            raise bad("ip_version must be specified in the absence of cidr and subnetpool_id")
        return subnetpools.default_pool(s, version)
    return None


def create(s: Session, ctx: Context, values: Mapping[str, Any],
           project_id: str | None = None) -> nm.Subnet:
    network = networks.find(s, ctx, values["network_id"])
    project = project_id or ctx.project_id or ""
    if project != ctx.project_id:
        policy.enforce(ctx, "create_subnet:project_id")
    policy.enforce(ctx, "create_subnet",
                   {"project_id": project, "network_project_id": network.project_id})
    version = values.get("ip_version")
    pool = _pool_for(s, ctx, values, version)
    if pool is not None:
        version = pool.ip_version
    if version not in (4, 6):
        raise bad(f"{version} is not in [4, 6]") if version is not None else \
            errors.BadRequest("Failed to parse request. Required attribute 'ip_version' not "
                              "specified", kind="HTTPBadRequest")
    if values.get("cidr"):
        net = _parse_cidr(values["cidr"], version)
        if pool is not None:
            subnetpools.check_inside(s, pool, net)
    elif pool is not None:
        if values.get("prefixlen") is not None and not isinstance(values["prefixlen"], int):
            raise bad("prefixlen must be an integer")
        net = subnetpools.carve(s, pool, values.get("prefixlen"))
    else:
        raise bad("A cidr must be specified in the absence of a subnet pool")
    _overlap(s, network.id, net)
    ra, addr = _ipv6_modes(values, version, net)
    gateway = _gateway(net, values)
    pools = values.get("allocation_pools")
    if pools:
        ipam.check_pools(net, pools, gateway)
        pools = [{"start": str(ipaddress.ip_address(p["start"])),
                  "end": str(ipaddress.ip_address(p["end"]))} for p in pools]
    else:
        pools = ipam.default_pools(net, gateway)
    quotas.check(s, project, "subnet")
    row = nm.Subnet(
        id=str(uuid.uuid4()), network_id=network.id, project_id=project,
        name=values.get("name", ""), description=values.get("description", ""),
        ip_version=version, cidr=str(net), gateway_ip=gateway,
        enable_dhcp=values.get("enable_dhcp", True), ipv6_ra_mode=ra, ipv6_address_mode=addr,
        subnetpool_id=pool.id if pool else None, allocation_pools=pools,
        dns_nameservers=_dns(values.get("dns_nameservers") or [], version),
        host_routes=_routes(values.get("host_routes") or [], version))
    s.add(row)
    s.flush()
    if values.get("tags"):
        standard.set_tags(s, row, "subnet", values["tags"])
    if row.enable_dhcp:
        ports.ensure_dhcp(s, network, row)
    changes.changed(s, networks=[network.id])
    return row


def update(s: Session, ctx: Context, subnet_id: str, values: Mapping[str, Any]) -> nm.Subnet:
    row = find(s, ctx, subnet_id)
    policy.enforce(ctx, "update_subnet", {"project_id": row.project_id})
    net = ipaddress.ip_network(row.cidr)
    for key in ("ipv6_ra_mode", "ipv6_address_mode"):
        if key in values and values[key] != getattr(row, key):
            raise errors.BadRequest(f"Cannot update read-only attribute {key}",
                                    kind="HTTPBadRequest")
    gateway = _gateway(net, values, row.gateway_ip) if "gateway_ip" in values \
        else row.gateway_ip
    pools = row.allocation_pools
    if "allocation_pools" in values:
        pools = [{"start": str(ipaddress.ip_address(p["start"])),
                  "end": str(ipaddress.ip_address(p["end"]))}
                 for p in (values["allocation_pools"] or [])] \
            if values["allocation_pools"] else ipam.default_pools(net, gateway)
    if "allocation_pools" in values or "gateway_ip" in values:
        ipam.check_pools(net, values.get("allocation_pools") or pools, gateway)
    if "gateway_ip" in values and gateway and gateway != row.gateway_ip:
        used = s.scalars(select(nm.IPAllocation.port_id).where(
            nm.IPAllocation.subnet_id == row.id, nm.IPAllocation.ip_address == gateway)).first()
        port = s.get(nm.Port, used) if used else None
        if port is not None and port.device_owner != "network:router_interface":
            raise errors.Conflict(f"Gateway ip {gateway} conflicts with allocation pool or is "
                                  f"in use by port {port.id}.", kind="GatewayIpInUse")
    row.gateway_ip = gateway
    row.allocation_pools = pools
    if "dns_nameservers" in values:
        row.dns_nameservers = _dns(values["dns_nameservers"] or [], row.ip_version)
    if "host_routes" in values:
        row.host_routes = _routes(values["host_routes"] or [], row.ip_version)
    for key in ("name", "description"):
        if key in values:
            setattr(row, key, values[key])
    network = s.get(nm.Network, row.network_id)
    assert network is not None
    if "enable_dhcp" in values and values["enable_dhcp"] != row.enable_dhcp:
        row.enable_dhcp = values["enable_dhcp"]
        s.flush()
        if row.enable_dhcp:
            ports.ensure_dhcp(s, network, row)
        else:
            ports.drop_dhcp(s, network.id, row.id)
    standard.touch(row)
    s.flush()
    changes.changed(s, networks=[row.network_id])
    return row


def delete(s: Session, ctx: Context, subnet_id: str) -> None:
    """Delete the subnet (and the DHCP port's address on it). Conflict ``SubnetInUse`` while
    another port has an address on it."""
    row = find(s, ctx, subnet_id)
    policy.enforce(ctx, "delete_subnet", {"project_id": row.project_id})
    # Addresses a SLAAC subnet gave ports automatically go with it (as in Neutron); only
    # router interfaces on it block the delete then.
    slaac = ipam.is_slaac(row)
    blocking = select(nm.Port.id).join(
        nm.IPAllocation, nm.IPAllocation.port_id == nm.Port.id).where(
        nm.IPAllocation.subnet_id == row.id,
        nm.Port.device_owner.not_in(networks.AUTO_DELETE_OWNERS))
    if slaac:
        blocking = blocking.where(nm.Port.device_owner.like("network:router_interface%"))
    busy = s.scalars(blocking).first()
    if busy:
        raise errors.Conflict(f"Unable to complete operation on subnet {row.id}: One or more "
                              "ports have an IP allocation from this subnet.",
                              kind="SubnetInUse")
    ports.drop_dhcp(s, row.network_id, row.id)
    changes.changed(s, networks=[row.network_id])
    if slaac:
        s.execute(sql_delete(nm.IPAllocation).where(nm.IPAllocation.subnet_id == row.id))
    standard.drop_tags(s, [row.id])
    s.delete(row)
    s.flush()
