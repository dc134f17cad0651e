"""Designate's floating IP PTRs (``/v2/reverse/floatingips``): a project names the address
of each of its floating IPs.

Called by ``api/dns/reverse.py``, which looks the floating IPs up in the network service and
hands them here as ``FloatingIp`` (this domain never imports the network one). A PTR is a
managed record (``ptr:floatingip``, the floating IP's id) in the address's reverse zone
(``<c>.<b>.<a>.in-addr.arpa.``), which the cloud makes on demand: ``managed``, owned by the
admin project, its email ``hostmaster@`` the first nameserver's domain. As Designate, the
zone is subject to the TLD list like any other (400 ``invalid_zone_name`` when it is not
allowed); every change bumps the zone's serial so the publisher republishes it.

A floating IP without a PTR shows ``ptrdname`` null, status INACTIVE, action NONE; once set,
the PTR's recordset says how far publishing got (PENDING/CREATE at first).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import dns as m
from sausage.db.models import identity as im
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.dns import common, tlds

__all__ = ["FloatingIp", "Ptr", "MANAGED_TYPE", "reverse_zone_name", "reverse_name", "show",
           "list_ptrs", "update", "check_values", "forget", "reverse_zone", "DEFAULT_TTL"]

MANAGED_TYPE = "ptr:floatingip"
DEFAULT_TTL = 3600
MAX_TTL = 2147483647
MAX_DESCRIPTION = 160
# Designate's RE_ZONENAME: absolute, labels of letters, digits, '-' and '_'.
_DOMAIN = re.compile(r"(?!.{255,})(?:(?!-)[A-Za-z0-9_-]{1,63}(?<!-)\.)+")
_STATUSES = ("ACTIVE", "ERROR", "INACTIVE", "PENDING")
_ACTIONS = ("CREATE", "DELETE", "UPDATE", "NONE")


@dataclasses.dataclass(frozen=True)
class FloatingIp:
    """What this domain needs of a floating IP: its id, address and project."""

    id: str
    address: str
    project_id: str


@dataclasses.dataclass(frozen=True)
class Ptr:
    """A floating IP's PTR as Designate shows it (``id`` is ``<region>:<floating IP id>``)."""

    id: str
    address: str
    ptrdname: str | None
    description: str | None
    ttl: int | None
    status: str
    action: str


def reverse_zone_name(address: str) -> str:
    """The reverse zone of an IPv4 address: its first three octets, reversed."""
    parts = str(ipaddress.IPv4Address(address)).split(".")
    return ".".join(reversed(parts[:3])) + ".in-addr.arpa."


def reverse_name(address: str) -> str:
    return ipaddress.ip_address(address).reverse_pointer + "."


def _not_found(region: str, fip_id: str) -> errors.NotFound:
    return errors.NotFound(f"No such FloatingIP {region}:{fip_id}", kind="not_found")


def check_values(values: dict[str, Any]) -> dict[str, Any]:
    """A PATCH body as Designate's FloatingIP object takes it (400 ``invalid_object``)."""
    for key in values:
        if key not in ("ptrdname", "description", "ttl"):
            raise common.invalid(f"Provided object does not match schema 'floatingip': "
                                 f"'{key[:64]}' is read only or not a property")
    name = values.get("ptrdname")
    if name is not None and (not isinstance(name, str) or not _DOMAIN.fullmatch(name)):
        raise common.invalid("Provided object does not match schema 'floatingip': "
                             "ptrdname must be an absolute domain name (ending in a dot)")
    ttl = values.get("ttl")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int)
                            or not 0 <= ttl <= MAX_TTL):
        raise common.invalid("Provided object does not match schema 'floatingip': ttl must "
                             f"be an integer from 0 to {MAX_TTL} or null")
    description = values.get("description")
    if description is not None and (not isinstance(description, str)
                                    or len(description) > MAX_DESCRIPTION):
        raise common.invalid("Provided object does not match schema 'floatingip': "
                             f"description must be at most {MAX_DESCRIPTION} characters")
    return values


def _record(s: Session, fip_id: str) -> m.DnsRecord | None:
    return s.scalars(select(m.DnsRecord).where(
        m.DnsRecord.managed_resource_type == MANAGED_TYPE,
        m.DnsRecord.managed_resource_id == fip_id).order_by(m.DnsRecord.created_at)).first()


def _ptr(s: Session, region: str, fip: FloatingIp) -> Ptr:
    key = f"{region}:{fip.id}"
    record = _record(s, fip.id)
    recordset = s.get(m.DnsRecordset, record.recordset_id) if record is not None else None
    if record is None or recordset is None:
        return Ptr(key, fip.address, None, None, None, "INACTIVE", "NONE")
    ttl = recordset.ttl
    if ttl is None:
        zone = s.get(m.DnsZone, recordset.zone_id)
        ttl = zone.ttl if zone is not None else None
    return Ptr(key, fip.address, record.data, recordset.description, ttl,
               recordset.status if recordset.status in _STATUSES else "INACTIVE",
               recordset.action if recordset.action in _ACTIONS else "NONE")


def _check_owner(ctx: Context, region: str, fip: FloatingIp) -> None:
    """A project sees only its own floating IPs' PTRs (admin too: through sudo)."""
    if fip.project_id != ctx.project_id:
        raise _not_found(region, fip.id)
    policy.enforce(ctx, "find_records", {"project_id": fip.project_id})


def show(s: Session, ctx: Context, region: str, fip: FloatingIp) -> Ptr:
    _check_owner(ctx, region, fip)
    return _ptr(s, region, fip)


def list_ptrs(s: Session, ctx: Context, region: str, fips: list[FloatingIp]) -> list[Ptr]:
    """The PTRs of the caller's floating IPs (set or not), in the order given."""
    policy.enforce(ctx, "find_records", {"project_id": ctx.project_id})
    return [_ptr(s, region, f) for f in fips if f.project_id == ctx.project_id]


def update(s: Session, ctx: Context, region: str, fip: FloatingIp, values: dict[str, Any]
           ) -> Ptr | None:
    """Set the PTR (``ptrdname`` a name) or unset it (``ptrdname`` null); None when the body
    says neither (Designate's 202 without a body)."""
    _check_owner(ctx, region, fip)
    policy.enforce(ctx, "update_floatingip_ptr", {"project_id": fip.project_id})
    check_values(values)
    if "ptrdname" in values and values["ptrdname"] is None:
        _unset(s, region, fip)
        return None
    if not isinstance(values.get("ptrdname"), str):
        return None
    return _set(s, region, fip, values)


def forget(s: Session, fip_id: str) -> None:
    """Drop the PTR of a floating IP that is going away (for the network service to call when
    it releases one); nothing when it has none."""
    record = _record(s, fip_id)
    if record is not None:
        common.drop_record(s, record)


def _unset(s: Session, region: str, fip: FloatingIp) -> None:
    record = _record(s, fip.id)
    if record is None:
        raise _not_found(region, fip.id)
    common.drop_record(s, record)


def _set(s: Session, region: str, fip: FloatingIp, values: dict[str, Any]) -> Ptr:
    name = reverse_name(fip.address)
    # A PTR moves with its address: a record left in another recordset goes first.
    old = _record(s, fip.id)
    zone = reverse_zone(s, reverse_zone_name(fip.address))
    recordset = s.scalars(select(m.DnsRecordset).where(
        m.DnsRecordset.zone_id == zone.id, m.DnsRecordset.name == name,
        m.DnsRecordset.type == "PTR")).one_or_none()
    if old is not None and (recordset is None or old.recordset_id != recordset.id):
        _unset(s, region, fip)
    if recordset is None:
        recordset = m.DnsRecordset(
            id=common.new_id(), zone_id=zone.id, project_id=zone.project_id, name=name,
            type="PTR", status="PENDING", action="CREATE", version=1)
        s.add(recordset)
    elif recordset.action == "DELETE":  # unset, not yet gone from the server: made anew
        recordset.status, recordset.action = "PENDING", "CREATE"
        recordset.version += 1
        recordset.updated_at = utcnow()
    else:
        common.recordset_changed(recordset)
    if recordset.id is not None:
        for record in s.scalars(select(m.DnsRecord).where(
                m.DnsRecord.recordset_id == recordset.id)):
            s.delete(record)
    recordset.ttl = values.get("ttl")
    recordset.description = values.get("description")
    s.flush()
    s.add(m.DnsRecord(id=common.new_id(), recordset_id=recordset.id,
                      data=str(values["ptrdname"]).lower(), managed=True,
                      managed_resource_type=MANAGED_TYPE, managed_resource_id=fip.id))
    common.bump(s, zone)
    s.flush()
    return _ptr(s, region, fip)


def _admin_project(s: Session) -> str:
    found = s.scalars(select(im.Project.id).where(im.Project.name == "admin")).first()
    if found is None:
        raise errors.ServiceUnavailable("The cloud has no admin project to own reverse zones")
    return found


def _email(s: Session) -> str:
    domain = common.nameservers(s)[0].rstrip(".").partition(".")[2] or "example.com"
    return f"hostmaster@{domain}"


def _existing(s: Session, name: str) -> m.DnsZone | None:
    zone = s.scalars(select(m.DnsZone).where(m.DnsZone.name == name)
                     .with_for_update()).one_or_none()
    if zone is not None and zone.action == "DELETE":
        raise common.bad_request(f"The reverse zone {name} is being deleted")
    return zone


def reverse_zone(s: Session, name: str) -> m.DnsZone:
    """The reverse zone ``name``, made (managed, the admin project's) when missing, locked."""
    zone = _existing(s, name)
    if zone is not None:
        return zone
    if not tlds.allowed(s, name):
        raise errors.BadRequest("Invalid TLD", kind="invalid_zone_name")
    zone = m.DnsZone(id=common.new_id(), project_id=_admin_project(s), name=name,
                     email=_email(s), ttl=DEFAULT_TTL, serial=int(time.time()),
                     description="Reverse zone of floating IPs", type="PRIMARY",
                     status="PENDING", action="CREATE", version=1, managed=True)
    try:
        with s.begin_nested():
            s.add(zone)
            s.flush()
    except IntegrityError:
        # Made at the same moment by another request (a PTR in the same /24): use that one.
        again = _existing(s, name)
        if again is None:
            raise
        return again
    # The zone's own records, as every zone has them: its SOA and NS.
    soa = m.DnsRecordset(id=common.new_id(), zone_id=zone.id, project_id=zone.project_id,
                         name=name, type="SOA", status="PENDING", action="CREATE", version=1)
    ns = m.DnsRecordset(id=common.new_id(), zone_id=zone.id, project_id=zone.project_id,
                        name=name, type="NS", status="PENDING", action="CREATE", version=1)
    s.add_all([soa, ns])
    s.flush()
    s.add(m.DnsRecord(id=common.new_id(), recordset_id=soa.id, data=common.soa_data(s, zone),
                      managed=True))
    s.add_all(m.DnsRecord(id=common.new_id(), recordset_id=ns.id, data=server, managed=True)
              for server in common.nameservers(s))
    s.flush()
    return zone
