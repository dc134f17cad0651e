"""Nova's side of Neutron: a server's requested networks become ports, its ports become its
``addresses``; os-interface attaches and detaches them.

``servers.create`` calls ``plan`` before writing anything (every 4xx Nova gives for bad
networks, ports, fixed IPs, security groups or port quota) and ``attach`` once the server is
scheduled, in the same transaction: a failure leaves nothing behind. ``servers.delete`` calls
``release``: ports Nova made go with the server, ports the user brought are unbound and kept
(Nova's ``preserve_on_delete``, remembered in ``Server.observed["preserve_ports"]``).
Every port gets the server's hostname as its ``dns_name`` (Nova with Neutron's
dns-integration); a user's port that already has another ``dns_name`` is refused (400).
Auto-allocated topologies (``get-me-a-network``) are not built: ``"auto"`` uses the project's
one network when there is exactly one.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.db.models import network as nm
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.network import default_group, networks, ports, quotas

__all__ = ["Request", "Plan", "plan", "attach", "release", "server_ports", "addresses",
           "security_group_names", "available_networks", "attach_interface", "detach_interface",
           "COMPUTE_OWNER_PREFIX", "AMBIGUOUS", "rebind", "proxy_networks", "servers_with_ip",
           "group_members_changed"]

COMPUTE_OWNER_PREFIX = "compute:"
AMBIGUOUS = "Multiple possible networks found, use a Network ID to be more specific."


@dataclasses.dataclass
class Request:
    """One NIC to make: on ``network`` (with ``fixed_ip`` if asked), or the user's ``port``."""

    network: nm.Network
    fixed_ip: str | None = None
    port: nm.Port | None = None


@dataclasses.dataclass
class Plan:
    requests: list[Request]
    security_group_ids: list[str] | None  # None: the project's default group


def available_networks(s: Session, project_id: str) -> list[nm.Network]:
    """What Nova attaches when not told: the project's own networks and the shared ones, never
    an external network."""
    return list(s.scalars(select(nm.Network).where(
        or_(nm.Network.project_id == project_id, nm.Network.shared.is_(True)),
        nm.Network.external.is_(False), nm.Network.admin_state_up.is_(True)).order_by(
        nm.Network.created_at, nm.Network.id)))


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _network(s: Session, ctx: Context, network_id: Any) -> nm.Network:
    if not isinstance(network_id, str) or not _is_uuid(network_id):
        raise errors.BadRequest("Bad networks format: network uuid is not in proper format "
                                f"({network_id})")
    try:
        network = networks.get_network(s, ctx, network_id)
    except errors.NotFound as e:
        raise errors.BadRequest(f"Network {network_id} could not be found.") from e
    if network.external:
        policy.enforce(ctx, "network:attach_external_network",
                       {"public": network.shared, "network_id": network_id})
    return network


def _user_port(s: Session, ctx: Context, port_id: Any) -> tuple[nm.Port, nm.Network]:
    if not isinstance(port_id, str) or not _is_uuid(port_id):
        raise errors.BadRequest(f"Bad port format: port uuid is not in proper format "
                                f"({port_id})")
    try:
        port = ports.find(s, ctx, port_id)
    except errors.NotFound as e:
        raise errors.BadRequest(f"Port id {port_id} could not be found.") from e
    if port.device_id or port.device_owner:
        raise errors.Conflict(f"Port {port_id} is still in use.")
    if not ports.fixed_ips(s, [port.id])[port.id]:
        raise errors.BadRequest(f"Port {port_id} requires a FixedIP in order to be used.")
    network = s.get(nm.Network, port.network_id)
    assert network is not None
    return port, network


def _fixed_ip(s: Session, network: nm.Network, value: Any) -> str:
    try:
        address = str(ipaddress.ip_address(str(value)))
    except ValueError as e:
        raise errors.BadRequest(f"Invalid input for field/attribute fixed_ip. Value: {value}. "
                                f"'{value}' is not a valid IP address") from e
    taken = s.execute(select(nm.Port.device_id).join(
        nm.IPAllocation, nm.IPAllocation.port_id == nm.Port.id).where(
        nm.IPAllocation.network_id == network.id,
        nm.IPAllocation.ip_address == address)).first()
    if taken is not None:
        raise errors.BadRequest(f"Fixed IP address {address} is already in use on instance "
                                f"{taken[0]}.")
    return address


def _security_groups(s: Session, project_id: str, wanted: Any) -> list[str] | None:
    """Group ids for the request's ``security_groups`` ([{"name": name-or-id}])."""
    if not wanted:
        return None
    out: list[str] = []
    for item in wanted:
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            raise errors.BadRequest("Invalid input for field/attribute security_groups.")
        if name == "default":
            gid = default_group.ensure_default(s, project_id).id
        else:
            found = s.scalars(select(nm.SecurityGroup.id).where(
                or_(nm.SecurityGroup.project_id == project_id, nm.SecurityGroup.shared.is_(True)),
                or_(nm.SecurityGroup.name == name, nm.SecurityGroup.id == name))).all()
            if not found:
                raise errors.BadRequest(f"Security group {name} not found for project "
                                        f"{project_id}.")
            if len(found) > 1:
                raise errors.Conflict(f"Multiple security group matches found for name "
                                      f"'{name}', use an ID to be more specific.")
            gid = found[0]
        if gid not in out:
            out.append(gid)
    return out


def plan(s: Session, ctx: Context, requested: Any, security_groups: Any, count: int) -> Plan:
    """Check a create request's networks; raises Nova's 4xx before anything is written.
    ``requested``: None (no ``networks`` key, before 2.37), "auto", "none" or a list."""
    project = ctx.project_id or ""
    groups = _security_groups(s, project, security_groups)
    reqs: list[Request] = []
    if requested is None or requested == "auto" or requested == []:
        # An empty list is no request at all for Nova: the default applies.
        found = available_networks(s, project)
        if len(found) > 1:
            raise errors.Conflict(AMBIGUOUS)
        if not found and requested == "auto":
            raise errors.BadRequest(f"Unable to automatically allocate a network for project "
                                    f"{project} (auto-allocated topologies are not offered "
                                    "here: create a network, or ask for \"none\").")
        reqs = [Request(net) for net in found]
    elif requested == "none":
        reqs = []
    elif isinstance(requested, list):
        for item in requested:
            if not isinstance(item, Mapping):
                raise errors.BadRequest("Bad networks format")
            if item.get("port"):
                if item.get("fixed_ip") is not None:
                    raise errors.BadRequest(
                        f"Specified Fixed IP '{item['fixed_ip']}' cannot be used with port "
                        f"'{item['port']}': the two cannot be specified together.")
                if count > 1:
                    raise errors.BadRequest("Unable to launch multiple instances with a single "
                                            "configured port ID. Please launch your instance "
                                            "one by one with different ports.")
                port, network = _user_port(s, ctx, item["port"])
                if any(r.port is not None and r.port.id == port.id for r in reqs):
                    raise errors.BadRequest(f"Port {port.id} is requested more than once.")
                reqs.append(Request(network, None, port))
                continue
            if "uuid" not in item:
                raise errors.BadRequest("Bad network format: missing 'uuid'")
            network = _network(s, ctx, item["uuid"])
            fixed = None
            if item.get("fixed_ip") is not None:
                if count > 1:
                    raise errors.BadRequest("max_count cannot be greater than 1 if an fixed_ip "
                                            "is specified.")
                fixed = _fixed_ip(s, network, item["fixed_ip"])
            reqs.append(Request(network, fixed))
    else:
        raise errors.BadRequest("Bad networks format")
    needed = count * sum(1 for r in reqs if r.port is None)
    if needed:
        try:
            quotas.check(s, project, "port", needed)
        except errors.Conflict as e:
            raise errors.QuotaExceeded("Maximum number of ports exceeded") from e
    return Plan(reqs, groups)


def _owner(server: m.Server) -> str:
    return COMPUTE_OWNER_PREFIX + (server.availability_zone or "nova")


def _make(s: Session, server: m.Server, host_name: str, req: Request,
          groups: list[str] | None) -> nm.Port:
    dns_name = _dns_name(s, server, req.network)
    if req.port is not None:
        port = req.port
        if port.dns_name and port.dns_name != server.hostname:
            # Nova's PortNotUsableDNS: the user's name for the port must be the hostname.
            raise errors.BadRequest(
                f"Port {port.id} not usable for instance {server.id}. Value {port.dns_name} "
                "assigned to dns_name attribute does not match instance's hostname "
                f"{server.hostname}")
        port.device_id, port.device_owner = server.id, _owner(server)
        port.binding_host_id = host_name
        port.dns_name = dns_name
        preserve = list(server.observed.get("preserve_ports", []))
        server.observed = {**server.observed, "preserve_ports": [*preserve, port.id]}
        s.flush()
        changes.changed(s, networks=[port.network_id])
        return port
    if not req.network.port_security_enabled:
        groups = []
    try:
        return ports.make_port(
            s, network=req.network, project_id=server.project_id, device_owner=_owner(server),
            device_id=server.id, binding_host_id=host_name,
            fixed_ips=[{"ip_address": req.fixed_ip}] if req.fixed_ip else None,
            security_group_ids=groups, dns_name=dns_name)
    except errors.Conflict as e:
        raise errors.BadRequest(f"Unable to create a port on network {req.network.id}: "
                                f"{e.message}") from e


def _dns_name(s: Session, server: m.Server, network: nm.Network) -> str:
    """The ``dns_name`` Nova gives the server's ports (Neutron has dns-integration): its
    hostname — '' when that is no valid DNS name (Nova's "Instance hostname … is not a valid
    DNS name" would fail the boot; here the port keeps no name and answers as host-<ip>)."""
    try:
        return ports.dns_fields(s, network, server.project_id, server.hostname, "")[0]
    except errors.BadRequest:
        return ""


def attach(s: Session, server: m.Server, host_name: str, planned: Plan) -> None:
    """Make (or bind) the server's ports, in the order asked, for the scheduled host."""
    made = [_make(s, server, host_name, req, planned.security_group_ids)
            for req in planned.requests]
    group_members_changed(s, [p.id for p in made])


def group_members_changed(s: Session, port_ids: Sequence[str]) -> None:
    """Ports joined or left security groups: hosts whose ports have rules naming those groups
    as remote groups (possibly on other networks) must re-resolve their members."""
    if not port_ids:
        return
    groups = select(nm.PortSecurityGroup.security_group_id).where(
        nm.PortSecurityGroup.port_id.in_(list(port_ids)))
    referring = select(nm.SecurityGroupRule.security_group_id).where(
        nm.SecurityGroupRule.remote_group_id.in_(groups))
    hosts_ = select(nm.Port.binding_host_id).join(
        nm.PortSecurityGroup, nm.PortSecurityGroup.port_id == nm.Port.id).where(
        nm.PortSecurityGroup.security_group_id.in_(referring), nm.Port.binding_host_id != "")
    changes.changed(s, names=s.scalars(hosts_))


def server_ports(s: Session, server_ids: Sequence[str]) -> dict[str, list[nm.Port]]:
    """Server id → its ports in creation (PCI) order, in one query."""
    out: dict[str, list[nm.Port]] = {i: [] for i in server_ids}
    if server_ids:
        for port in s.scalars(select(nm.Port).where(
                nm.Port.device_id.in_(list(server_ids)),
                nm.Port.device_owner.startswith(COMPUTE_OWNER_PREFIX)).order_by(
                nm.Port.created_at, nm.Port.id)):
            out[port.device_id].append(port)
    return out


def _unbind(s: Session, port: nm.Port) -> None:
    # Nova resets the dns_name it gave the port.
    port.device_id = port.device_owner = port.binding_host_id = port.dns_name = ""
    port.status = "DOWN"
    s.flush()
    changes.changed(s, networks=[port.network_id])


def _forget(s: Session, server: m.Server, port_id: str) -> None:
    """Drop the port from the preserved list; the port itself is handled by the caller."""
    keep = [p for p in server.observed.get("preserve_ports", []) if p != port_id]
    server.observed = {**server.observed, "preserve_ports": keep}


def release(s: Session, server: m.Server) -> None:
    """The server is going: delete the ports Nova made, unbind the user's own."""
    preserved = set(server.observed.get("preserve_ports", []))
    going = server_ports(s, [server.id])[server.id]
    group_members_changed(s, [p.id for p in going])
    for port in going:
        if port.id in preserved:
            _unbind(s, port)
        else:
            ports.delete_port_row(s, port)


def rebind(s: Session, server: m.Server, host_name: str) -> None:
    """The server moved to ``host_name`` (or was scheduled late): its ports follow."""
    for port in server_ports(s, [server.id])[server.id]:
        if port.binding_host_id != host_name:
            port.binding_host_id = host_name
            s.flush()
            changes.changed(s, networks=[port.network_id])


# --- what the compute API shows ---------------------------------------------------------------

def addresses(s: Session, server_ids: Sequence[str]
              ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Server id → Nova's ``addresses`` {network name: [{version, addr, OS-EXT-IPS:type,
    OS-EXT-IPS-MAC:mac_addr}]}: fixed IPs, each followed by its floating IPs. Four queries
    whatever the number of servers."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {i: {} for i in server_ids}
    by_server = server_ports(s, server_ids)
    all_ports = [p for ps in by_server.values() for p in ps]
    if not all_ports:
        return out
    ips = ports.fixed_ips(s, [p.id for p in all_ports])
    net_ids = sorted({p.network_id for p in all_ports})
    names = dict(s.execute(select(nm.Network.id, nm.Network.name).where(
        nm.Network.id.in_(net_ids))).tuples().all())
    floating: dict[tuple[str, str], list[str]] = {}
    for port_id, fixed, address in s.execute(select(
            nm.FloatingIP.fixed_port_id, nm.FloatingIP.fixed_ip_address,
            nm.FloatingIP.floating_ip_address).where(
            nm.FloatingIP.fixed_port_id.in_([p.id for p in all_ports])).order_by(
            nm.FloatingIP.floating_ip_address)).tuples():
        if port_id is not None and fixed is not None:
            floating.setdefault((port_id, fixed), []).append(address)
    for server_id, server_ports_ in by_server.items():
        for port in server_ports_:
            label = names.get(port.network_id) or port.network_id
            entries = out[server_id].setdefault(label, [])
            for _subnet, ip in ips.get(port.id, []):
                entries.append(_address(ip, "fixed", port.mac_address))
                for fip in floating.get((port.id, ip), []):
                    entries.append(_address(fip, "floating", port.mac_address))
    return out


def _address(ip: str, kind: str, mac: str) -> dict[str, Any]:
    return {"version": ipaddress.ip_address(ip).version, "addr": ip,
            "OS-EXT-IPS:type": kind, "OS-EXT-IPS-MAC:mac_addr": mac}


def security_group_names(s: Session, server_ids: Sequence[str]) -> dict[str, list[str]]:
    """Server id → the names of its ports' security groups (unique, sorted)."""
    out: dict[str, list[str]] = {i: [] for i in server_ids}
    if not server_ids:
        return out
    rows = s.execute(select(nm.Port.device_id, nm.SecurityGroup.name).join(
        nm.PortSecurityGroup, nm.PortSecurityGroup.port_id == nm.Port.id).join(
        nm.SecurityGroup, nm.SecurityGroup.id == nm.PortSecurityGroup.security_group_id).where(
        nm.Port.device_id.in_(list(server_ids)),
        nm.Port.device_owner.startswith(COMPUTE_OWNER_PREFIX)).distinct()).tuples()
    for server_id, name in rows:
        if name not in out[server_id]:
            out[server_id].append(name)
    for names in out.values():
        names.sort()
    return out


# --- os-interface ------------------------------------------------------------------------------

def attach_interface(s: Session, ctx: Context, server: m.Server, host_name: str,
                     values: Mapping[str, Any]) -> nm.Port:
    """POST os-interface: a new port on ``net_id`` (optionally with ``fixed_ips``) or the
    user's ``port_id``; the agent hot-plugs it."""
    net_id, port_id = values.get("net_id"), values.get("port_id")
    fixed = values.get("fixed_ips") or []
    if net_id and port_id:
        raise errors.BadRequest("Must not input both network_id and port_id")
    if port_id:
        if fixed:
            raise errors.BadRequest("Must input network_id when request IP address")
        port, network = _user_port(s, ctx, port_id)
        return _make(s, server, host_name, Request(network, None, port), None)
    if net_id:
        network = _network(s, ctx, net_id)
    else:
        found = available_networks(s, server.project_id)
        if len(found) != 1:
            raise errors.Conflict(AMBIGUOUS) if found else errors.BadRequest(
                "Unable to automatically allocate a network for project "
                f"{server.project_id}")
        network = found[0]
    if len(fixed) > 1:
        raise errors.BadRequest("Invalid input for field/attribute fixed_ips: at most one "
                                "fixed IP may be requested.")
    address = None
    if fixed:
        if not isinstance(fixed[0], Mapping) or "ip_address" not in fixed[0]:
            raise errors.BadRequest("Invalid input for field/attribute fixed_ips.")
        address = _fixed_ip(s, network, fixed[0]["ip_address"])
    try:
        quotas.check(s, server.project_id, "port", 1)
    except errors.Conflict as e:
        raise errors.QuotaExceeded("Maximum number of ports exceeded") from e
    return _make(s, server, host_name, Request(network, address), None)


def detach_interface(s: Session, server: m.Server, port_id: str) -> None:
    """DELETE os-interface/{port_id}: the port leaves the server (deleted if Nova made it)."""
    port = next((p for p in server_ports(s, [server.id])[server.id] if p.id == port_id), None)
    if port is None:
        raise errors.NotFound(f"Port {port_id} is not attached")
    group_members_changed(s, [port.id])
    if port_id in set(server.observed.get("preserve_ports", [])):
        _forget(s, server, port_id)
        _unbind(s, port)
    else:
        ports.delete_port_row(s, port)


def proxy_networks(s: Session, ctx: Context, network_id: str | None) -> list[nm.Network]:
    """os-networks (before 2.36): the Neutron networks ``ctx`` sees, or the one asked for."""
    if network_id is not None:
        try:
            return [networks.get_network(s, ctx, network_id)]
        except errors.NotFound as e:
            raise errors.NotFound(f"Network {network_id} could not be found.") from e
    return list(s.scalars(select(nm.Network).where(networks.visible(ctx)).order_by(
        nm.Network.created_at, nm.Network.id)))


def servers_with_ip(pattern: str, version: int) -> Any:
    """A subquery of the ids of servers with a fixed IPv``version`` address matching the
    regular expression ``pattern`` (Nova's ``ip``/``ip6`` list filters)."""
    try:
        re.compile(pattern)
    except re.error as e:
        raise errors.BadRequest(f"Invalid regular expression for ip{'' if version == 4 else '6'}"
                                ".") from e
    family = nm.IPAllocation.ip_address.contains(":") if version == 6 else \
        ~nm.IPAllocation.ip_address.contains(":")
    return select(nm.Port.device_id).join(
        nm.IPAllocation, nm.IPAllocation.port_id == nm.Port.id).where(
        nm.Port.device_owner.startswith(COMPUTE_OWNER_PREFIX), family,
        nm.IPAllocation.ip_address.regexp_match(pattern))
