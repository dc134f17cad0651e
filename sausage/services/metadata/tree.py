"""The metadata service (169.254.169.254) as Nova serves it (``nova/api/metadata/base.py``):
the OpenStack tree (``/openstack/<version>/meta_data.json``, ``user_data``,
``network_data.json``, ``vendor_data.json``, ``vendor_data2.json``, ``password``) and the EC2
tree (``/<version>/meta-data/…``, ``/<version>/user-data``).

The agent's proxy (in a DHCP or router namespace) forwards a guest's request to
``api/internal/metadata.py`` with the network it came from and the guest's address; ``answer``
finds the one server owning that address on that network and answers about it only. Pure
rendering after a few queries (``network_data.json`` in ``network_data``); no host side effects.
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
from sausage.db.models import volume as vm
from sausage.services.metadata import network_data

__all__ = ["Answer", "Instance", "answer", "find_instance", "OPENSTACK_VERSIONS",
           "EC2_VERSIONS"]

# Nova's names for these dates: FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO, OCATA,
# ROCKY, VICTORIA, EPOXY. Real cloud-init reads the newest one it knows (2018-08-27 for 22.4).
OPENSTACK_VERSIONS = ("2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
                      "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", "2025-04-04")
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
                "2008-02-01", "2008-09-01", "2009-04-04")
TEXT = "text/plain; charset=UTF-8"
JSON = "application/json"
DHCP_OWNER = "network:dhcp"


@dataclasses.dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str


@dataclasses.dataclass
class Instance:
    """What the metadata trees are made of, loaded once per request."""

    server: m.Server
    meta: dict[str, str]
    vifs: list[network_data.Vif]
    floating: list[str]
    security_groups: list[str]
    volume_devices: list[str]  # mountpoints of the attached volumes
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
    ports = list(s.scalars(select(nm.Port).where(
        nm.Port.device_id == server.id, nm.Port.device_owner.startswith("compute:")).order_by(
        nm.Port.created_at, nm.Port.id)))
    port_ids = [p.id for p in ports]
    meta = dict(s.execute(select(m.ServerMetadata.key, m.ServerMetadata.value).where(
        m.ServerMetadata.server_id == server.id)).tuples().all())
    volumes = sorted(d for d in s.scalars(select(vm.VolumeAttachment.mountpoint).where(
        vm.VolumeAttachment.instance_uuid == server.id,
        vm.VolumeAttachment.attach_status == "attached")) if d)
    if not port_ids:
        return Instance(server, meta, [], [], [], volumes, address)
    floating = list(s.scalars(select(nm.FloatingIP.floating_ip_address).where(
        nm.FloatingIP.fixed_port_id.in_(port_ids)).order_by(
        nm.FloatingIP.floating_ip_address)))
    groups = sorted(set(s.scalars(select(nm.SecurityGroup.name).join(
        nm.PortSecurityGroup,
        nm.PortSecurityGroup.security_group_id == nm.SecurityGroup.id).where(
        nm.PortSecurityGroup.port_id.in_(port_ids)))))
    return Instance(server, meta, _vifs(s, ports), floating, groups, volumes, address)


def _vifs(s: Session, ports: list[nm.Port]) -> list[network_data.Vif]:
    """The ports as Nova's network model has them: per port, the subnets it has addresses on
    (in the order they were made) with its addresses and the DHCP server's address on each."""
    allocations = s.execute(select(nm.IPAllocation.port_id, nm.IPAllocation.subnet_id,
                                   nm.IPAllocation.ip_address).where(
        nm.IPAllocation.port_id.in_([p.id for p in ports]))).tuples().all()
    subnet_ids = sorted({a[1] for a in allocations})
    subnets = list(s.scalars(select(nm.Subnet).where(nm.Subnet.id.in_(subnet_ids)).order_by(
        nm.Subnet.created_at, nm.Subnet.id))) if subnet_ids else []
    dhcp = dict(s.execute(select(nm.IPAllocation.subnet_id, nm.IPAllocation.ip_address).join(
        nm.Port, nm.Port.id == nm.IPAllocation.port_id).where(
        nm.Port.device_owner == DHCP_OWNER,
        nm.IPAllocation.subnet_id.in_(subnet_ids))).tuples().all()) if subnet_ids else {}
    nets = {n.id: n for n in s.scalars(select(nm.Network).where(
        nm.Network.id.in_(sorted({p.network_id for p in ports}))))}
    by_port: dict[tuple[str, str], list[str]] = {}
    for port_id, subnet_id, ip in sorted(allocations, key=lambda a: int(
            ipaddress.ip_address(a[2]))):
        by_port.setdefault((port_id, subnet_id), []).append(ip)
    vifs = []
    for port in ports:
        net = nets.get(port.network_id)
        if net is None:
            continue
        vifs.append(network_data.Vif(
            port_id=port.id, mac_address=port.mac_address, network_id=net.id, mtu=net.mtu,
            subnets=tuple(network_data.Subnet(
                cidr=sub.cidr, ips=tuple(by_port[(port.id, sub.id)]),
                gateway_ip=sub.gateway_ip, enable_dhcp=sub.enable_dhcp,
                ipv6_address_mode=sub.ipv6_address_mode,
                dns_nameservers=tuple(sub.dns_nameservers or ()),
                host_routes=tuple((r["destination"], r["nexthop"])
                                  for r in sub.host_routes or ()),
                dhcp_server=dhcp.get(sub.id))
                for sub in subnets if (port.id, sub.id) in by_port)))
    return vifs


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
        return _ec2(instance, parts[0], parts[1:])
    raise _missing()


def _text(body: str) -> Answer:
    return Answer(body.encode(), TEXT)


def _json(body: Any, content_type: str = JSON) -> Answer:
    return Answer(json.dumps(body).encode(), content_type)


def _user_data(instance: Instance) -> bytes | None:
    if instance.server.user_data is None:
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
    user_data = _user_data(instance)
    # The listing in Nova's order, each file from the version that introduced it.
    files = ["meta_data.json", *(["user_data"] if user_data is not None else []),
             *(["password"] if date >= "2013-04-04" else []),
             *(["vendor_data.json"] if date >= "2013-10-17" else []),
             *(["network_data.json"] if date >= "2015-10-15" else []),
             *(["vendor_data2.json"] if date >= "2016-10-06" else [])]
    if len(parts) == 1:
        return _text("\n".join(files))
    name = "/".join(parts[1:])
    if name not in files:
        raise _missing()
    if name == "meta_data.json":
        return _json(_meta_data(instance, date))
    if name == "user_data":
        assert user_data is not None
        return Answer(user_data, TEXT)
    if name == "network_data.json":
        # Nova answers this one (and user_data, password) as text/plain.
        return _json(network_data.render(instance.vifs), TEXT)
    if name == "password":
        return _text("")
    if name == "vendor_data.json":
        return _json({})  # Nova's StaticJSON provider without a vendordata file
    return _json({"static": {}})  # vendor_data2.json: one entry per provider


def _keys(server: m.Server) -> list[dict[str, str]]:
    if not server.key_name or not server.key_data:
        return []
    kind = "x509" if server.key_data.lstrip().startswith("-----BEGIN CERTIFICATE") else "ssh"
    return [{"name": server.key_name, "type": kind, "data": server.key_data}]


def _meta_data(instance: Instance, date: str) -> dict[str, Any]:
    server = instance.server
    body: dict[str, Any] = {"uuid": server.id}
    if instance.meta:
        body["meta"] = instance.meta
    keys = _keys(server)
    if keys:
        body["public_keys"] = {k["name"]: k["data"] for k in keys}
        body["keys"] = keys
    body.update({"hostname": server.hostname, "name": server.name,
                 "launch_index": server.launch_index,
                 "availability_zone": server.availability_zone or "nova"})
    if date >= "2013-04-04":
        body["random_seed"] = base64.b64encode(os.urandom(512)).decode()
    if date >= "2015-10-15":
        body["project_id"] = server.project_id
    if date >= "2016-06-30":
        body["devices"] = []  # device tags are not kept: nothing tagged to describe
    if date >= "2020-10-14":
        body["dedicated_cpus"] = []  # no CPU pinning
    return body


# --- the EC2 tree --------------------------------------------------------------------------

def _ec2_id(prefix: str, uuid_text: str | None) -> str:
    """Nova's ``i-%08x`` style, from the first 32 bits of the UUID (ours have no integers)."""
    digits = (uuid_text or "").replace("-", "")[:8] or "0"
    try:
        return f"{prefix}-{int(digits, 16):08x}"
    except ValueError:
        return f"{prefix}-00000000"


def _block_device_mapping(instance: Instance) -> dict[str, str]:
    """Nova's ``instance_block_mapping``: the root disk, then each volume as ``ebsN``."""
    mapping = {"ami": "vda", "root": "/dev/vda"}
    for n, device in enumerate(instance.volume_devices):
        mapping[f"ebs{n}"] = device
    return mapping


def _ec2_meta(instance: Instance, version: str) -> dict[str, Any]:
    server = instance.server
    since = EC2_VERSIONS.index(version)
    local = next((ip for vif in instance.vifs for sub in vif.subnets if sub.version == 4
                  for ip in sub.ips), instance.fixed_ip)
    data: dict[str, Any] = {
        "ami-id": _ec2_id("ami", server.image_id),
        "ami-launch-index": str(server.launch_index),
        "ami-manifest-path": "FIXME",
        "instance-id": _ec2_id("i", server.id),
        "hostname": server.hostname,
        "local-ipv4": local,
        "reservation-id": server.reservation_id,
        "security-groups": "\n".join(instance.security_groups),
    }
    keys = _keys(server)
    if keys:
        data["public-keys"] = {f"0={keys[0]['name']}": {"openssh-key": keys[0]["data"]}}
    if since >= EC2_VERSIONS.index("2007-01-19"):
        data.update({"local-hostname": server.hostname, "public-hostname": server.hostname,
                     "public-ipv4": instance.floating[0] if instance.floating else ""})
    if since >= EC2_VERSIONS.index("2007-08-29"):
        data["instance-type"] = str(server.flavor.get("name", ""))
    if since >= EC2_VERSIONS.index("2007-12-15"):
        data["block-device-mapping"] = _block_device_mapping(instance)
    if since >= EC2_VERSIONS.index("2008-02-01"):
        data["placement"] = {"availability-zone": server.availability_zone or "nova"}
    if since >= EC2_VERSIONS.index("2008-09-01"):
        data["instance-action"] = "none"
    return data


def _listing(tree: dict[str, Any]) -> str:
    """A directory as Nova lists it: sorted; subtrees end with ``/``; public-keys entries are
    ``0=name``."""
    return "\n".join(f"{k}/" if isinstance(v, dict) and "=" not in k else
                     k for k, v in sorted(tree.items()))


def _ec2(instance: Instance, version: str, parts: Sequence[str]) -> Answer:
    user_data = _user_data(instance)
    if not parts:
        return _text("\n".join(["meta-data/", *(["user-data"] if user_data is not None
                                                else [])]))
    if parts[0] == "user-data" and len(parts) == 1:
        if user_data is None:
            raise _missing()
        return Answer(user_data, TEXT)
    if parts[0] != "meta-data":
        raise _missing()
    node: Any = _ec2_meta(instance, EC2_VERSIONS[-1] if version == "latest" else version)
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
