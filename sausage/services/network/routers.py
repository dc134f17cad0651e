"""Routers (Neutron's ``router``, ``ext-gw-mode`` and ``extraroute`` extensions): create, show,
list, update (gateway, extra routes), delete, and add/remove interfaces.

Called by ``api/network/routers.py``. A router's ports are Neutron's: interfaces are ports with
``device_owner`` ``network:router_interface`` and ``device_id`` the router's id, the gateway
is a ``network:router_gateway`` port on an external network (project ''), recorded in
``Router.gw_port_id``. Where the router runs is not decided here: the desired-state generator
places it on a network node. Every change that a host must wire calls ``changes.changed`` with
the router's networks.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete as sql_delete, select, update as sql_update
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.network import dns_sync, networks, ports, query, quotas, standard

__all__ = [
    "View", "Gateway", "INTERFACE", "GATEWAY", "MAX_ROUTES", "find", "show", "list_routers",
    "create", "update", "delete", "add_interface", "remove_interface", "interface_ports",
    "router_networks",
]

INTERFACE = "network:router_interface"
GATEWAY = "network:router_gateway"
MAX_ROUTES = 30


@dataclasses.dataclass(frozen=True)
class Gateway:
    network_id: str
    enable_snat: bool
    external_fixed_ips: list[dict[str, str]]


@dataclasses.dataclass
class View:
    """Routers as the API renders them: one page, their gateways and extra routes."""

    found: query.Found[nm.Router]
    gateways: dict[str, Gateway]
    routes: dict[str, list[dict[str, str]]]


def _missing(router_id: str) -> errors.NotFound:
    return errors.NotFound(f"Router {router_id} could not be found", kind="RouterNotFound")


def _bad(message: str) -> errors.BadRequest:
    return errors.BadRequest(f"Bad router request: {message}.", kind="BadRequest")


def find(s: Session, ctx: Context, router_id: str, lock: bool = False) -> nm.Router:
    """The router if ``ctx`` may see it (its project's, or any for admin); NotFound else.
    ``lock`` holds its row until the transaction ends, so that concurrent interface and route
    changes of one router check overlaps and nexthops one after the other."""
    row = s.get(nm.Router, router_id, with_for_update=lock or None)
    if row is None or not policy.allowed(ctx, "get_router", {"project_id": row.project_id}):
        raise _missing(router_id)
    return row


def _writable(s: Session, ctx: Context, router_id: str, action: str) -> nm.Router:
    row = find(s, ctx, router_id, lock=True)
    policy.enforce(ctx, action, {"project_id": row.project_id})
    return row


def interface_ports(s: Session, router_ids: Sequence[str]) -> list[nm.Port]:
    if not router_ids:
        return []
    return list(s.scalars(select(nm.Port).where(
        nm.Port.device_id.in_(list(router_ids)), nm.Port.device_owner == INTERFACE)
        .order_by(nm.Port.created_at, nm.Port.id)))


def router_networks(s: Session, router: nm.Router) -> list[str]:
    """Every network the router has a port on (interfaces and gateway)."""
    nets = {p.network_id for p in interface_ports(s, [router.id])}
    if router.gw_port_id:
        gw = s.get(nm.Port, router.gw_port_id)
        if gw is not None:
            nets.add(gw.network_id)
    return sorted(nets)


def _view(s: Session, found: query.Found[nm.Router]) -> View:
    ids = [r.id for r in found.rows]
    gw_ports = {r.gw_port_id: r for r in found.rows if r.gw_port_id}
    ips = ports.fixed_ips(s, list(gw_ports))
    gateways: dict[str, Gateway] = {}
    if gw_ports:
        for port in s.scalars(select(nm.Port).where(nm.Port.id.in_(list(gw_ports)))):
            router = gw_ports[port.id]
            gateways[router.id] = Gateway(
                port.network_id, router.enable_snat,
                [{"subnet_id": sub, "ip_address": ip} for sub, ip in ips.get(port.id, [])])
    routes: dict[str, list[dict[str, str]]] = {i: [] for i in ids}
    if ids:
        for route in s.scalars(select(nm.RouterRoute).where(
                nm.RouterRoute.router_id.in_(ids)).order_by(
                nm.RouterRoute.destination, nm.RouterRoute.nexthop)):
            routes[route.router_id].append({"destination": route.destination,
                                            "nexthop": route.nexthop})
    return View(found, gateways, routes)


def show(s: Session, ctx: Context, router_id: str) -> View:
    row = find(s, ctx, router_id)
    return _view(s, query.found_of(s, [row]))


def list_routers(s: Session, ctx: Context, q: query.ListQuery) -> View:
    stmt = select(nm.Router).where(query.owned_or(nm.Router, ctx))
    return _view(s, query.run(s, stmt, nm.Router, q))


# --- gateway ------------------------------------------------------------------------------

def _check_flags(ctx: Context, values: Mapping[str, Any]) -> None:
    for key in ("distributed", "ha"):
        if key in values and values[key] is not None:
            policy.enforce(ctx, f"create_router:{key}")
            if values[key]:
                raise _bad(f"{'Distributed' if key == 'distributed' else 'HA'} routers are "
                           "not supported")
    hints = values.get("availability_zone_hints") or []
    unknown = [z for z in hints if z != "nova"]
    if unknown:
        raise errors.NotFound(f"AvailabilityZone {unknown[0]} could not be found.",
                              kind="AvailabilityZoneNotFound")
    if values.get("flavor_id") is not None:
        raise errors.NotFound(f"Flavor {values['flavor_id']} could not be found.",
                              kind="FlavorNotFound")


def _gateway_info(ctx: Context, info: Any) -> dict[str, Any] | None:
    """The gateway asked for, checked: None clears it."""
    if info is None or info == {}:
        return None
    if not isinstance(info, Mapping):
        raise errors.BadRequest(f"Invalid input for external_gateway_info. Reason: '{info}' "
                                "is not a dictionary.", kind="InvalidInput")
    unknown = sorted(set(info) - {"network_id", "enable_snat", "external_fixed_ips"})
    if unknown or "network_id" not in info:
        raise errors.BadRequest("Invalid input for external_gateway_info. Reason: Validation "
                                "of dictionary's keys failed. Expected keys: {'network_id'} "
                                f"Provided keys: {set(info)}.", kind="InvalidInput")
    if not isinstance(info["network_id"], str):
        raise errors.BadRequest(f"Invalid input for external_gateway_info. Reason: "
                                f"'{info['network_id']}' is not a valid UUID.", kind="InvalidInput")
    for key in ("enable_snat", "external_fixed_ips"):
        if key in info:
            policy.enforce(ctx, f"update_router:external_gateway_info:{key}")
    if "enable_snat" in info and not isinstance(info["enable_snat"], bool):
        raise errors.BadRequest(f"Invalid input for enable_snat. Reason: "
                                f"'{info['enable_snat']}' is not a boolean.", kind="InvalidInput")
    fixed = info.get("external_fixed_ips")
    if fixed is not None and not isinstance(fixed, list):
        raise errors.BadRequest("Invalid input for external_fixed_ips. Reason: "
                                f"'{fixed}' is not a list.", kind="InvalidInput")
    for item in fixed or []:
        if (not isinstance(item, Mapping) or set(item) - {"ip_address", "subnet_id"}
                or not all(isinstance(v, str) for v in item.values())):
            raise errors.BadRequest("Invalid input for external_fixed_ips. Reason: Invalid "
                                    f"data format for fixed IP: '{item}'.", kind="InvalidInput")
    return dict(info)


def _uses_gateway(s: Session, router: nm.Router) -> bool:
    return s.scalars(select(nm.FloatingIP.id).where(
        nm.FloatingIP.router_id == router.id,
        nm.FloatingIP.fixed_port_id.is_not(None))).first() is not None


def _gateway_in_use(router: nm.Router, network_id: str) -> errors.Conflict:
    return errors.Conflict(f"Gateway cannot be updated for router {router.id}, since a "
                           f"gateway to external network {network_id} is required by one or "
                           "more floating IPs.", kind="RouterExternalGatewayInUseByFloatingIp")


def _set_gateway(s: Session, ctx: Context, router: nm.Router, info: dict[str, Any] | None
                 ) -> list[str]:
    """Make the router's gateway match ``info``; the networks touched."""
    old = s.get(nm.Port, router.gw_port_id) if router.gw_port_id else None
    touched = [old.network_id] if old is not None else []
    if info is None:
        if old is None:
            return []
        if _uses_gateway(s, router):
            raise _gateway_in_use(router, old.network_id)
        router.gw_port_id = None
        ports.delete_port_row(s, old)
        return touched
    network = networks.find(s, ctx, info["network_id"])
    if not network.external:
        raise _bad(f"Network {network.id} is not an external network")
    router.enable_snat = info.get("enable_snat", True if old is None else router.enable_snat)
    fixed = info.get("external_fixed_ips")
    if old is not None and old.network_id == network.id:
        current = sorted(ip for _sub, ip in ports.fixed_ips(s, [old.id])[old.id])
        wanted = [f.get("ip_address") for f in fixed or []]
        if fixed is None or (all(wanted) and sorted(str(w) for w in wanted) == current):
            return touched
    if old is not None:
        if old.network_id != network.id and _uses_gateway(s, router):
            raise _gateway_in_use(router, old.network_id)
        router.gw_port_id = None
        ports.delete_port_row(s, old)
    if not s.scalars(select(nm.Subnet.id).where(nm.Subnet.network_id == network.id)).first():
        raise _bad(f"Network {network.id} has no subnets to allocate a gateway address from")
    port = ports.make_port(s, network=network, project_id="", device_owner=GATEWAY,
                           device_id=router.id, fixed_ips=fixed, security_group_ids=[])
    router.gw_port_id = port.id
    return touched + [network.id]


# --- extra routes -------------------------------------------------------------------------

def _router_cidrs(s: Session, router: nm.Router) -> tuple[list[Any], set[str]]:
    """The networks (ipaddress) of the router's subnets and the router's own addresses."""
    port_ids = [p.id for p in interface_ports(s, [router.id])]
    if router.gw_port_id:
        port_ids.append(router.gw_port_id)
    ips = ports.fixed_ips(s, port_ids)
    subnet_ids = {sub for pairs in ips.values() for sub, _ip in pairs}
    cidrs = [ipaddress.ip_network(c) for c in s.scalars(
        select(nm.Subnet.cidr).where(nm.Subnet.id.in_(sorted(subnet_ids))))]
    return cidrs, {ip for pairs in ips.values() for _sub, ip in pairs}


def _routes(s: Session, router: nm.Router, routes: Any) -> list[tuple[str, str]]:
    if routes is None:
        return []
    if not isinstance(routes, list):
        raise errors.BadRequest(f"Invalid input for routes. Reason: '{routes}' is not a list.",
                                kind="InvalidInput")
    out: list[tuple[str, str]] = []
    for route in routes:
        if not isinstance(route, Mapping) or set(route) != {"destination", "nexthop"}:
            raise errors.BadRequest(f"Invalid input for routes. Reason: Invalid data format "
                                    f"for hostroute: '{route}'.", kind="InvalidInput")
        try:
            dest = ipaddress.ip_network(str(route["destination"]))
            hop = ipaddress.ip_address(str(route["nexthop"]))
        except ValueError as e:
            raise errors.BadRequest(f"Invalid input for routes. Reason: Invalid data format "
                                    f"for hostroute: '{route}'.", kind="InvalidInput") from e
        if (str(dest), str(hop)) not in out:
            out.append((str(dest), str(hop)))
    if len(out) > MAX_ROUTES:
        raise errors.BadRequest(f"Unable to complete operation for {router.id}. The number of "
                                f"routes exceeds the maximum {MAX_ROUTES}.",
                                kind="RoutesExhausted")
    cidrs, own = _router_cidrs(s, router)
    for destination, nexthop in out:
        shown = [{"destination": destination, "nexthop": nexthop}]
        if nexthop in own:
            raise errors.BadRequest(f"Invalid format for routes: {shown}, the nexthop is used "
                                    "by router", kind="InvalidRoutes")
        address = ipaddress.ip_address(nexthop)
        if not any(address.version == c.version and address in c for c in cidrs):
            raise errors.BadRequest(f"Invalid format for routes: {shown}, the nexthop is not "
                                    "connected with router", kind="InvalidRoutes")
    return out


def _replace_routes(s: Session, router: nm.Router, routes: list[tuple[str, str]]) -> None:
    s.execute(sql_delete(nm.RouterRoute).where(nm.RouterRoute.router_id == router.id))
    for dest, hop in routes:
        s.add(nm.RouterRoute(router_id=router.id, destination=dest, nexthop=hop))


# --- create, update, delete ---------------------------------------------------------------

def create(s: Session, ctx: Context, values: Mapping[str, Any], project_id: str | None = None
           ) -> View:
    """A router in ``project_id`` (default: the caller's), with a gateway when asked. NotFound
    for an unknown (or invisible) gateway network, BadRequest for a non-external one."""
    project = query.creating(ctx, project_id, "create_router")
    _check_flags(ctx, values)
    info = _gateway_info(ctx, values.get("external_gateway_info"))
    quotas.check(s, project, "router")
    row = nm.Router(id=str(uuid.uuid4()), project_id=project, name=values.get("name", ""),
                    description=values.get("description", ""),
                    admin_state_up=values.get("admin_state_up", True), status="ACTIVE")
    s.add(row)
    s.flush()
    touched = _set_gateway(s, ctx, row, info)
    if values.get("tags"):
        standard.set_tags(s, row, "router", values["tags"])
    s.flush()
    changes.changed(s, networks=touched, network_nodes=True)
    return show(s, ctx, row.id)


def update(s: Session, ctx: Context, router_id: str, values: Mapping[str, Any]) -> View:
    """Rename, describe, switch admin state, change the gateway or the extra routes.
    BadRequest ``InvalidRoutes`` for a nexthop outside the router's subnets."""
    row = _writable(s, ctx, router_id, "update_router")
    _check_flags(ctx, values)
    touched: list[str] = []
    if "external_gateway_info" in values:
        info = _gateway_info(ctx, values["external_gateway_info"])
        touched += _set_gateway(s, ctx, row, info)
        s.flush()
    if "routes" in values:
        _replace_routes(s, row, _routes(s, row, values["routes"]))
    for key in ("name", "description", "admin_state_up"):
        if key in values:
            setattr(row, key, values[key])
    standard.touch(row)
    s.flush()
    changes.changed(s, networks=touched + router_networks(s, row), network_nodes=True)
    return show(s, ctx, row.id)


def delete(s: Session, ctx: Context, router_id: str) -> None:
    """Delete a router and its gateway port. Conflict ``RouterInUse`` while it has
    interfaces."""
    row = _writable(s, ctx, router_id, "delete_router")
    if interface_ports(s, [row.id]):
        raise errors.Conflict(f"Router {row.id} still has ports", kind="RouterInUse")
    nets = router_networks(s, row)
    dns_sync.touch(s, floatingips=s.scalars(select(nm.FloatingIP.id).where(
        nm.FloatingIP.router_id == row.id)))
    s.execute(sql_update(nm.FloatingIP).where(nm.FloatingIP.router_id == row.id).values(
        router_id=None, fixed_port_id=None, fixed_ip_address=None, status="DOWN")
        .execution_options(synchronize_session=False))
    if row.gw_port_id:
        gw = s.get(nm.Port, row.gw_port_id)
        row.gw_port_id = None
        s.flush()
        if gw is not None:
            ports.delete_port_row(s, gw)
    s.execute(sql_delete(nm.RouterRoute).where(nm.RouterRoute.router_id == row.id))
    standard.drop_tags(s, [row.id])
    s.delete(row)
    s.flush()
    changes.changed(s, networks=nets, network_nodes=True)


# --- interfaces ---------------------------------------------------------------------------

def _subnet(s: Session, ctx: Context, subnet_id: Any) -> nm.Subnet:
    subnet = s.get(nm.Subnet, subnet_id) if isinstance(subnet_id, str) else None
    if subnet is not None:
        net = s.get(nm.Network, subnet.network_id)
        public = net is not None and (net.shared or net.external)
        if policy.allowed(ctx, "get_subnet", {"project_id": subnet.project_id, "public": public}):
            return subnet
    raise errors.NotFound(f"Subnet {subnet_id} could not be found.", kind="SubnetNotFound")


def _attached(s: Session, router: nm.Router) -> dict[str, tuple[nm.Port, str]]:
    """Subnet id → (interface port, its address on that subnet) for the router."""
    found = interface_ports(s, [router.id])
    by_id = {p.id: p for p in found}
    out: dict[str, tuple[nm.Port, str]] = {}
    for port_id, pairs in ports.fixed_ips(s, list(by_id)).items():
        for sub, ip in pairs:
            out[sub] = (by_id[port_id], ip)
    return out


def _check_overlap(s: Session, router: nm.Router, new: Sequence[nm.Subnet]) -> None:
    attached = _attached(s, router)
    # Reported in address order, so the message names the same subnet every time.
    existing = sorted(s.scalars(select(nm.Subnet).where(nm.Subnet.id.in_(sorted(attached)))),
                      key=lambda sub: (ipaddress.ip_network(sub.cidr).version,
                                       ipaddress.ip_network(sub.cidr)))
    for subnet in new:
        if subnet.id in attached:
            raise _bad(f"Router already has a port on subnet {subnet.id}")
        mine = ipaddress.ip_network(subnet.cidr)
        for other in existing:
            theirs = ipaddress.ip_network(other.cidr)
            if mine.version == theirs.version and mine.overlaps(theirs):
                raise _bad(f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with cidr "
                           f"{other.cidr} of subnet {other.id}")


def _interface_info(values: Mapping[str, Any]) -> tuple[str | None, str | None]:
    if not isinstance(values, Mapping):
        raise _bad("Either subnet_id or port_id must be specified")
    unknown = sorted(set(values) - {"subnet_id", "port_id"})
    if unknown:
        raise errors.BadRequest("Unrecognized attribute(s) '" + ", ".join(unknown) + "'",
                                kind="HTTPBadRequest")
    subnet_id, port_id = values.get("subnet_id"), values.get("port_id")
    if not subnet_id and not port_id:
        raise _bad("Either subnet_id or port_id must be specified")
    return subnet_id, port_id


def _reply(router: nm.Router, port: nm.Port, subnet_ids: Sequence[str]) -> dict[str, Any]:
    return {"id": router.id, "tenant_id": router.project_id, "project_id": router.project_id,
            "port_id": port.id, "network_id": port.network_id,
            "subnet_id": subnet_ids[0] if subnet_ids else None,
            "subnet_ids": list(subnet_ids)}


def add_interface(s: Session, ctx: Context, router_id: str, values: Mapping[str, Any]
                  ) -> dict[str, Any]:
    """Attach a subnet (a new port holding its gateway address) or an unowned port. Returns
    Neutron's interface info. BadRequest for a subnet without gateway, overlapping subnets, a
    port without addresses; Conflict when the gateway address or the port is taken."""
    router = _writable(s, ctx, router_id, "add_router_interface")
    subnet_id, port_id = _interface_info(values)
    if subnet_id and port_id:
        raise _bad("Cannot specify both subnet-id and port-id")
    if port_id:
        port = ports.find(s, ctx, str(port_id))
        policy.enforce(ctx, "add_router_interface", {"project_id": port.project_id})
        if port.device_id or port.device_owner:
            raise errors.Conflict(f"Unable to complete operation on port {port.id} for network "
                                  f"{port.network_id}. Port already has an attached device "
                                  f"{port.device_id or port.device_owner}.", kind="PortInUse")
        pairs = ports.fixed_ips(s, [port.id])[port.id]
        if not pairs:
            raise _bad("Router port must have at least one fixed IP")
        subnets = list(s.scalars(select(nm.Subnet).where(
            nm.Subnet.id.in_(sorted({sub for sub, _ip in pairs})))))
        if len([sub for sub in subnets if sub.ip_version == 4]) > 1:
            raise _bad("Cannot have multiple IPv4 subnets on router port")
        _check_overlap(s, router, subnets)
        port.device_owner, port.device_id = INTERFACE, router.id
        standard.touch(port)
        subnet_ids = [sub for sub, _ip in pairs]
    else:
        subnet = _subnet(s, ctx, subnet_id)
        if not subnet.gateway_ip:
            raise _bad("Subnet for router interface must have a gateway IP")
        _check_overlap(s, router, [subnet])
        taken = s.scalars(select(nm.IPAllocation.port_id).where(
                nm.IPAllocation.subnet_id == subnet.id,
                nm.IPAllocation.ip_address == subnet.gateway_ip)).first()
        if taken is not None:
            raise errors.Conflict(f"Unable to complete operation for network "
                                  f"{subnet.network_id}. The IP address {subnet.gateway_ip} is "
                                  "in use.", kind="IpAddressInUse")
        network = s.get(nm.Network, subnet.network_id)
        assert network is not None
        port = ports.make_port(s, network=network, project_id=router.project_id,
                               device_owner=INTERFACE, device_id=router.id,
                               fixed_ips=[{"subnet_id": subnet.id,
                                           "ip_address": subnet.gateway_ip}],
                               security_group_ids=[])
        subnet_ids = [subnet.id]
    standard.touch(router)
    s.flush()
    changes.changed(s, networks=router_networks(s, router), network_nodes=True)
    return _reply(router, port, subnet_ids)


def _in_use(s: Session, router: nm.Router, subnet: nm.Subnet) -> None:
    cidr = ipaddress.ip_network(subnet.cidr)
    for address in s.scalars(select(nm.FloatingIP.fixed_ip_address).where(
            nm.FloatingIP.router_id == router.id, nm.FloatingIP.fixed_port_id.is_not(None))):
        fixed = ipaddress.ip_address(address) if address else None
        if fixed is not None and fixed.version == cidr.version and fixed in cidr:
            raise errors.Conflict(f"Router interface for subnet {subnet.id} on router "
                                  f"{router.id} cannot be deleted, as it is required by one or "
                                  "more floating IPs.", kind="RouterInterfaceInUseByFloatingIP")
    for hop in s.scalars(select(nm.RouterRoute.nexthop).where(
            nm.RouterRoute.router_id == router.id)):
        nexthop = ipaddress.ip_address(hop)
        if nexthop.version == cidr.version and nexthop in cidr:
            raise errors.Conflict(f"Router interface for subnet {subnet.id} on router "
                                  f"{router.id} cannot be deleted, as it is required by one or "
                                  "more routes.", kind="RouterInterfaceInUseByRoute")


def remove_interface(s: Session, ctx: Context, router_id: str, values: Mapping[str, Any]
                     ) -> dict[str, Any]:
    """Detach by subnet or by port (the port is deleted). NotFound when not attached;
    Conflict while a floating IP or an extra route needs the interface."""
    router = _writable(s, ctx, router_id, "remove_router_interface")
    subnet_id, port_id = _interface_info(values)
    attached = _attached(s, router)
    if port_id:
        port = s.get(nm.Port, port_id) if isinstance(port_id, str) else None
        if port is None or port.device_id != router.id or port.device_owner != INTERFACE:
            raise errors.NotFound(f"Router {router.id} does not have an interface with id "
                                  f"{port_id}", kind="RouterInterfaceNotFound")
        mine = [sub for sub, (p, _ip) in attached.items() if p.id == port.id]
        if subnet_id:
            if subnet_id not in mine:
                raise errors.BadRequest(f"Subnet on port {port.id} does not match the "
                                        f"requested subnet {subnet_id}.",
                                        kind="SubnetMismatchForPort")
            mine = [str(subnet_id)]
        removed = mine
    else:
        subnet = _subnet(s, ctx, subnet_id)
        if subnet.id not in attached:
            raise errors.NotFound(f"Router {router.id} has no interface on subnet {subnet.id}",
                                  kind="RouterInterfaceNotFoundForSubnet")
        port = attached[subnet.id][0]
        removed = [subnet.id]
    for subnet in s.scalars(select(nm.Subnet).where(nm.Subnet.id.in_(removed))):
        _in_use(s, router, subnet)
    nets = router_networks(s, router)
    remaining = [sub for sub, (p, _ip) in attached.items() if p.id == port.id
                 and sub not in removed]
    reply = _reply(router, port, removed)
    if remaining:
        s.execute(sql_delete(nm.IPAllocation).where(nm.IPAllocation.port_id == port.id,
                                                nm.IPAllocation.subnet_id.in_(removed)))
        standard.touch(port)
    else:
        ports.delete_port_row(s, port)
    standard.touch(router)
    s.flush()
    changes.changed(s, networks=nets, network_nodes=True)
    return reply
