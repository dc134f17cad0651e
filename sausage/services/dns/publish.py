"""Between the DNS tables and the nameserver: what to publish, and what the server answered.

``desired`` reads every zone that is not being deleted, with its live recordsets, as the
nameserver's plain ``Zone`` values (the SOA and apex NS come from the zone itself). ``record``
takes one step's results back into the rows through ``state``: a zone whose serial the server
answers is ACTIVE and its deleted recordsets go; a zone the server refused is ERROR with the
reason; a zone being deleted goes once the server no longer has it. A failure of the server
itself (unreachable, restarting) leaves zones PENDING: the next step tries again.
``changes`` is a cheap fingerprint of what waits to be published, for a watcher that wakes
the publisher when another process (an API worker) changed something.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage.db.models import dns as m
from sausage.nameserver.published import RRset, Zone
from sausage.nameserver.reconciler import ZoneResult
from sausage.services.dns import state
from sausage.services.dns.common import nameservers

__all__ = ["desired", "record", "changes"]

log = logging.getLogger(__name__)


def desired(s: Session) -> list[Zone]:
    """Every zone the server should hold, as it should hold it."""
    zones = list(s.scalars(select(m.DnsZone).where(m.DnsZone.action != "DELETE")
                           .order_by(m.DnsZone.created_at, m.DnsZone.id)))
    rows = s.execute(
        select(m.DnsRecordset.zone_id, m.DnsRecordset.name, m.DnsRecordset.type,
               m.DnsRecordset.ttl, m.DnsRecord.data)
        .join(m.DnsRecord, m.DnsRecord.recordset_id == m.DnsRecordset.id)
        .join(m.DnsZone, m.DnsZone.id == m.DnsRecordset.zone_id)
        .where(m.DnsZone.action != "DELETE", m.DnsRecordset.action != "DELETE",
               m.DnsRecordset.type != "SOA")
        .order_by(m.DnsRecordset.name, m.DnsRecordset.type, m.DnsRecord.data))
    sets: dict[str, dict[tuple[str, str], tuple[int | None, list[str]]]] = defaultdict(dict)
    for zone_id, name, rtype, ttl, data in rows:
        sets[zone_id].setdefault((name, rtype), (ttl, []))[1].append(data)
    servers = nameservers(s)
    published = []
    for zone in zones:
        rrsets = tuple(
            RRset(name, rtype, zone.ttl if ttl is None else ttl, tuple(records))
            for (name, rtype), (ttl, records) in sets[zone.id].items()
            # the apex NS is the cloud's nameservers, built with the SOA from the zone
            if not (rtype == "NS" and name == zone.name))
        published.append(Zone(name=zone.name, serial=zone.serial, ttl=zone.ttl,
                              email=zone.email, primary_ns=servers[0], nameservers=servers,
                              rrsets=rrsets))
    return published


def record(s: Session, results: Mapping[str, ZoneResult]) -> None:
    """One step's results into the rows (the caller commits)."""
    names = list(results)
    deleting = list(s.scalars(select(m.DnsZone).where(m.DnsZone.action == "DELETE")))
    zones = {z.name: z for z in s.scalars(select(m.DnsZone).where(m.DnsZone.name.in_(names)))}
    clean = all(r.error is None for r in results.values())
    for zone in deleting:
        result = results.get(zone.name)
        # Gone from the server: it said so, or a clean step did not meet it at all.
        if (result is None and clean) or (result is not None and result.error is None):
            log.info("dns: zone %s deleted from the nameserver", zone.name)
            state.finish_deletes(s, zone.id)
    for name, result in results.items():
        found = zones.get(name)
        if found is None or found.action == "DELETE":
            continue
        if result.error is not None:
            if not result.passing and found.status != "ERROR":
                log.warning("dns: zone %s could not be published: %s", name, result.error)
                state.mark_error(s, found.id, result.error)
            continue
        if result.serial is not None and state.mark_published(s, found.id, result.serial):
            state.finish_deletes(s, found.id)


def changes(s: Session) -> tuple[tuple[str, int], ...]:
    """What waits to be published, as (zone id, serial) pairs: it changes whenever a zone or
    one of its recordsets changes (both move the zone's serial) or a zone is deleted."""
    return tuple(s.execute(select(m.DnsZone.id, m.DnsZone.serial)
                           .where(m.DnsZone.status == "PENDING")
                           .order_by(m.DnsZone.id)).tuples())
