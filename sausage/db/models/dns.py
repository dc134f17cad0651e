"""DNS tables (Designate v2): zones, their recordsets and records, TLDs, per-project quota
overrides and zone transfers.

The database is the truth; the authoritative server (PowerDNS) holds what is published.
A zone's ``serial`` moves with every change to it or its records; ``status`` is PENDING
until the server answers that serial (then ACTIVE), or ERROR with ``error`` saying why.
``action`` says what is pending: CREATE, UPDATE, DELETE or NONE. A deleted zone stays as a
row with action DELETE until the server no longer has it, then the row goes.

Records may be *managed*: published by the cloud itself for a port or floating IP
(``managed_resource_type``/``_id``), or a floating IP's PTR set through the reverse API.
Users change managed records only with ``X-Designate-Edit-Managed-Records``.
"""

from __future__ import annotations

import datetime

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, attributes, mapped_column

from sausage.db.models.base import Base, utcnow

__all__ = ["DnsZone", "DnsRecordset", "DnsRecord", "DnsTld", "DnsQuota",
           "DnsZoneTransferRequest", "DnsZoneTransferAccept"]


class DnsZone(Base):
    __tablename__ = "dns_zones"
    __table_args__ = (
        Index("ix_dns_zones_project_created", "project_id", "created_at"),
        Index("ix_dns_zones_status", "status"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    # Absolute, lower case, with the trailing dot; unique while the row exists (a zone being
    # deleted keeps its name until the server has dropped it).
    name: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str] = mapped_column(String(255))
    ttl: Mapped[int]
    serial: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(String(160))
    type: Mapped[str] = mapped_column(String(16), default="PRIMARY")
    # PENDING | ACTIVE | ERROR
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    # CREATE | UPDATE | DELETE | NONE
    action: Mapped[str] = mapped_column(String(16), default="CREATE")
    # Why the zone is in ERROR (shown to nobody but the logs and operators).
    error: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    # The serial the authoritative server last answered for this zone.
    published_serial: Mapped[int | None] = mapped_column(BigInteger)
    # Made by the cloud (a reverse zone for floating IP PTRs), owned by the admin project.
    managed: Mapped[bool] = mapped_column(default=False)
    transferred_at: Mapped[datetime.datetime | None]
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None]


class DnsRecordset(Base):
    __tablename__ = "dns_recordsets"
    __table_args__ = (
        UniqueConstraint("zone_id", "name", "type", name="uq_dns_recordsets_zone_name_type"),
        Index("ix_dns_recordsets_project_created", "project_id", "created_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    zone_id: Mapped[str] = mapped_column(ForeignKey("dns_zones.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(8))
    ttl: Mapped[int | None]  # None: the zone's
    description: Mapped[str | None] = mapped_column(String(160))
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    action: Mapped[str] = mapped_column(String(16), default="CREATE")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None]


class DnsRecord(Base):
    __tablename__ = "dns_records"
    __table_args__ = (
        UniqueConstraint("recordset_id", "data", name="uq_dns_records_recordset_data"),
        Index("ix_dns_records_managed", "managed_resource_type", "managed_resource_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recordset_id: Mapped[str] = mapped_column(
        ForeignKey("dns_recordsets.id", ondelete="CASCADE"))
    # Presentation form, as the zone file would carry it ("10 mail.example.org." for MX).
    data: Mapped[str] = mapped_column(Text)
    managed: Mapped[bool] = mapped_column(default=False)
    # port | floatingip | ptr:floatingip, and that resource's id, for managed records.
    managed_resource_type: Mapped[str | None] = mapped_column(String(32))
    managed_resource_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class DnsTld(Base):
    __tablename__ = "dns_tlds"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)  # without the trailing dot
    description: Mapped[str | None] = mapped_column(String(160))
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None]


class DnsQuota(Base):
    """A project's override of one DNS quota (zones, zone_recordsets, zone_records,
    recordset_records, api_export_size); absent rows mean the defaults."""
    __tablename__ = "dns_quotas"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(BigInteger)


class DnsZoneTransferRequest(Base):
    __tablename__ = "dns_zone_transfer_requests"
    __table_args__ = (Index("ix_dns_zone_transfer_requests_zone", "zone_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    zone_id: Mapped[str] = mapped_column(ForeignKey("dns_zones.id", ondelete="CASCADE"))
    zone_name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64))
    target_project_id: Mapped[str | None] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(160))
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")  # ACTIVE | COMPLETE
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None]


class DnsZoneTransferAccept(Base):
    __tablename__ = "dns_zone_transfer_accepts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(36))
    project_id: Mapped[str] = mapped_column(String(64))
    zone_transfer_request_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), default="COMPLETE")
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None]


@event.listens_for(DnsZone, "before_update")
@event.listens_for(DnsRecordset, "before_update")
def _write_state_whole(_mapper: Any, _connection: Any, target: DnsZone | DnsRecordset) -> None:
    """A change writes its status and action (and a zone its serial) even when they look
    unchanged: the publisher may have moved them since this session read the row (SQLite has
    no row locks), and a change that left them out would leave the row ACTIVE while its new
    data waits unpublished."""
    for name in ("status", "action", "serial"):
        if name in target.__dict__:
            attributes.flag_modified(target, name)
