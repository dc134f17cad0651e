"""Network tables (Neutron v2.0): networks, subnets, subnet pools, ports with their IP
allocations, security groups and rules, routers with static routes, floating IPs, tags and
per-project quota overrides.

Every Neutron resource carries the standard attributes (``description``, ``created_at``,
``updated_at``, ``revision_number``). IPAM is atomic because ``ip_allocations`` has a unique
(subnet, address) key: two concurrent allocations of one address cannot both commit; the loser
retries with the next free address. VXLAN segment ids are unique per network type the same way,
and a project's one ``default`` security group is guarded by the primary key of
``default_security_groups``.

Which ports a router or a DHCP server owns is Neutron's own convention: ``device_owner``
(``network:router_interface``, ``network:router_gateway``, ``network:floatingip``,
``network:dhcp``, ``compute:<az>``) and ``device_id``.
"""

from __future__ import annotations

import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sausage.db.models.base import Base, utcnow

__all__ = [
    "Network", "Subnet", "SubnetPool", "Port", "IPAllocation", "SecurityGroup",
    "DefaultSecurityGroup", "SecurityGroupRule", "PortSecurityGroup", "Router", "RouterRoute",
    "FloatingIP", "NetworkTag", "NetworkQuota",
]


class _Standard:
    """Neutron's standard attributes."""

    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    revision_number: Mapped[int] = mapped_column(BigInteger, default=0)


class Network(_Standard, Base):
    __tablename__ = "networks"
    __table_args__ = (
        UniqueConstraint("network_type", "physical_network", "segmentation_id",
                         name="uq_networks_segment"),
        Index("ix_networks_project", "project_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    shared: Mapped[bool] = mapped_column(default=False)
    external: Mapped[bool] = mapped_column(default=False)  # router:external
    is_default: Mapped[bool] = mapped_column(default=False)  # the external net for auto-allocation
    mtu: Mapped[int] = mapped_column(default=1450)
    port_security_enabled: Mapped[bool] = mapped_column(default=True)
    # provider:network_type "vxlan" | "flat"; flat networks map physical_network to a host bridge.
    network_type: Mapped[str] = mapped_column(String(16), default="vxlan")
    physical_network: Mapped[str] = mapped_column(String(64), default="")
    segmentation_id: Mapped[int | None]
    dns_domain: Mapped[str] = mapped_column(String(255), default="")


class SubnetPool(_Standard, Base):
    __tablename__ = "subnetpools"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    ip_version: Mapped[int]
    prefixes: Mapped[list[str]]
    default_prefixlen: Mapped[int]
    min_prefixlen: Mapped[int]
    max_prefixlen: Mapped[int]
    default_quota: Mapped[int | None]
    shared: Mapped[bool] = mapped_column(default=False)
    is_default: Mapped[bool] = mapped_column(default=False)
    address_scope_id: Mapped[str | None] = mapped_column(String(36))


class Subnet(_Standard, Base):
    __tablename__ = "subnets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    ip_version: Mapped[int]
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    enable_dhcp: Mapped[bool] = mapped_column(default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(32))
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(32))
    subnetpool_id: Mapped[str | None] = mapped_column(
        ForeignKey("subnetpools.id"), index=True)
    # [{"start": ip, "end": ip}], [ip], [{"destination": cidr, "nexthop": ip}]
    allocation_pools: Mapped[list[dict[str, str]]]
    dns_nameservers: Mapped[list[str]]
    host_routes: Mapped[list[dict[str, str]]]


class Port(_Standard, Base):
    __tablename__ = "ports"
    __table_args__ = (
        UniqueConstraint("network_id", "mac_address", name="uq_ports_network_mac"),
        Index("ix_ports_device", "device_id"),
        Index("ix_ports_project", "project_id"),
        Index("ix_ports_binding_host", "binding_host_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="")
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    binding_host_id: Mapped[str] = mapped_column(String(255), default="")  # the host's *name*
    binding_vnic_type: Mapped[str] = mapped_column(String(32), default="normal")
    port_security_enabled: Mapped[bool] = mapped_column(default=True)
    # [{"ip_address": ip-or-cidr, "mac_address": mac}]
    allowed_address_pairs: Mapped[list[dict[str, str]]] = mapped_column(default=list)
    dns_name: Mapped[str] = mapped_column(String(255), default="")
    dns_domain: Mapped[str] = mapped_column(String(255), default="")  # dns-domain-ports


class IPAllocation(Base):
    __tablename__ = "ip_allocations"
    __table_args__ = (
        UniqueConstraint("subnet_id", "ip_address", name="uq_ip_allocations_subnet_ip"),
    )
    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(36), index=True)


class SecurityGroup(_Standard, Base):
    __tablename__ = "security_groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    stateful: Mapped[bool] = mapped_column(default=True)
    shared: Mapped[bool] = mapped_column(default=False)


class DefaultSecurityGroup(Base):
    """One ``default`` group per project; the primary key makes its lazy creation race-free."""

    __tablename__ = "default_security_groups"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"))


class SecurityGroupRule(_Standard, Base):
    __tablename__ = "security_group_rules"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # ingress | egress
    ethertype: Mapped[str] = mapped_column(String(8))  # IPv4 | IPv6
    protocol: Mapped[str | None] = mapped_column(String(40))
    port_range_min: Mapped[int | None]
    port_range_max: Mapped[int | None]
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    remote_address_group_id: Mapped[str | None] = mapped_column(String(36))


class PortSecurityGroup(Base):
    __tablename__ = "port_security_groups"
    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id"), primary_key=True, index=True)


class Router(_Standard, Base):
    __tablename__ = "routers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    gw_port_id: Mapped[str | None] = mapped_column(
        ForeignKey("ports.id", ondelete="SET NULL"))
    enable_snat: Mapped[bool] = mapped_column(default=True)
    # The network host the router lives on (hosts.id), chosen when it first needs one.
    host_id: Mapped[str | None] = mapped_column(ForeignKey("hosts.id"), index=True)


class RouterRoute(Base):
    __tablename__ = "router_routes"
    router_id: Mapped[str] = mapped_column(
        ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(64), primary_key=True)
    nexthop: Mapped[str] = mapped_column(String(64), primary_key=True)


class FloatingIP(_Standard, Base):
    __tablename__ = "floatingips"
    __table_args__ = (
        UniqueConstraint("floating_network_id", "floating_ip_address",
                         name="uq_floatingips_network_address"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    floating_network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"))
    floating_port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), unique=True)
    fixed_port_id: Mapped[str | None] = mapped_column(
        ForeignKey("ports.id", ondelete="SET NULL"), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    router_id: Mapped[str | None] = mapped_column(
        ForeignKey("routers.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    dns_name: Mapped[str] = mapped_column(String(255), default="")
    dns_domain: Mapped[str] = mapped_column(String(255), default="")


class NetworkTag(Base):
    """Tags of any Neutron resource (ids are UUIDs, so one table serves all kinds)."""

    __tablename__ = "network_tags"
    resource_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)
    resource_type: Mapped[str] = mapped_column(String(32))


class NetworkQuota(Base):
    __tablename__ = "network_quotas"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    limit: Mapped[int]

