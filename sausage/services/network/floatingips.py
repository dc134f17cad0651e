"""Floating IPs (Neutron's ``router`` extension): allocate an address on an external network,
associate it with a fixed IP of a port behind a router, disassociate, release.

Called by ``api/network/floatingips.py``. Each floating IP holds a ``network:floatingip`` port
on its external network (project '', ``device_id`` the floating IP's id) for its address; the
row is deleted with that port. Associating needs a router with a gateway on the floating
network and an interface on the fixed IP's subnet (Neutron's
``ExternalGatewayForFloatingIPNotFound`` otherwise). A floating IP whose fixed port went away
(``fixed_port_id`` null) is disassociated, whatever else the row still says.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm
from sausage.services import policy, quota_lock
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.network import dns_names, networks, ports, query, quotas, routers
from sausage.services.network import standard

__all__ = ["View", "OWNER", "COLUMNS", "find", "show", "list_floatingips", "create", "update",
           "delete", "associated"]

OWNER = "network:floatingip"

COLUMNS: dict[str, Any] = {"port_id": nm.FloatingIP.fixed_port_id}


@dataclasses.dataclass
class View:
    """Floating IPs as the API renders them: one page and the ports they are associated with."""

    found: query.Found[nm.FloatingIP]
    ports: dict[str, nm.Port]


def associated(row: nm.FloatingIP) -> bool:
    return row.fixed_port_id is not None


def _missing(fip_id: str) -> errors.NotFound:
    return errors.NotFound(f"Floating IP {fip_id} could not be found",
                           kind="FloatingIPNotFound")


def _bad(message: str) -> errors.BadRequest:
    return errors.BadRequest(f"Bad floatingip request: {message}.", kind="BadRequest")


def find(s: Session, ctx: Context, fip_id: str) -> nm.FloatingIP:
    """The floating IP if it is the caller's project's (any for admin); NotFound else."""
    row = s.get(nm.FloatingIP, fip_id)
    if row is None or not policy.allowed(ctx, "get_floatingip", {"project_id": row.project_id}):
        raise _missing(fip_id)
    return row


def _view(s: Session, found: query.Found[nm.FloatingIP]) -> View:
    ids = sorted({r.fixed_port_id for r in found.rows if r.fixed_port_id})
    by_id = {p.id: p for p in s.scalars(select(nm.Port).where(nm.Port.id.in_(ids)))} \
        if ids else {}
    return View(found, by_id)


def show(s: Session, ctx: Context, fip_id: str) -> View:
    row = find(s, ctx, fip_id)
    return _view(s, query.found_of(s, [row]))


def list_floatingips(s: Session, ctx: Context, q: query.ListQuery) -> View:
    stmt = select(nm.FloatingIP).where(query.owned_or(nm.FloatingIP, ctx))
    return _view(s, query.run(s, stmt, nm.FloatingIP, q, COLUMNS))


# --- association --------------------------------------------------------------------------

def _fixed_ip(s: Session, port: nm.Port, wanted: str | None) -> tuple[str, str]:
    """(subnet id, address) of the port's IPv4 address the floating IP maps to."""
    pairs = ports.fixed_ips(s, [port.id])[port.id]
    v4 = [(sub, ip) for sub, ip in pairs if ipaddress.ip_address(ip).version == 4]
    if wanted is not None:
        for sub, ip in pairs:
            if ip == wanted:
                if ipaddress.ip_address(ip).version != 4:
                    raise _bad(f"Cannot add floating IP to port {port.id} using fixed IP "
                               f"{wanted}, as it is not an IPv4 address")
                return sub, ip
        raise _bad(f"Port {port.id} does not have fixed ip {wanted}")
    if not v4:
        raise _bad(f"Cannot add floating IP to port {port.id} that has no fixed IPv4 "
                   "addresses")
    if len(v4) > 1:
        raise _bad(f"Port {port.id} has multiple fixed IPv4 addresses.  Must provide a "
                   "specific IPv4 address when assigning a floating IP")
    return v4[0]


def _router_for(s: Session, fip: nm.FloatingIP, port: nm.Port, subnet_id: str) -> str:
    """A router with a gateway on the floating network and an interface on ``subnet_id``."""
    on_subnet = select(nm.Port.device_id).join(
        nm.IPAllocation, nm.IPAllocation.port_id == nm.Port.id).where(
        nm.Port.device_owner == routers.INTERFACE, nm.IPAllocation.subnet_id == subnet_id)
    gateways = select(nm.Port.id).where(nm.Port.device_owner == routers.GATEWAY,
                                        nm.Port.network_id == fip.floating_network_id)
    candidates = list(s.scalars(select(nm.Router).where(
        nm.Router.id.in_(on_subnet), nm.Router.gw_port_id.in_(gateways)).order_by(
        nm.Router.created_at, nm.Router.id)))
    if not candidates:
        raise errors.NotFound(
            f"External network {fip.floating_network_id} is not reachable from subnet "
            f"{subnet_id}.  Therefore, cannot associate Port {port.id} with a Floating IP.",
            kind="ExternalGatewayForFloatingIPNotFound")
    # Prefer the port's own project's router, as the user would expect.
    mine = [r for r in candidates if r.project_id == port.project_id]
    return (mine or candidates)[0].id


def _associate(s: Session, ctx: Context, fip: nm.FloatingIP, port_id: str,
               fixed_ip: str | None) -> list[str]:
    """Point ``fip`` at ``port_id``'s fixed IP; the networks touched."""
    port = ports.find(s, ctx, port_id)
    if not policy.allowed(ctx, "update_floatingip:port_id",
                          {"project_id": fip.project_id, "port_project_id": port.project_id}):
        raise ports.not_found(port_id)
    if port.device_owner.startswith("network:"):
        raise _bad(f"Port {port.id} has owner {port.device_owner} and therefore cannot be "
                   "associated with a floating IP")
    subnet_id, address = _fixed_ip(s, port, fixed_ip)
    # One floating IP per fixed IP: associations of the port's project take turns.
    quota_lock.lock_project(s, port.project_id)
    taken = s.scalars(select(nm.FloatingIP).where(
        nm.FloatingIP.fixed_port_id == port.id, nm.FloatingIP.fixed_ip_address == address,
        nm.FloatingIP.floating_network_id == fip.floating_network_id,
        nm.FloatingIP.id != fip.id)).first()
    if taken is not None:
        raise errors.Conflict(
            f"Cannot associate floating IP {fip.floating_ip_address} ({fip.id}) with port "
            f"{port.id} using fixed IP {address}, as that fixed IP already has a floating IP "
            f"on external network {fip.floating_network_id}.",
            kind="FloatingIPPortAlreadyAssociated")
    router_id = _router_for(s, fip, port, subnet_id)
    old_net = _fixed_network(s, fip)
    fip.fixed_port_id, fip.fixed_ip_address, fip.router_id = port.id, address, router_id
    fip.status = "ACTIVE"
    return [n for n in (old_net, port.network_id) if n]


def _fixed_network(s: Session, fip: nm.FloatingIP) -> str | None:
    if fip.fixed_port_id is None:
        return None
    port = s.get(nm.Port, fip.fixed_port_id)
    return port.network_id if port is not None else None


def _disassociate(s: Session, fip: nm.FloatingIP) -> list[str]:
    old_net = _fixed_network(s, fip)
    fip.fixed_port_id = fip.fixed_ip_address = fip.router_id = None
    fip.status = "DOWN"
    return [old_net] if old_net else []


# --- create, update, delete ---------------------------------------------------------------

def _address_spec(s: Session, network: nm.Network, values: Mapping[str, Any]
                  ) -> list[dict[str, str]]:
    v4 = list(s.scalars(select(nm.Subnet).where(
        nm.Subnet.network_id == network.id, nm.Subnet.ip_version == 4).order_by(
        nm.Subnet.created_at, nm.Subnet.id)))
    subnet_id, address = values.get("subnet_id"), values.get("floating_ip_address")
    if subnet_id is not None:
        subnet = s.get(nm.Subnet, subnet_id)
        if subnet is None:
            raise errors.NotFound(f"Subnet {subnet_id} could not be found.",
                                  kind="SubnetNotFound")
        if subnet.network_id != network.id:
            raise _bad(f"Subnet {subnet_id} does not belong to network {network.id}")
        if subnet.ip_version != 4:
            raise _bad(f"Subnet {subnet_id} is not an IPv4 subnet")
        spec = {"subnet_id": subnet.id}
        if address is not None:
            spec["ip_address"] = address
        return [spec]
    if address is not None:
        return [{"ip_address": address}]
    if not v4:
        raise _bad(f"Network {network.id} does not contain any IPv4 subnet")
    return [{"subnet_id": v4[0].id}]


def create(s: Session, ctx: Context, values: Mapping[str, Any], project_id: str | None = None
           ) -> View:
    """Allocate a floating IP on ``floating_network_id`` (associated at once when ``port_id``
    is given). NotFound for an unknown network; BadRequest for a non-external one; Conflict
    when the requested address is taken."""
    project = query.creating(ctx, project_id, "create_floatingip")
    network = networks.find(s, ctx, values["floating_network_id"])
    if not network.external:
        raise _bad(f"Network {network.id} is not a valid external network")
    if values.get("floating_ip_address") is not None:
        # Neutron's default policy lets only admins pick the address.
        policy.enforce(ctx, "create_floatingip:floating_ip_address")
    spec = _address_spec(s, network, values)
    dns_name, dns_domain = dns_names.check_floating(values)
    quotas.check(s, project, "floatingip")
    fip_id = str(uuid.uuid4())
    port = ports.make_port(s, network=network, project_id="", device_owner=OWNER,
                           device_id=fip_id, fixed_ips=spec, security_group_ids=[])
    address = ports.fixed_ips(s, [port.id])[port.id][0][1]
    row = nm.FloatingIP(id=fip_id, project_id=project, floating_ip_address=address,
                        floating_network_id=network.id, floating_port_id=port.id,
                        description=values.get("description", ""),
                        dns_name=dns_name, dns_domain=dns_domain, status="DOWN")
    s.add(row)
    s.flush()
    touched = [network.id]
    if values.get("port_id"):
        touched += _associate(s, ctx, row, values["port_id"], values.get("fixed_ip_address"))
    elif values.get("fixed_ip_address") is not None:
        raise _bad("fixed_ip_address cannot be specified without a port_id")
    if values.get("tags"):
        standard.set_tags(s, row, "floatingip", values["tags"])
    s.flush()
    changes.changed(s, networks=touched)
    return show(s, ctx, row.id)


def update(s: Session, ctx: Context, fip_id: str, values: Mapping[str, Any]) -> View:
    """Associate (``port_id``, optionally ``fixed_ip_address``), disassociate (``port_id``
    null) or describe a floating IP."""
    row = find(s, ctx, fip_id)
    policy.enforce(ctx, "update_floatingip", {"project_id": row.project_id})
    touched = [row.floating_network_id]
    if "port_id" in values:
        if values["port_id"]:
            touched += _associate(s, ctx, row, values["port_id"],
                                  values.get("fixed_ip_address"))
        else:
            touched += _disassociate(s, row)
    elif values.get("fixed_ip_address") is not None:
        if row.fixed_port_id is None:
            raise _bad("fixed_ip_address cannot be specified without a port_id")
        touched += _associate(s, ctx, row, row.fixed_port_id, values["fixed_ip_address"])
    if "description" in values:
        row.description = values["description"]
    standard.touch(row)
    s.flush()
    changes.changed(s, networks=touched)
    return show(s, ctx, row.id)


def delete(s: Session, ctx: Context, fip_id: str) -> None:
    """Release the floating IP and its port."""
    row = find(s, ctx, fip_id)
    policy.enforce(ctx, "delete_floatingip", {"project_id": row.project_id})
    touched = [row.floating_network_id] + _disassociate(s, row)
    port = s.get(nm.Port, row.floating_port_id)
    standard.drop_tags(s, [row.id])
    s.delete(row)
    s.flush()
    if port is not None:
        ports.delete_port_row(s, port)
    changes.changed(s, networks=touched)
