"""What the publisher reports back, as the zone and recordset rows show it. The glue that
publishes zones to PowerDNS calls these in its own transaction:

- ``pending(s)``: ids of the zones to publish (status PENDING), oldest change first;
- ``mark_published(s, zone_id, serial)``: the server answers ``serial`` for the zone: if that
  is still the zone's serial, the zone is ACTIVE (action NONE) and its PENDING recordsets
  ACTIVE (NONE); a zone being deleted is left to ``finish_deletes``;
- ``mark_error(s, zone_id, reason)``: publishing failed: the zone is ERROR, ``reason`` kept
  for operators;
- ``finish_deletes(s, zone_id)``: the zone's deleted recordsets are gone from the server:
  their rows go; a zone whose action is DELETE goes with all its rows.

Each answers whether it changed anything, so the glue can log it.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from sausage.db.models import dns as m

__all__ = ["pending", "mark_published", "mark_error", "finish_deletes"]


def pending(s: Session) -> list[str]:
    return list(s.scalars(select(m.DnsZone.id).where(m.DnsZone.status == "PENDING")
                          .order_by(m.DnsZone.updated_at, m.DnsZone.created_at)))


def mark_published(s: Session, zone_id: str, serial: int) -> bool:
    """In one compare-and-set: the zone is ACTIVE only if ``serial`` is still its serial (a
    change committed since the publisher read it keeps it PENDING)."""
    s.execute(update(m.DnsZone).where(m.DnsZone.id == zone_id)
              .values(published_serial=serial).execution_options(synchronize_session=False))
    done = s.execute(update(m.DnsZone).where(
        m.DnsZone.id == zone_id, m.DnsZone.serial == serial, m.DnsZone.action != "DELETE")
        .values(status="ACTIVE", action="NONE", error=None)
        .execution_options(synchronize_session=False))
    if not getattr(done, "rowcount", 0):
        return False
    s.execute(update(m.DnsRecordset).where(
        m.DnsRecordset.zone_id == zone_id, m.DnsRecordset.action != "DELETE",
        m.DnsRecordset.status == "PENDING").values(status="ACTIVE", action="NONE")
        .execution_options(synchronize_session=False))
    s.expire_all()
    return True


def mark_error(s: Session, zone_id: str, reason: str) -> bool:
    zone = s.get(m.DnsZone, zone_id)
    if zone is None:
        return False
    zone.status, zone.error = "ERROR", reason[:4000]
    s.flush()
    return True


def finish_deletes(s: Session, zone_id: str) -> bool:
    zone = s.get(m.DnsZone, zone_id)
    if zone is None:
        return False
    whole = zone.action == "DELETE"
    gone = select(m.DnsRecordset.id).where(m.DnsRecordset.zone_id == zone_id)
    if not whole:
        gone = gone.where(m.DnsRecordset.action == "DELETE")
    ids = list(s.scalars(gone))
    if ids:
        s.execute(delete(m.DnsRecord).where(m.DnsRecord.recordset_id.in_(ids)))
        s.execute(delete(m.DnsRecordset).where(m.DnsRecordset.id.in_(ids)))
    if whole:
        s.execute(delete(m.DnsZoneTransferRequest).where(
            m.DnsZoneTransferRequest.zone_id == zone_id))
        s.expunge(zone)
        s.execute(delete(m.DnsZone).where(m.DnsZone.id == zone_id))
    s.flush()
    return bool(ids) or whole
