"""Networks: create (with a VXLAN segment, or flat on a physical network for external
networks), list, show, update, delete (taking its subnets and DHCP port along).

Called by ``api/network/networks.py``; other services reach a caller's network through
``get_network`` (policy-checked: 404 when invisible).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.network import dns_names, query, quotas, segments, standard
from sausage.services.network.port_rows import delete_port_row

__all__ = ["View", "get_network", "find", "show", "list_networks", "create", "update",
           "delete", "subnets_of", "view_of", "COLUMNS", "AUTO_DELETE_OWNERS", "MTU"]

MTU = {"vxlan": 1450, "flat": 1500}
# Ports that go away with their network (Neutron's auto-delete owners); any other blocks it.
AUTO_DELETE_OWNERS = ("network:dhcp",)
# An external network's floating IPs (and their ports) go with it too, as in Neutron.
GOES_WITH_NETWORK = (*AUTO_DELETE_OWNERS, "network:floatingip")

COLUMNS: dict[str, Any] = {
    "router:external": nm.Network.external,
    "provider:network_type": nm.Network.network_type,
    "provider:physical_network": nm.Network.physical_network,
    "provider:segmentation_id": nm.Network.segmentation_id,
}


@dataclasses.dataclass
class View:
    """Networks as the API renders them: rows, tags, subnet ids, and whether the caller may
    see provider attributes."""

    found: query.Found[nm.Network]
    subnets: dict[str, list[str]]
    admin: bool


def not_found(network_id: str) -> errors.NotFound:
    return errors.NotFound(f"Network {network_id} could not be found.", kind="NetworkNotFound")


def visible(ctx: Context) -> Any:
    return query.owned_or(nm.Network, ctx, nm.Network.shared.is_(True),
                          nm.Network.external.is_(True))


def find(s: Session, ctx: Context, network_id: str) -> nm.Network:
    """The network if ``ctx`` may see it; NotFound otherwise."""
    row = s.get(nm.Network, network_id)
    if row is None or not policy.allowed(ctx, "get_network", {
            "project_id": row.project_id, "public": row.shared or row.external}):
        raise not_found(network_id)
    return row


def get_network(s: Session, ctx: Context, network_id: str) -> nm.Network:
    """The network ``ctx`` may use (NotFound when invisible to it)."""
    return find(s, ctx, network_id)


def subnets_of(s: Session, network_ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {n: [] for n in network_ids}
    if network_ids:
        for net, sub in s.execute(select(nm.Subnet.network_id, nm.Subnet.id).where(
                nm.Subnet.network_id.in_(list(network_ids))).order_by(
                nm.Subnet.created_at, nm.Subnet.id)).tuples():
            out[net].append(sub)
    return out


def _view(s: Session, ctx: Context, found: query.Found[nm.Network]) -> View:
    return View(found, subnets_of(s, [r.id for r in found.rows]),
                policy.allowed(ctx, "context_is_admin"))


def view_of(s: Session, ctx: Context, rows: Sequence[nm.Network]) -> View:
    """``rows`` (just written by this caller) as the API renders them."""
    return _view(s, ctx, query.found_of(s, rows))


def show(s: Session, ctx: Context, network_id: str) -> View:
    row = find(s, ctx, network_id)
    return _view(s, ctx, query.found_of(s, [row]))


def list_networks(s: Session, ctx: Context, q: query.ListQuery) -> View:
    stmt = select(nm.Network).where(visible(ctx))
    return _view(s, ctx, query.run(s, stmt, nm.Network, q, COLUMNS))


def _provider(s: Session, values: Mapping[str, Any], external: bool) -> dict[str, Any]:
    kind = values.get("provider:network_type") or ("flat" if values.get(
        "provider:physical_network") else "vxlan")
    physnet = values.get("provider:physical_network") or ""
    segment = values.get("provider:segmentation_id")
    if kind == "vxlan":
        if physnet:
            raise errors.BadRequest("Invalid input for operation: physical_network not allowed "
                                    "for vxlan provider network.", kind="InvalidInput")
        if segment is not None:
            if not segments.VNI_MIN <= segment <= segments.VNI_MAX:
                raise errors.BadRequest(
                    f"Invalid input for operation: segmentation_id out of range "
                    f"({segments.VNI_MIN} through {segments.VNI_MAX}).", kind="InvalidInput")
            if s.scalars(select(nm.Network.id).where(
                    nm.Network.network_type == "vxlan",
                    nm.Network.segmentation_id == segment)).first():
                raise errors.Conflict(f"Unable to create the network. The tunnel ID {segment} "
                                      "is in use.", kind="TunnelIdInUse")
    elif kind == "flat":
        if not physnet:
            raise errors.BadRequest("Invalid input for operation: physical_network required "
                                    "for flat provider network.", kind="InvalidInput")
        if segment is not None:
            raise errors.BadRequest("Invalid input for operation: segmentation_id not allowed "
                                    "for flat provider network.", kind="InvalidInput")
        if s.scalars(select(nm.Network.id).where(nm.Network.network_type == "flat",
                                                 nm.Network.physical_network == physnet)).first():
            raise errors.Conflict(f"Unable to create the flat network. Physical network "
                                  f"{physnet} is in use.", kind="FlatNetworkInUse")
    else:
        raise errors.BadRequest(f"Invalid input for operation: network_type value '{kind}' "
                                "not supported.", kind="InvalidInput")
    return {"network_type": kind, "physical_network": physnet, "segmentation_id": segment}


def _mtu(values: Mapping[str, Any], kind: str) -> int:
    mtu = values.get("mtu")
    if mtu is None:
        return MTU[kind]
    if not 68 <= mtu <= MTU[kind]:
        raise errors.BadRequest(f"Invalid input for operation: Requested MTU is too big, "
                                f"maximum is {MTU[kind]}." if mtu > MTU[kind] else
                                "Invalid input for operation: MTU must be at least 68.",
                                kind="InvalidInput")
    return int(mtu)


def _zones(values: Mapping[str, Any]) -> None:
    hints = values.get("availability_zone_hints") or []
    unknown = [z for z in hints if z != "nova"]
    if unknown:
        raise errors.NotFound(f"AvailabilityZone {unknown[0]} could not be found.",
                              kind="AvailabilityZoneNotFound")


def create(s: Session, ctx: Context, values: Mapping[str, Any],
           project_id: str | None = None) -> nm.Network:
    """Create a network in ``project_id`` (default: the caller's). Provider attributes,
    ``shared``, ``router:external`` and ``is_default`` need admin (403)."""
    project = project_id or ctx.project_id or ""
    if project != ctx.project_id:
        policy.enforce(ctx, "create_network:project_id")
    policy.enforce(ctx, "create_network", {"project_id": project})
    for key in ("provider:network_type", "provider:physical_network",
                "provider:segmentation_id"):
        if key in values:
            policy.enforce(ctx, f"create_network:{key.replace(':', ':')}")
    for key, rule in (("shared", "create_network:shared"),
                      ("router:external", "create_network:router:external"),
                      ("is_default", "create_network:is_default")):
        if values.get(key):
            policy.enforce(ctx, rule)
    _zones(values)
    external = bool(values.get("router:external", False))
    provider = _provider(s, values, external)
    quotas.check(s, project, "network")
    row = nm.Network(
        id=str(uuid.uuid4()), project_id=project, name=values.get("name", ""),
        description=values.get("description", ""),
        admin_state_up=values.get("admin_state_up", True), status="ACTIVE",
        shared=bool(values.get("shared", False)), external=external,
        is_default=bool(values.get("is_default", False)),
        mtu=_mtu(values, provider["network_type"]),
        port_security_enabled=values.get("port_security_enabled", True),
        network_type=provider["network_type"], physical_network=provider["physical_network"],
        segmentation_id=provider["segmentation_id"],
        dns_domain=dns_names.check_domain(values.get("dns_domain")))
    if row.network_type == "vxlan" and row.segmentation_id is None:
        segments.claim(s, row)
    else:
        s.add(row)
        s.flush()
    if values.get("tags"):
        standard.set_tags(s, row, "network", values["tags"])
    return row


def update(s: Session, ctx: Context, network_id: str, values: Mapping[str, Any]) -> nm.Network:
    row = find(s, ctx, network_id)
    policy.enforce(ctx, "update_network", {"project_id": row.project_id})
    for key, column in (("provider:network_type", "network_type"),
                        ("provider:physical_network", "physical_network"),
                        ("provider:segmentation_id", "segmentation_id")):
        if key in values:
            policy.enforce(ctx, f"update_network:{key}")
            if values[key] != getattr(row, column):
                raise errors.BadRequest("Invalid input for operation: Plugin does not support "
                                        "updating provider attributes.", kind="InvalidInput")
    for key in ("shared", "router:external", "is_default"):
        if key in values and values[key] != getattr(
                row, {"router:external": "external"}.get(key, key)):
            policy.enforce(ctx, f"update_network:{key}")
    if values.get("shared") is False and row.shared:
        others = s.scalars(select(nm.Port.id).where(
            nm.Port.network_id == row.id, nm.Port.project_id != row.project_id,
            nm.Port.device_owner.not_in(["network:dhcp", "network:router_gateway",
                                         "network:floatingip"]))).first()
        if others:
            raise errors.Conflict(f"Unable to reconfigure sharing settings for network "
                                  f"{row.id}. Multiple tenants are using it.",
                                  kind="InvalidSharedSetting")
    if "mtu" in values:
        row.mtu = _mtu(values, row.network_type)
    if "availability_zone_hints" in values:
        _zones(values)
    if "dns_domain" in values:
        row.dns_domain = dns_names.check_domain(values["dns_domain"])
    for key in ("name", "description", "admin_state_up", "shared", "is_default",
                "port_security_enabled"):
        if key in values:
            setattr(row, key, values[key])
    if "router:external" in values:
        row.external = bool(values["router:external"])
    standard.touch(row)
    s.flush()
    changes.changed(s, networks=[row.id])
    return row


def delete(s: Session, ctx: Context, network_id: str) -> None:
    """Delete the network with its subnets and DHCP port. Conflict ``NetworkInUse`` while any
    other port is on it."""
    row = find(s, ctx, network_id)
    policy.enforce(ctx, "delete_network", {"project_id": row.project_id})
    busy = s.scalars(select(nm.Port.id).where(
        nm.Port.network_id == row.id,
        nm.Port.device_owner.not_in(GOES_WITH_NETWORK))).first()
    if busy:
        raise errors.Conflict(f"Unable to complete operation on network {row.id}. There are "
                              "one or more ports still in use on the network.",
                              kind="NetworkInUse")
    changes.changed(s, networks=[row.id])
    floating = list(s.scalars(select(nm.FloatingIP).where(
        nm.FloatingIP.floating_network_id == row.id)))
    if floating:
        # Their routers' hosts must drop the NAT rules: cheaper to resync everyone.
        changes.changed(s, everywhere=True)
        standard.drop_tags(s, [f.id for f in floating])
        for fip in floating:
            s.delete(fip)
        s.flush()
    for port in s.scalars(select(nm.Port).where(nm.Port.network_id == row.id)):
        delete_port_row(s, port)
    subnet_ids = list(s.scalars(select(nm.Subnet.id).where(nm.Subnet.network_id == row.id)))
    standard.drop_tags(s, [row.id, *subnet_ids])
    for subnet in s.scalars(select(nm.Subnet).where(nm.Subnet.network_id == row.id)):
        s.delete(subnet)
    s.flush()
    s.delete(row)
    s.flush()
