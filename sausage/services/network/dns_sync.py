"""Keeps the DNS records of ports and floating IPs true as they change (Neutron's external
DNS integration, with the cloud's own DNS service as the driver).

Whatever a transaction does to a floating IP, a port, its fixed IPs or a network's
``dns_domain`` through the ORM is seen at flush; changes made with bulk statements (a port's
floating IPs released on its delete, a router's on its delete) are named with ``touch``. When
the transaction commits, each resource touched gets its managed records replaced with what
``dns_names.published`` says now — before the commit, on the same connection, so records come
and go with the change that causes them. A floating IP that is gone loses its records and
the PTR set on it through the reverse API.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from sqlalchemy import event, select
from sqlalchemy.orm import Session, UOWTransaction

from sausage.db.models import network as nm
from sausage.services.dns import managed, reverse
from sausage.services.network import dns_names

__all__ = ["touch"]

_KEY = "sausage.network.dns_touched"


@dataclasses.dataclass
class Touched:
    ports: set[str] = dataclasses.field(default_factory=set)
    floatingips: set[str] = dataclasses.field(default_factory=set)
    networks: set[str] = dataclasses.field(default_factory=set)


def touch(s: Session, *, ports: Iterable[str] = (), floatingips: Iterable[str] = ()) -> None:
    """Name resources a bulk statement changed, for their records to follow at commit."""
    mark = _touched(s)
    mark.ports.update(ports)
    mark.floatingips.update(floatingips)


def _touched(s: Session) -> Touched:
    mark: Touched | None = s.info.get(_KEY)
    if mark is None:
        mark = s.info[_KEY] = Touched()
    return mark


@event.listens_for(Session, "before_flush")
def _seen(s: Session, _flush: UOWTransaction, _instances: object) -> None:
    for obj in (*s.new, *s.dirty, *s.deleted):
        if isinstance(obj, nm.FloatingIP):
            _touched(s).floatingips.add(obj.id)
        elif isinstance(obj, nm.Port):
            _touched(s).ports.add(obj.id)
        elif isinstance(obj, nm.IPAllocation):
            _touched(s).ports.add(obj.port_id)
        elif isinstance(obj, nm.Network) and obj in s.dirty:
            _touched(s).networks.add(obj.id)


@event.listens_for(Session, "before_commit")
def _publish(s: Session) -> None:
    mark: Touched | None = s.info.pop(_KEY, None)
    if mark is None or not (mark.ports or mark.floatingips or mark.networks):
        return
    s.flush()
    s.info.pop(_KEY, None)  # what that flush saw is this pass's own doing
    ports, fips = set(mark.ports), set(mark.floatingips)
    if mark.networks:
        ports.update(s.scalars(select(nm.Port.id).where(nm.Port.network_id.in_(mark.networks))))
    if ports:
        fips.update(s.scalars(select(nm.FloatingIP.id).where(
            nm.FloatingIP.fixed_port_id.in_(sorted(ports)))))
    for port_id in sorted(ports):
        port = s.get(nm.Port, port_id)
        managed.replace(s, "port", port_id, port.project_id if port else "",
                        _name(dns_names.published(s, port)) if port else None)
    for fip_id in sorted(fips):
        fip = s.get(nm.FloatingIP, fip_id)
        managed.replace(s, "floatingip", fip_id, fip.project_id if fip else "",
                        _name(dns_names.published(s, fip)) if fip else None)
        if fip is None:
            reverse.forget(s, fip_id)
    s.flush()
    s.info.pop(_KEY, None)


def _name(publication: dns_names.Publication | None) -> managed.Name | None:
    if publication is None:
        return None
    return managed.Name(publication.fqdn, publication.domain, publication.addresses)
