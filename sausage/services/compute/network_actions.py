"""Server actions that reach into Neutron, as Nova's proxies do: ``addFloatingIp`` /
``removeFloatingIp`` (up to 2.43) and ``addSecurityGroup`` / ``removeSecurityGroup`` (the
groups of all the server's ports). Called by ``api/compute/interfaces.py``."""

from __future__ import annotations

import ipaddress

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm
from sausage.services import policy
from sausage.services.compute import networking, servers
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.network import default_group, floatingips, ports

__all__ = ["add_floating_ip", "remove_floating_ip", "add_security_group",
           "remove_security_group"]


# --- addFloatingIp / removeFloatingIp (Nova's proxy actions, up to 2.43) ----------------------

def _floating(s: Session, ctx: Context, address: str) -> nm.FloatingIP:
    stmt = select(nm.FloatingIP).where(nm.FloatingIP.floating_ip_address == address)
    if not policy.allowed(ctx, "context_is_admin"):
        stmt = stmt.where(nm.FloatingIP.project_id == ctx.project_id)
    row = s.scalars(stmt).first()
    if row is None:
        raise errors.NotFound("floating IP not found")
    return row


def add_floating_ip(s: Session, ctx: Context, server_id: str, address: str,
                    fixed_address: str | None) -> None:
    """Associate the floating IP ``address`` with the server's ``fixed_address`` (default:
    its first IPv4 address)."""
    server = servers.load_for_change(s, ctx, server_id)
    mine = networking.server_ports(s, [server.id])[server.id]
    ips = ports.fixed_ips(s, [p.id for p in mine])
    fixed = [(p, ip) for p in mine for _sub, ip in ips[p.id]]
    if not fixed:
        raise errors.BadRequest("No fixed IPs associated to instance")
    if fixed_address is not None:
        chosen = next(((p, ip) for p, ip in fixed if ip == fixed_address), None)
        if chosen is None:
            raise errors.BadRequest("Specified fixed address not assigned to instance")
    else:
        chosen = next(((p, ip) for p, ip in fixed if ipaddress.ip_address(ip).version == 4),
                      None)
        if chosen is None:
            raise errors.BadRequest(f"Unable to associate floating IP {address} to any fixed "
                                    f"IPs for instance {server.id}. Instance has no fixed "
                                    "IPv4 addresses to associate.")
    fip = _floating(s, ctx, address)
    try:
        floatingips.update(s, ctx, fip.id, {"port_id": chosen[0].id,
                                            "fixed_ip_address": chosen[1]})
    except errors.NotFound as e:
        raise errors.NotFound("floating IP not found") from e
    except (errors.BadRequest, errors.Conflict) as e:
        raise errors.BadRequest(f"Unable to associate floating IP {address} to fixed IP "
                                f"{chosen[1]} for instance {server.id}. Error: {e.message}"
                                ) from e


def remove_floating_ip(s: Session, ctx: Context, server_id: str, address: str) -> None:
    server = servers.load_for_change(s, ctx, server_id)
    fip = _floating(s, ctx, address)
    mine = {p.id for p in networking.server_ports(s, [server.id])[server.id]}
    if fip.fixed_port_id not in mine:
        raise errors.Conflict(f"Floating IP {address} is not associated with instance "
                              f"{server.id}.")
    floatingips.update(s, ctx, fip.id, {"port_id": None})


# --- addSecurityGroup / removeSecurityGroup ---------------------------------------------------

def _group(s: Session, project_id: str, name: str) -> str:
    if name == "default":
        return default_group.ensure_default(s, project_id).id
    found = s.scalars(select(nm.SecurityGroup.id).where(
        or_(nm.SecurityGroup.project_id == project_id, nm.SecurityGroup.shared.is_(True)),
        or_(nm.SecurityGroup.name == name, nm.SecurityGroup.id == name))).all()
    if not found:
        raise errors.NotFound(f"Security group {name} not found for project {project_id}.")
    if len(found) > 1:
        raise errors.Conflict(f"Multiple security group matches found for name '{name}', use "
                              "an ID to be more specific.")
    return found[0]


def add_security_group(s: Session, ctx: Context, server_id: str, name: str) -> None:
    """Add the group to every port of the server (each port at most once)."""
    server = servers.load_for_change(s, ctx, server_id)
    gid = _group(s, server.project_id, name)
    mine = networking.server_ports(s, [server.id])[server.id]
    if not mine:
        raise errors.BadRequest(f"Unable to add security group {name} to instance "
                                f"{server.id}: it has no ports.")
    if any(not p.port_security_enabled for p in mine):
        raise errors.BadRequest(f"Security group {name} cannot be applied to instance "
                                f"{server.id}: a port has port security disabled.")
    have = ports.security_groups_of(s, [p.id for p in mine])
    for port in mine:
        if gid not in have[port.id]:
            s.add(nm.PortSecurityGroup(port_id=port.id, security_group_id=gid))
    s.flush()
    networking.group_members_changed(s, [p.id for p in mine])
    changes.changed(s, networks={p.network_id for p in mine})


def remove_security_group(s: Session, ctx: Context, server_id: str, name: str) -> None:
    """Take the group off every port of the server; 400 when the server is not in it."""
    server = servers.load_for_change(s, ctx, server_id)
    gid = _group(s, server.project_id, name)
    mine = networking.server_ports(s, [server.id])[server.id]
    have = ports.security_groups_of(s, [p.id for p in mine])
    if not any(gid in groups for groups in have.values()):
        raise errors.BadRequest(f"Security group {name} not associated with the instance "
                                f"{server.id}")
    networking.group_members_changed(s, [p.id for p in mine])
    s.execute(delete(nm.PortSecurityGroup).where(
        nm.PortSecurityGroup.port_id.in_([p.id for p in mine]),
        nm.PortSecurityGroup.security_group_id == gid))
    changes.changed(s, networks={p.network_id for p in mine})
