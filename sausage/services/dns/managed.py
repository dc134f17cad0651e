"""Records the cloud publishes itself for ports and floating IPs (Neutron's external DNS).

``replace(s, kind, resource_id, project_id, name)`` makes the managed records of one resource
(``kind`` "port" or "floatingip") what ``name`` says — an A/AAAA record per address under the
fqdn in the zone named by its domain, and a PTR per IPv4 address back to the fqdn in the
reverse zone — or removes them all when ``name`` is None. As Neutron does with Designate, the
forward zone must exist and belong to the resource's project (else nothing is published
forward); reverse zones are made on demand, managed by the cloud (when one cannot be, the
change goes on without its PTR). Every zone touched is
republished. The network service calls this (through its own glue) in the transaction that
changes the port or floating IP, so records appear and go with the address.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import dns as m
from sausage.services.dns import common, reverse

__all__ = ["Name", "replace"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Name:
    """What one resource publishes: ``fqdn`` (absolute) in the zone ``domain``, for
    ``addresses``."""

    fqdn: str
    domain: str
    addresses: Sequence[str]


def replace(s: Session, kind: str, resource_id: str, project_id: str, name: Name | None) -> None:
    want = _wanted(s, project_id, name)
    have = {(r.recordset_id, r.data): r for r in s.scalars(select(m.DnsRecord).where(
        m.DnsRecord.managed_resource_type == kind, m.DnsRecord.managed_resource_id == resource_id))}
    keep = set()
    for zone, rs_name, rtype, data in want:
        recordset = _recordset(s, zone, rs_name, rtype)
        key = (recordset.id, data)
        keep.add(key)
        if key in have:
            continue
        taken = s.scalars(select(m.DnsRecord).where(m.DnsRecord.recordset_id == recordset.id,
                                                    m.DnsRecord.data == data)).first()
        if taken is not None:  # the same record already there (a user's): left as it is
            continue
        s.add(m.DnsRecord(id=common.new_id(), recordset_id=recordset.id, data=data, managed=True,
                          managed_resource_type=kind, managed_resource_id=resource_id))
        common.recordset_changed(recordset)
        common.bump(s, zone)
    for key, record in have.items():
        if key not in keep:
            common.drop_record(s, record)
    s.flush()


def _wanted(s: Session, project_id: str, name: Name | None
            ) -> list[tuple[m.DnsZone, str, str, str]]:
    """(zone, recordset name, type, data) for every record ``name`` should have."""
    if name is None or not name.addresses:
        return []
    out: list[tuple[m.DnsZone, str, str, str]] = []
    zone = s.scalars(select(m.DnsZone).where(m.DnsZone.name == name.domain.lower(),
                                             m.DnsZone.action != "DELETE")).one_or_none()
    if zone is not None and zone.project_id == project_id:
        for address in name.addresses:
            rtype = "A" if ipaddress.ip_address(address).version == 4 else "AAAA"
            out.append((zone, name.fqdn.lower(), rtype, address))
    elif zone is None:
        log.debug("dns: no zone %s for %s", name.domain, name.fqdn)
    for address in name.addresses:
        if ipaddress.ip_address(address).version != 4:
            continue  # reverse zones of IPv6 prefixes: not made on demand
        try:
            rzone = reverse.reverse_zone(s, reverse.reverse_zone_name(address))
        except errors.SausageError as e:
            # No reverse zone to be had (the TLD list leaves out in-addr.arpa, it is being
            # deleted): the port or floating IP still changes, without its PTR.
            log.warning("dns: no PTR for %s (%s): %s", address, name.fqdn, e)
            continue
        out.append((rzone, reverse.reverse_name(address), "PTR", name.fqdn.lower()))
    return out


def _recordset(s: Session, zone: m.DnsZone, name: str, rtype: str) -> m.DnsRecordset:
    found = s.scalars(select(m.DnsRecordset).where(
        m.DnsRecordset.zone_id == zone.id, m.DnsRecordset.name == name,
        m.DnsRecordset.type == rtype)).one_or_none()
    if found is None:
        found = m.DnsRecordset(id=common.new_id(), zone_id=zone.id, project_id=zone.project_id,
                               name=name, type=rtype, status="PENDING", action="CREATE",
                               version=1)
        s.add(found)
        s.flush()
    elif found.action == "DELETE":  # going, not yet gone from the server: made anew
        found.status, found.action = "PENDING", "CREATE"
    return found
