"""What every DNS service function shares: the caller's ``Scope`` (Designate's request
headers, checked against policy), Designate's error kinds, visibility of zones, and the
serial bump every change to a zone or its recordsets makes.

A change marks the zone PENDING with the action given (CREATE on create, UPDATE otherwise)
and moves its ``serial`` Designate's way: ``max(serial + 1, unix time)``, so the
authoritative server sees a newer SOA; the SOA recordset's record follows the serial.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.config import Settings
from sausage.db.models import dns as m
from sausage.db.models.base import utcnow
from sausage.nameserver import published
from sausage.services import policy
from sausage.services.context import Context

__all__ = ["Scope", "scoped", "invalid", "bad_request", "zone_not_found", "visible_zone",
           "writable_zone", "bump", "next_serial", "soa_data", "new_id", "check_uuid",
           "nameservers", "session_info", "recordset_changed", "drop_record", "DEFAULT_NAMESERVERS"]

DEFAULT_NAMESERVERS = ("ns1.sausage.test.",)


def session_info(settings: Settings) -> dict[str, Any]:
    """What the DNS services read from ``Session.info``: the cloud's nameservers."""
    return {"dns_nameservers": tuple(settings.dns_nameservers)}


def nameservers(s: Session) -> tuple[str, ...]:
    """The cloud's nameservers, absolute: every zone's NS records and its SOA's primary."""
    value = s.info.get("dns_nameservers")
    return tuple(value) if value else DEFAULT_NAMESERVERS


@dataclasses.dataclass(frozen=True)
class Scope:
    """Designate's request modifiers: ``X-Auth-All-Projects``, ``X-Auth-Sudo-Project-ID``,
    ``X-Designate-Edit-Managed-Records``, ``X-Designate-Hard-Delete``."""

    all_projects: bool = False
    sudo_project_id: str | None = None
    edit_managed: bool = False
    hard_delete: bool = False


def scoped(ctx: Context, scope: Scope) -> Context:
    """``ctx`` as the headers make it: each modifier needs its policy (admin), and sudo makes
    the caller act as that project."""
    if scope.sudo_project_id:
        policy.enforce(ctx, "use_sudo")
        ctx = dataclasses.replace(ctx, project_id=scope.sudo_project_id)
    if scope.all_projects:
        policy.enforce(ctx, "all_tenants")
    if scope.edit_managed:
        policy.enforce(ctx, "edit_managed_records")
    if scope.hard_delete:
        policy.enforce(ctx, "hard_delete")
    return ctx


def invalid(message: str) -> errors.BadRequest:
    """Designate's schema refusal (``invalid_object``)."""
    return errors.BadRequest(message, kind="invalid_object")


def bad_request(message: str) -> errors.BadRequest:
    return errors.BadRequest(message, kind="bad_request")


def zone_not_found() -> errors.NotFound:
    return errors.NotFound("Could not find Zone", kind="zone_not_found")


def new_id() -> str:
    return str(uuid.uuid4())


def check_uuid(value: str, what: str = "id") -> str:
    """Designate answers a path id that is not a UUID with 400 ``invalid_uuid``."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise errors.BadRequest(f"Invalid UUID {what}: {value[:64]}", kind="invalid_uuid") from None
    if len(value) != 36:
        raise errors.BadRequest(f"Invalid UUID {what}: {value[:64]}", kind="invalid_uuid")
    return value.lower()


def visible_zone(s: Session, ctx: Context, scope: Scope, zone_id: str,
                 lock: bool = False) -> m.DnsZone:
    """The zone ``ctx`` may see (its project's, or any with all projects), else 404."""
    zone_id = check_uuid(zone_id, "zone_id")
    query = select(m.DnsZone).where(m.DnsZone.id == zone_id)
    if lock:
        query = query.with_for_update()
    zone = s.scalars(query).one_or_none()
    if zone is None:
        raise zone_not_found()
    if zone.project_id != ctx.project_id and not scope.all_projects:
        raise zone_not_found()
    policy.enforce(ctx, "get_zone", {"project_id": zone.project_id})
    return zone


def writable_zone(s: Session, ctx: Context, scope: Scope, zone_id: str,
                  action: str) -> m.DnsZone:
    """The visible zone, locked, that ``ctx`` may change with ``action``; a zone being
    deleted takes no more changes (400, as Designate)."""
    zone = visible_zone(s, ctx, scope, zone_id, lock=True)
    policy.enforce(ctx, action, {"project_id": zone.project_id})
    if zone.action == "DELETE":
        raise bad_request("Can not update a deleting zone")
    return zone


def next_serial(current: int) -> int:
    return max(current + 1, int(time.time()))


def soa_data(s: Session, zone: m.DnsZone) -> str:
    """The SOA record of ``zone`` as the nameserver publishes it: the first nameserver, the
    mailbox from its email."""
    return published.soa_data(nameservers(s)[0], zone.email, zone.serial)


def bump(s: Session, zone: m.DnsZone, action: str = "UPDATE") -> None:
    """Mark ``zone`` changed: PENDING with ``action``, a newer serial, its SOA following."""
    zone.serial = next_serial(zone.serial)
    zone.status = "PENDING"
    zone.action = action
    zone.version += 1
    zone.updated_at = utcnow()
    soa = s.scalars(select(m.DnsRecordset).where(
        m.DnsRecordset.zone_id == zone.id, m.DnsRecordset.type == "SOA")).one_or_none()
    if soa is not None:
        for record in s.scalars(select(m.DnsRecord).where(m.DnsRecord.recordset_id == soa.id)):
            record.data = soa_data(s, zone)


def recordset_changed(recordset: m.DnsRecordset) -> None:
    """Mark a recordset whose records changed: PENDING, UPDATE unless not yet created."""
    recordset.status = "PENDING"
    if recordset.action != "CREATE":
        recordset.action = "UPDATE"
    recordset.version += 1
    recordset.updated_at = utcnow()


def drop_record(s: Session, record: m.DnsRecord) -> None:
    """Remove ``record``; its recordset too when it was the last (PENDING/DELETE, gone once
    the server no longer has it: ``state.finish_deletes``); the zone republished."""
    recordset = s.get(m.DnsRecordset, record.recordset_id)
    s.delete(record)
    s.flush()
    if recordset is None:
        return
    zone = s.scalars(select(m.DnsZone).where(m.DnsZone.id == recordset.zone_id)
                     .with_for_update()).one()
    left = s.scalars(select(m.DnsRecord.id).where(
        m.DnsRecord.recordset_id == recordset.id)).first()
    if left is None:
        recordset.status, recordset.action = "PENDING", "DELETE"
        recordset.version += 1
        recordset.updated_at = utcnow()
    else:
        recordset_changed(recordset)
    bump(s, zone)
