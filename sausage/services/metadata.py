"""The metadata service (169.254.169.254) as Nova serves it: the OpenStack tree
(``/openstack/<version>/meta_data.json``, ``user_data``, ``network_data.json``,
``vendor_data.json``, ``vendor_data2.json``, ``password``) and the EC2 tree
(``/<version>/meta-data/…``, ``/<version>/user-data``).

The agent's proxy (in a DHCP or router namespace) forwards a guest's request to
``api/internal/metadata.py`` with the network it came from and the guest's address; ``answer``
finds the one server owning that address on that network and answers about it only. Pure
rendering after two or three queries; no host side effects.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.db.models import network as nm

__all__ = ["Answer", "Instance", "answer", "find_instance", "OPENSTACK_VERSIONS",
           "EC2_VERSIONS"]

OPENSTACK_VERSIONS = ("2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
                      "2016-10-06", "2017-02-22", "2018-08-27")
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
                "2008-02-01", "2008-09-01", "2009-04-04")
TEXT = "text/plain; charset=UTF-8"
JSON = "application/json"
BINARY = "application/octet-stream"


@dataclasses.dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str


@dataclasses.dataclass
class Nic:
    port: nm.Port
    network: nm.Network
    ips: list[tuple[nm.Subnet, str]]


@dataclasses.dataclass
class Instance:
    """What the metadata trees are made of, loaded once per request."""

    server: m.Server
    meta: dict[str, str]
    nics: list[Nic]
    floating: list[str]
    security_groups: list[str]
    fixed_ip: str  # the address that asked


def _missing() -> errors.NotFound:
    return errors.NotFound("The resource could not be found.")


def find_instance(s: Session, network_id: str, fixed_ip: str) -> Instance:
    """The server whose port on ``network_id`` holds ``fixed_ip``; NotFound otherwise."""
    try:
        address = str(ipaddress.ip_address(fixed_ip.strip()))
    except ValueError as e:
        raise _missing() from e
    found = s.execute(select(m.Server).join(nm.Port, nm.Port.device_id == m.Server.id).join(
        nm.IPAllocation, nm.IPAllocation.port_id == nm.Port.id).where(
        nm.IPAllocation.network_id == network_id, nm.IPAllocation.ip_address == address,
        nm.Port.device_owner.startswith("compute:"), m.Server.deleted.is_(False))).first()
    if found is None:
        raise _missing()
    server = found[0]
    port_rows = list(s.scalars(select(nm.Port).where(
        nm.Port.device_id == server.id, nm.Port.device_owner.startswith("compute:")).order_by(
        nm.Port.created_at, nm.Port.id)))
    port_ids = [p.id for p in port_rows]
    allocations = s.execute(select(nm.IPAllocation.port_id, nm.Subnet, nm.IPAllocation.ip_address)
                            .join(nm.Subnet, nm.Subnet.id == nm.IPAllocation.subnet_id).where(
        nm.IPAllocation.port_id.in_(port_ids))).tuples().all() if port_ids else []
    by_port: dict[str, list[tuple[nm.Subnet, str]]] = {p: [] for p in port_ids}
    for port_id, subnet, ip in sorted(allocations, key=lambda r: (
            ipaddress.ip_address(r[2]).version, int(ipaddress.ip_address(r[2])))):
        by_port[port_id].append((subnet, ip))
    nets = {n.id: n for n in s.scalars(select(nm.Network).where(
        nm.Network.id.in_(sorted({p.network_id for p in port_rows}))))}
    floating = list(s.scalars(select(nm.FloatingIP.floating_ip_address).where(
        nm.FloatingIP.fixed_port_id.in_(port_ids)).order_by(
        nm.FloatingIP.floating_ip_address))) if port_ids else []
    groups = sorted(set(s.scalars(select(nm.SecurityGroup.name).join(
        nm.PortSecurityGroup,
        nm.PortSecurityGroup.security_group_id == nm.SecurityGroup.id).where(
        nm.PortSecurityGroup.port_id.in_(port_ids))))) if port_ids else []
    meta = dict(s.execute(select(m.ServerMetadata.key, m.ServerMetadata.value).where(
        m.ServerMetadata.server_id == server.id)).tuples().all())
    nics = [Nic(p, nets[p.network_id], by_port[p.id]) for p in port_rows if p.network_id in nets]
    return Instance(server, meta, nics, floating, groups, address)


def answer(s: Session, network_id: str, fixed_ip: str, path: str) -> Answer:
    """GET ``path`` of the metadata service for the guest ``fixed_ip`` on ``network_id``."""
    instance = find_instance(s, network_id, fixed_ip)
    parts = [p for p in path.split("/") if p]
    if ".." in parts:
        raise _missing()
    if not parts:
        return _text("\n".join([*EC2_VERSIONS, "latest"]))
    if parts[0] == "openstack":
        return _openstack(instance, parts[1:])
    if parts[0] in EC2_VERSIONS or parts[0] == "latest":
        return _ec2(instance, parts[1:])
    raise _missing()


def _text(body: str) -> Answer:
    return Answer(body.encode(), TEXT)


def _json(body: Any) -> Answer:
    return Answer(json.dumps(body).encode(), JSON)


def _user_data(instance: Instance) -> bytes | None:
    if not instance.server.user_data:
        return None
    return base64.b64decode(instance.server.user_data)


# --- the OpenStack tree ------------------------------------------------------------------------

def _openstack(instance: Instance, parts: Sequence[str]) -> Answer:
    if not parts:
        return _text("\n".join([*OPENSTACK_VERSIONS, "latest"]))
    version = parts[0]
    if version not in OPENSTACK_VERSIONS and version != "latest":
        raise _missing()
    date = OPENSTACK_VERSIONS[-1] if version == "latest" else version
    files = ["meta_data.json", "password", "vendor_data.json"]
    if date >= "2015-10-15":
        files.append("network_data.json")
    if date >= "2016-10-06":
        files.append("vendor_data2.json")
    user_data = _user_data(instance)
    if user_data is not None:
        files.append("user_data")
    if len(parts) == 1:
        return _text("\n".join(files))
    name = "/".join(parts[1:])
    if name not in files:
        raise _missing()
    if name == "meta_data.json":
        return _json(_meta_data(instance, date))
    if name == "user_data":
        assert user_data is not None
        return Answer(user_data, BINARY)
    if name == "network_data.json":
        return _json(_network_data(instance))
    if name == "password":
        return _text("")
    return _json({})  # vendor_data.json, vendor_data2.json


def _keys(server: m.Server) -> list[dict[str, str]]:
    if not server.key_name or not server.key_data:
        return []
    return [{"name": server.key_name, "type": "ssh", "data": server.key_data}]


def _meta_data(instance: Instance, date: str) -> dict[str, Any]:
    server = instance.server
    keys = _keys(server)
    body: dict[str, Any] = {
        "uuid": server.id, "meta": instance.meta, "hostname": server.hostname,
        "name": server.name, "launch_index": server.launch_index,
        "availability_zone": server.availability_zone or "nova",
    }
    if keys:
        body["public_keys"] = {k["name"]: k["data"] for k in keys}
        if date >= "2015-10-15":
            body["keys"] = keys
    else:
        body["public_keys"], body["keys"] = {}, []
    if date >= "2015-10-15":
        body["project_id"] = server.project_id
    if date >= "2013-04-04":
        body["random_seed"] = base64.b64encode(os.urandom(512)).decode()
    if date >= "2016-06-30":
        body["devices"] = []
    return body


def _netmask(subnet: nm.Subnet) -> str:
    return str(ipaddress.ip_network(subnet.cidr).netmask)


def _network_data(instance: Instance) -> dict[str, Any]:
    links: list[dict[str, Any]] = []
    nets: list[dict[str, Any]] = []
    dns: list[str] = []
    for nic in instance.nics:
        link = "tap" + nic.port.id[:11]
        links.append({"id": link, "vif_id": nic.port.id, "type": "bridge",
                      "mtu": nic.network.mtu, "ethernet_mac_address": nic.port.mac_address})
        for subnet, ip in nic.ips:
            version = ipaddress.ip_address(ip).version
            routes: list[dict[str, str]] = []
            if subnet.gateway_ip:
                default = "0.0.0.0" if version == 4 else "::"
                routes.append({"network": default, "netmask": default,
                               "gateway": subnet.gateway_ip})
            for route in subnet.host_routes or []:
                dest = ipaddress.ip_network(route["destination"])
                routes.append({"network": str(dest.network_address),
                               "netmask": str(dest.netmask) if version == 4
                               else str(dest.prefixlen), "gateway": route["nexthop"]})
            services = [{"type": "dns", "address": a} for a in subnet.dns_nameservers or []]
            dns += [a for a in subnet.dns_nameservers or [] if a not in dns]
            nets.append({"id": f"network{len(nets)}", "type": f"ipv{version}", "link": link,
                         "ip_address": ip,
                         "netmask": _netmask(subnet) if version == 4
                         else str(ipaddress.ip_network(subnet.cidr).netmask),
                         "routes": routes, "network_id": nic.network.id, "services": services})
    return {"links": links, "networks": nets,
            "services": [{"type": "dns", "address": a} for a in dns]}


# --- the EC2 tree --------------------------------------------------------------------------

def _ec2_id(prefix: str, uuid_text: str | None) -> str:
    """Nova's ``i-%08x`` style, from the first 32 bits of the UUID (ours have no integers)."""
    digits = (uuid_text or "").replace("-", "")[:8] or "0"
    try:
        return f"{prefix}-{int(digits, 16):08x}"
    except ValueError:
        return f"{prefix}-00000000"


def _ec2_meta(instance: Instance) -> dict[str, Any]:
    server = instance.server
    local = next((ip for nic in instance.nics for _sub, ip in nic.ips
                  if ipaddress.ip_address(ip).version == 4), instance.fixed_ip)
    keys = _keys(server)
    data: dict[str, Any] = {
        "ami-id": _ec2_id("ami", server.image_id),
        "ami-launch-index": str(server.launch_index),
        "ami-manifest-path": "FIXME",
        "block-device-mapping": {"ami": "vda", "root": "/dev/vda"},
        "hostname": server.hostname,
        "instance-action": "none",
        "instance-id": _ec2_id("i", server.id),
        "instance-type": str(server.flavor.get("name", "")),
        "local-hostname": server.hostname,
        "local-ipv4": local,
        "placement": {"availability-zone": server.availability_zone or "nova"},
        "public-hostname": server.hostname,
        "public-ipv4": instance.floating[0] if instance.floating else "",
        "reservation-id": server.reservation_id,
        "security-groups": "\n".join(instance.security_groups),
    }
    if keys:
        data["public-keys"] = {f"0={keys[0]['name']}": {"openssh-key": keys[0]["data"]}}
    return data


def _listing(tree: dict[str, Any]) -> str:
    """A directory as EC2 lists it: subtrees end with ``/``; public-keys entries are
    ``0=name``."""
    return "\n".join(f"{k}/" if isinstance(v, dict) and "=" not in k else
                     k for k, v in tree.items())


def _ec2(instance: Instance, parts: Sequence[str]) -> Answer:
    user_data = _user_data(instance)
    if not parts:
        return _text("\n".join(["meta-data/", *(["user-data"] if user_data else [])]))
    if parts[0] == "user-data" and len(parts) == 1:
        if user_data is None:
            raise _missing()
        return Answer(user_data, BINARY)
    if parts[0] != "meta-data":
        raise _missing()
    node: Any = _ec2_meta(instance)
    for part in parts[1:]:
        if not isinstance(node, dict):
            raise _missing()
        if part not in node:
            # public-keys/0 names the key listed as "0=name".
            match = [k for k in node if k.split("=", 1)[0] == part]
            if not match:
                raise _missing()
            part = match[0]
        node = node[part]
    if isinstance(node, dict):
        return _text(_listing(node))
    return _text(str(node))
