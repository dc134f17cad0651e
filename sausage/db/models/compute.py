"""Compute tables: flavors, keypairs, hosts, servers (with metadata, tags, actions), server
groups, and per-project quota overrides.

A server row holds the *desired* state the user asked for (``power``, counters for one-shot
operations) and the *observed* state its host's agent last reported (``vm_state`` …); the API
derives the Nova status from both. Resource claims live on the host row (``used_*``) and are
taken with one conditional UPDATE, so concurrent boots never overcommit a host.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sausage.db.models.base import Base, utcnow

__all__ = [
    "Flavor", "FlavorExtraSpec", "FlavorAccess", "KeyPair", "Host", "Server", "ServerMetadata",
    "ServerTag", "InstanceAction", "InstanceActionEvent", "ServerGroup", "ServerGroupMember",
    "Quota", "QuotaLock",
]


class Flavor(Base):
    __tablename__ = "flavors"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int]
    ram: Mapped[int]  # MiB
    disk: Mapped[int]  # GiB
    ephemeral: Mapped[int] = mapped_column(default=0)
    swap: Mapped[int] = mapped_column(default=0)
    rxtx_factor: Mapped[float] = mapped_column(default=1.0)
    is_public: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class FlavorExtraSpec(Base):
    __tablename__ = "flavor_extra_specs"
    flavor_id: Mapped[str] = mapped_column(
        ForeignKey("flavors.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class FlavorAccess(Base):
    __tablename__ = "flavor_access"
    flavor_id: Mapped[str] = mapped_column(
        ForeignKey("flavors.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class KeyPair(Base):
    __tablename__ = "keypairs"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(10), default="ssh")
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class Host(Base):
    __tablename__ = "hosts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    virt_type: Mapped[str] = mapped_column(String(8), default="tcg")
    vcpus: Mapped[int]
    memory_mb: Mapped[int]
    disk_gb: Mapped[int]
    used_vcpus: Mapped[int] = mapped_column(default=0)
    used_memory_mb: Mapped[int] = mapped_column(default=0)
    used_disk_gb: Mapped[int] = mapped_column(default=0)
    cpu_allocation_ratio: Mapped[float] = mapped_column(default=4.0)
    ram_allocation_ratio: Mapped[float] = mapped_column(default=1.0)
    disk_allocation_ratio: Mapped[float] = mapped_column(default=1.0)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    forced_down: Mapped[bool] = mapped_column(default=False)
    # Networking: the underlay address VXLAN peers send to, and whether the host can run
    # routers and DHCP (it has the external network's bridge).
    tunnel_ip: Mapped[str | None] = mapped_column(String(64))
    network_node: Mapped[bool] = mapped_column(default=False)
    # The block-storage backend whose volumes this host's agent holds ("file"), if any.
    volume_backend: Mapped[str | None] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(255))
    revision: Mapped[int] = mapped_column(BigInteger, default=1)
    revision_seen: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seen: Mapped[datetime.datetime | None]
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class Server(Base):
    __tablename__ = "servers"
    __table_args__ = (
        Index("ix_servers_project_created", "project_id", "created_at"),
        Index("ix_servers_host", "host_id"),
        Index("ix_servers_updated", "updated_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    hostname: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    host_id: Mapped[str | None] = mapped_column(ForeignKey("hosts.id"))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    requested_zone: Mapped[str | None] = mapped_column(String(255))
    flavor_id: Mapped[str] = mapped_column(String(255))
    # The resources the server holds (from its flavor), summed for quotas and host claims.
    vcpus: Mapped[int] = mapped_column(default=0)
    memory_mb: Mapped[int] = mapped_column(default=0)
    root_gb: Mapped[int] = mapped_column(default=0)
    # The flavor as it was at boot (Nova embeds it; flavors can change or go away later).
    flavor: Mapped[dict[str, Any]]
    old_flavor: Mapped[dict[str, Any] | None]
    image_id: Mapped[str | None] = mapped_column(String(36))
    key_name: Mapped[str | None] = mapped_column(String(255))
    key_data: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(Text)  # base64 as given
    config_drive: Mapped[str] = mapped_column(String(8), default="")
    access_ipv4: Mapped[str] = mapped_column(String(64), default="")
    access_ipv6: Mapped[str] = mapped_column(String(64), default="")
    reservation_id: Mapped[str] = mapped_column(String(32))
    launch_index: Mapped[int] = mapped_column(default=0)
    # Desired state (what the user asked for).
    power: Mapped[str] = mapped_column(String(16), default="running")
    power_seq: Mapped[int] = mapped_column(default=1)
    reboot_seq: Mapped[int] = mapped_column(default=0)
    reboot_kind: Mapped[str] = mapped_column(String(8), default="soft")
    rebuild_seq: Mapped[int] = mapped_column(default=0)
    resize_seq: Mapped[int] = mapped_column(default=0)
    # Nova's state machine, kept true by the agent's reports.
    vm_state: Mapped[str] = mapped_column(String(16), default="building")
    task_state: Mapped[str | None] = mapped_column(String(32))
    power_state: Mapped[int] = mapped_column(default=0)
    observed: Mapped[dict[str, Any]] = mapped_column(default=dict)
    console_tail: Mapped[str] = mapped_column(Text, default="")
    fault: Mapped[dict[str, Any] | None]
    locked: Mapped[bool] = mapped_column(default=False)
    locked_by: Mapped[str | None] = mapped_column(String(16))
    locked_reason: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    launched_at: Mapped[datetime.datetime | None]
    terminated_at: Mapped[datetime.datetime | None]
    deleted: Mapped[bool] = mapped_column(default=False, index=True)


class ServerMetadata(Base):
    __tablename__ = "server_metadata"
    server_id: Mapped[str] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class ServerTag(Base):
    __tablename__ = "server_tags"
    server_id: Mapped[str] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)


class InstanceAction(Base):
    __tablename__ = "instance_actions"
    __table_args__ = (Index("ix_instance_actions_server", "server_id", "start_time"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    server_id: Mapped[str] = mapped_column(String(36))
    request_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    finish_time: Mapped[datetime.datetime | None]
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class InstanceActionEvent(Base):
    __tablename__ = "instance_action_events"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("instance_actions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    result: Mapped[str | None] = mapped_column(String(255))
    traceback: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    finish_time: Mapped[datetime.datetime | None]


class ServerGroup(Base):
    __tablename__ = "server_groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(32))
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class ServerGroupMember(Base):
    __tablename__ = "server_group_members"
    group_id: Mapped[str] = mapped_column(
        ForeignKey("server_groups.id", ondelete="CASCADE"), primary_key=True)
    server_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class QuotaLock(Base):
    """One row per project, updated first by every quota-checked write so that two concurrent
    creates in one project check their quota one after the other (SQLite and PostgreSQL)."""

    __tablename__ = "quota_locks"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class Quota(Base):
    """A per-project override of a default limit (any service: 'instances', 'cores' …)."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    resource: Mapped[str] = mapped_column(String(64))
    hard_limit: Mapped[int]
