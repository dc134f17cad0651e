"""Ports: a network attachment with a MAC, fixed IPs (from ``ipam``), security groups,
allowed address pairs and a host binding.

``make_port``/``delete_port_row``/``fixed_ips`` are the building blocks other services use
(routers, floating IPs, servers, DHCP); ``create``/``update``/``delete``/``show``/
``list_ports`` are the policy-checked API operations. Every change calls
``changes.changed`` so the hosts serving the network converge.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete as sql_delete, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.network import default_group, dns_names, ipam, networks, query
from sausage.services.network import quotas, standard
from sausage.services.network.port_rows import delete_port_row

__all__ = ["View", "make_port", "delete_port_row", "fixed_ips", "security_groups_of",
           "find", "view_of", "show", "list_ports", "create", "create_many", "update", "delete",
           "ensure_dhcp", "drop_dhcp", "DHCP_OWNER", "random_mac", "dns_assignments",
           "dns_fields"]

DHCP_OWNER = "network:dhcp"
# Owners whose ports belong to a router or floating IP: the port API may not delete them.
L3_OWNERS = ("network:router_interface", "network:router_gateway", "network:floatingip",
             "network:router_interface_distributed", "network:ha_router_replicated_interface")


@dataclasses.dataclass
class View:
    found: query.Found[nm.Port]
    fixed_ips: dict[str, list[tuple[str, str]]]
    security_groups: dict[str, list[str]]
    admin: bool
    dns_assignment: dict[str, list[dict[str, str]]]


def not_found(port_id: str) -> errors.NotFound:
    return errors.NotFound(f"Port {port_id} could not be found.", kind="PortNotFound")


def random_mac() -> str:
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))


def fixed_ips(s: Session, port_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Port id → [(subnet_id, ip_address)], every id present, in one query."""
    out: dict[str, list[tuple[str, str]]] = {p: [] for p in port_ids}
    if not port_ids:
        return out
    rows = s.execute(select(nm.IPAllocation.port_id, nm.IPAllocation.subnet_id,
                            nm.IPAllocation.ip_address, nm.Subnet.ip_version).join(
        nm.Subnet, nm.Subnet.id == nm.IPAllocation.subnet_id).where(
        nm.IPAllocation.port_id.in_(list(port_ids)))).tuples()
    ordered = sorted(rows, key=lambda r: (r[3], int(ipaddress.ip_address(r[2]))))
    for port_id, subnet_id, address, _v in ordered:
        out[port_id].append((subnet_id, address))
    return out


def security_groups_of(s: Session, port_ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {p: [] for p in port_ids}
    if port_ids:
        for port_id, group_id in s.execute(select(
                nm.PortSecurityGroup.port_id, nm.PortSecurityGroup.security_group_id).where(
                nm.PortSecurityGroup.port_id.in_(list(port_ids))).order_by(
                nm.PortSecurityGroup.security_group_id)).tuples():
            out[port_id].append(group_id)
    return out


# --- building blocks ----------------------------------------------------------------------

def _subnets(s: Session, network_id: str) -> list[nm.Subnet]:
    return list(s.scalars(select(nm.Subnet).where(nm.Subnet.network_id == network_id)
                          .order_by(nm.Subnet.created_at, nm.Subnet.id)))


def _resolve_ips(s: Session, network: nm.Network, wanted: Sequence[Mapping[str, str]]
                 ) -> list[tuple[nm.Subnet, str | None]]:
    """(subnet, address or None) for each requested fixed IP, checked against the network."""
    subnets = _subnets(s, network.id)
    by_id = {sub.id: sub for sub in subnets}
    out: list[tuple[nm.Subnet, str | None]] = []
    for item in wanted:
        if not isinstance(item, Mapping) or not set(item) <= {"subnet_id", "ip_address"} \
                or not item:
            raise errors.BadRequest(f"Invalid input for fixed_ips. Reason: {item} is not a "
                                    "valid fixed IP.", kind="InvalidInput")
        subnet_id, address = item.get("subnet_id"), item.get("ip_address")
        if subnet_id is not None and not isinstance(subnet_id, str):
            raise errors.BadRequest(f"Invalid input for fixed_ips. Reason: '{subnet_id}' is not "
                                    "a valid UUID.", kind="InvalidInput")
        if address is not None:
            try:
                if not isinstance(address, str):
                    raise ValueError(address)
                address = str(ipaddress.ip_address(address))
            except ValueError as e:
                raise errors.BadRequest(f"Invalid input for fixed_ips. Reason: '{address}' is "
                                        "not a valid IP address.", kind="InvalidInput") from e
        if subnet_id is not None:
            subnet = by_id.get(subnet_id)
            if subnet is None:
                if s.get(nm.Subnet, subnet_id) is None:
                    raise errors.NotFound(f"Subnet {subnet_id} could not be found.",
                                          kind="SubnetNotFound")
                raise errors.BadRequest(f"Invalid input for operation: Failed to create port "
                                        f"on network {network.id}, because fixed_ips included "
                                        f"invalid subnet {subnet_id}.", kind="InvalidInput")
        else:
            matching = [sub for sub in subnets if address and ipam.in_subnet(sub, address)]
            if not matching:
                raise errors.BadRequest(f"IP address {address} is not a valid IP for any of "
                                        "the subnets on the specified network.",
                                        kind="InvalidIpForNetwork")
            subnet = matching[0]
        out.append((subnet, address))
    return out


def _default_ips(s: Session, network: nm.Network) -> list[tuple[nm.Subnet, str | None]]:
    """Neutron's default: one IPv4 subnet (the first with room), one stateful IPv6 subnet,
    and every SLAAC subnet."""
    subnets = _subnets(s, network.id)
    v4 = [sub for sub in subnets if sub.ip_version == 4]
    v6 = [sub for sub in subnets if sub.ip_version == 6]
    out: list[tuple[nm.Subnet, str | None]] = []
    if v4:
        out.append((v4[0], None))
    stateful = [sub for sub in v6 if not ipam.is_slaac(sub)]
    if stateful:
        out.append((stateful[0], None))
    out += [(sub, None) for sub in v6 if ipam.is_slaac(sub)]
    return out


def _allocate(s: Session, port: nm.Port, wanted: Sequence[tuple[nm.Subnet, str | None]],
              fallback: bool) -> None:
    for subnet, address in wanted:
        if fallback and address is None and subnet.ip_version == 4:
            # The first IPv4 subnet may be full: Neutron tries the network's others.
            others = [sub for sub in _subnets(s, port.network_id)
                      if sub.ip_version == 4 and sub.id != subnet.id]
            candidates = [subnet, *others]
            for i, candidate in enumerate(candidates):
                try:
                    ipam.allocate(s, candidate, port.id, None, port.mac_address)
                    break
                except errors.Conflict:
                    if i == len(candidates) - 1:
                        raise
            continue
        if address is not None and ipam.is_slaac(subnet) and \
                address != ipam.eui64(subnet.cidr, port.mac_address) and \
                not port.device_owner.startswith("network:"):
            raise errors.BadRequest(f"IPv6 address {address} cannot be directly assigned to a "
                                    f"port on subnet {subnet.id} as the subnet is configured "
                                    "for automatic addresses", kind="InvalidInput")
        ipam.allocate(s, subnet, port.id, address, port.mac_address)


def _groups(s: Session, project_id: str, ids: Sequence[str]) -> list[str]:
    out: list[str] = []
    for gid in ids:
        group = s.get(nm.SecurityGroup, gid)
        if group is None or not (group.project_id == project_id or group.shared):
            raise errors.NotFound(f"Security group {gid} does not exist",
                                  kind="SecurityGroupNotFound")
        if gid not in out:
            out.append(gid)
    return out


def _pairs(pairs: Sequence[Any], mac: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for pair in pairs:
        if not isinstance(pair, Mapping) or "ip_address" not in pair or \
                not set(pair) <= {"ip_address", "mac_address"}:
            raise errors.BadRequest("Invalid input for allowed_address_pairs. Reason: "
                                    f"{pair} is not a valid address pair.",
                                    kind="InvalidInput")
        try:
            ip = str(ipaddress.ip_network(str(pair["ip_address"]), strict=False))
        except ValueError as e:
            raise errors.BadRequest(f"Invalid input for allowed_address_pairs. Reason: "
                                    f"'{pair['ip_address']}' is not a valid IP address.",
                                    kind="InvalidInput") from e
        if ip.endswith("/32") or ip.endswith("/128"):
            ip = ip.rsplit("/", 1)[0]
        entry = {"ip_address": ip, "mac_address": _mac(pair.get("mac_address") or mac)}
        if entry in out:
            raise errors.BadRequest("Request contains duplicate address pair: "
                                    f"mac_address {entry['mac_address']} ip_address {ip}.",
                                    kind="DuplicateAddressPairInRequest")
        out.append(entry)
    return out


def _mac(value: str) -> str:
    parts = str(value).lower().replace("-", ":").split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdef" for c in p)
                                  for p in parts) or int(parts[0], 16) & 1:
        raise errors.BadRequest(f"Invalid input for mac_address. Reason: '{value}' is not a "
                                "valid MAC address.", kind="InvalidInput")
    return ":".join(parts)


def _insert_port(s: Session, port: nm.Port, mac_given: bool) -> None:
    """Insert the port with a MAC unique on its network. A plain INSERT, not a SAVEPOINT: on
    SQLite (pysqlite) a savepoint as a transaction's first write would open, and on release
    commit, a transaction of its own. A random MAC that is taken is simply drawn again; the
    unique key still guards the (2^-24) race."""
    def taken(mac: str) -> bool:
        return s.scalars(select(nm.Port.id).where(nm.Port.network_id == port.network_id,
                                                  nm.Port.mac_address == mac)).first() is not None

    for _ in range(16):
        if not taken(port.mac_address):
            s.add(port)
            s.flush()
            return
        if mac_given:
            raise errors.Conflict(f"Unable to complete operation for network "
                                  f"{port.network_id}. The mac address {port.mac_address} "
                                  "is in use.", kind="MacAddressInUse")
        port.mac_address = random_mac()
    raise errors.Conflict("Unable to generate a unique mac address.",
                          kind="MacAddressGenerationFailure")


def make_port(s: Session, *, network: nm.Network, project_id: str, device_owner: str = "",
              device_id: str = "", fixed_ips: list[dict[str, str]] | None = None,
              mac_address: str | None = None, security_group_ids: list[str] | None = None,
              port_security_enabled: bool | None = None, binding_host_id: str = "",
              name: str = "", admin_state_up: bool = True,
              **extra: Any) -> nm.Port:
    """Create a port with its addresses (no policy checks; raises the domain errors of IPAM,
    MAC and security group checks). ``fixed_ips=None`` means Neutron's default addresses;
    ``security_group_ids=None`` means the project's default group, except for ``network:*``
    owners, which get no groups and port security off."""
    infra = device_owner.startswith("network:")
    security = port_security_enabled
    if security is None:
        security = False if infra else network.port_security_enabled
    pairs = extra.pop("allowed_address_pairs", None) or []
    port = nm.Port(
        id=str(uuid.uuid4()), network_id=network.id, project_id=project_id, name=name,
        mac_address=_mac(mac_address) if mac_address else random_mac(),
        admin_state_up=admin_state_up, status="DOWN", device_id=device_id,
        device_owner=device_owner, binding_host_id=binding_host_id,
        port_security_enabled=security, allowed_address_pairs=[], **extra)
    if security_group_ids is not None:
        groups = _groups(s, project_id, security_group_ids)
        if groups and not security:
            raise errors.Conflict("Port has no security group or IP address; port security "
                                  "is disabled so security groups cannot be applied.",
                                  kind="PortSecurityAndIPRequiredForSecurityGroups")
    if pairs and not security:
        raise errors.Conflict("Port Security must be enabled in order to have allowed address "
                              "pairs on a port.", kind="AddressPairAndPortSecurityRequired")
    # The port's plain INSERT comes before the default group's SAVEPOINT (see _insert_port).
    _insert_port(s, port, mac_address is not None)
    if security_group_ids is None:
        groups = [] if (infra or not security) else \
            [default_group.ensure_default(s, project_id).id]
    port.allowed_address_pairs = _pairs(pairs, port.mac_address)
    for gid in groups:
        s.add(nm.PortSecurityGroup(port_id=port.id, security_group_id=gid))
    if fixed_ips is None:
        _allocate(s, port, _default_ips(s, network), fallback=True)
    else:
        _allocate(s, port, _resolve_ips(s, network, fixed_ips), fallback=False)
    s.flush()
    changes.changed(s, networks=[network.id])
    return port


# --- DHCP ports ---------------------------------------------------------------------------

def _dhcp_port(s: Session, network_id: str) -> nm.Port | None:
    return s.scalars(select(nm.Port).where(nm.Port.network_id == network_id,
                                           nm.Port.device_owner == DHCP_OWNER)).first()


def ensure_dhcp(s: Session, network: nm.Network, subnet: nm.Subnet) -> None:
    """Give the network's DHCP port (made if missing) an address on ``subnet``."""
    port = _dhcp_port(s, network.id)
    if port is None:
        make_port(s, network=network, project_id=network.project_id, device_owner=DHCP_OWNER,
                  device_id=f"dhcp-{network.id}", fixed_ips=[{"subnet_id": subnet.id}])
        return
    if s.scalars(select(nm.IPAllocation.ip_address).where(
            nm.IPAllocation.port_id == port.id,
            nm.IPAllocation.subnet_id == subnet.id)).first() is None:
        ipam.allocate(s, subnet, port.id, None, port.mac_address)
        standard.touch(port)
        changes.changed(s, networks=[network.id])


def drop_dhcp(s: Session, network_id: str, subnet_id: str) -> None:
    """Take the DHCP port's address on ``subnet_id``; delete the port with its last DHCP
    subnet."""
    port = _dhcp_port(s, network_id)
    if port is None:
        return
    s.execute(sql_delete(nm.IPAllocation).where(nm.IPAllocation.port_id == port.id,
                                                nm.IPAllocation.subnet_id == subnet_id))
    left = s.scalars(select(nm.Subnet.id).join(
        nm.IPAllocation, nm.IPAllocation.subnet_id == nm.Subnet.id).where(
        nm.IPAllocation.port_id == port.id, nm.Subnet.enable_dhcp.is_(True),
        nm.Subnet.id != subnet_id)).first()
    if left is None:
        delete_port_row(s, port)
    else:
        standard.touch(port)
        changes.changed(s, networks=[network_id])


# --- the API operations -------------------------------------------------------------------

def _visible(ctx: Context) -> Any:
    if policy.allowed(ctx, "context_is_admin"):
        return true()
    owned_nets = select(nm.Network.id).where(nm.Network.project_id == ctx.project_id)
    return or_(nm.Port.project_id == ctx.project_id, nm.Port.network_id.in_(owned_nets))


def find(s: Session, ctx: Context, port_id: str) -> nm.Port:
    port = s.get(nm.Port, port_id)
    if port is None:
        raise not_found(port_id)
    net = s.get(nm.Network, port.network_id)
    if not policy.allowed(ctx, "get_port", {
            "project_id": port.project_id, "network_project_id": net.project_id if net else None}):
        raise not_found(port_id)
    return port


def _view(s: Session, ctx: Context, found: query.Found[nm.Port]) -> View:
    ids = [p.id for p in found.rows]
    ips = fixed_ips(s, ids)
    return View(found, ips, security_groups_of(s, ids), policy.allowed(ctx, "context_is_admin"),
                dns_assignments(s, found.rows, ips))


def dns_assignments(s: Session, rows: Sequence[nm.Port],
                    ips: Mapping[str, Sequence[tuple[str, str]]]
                    ) -> dict[str, list[dict[str, str]]]:
    """Port id → Neutron's ``dns_assignment`` (hostname and fqdn per fixed IP)."""
    net_ids = sorted({p.network_id for p in rows})
    domains = dict(s.execute(select(nm.Network.id, nm.Network.dns_domain).where(
        nm.Network.id.in_(net_ids))).tuples().all()) if net_ids else {}
    effective = {p.id: dns_names.port_domain(s, p.dns_domain, domains.get(p.network_id, ""))
                 for p in rows}
    names = dns_names.project_names(s, [p.project_id for p in rows
                                        if "<project_name>" in effective[p.id]])
    return {p.id: dns_names.assignment(
        p.dns_name, [ip for _sub, ip in ips.get(p.id, [])],
        dns_names.expand(effective[p.id], p.project_id, names.get(p.project_id)))
        for p in rows}


def dns_fields(s: Session, network: nm.Network, project_id: str, dns_name: Any,
               dns_domain: Any) -> tuple[str, str]:
    """A port's (``dns_name``, ``dns_domain``) checked as Neutron does (400 InvalidInput)."""
    domain = dns_names.check_domain(dns_domain)
    effective = dns_names.port_domain(s, domain, network.dns_domain)
    names = dns_names.project_names(s, [project_id]) if "<project_name>" in effective else {}
    return dns_names.check_port_name(
        dns_name, dns_names.expand(effective, project_id, names.get(project_id))), domain


def view_of(s: Session, ctx: Context, rows: Sequence[nm.Port]) -> View:
    """``rows`` (just written by this caller) as the API renders them."""
    return _view(s, ctx, query.found_of(s, rows))


def show(s: Session, ctx: Context, port_id: str) -> View:
    port = find(s, ctx, port_id)
    return _view(s, ctx, query.found_of(s, [port]))


COLUMNS: dict[str, Any] = {
    "binding:host_id": nm.Port.binding_host_id,
    "binding:vnic_type": nm.Port.binding_vnic_type,
}


def list_ports(s: Session, ctx: Context, q: query.ListQuery) -> View:
    stmt = select(nm.Port).where(_visible(ctx))
    filters = dict(q.filters)
    ips = filters.pop("fixed_ips", [])
    conds: dict[str, list[str]] = {}
    for item in ips:
        key, _, value = item.partition("=")
        conds.setdefault(key, []).append(value)
    if conds.get("ip_address"):
        stmt = stmt.where(nm.Port.id.in_(select(nm.IPAllocation.port_id).where(
            nm.IPAllocation.ip_address.in_(conds["ip_address"]))))
    if conds.get("subnet_id"):
        stmt = stmt.where(nm.Port.id.in_(select(nm.IPAllocation.port_id).where(
            nm.IPAllocation.subnet_id.in_(conds["subnet_id"]))))
    for sub in conds.get("ip_address_substr", []):
        stmt = stmt.where(nm.Port.id.in_(select(nm.IPAllocation.port_id).where(
            nm.IPAllocation.ip_address.contains(sub, autoescape=True))))
    for gid in filters.pop("security_groups", []):
        stmt = stmt.where(nm.Port.id.in_(select(nm.PortSecurityGroup.port_id).where(
            nm.PortSecurityGroup.security_group_id == gid)))
    q = dataclasses.replace(q, filters=filters)
    return _view(s, ctx, query.run(s, stmt, nm.Port, q, COLUMNS))


def _check_create(s: Session, ctx: Context, network: nm.Network, values: Mapping[str, Any],
                  project: str) -> None:
    on_network = {"network_project_id": network.project_id, "public": network.shared}
    if project != ctx.project_id:
        policy.enforce(ctx, "create_port:project_id")
    policy.enforce(ctx, "create_port", {"project_id": project})
    if network.external:
        policy.enforce(ctx, "create_port:network:external", on_network)
    if values.get("mac_address"):
        policy.enforce(ctx, "create_port:mac_address", on_network)
    if any(isinstance(f, Mapping) and "ip_address" in f for f in values.get("fixed_ips") or []):
        policy.enforce(ctx, "create_port:fixed_ips:ip_address", on_network)
    if str(values.get("device_owner", "")).startswith("network:"):
        policy.enforce(ctx, "create_port:device_owner", on_network)
    for key in ("binding:host_id", "binding:profile"):
        if values.get(key):
            policy.enforce(ctx, f"create_port:{key}")


def create(s: Session, ctx: Context, values: Mapping[str, Any],
           project_id: str | None = None) -> nm.Port:
    network = networks.find(s, ctx, values["network_id"])
    project = project_id or ctx.project_id or ""
    _check_create(s, ctx, network, values, project)
    quotas.check(s, project, "port")
    dns_name, dns_domain = dns_fields(s, network, project, values.get("dns_name"),
                                      values.get("dns_domain"))
    port = make_port(
        s, network=network, project_id=project, device_owner=values.get("device_owner", ""),
        device_id=values.get("device_id", ""), fixed_ips=values.get("fixed_ips"),
        mac_address=values.get("mac_address"),
        security_group_ids=values.get("security_groups"),
        port_security_enabled=values.get("port_security_enabled"),
        binding_host_id=values.get("binding:host_id", ""), name=values.get("name", ""),
        admin_state_up=values.get("admin_state_up", True),
        description=values.get("description", ""), dns_name=dns_name, dns_domain=dns_domain,
        binding_vnic_type=values.get("binding:vnic_type", "normal"),
        allowed_address_pairs=values.get("allowed_address_pairs"))
    if values.get("tags"):
        standard.set_tags(s, port, "port", values["tags"])
    return port


def create_many(s: Session, ctx: Context, items: Sequence[Mapping[str, Any]],
                project_ids: Sequence[str | None]) -> View:
    """Bulk create: all or nothing (one transaction)."""
    return view_of(s, ctx, [create(s, ctx, values, project)
                            for values, project in zip(items, project_ids)])


def _refix(s: Session, port: nm.Port, wanted: Sequence[Mapping[str, str]]) -> None:
    """Make the port's addresses ``wanted``: keep the ones asked again, free the rest,
    allocate the new ones."""
    network = s.get(nm.Network, port.network_id)
    assert network is not None
    resolved = _resolve_ips(s, network, wanted)
    current = s.scalars(select(nm.IPAllocation).where(
        nm.IPAllocation.port_id == port.id)).all()
    keep: set[tuple[str, str]] = set()
    todo: list[tuple[nm.Subnet, str | None]] = []
    remaining = {(a.subnet_id, a.ip_address) for a in current}
    for subnet, address in resolved:
        match = next((k for k in sorted(remaining) if k[0] == subnet.id and
                      (address is None or k[1] == address)), None)
        if match is not None:
            keep.add(match)
            remaining.discard(match)
        else:
            todo.append((subnet, address))
    for alloc in current:
        if (alloc.subnet_id, alloc.ip_address) not in keep:
            s.delete(alloc)
    s.flush()
    _allocate(s, port, todo, fallback=False)


def update(s: Session, ctx: Context, port_id: str, values: Mapping[str, Any]) -> nm.Port:
    port = find(s, ctx, port_id)
    policy.enforce(ctx, "update_port", {"project_id": port.project_id})
    network = s.get(nm.Network, port.network_id)
    for key in ("binding:host_id", "binding:profile"):
        if key in values:
            policy.enforce(ctx, f"update_port:{key}")
    if (values.get("binding:host_id") or "") != port.binding_host_id and \
            "binding:host_id" in values:
        # The host the port leaves must hear of it too: bump while it is still bound there.
        changes.changed(s, networks=[port.network_id])
    if "mac_address" in values and values["mac_address"] != port.mac_address:
        policy.enforce(ctx, "update_port:mac_address")
        if port.binding_host_id:
            raise errors.Conflict(f"Unable to complete operation on port {port.id}: it is "
                                  "bound, so its MAC address cannot change.",
                                  kind="PortBound")
        port.mac_address = _mac(values["mac_address"])
        try:
            with s.begin_nested():
                s.flush()
        except IntegrityError as e:
            raise errors.Conflict(f"The mac address {values['mac_address']} is in use.",
                                  kind="MacAddressInUse") from e
    if "fixed_ips" in values:
        if any(isinstance(f, Mapping) and "ip_address" in f for f in values["fixed_ips"] or []):
            policy.enforce(ctx, "update_port:fixed_ips:ip_address",
                           {"network_project_id": network.project_id if network else None})
        _refix(s, port, values["fixed_ips"] or [])
    security = values.get("port_security_enabled", port.port_security_enabled)
    groups = security_groups_of(s, [port.id])[port.id]
    if "security_groups" in values:
        groups = _groups(s, port.project_id, values["security_groups"] or [])
    pairs = port.allowed_address_pairs
    if "allowed_address_pairs" in values:
        pairs = _pairs(values["allowed_address_pairs"] or [], port.mac_address)
    if not security and groups:
        raise errors.Conflict(f"Port {port.id} has security groups; they must be removed "
                              "when port security is disabled.",
                              kind="PortSecurityPortHasSecurityGroup")
    if not security and pairs:
        raise errors.Conflict("Port Security must be enabled in order to have allowed address "
                              "pairs on a port.", kind="AddressPairAndPortSecurityRequired")
    if "security_groups" in values:
        s.execute(sql_delete(nm.PortSecurityGroup).where(
            nm.PortSecurityGroup.port_id == port.id))
        for gid in groups:
            s.add(nm.PortSecurityGroup(port_id=port.id, security_group_id=gid))
    port.port_security_enabled = bool(security)
    port.allowed_address_pairs = pairs
    if ("dns_name" in values or "dns_domain" in values) and network is not None:
        port.dns_name, port.dns_domain = dns_fields(
            s, network, port.project_id, values.get("dns_name", port.dns_name),
            values.get("dns_domain", port.dns_domain))
    for key, column in (("name", "name"), ("description", "description"),
                        ("admin_state_up", "admin_state_up"), ("device_id", "device_id"),
                        ("device_owner", "device_owner"),
                        ("binding:host_id", "binding_host_id"),
                        ("binding:vnic_type", "binding_vnic_type")):
        if key in values:
            setattr(port, column, values[key] if values[key] is not None else "")
    standard.touch(port)
    s.flush()
    changes.changed(s, networks=[port.network_id])
    return port


def delete(s: Session, ctx: Context, port_id: str) -> None:
    port = find(s, ctx, port_id)
    policy.enforce(ctx, "delete_port", {"project_id": port.project_id})
    if port.device_owner in L3_OWNERS:
        raise errors.Conflict(f"Port {port.id} cannot be deleted directly via the port API: "
                              f"has device owner {port.device_owner}.", kind="L3PortInUse")
    delete_port_row(s, port)
