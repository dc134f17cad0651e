"""Recordsets of a zone (Designate v2): create, list (in a zone or across zones), show,
update (records, ttl, description), delete.

Each change bumps the zone (``common.bump``) and leaves the recordset PENDING with its
action; a deleted recordset is PENDING/DELETE, unpublished and invisible, until
``state.finish_deletes`` drops it. Designate's rules: names are absolute and inside the zone
(400 ``invalid_recordset_location``), not inside a subzone, the type is known and its
records valid (400 ``invalid_object``, records deduplicated), no CNAME at the apex, beside
other data or with more than one record, one recordset per name and type (409
``duplicate_recordset``); managed recordsets (the SOA, the apex NS, the cloud's own records)
change only with ``X-Designate-Edit-Managed-Records`` (admin), else 400.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import dns as m
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.dns import names, paging, quotas, rdata
from sausage.services.dns.common import (Scope, bad_request, bump, check_uuid, invalid,
                                         new_id, scoped, visible_zone, writable_zone)

__all__ = ["View", "create", "list_recordsets", "show", "update", "delete", "SORT_KEYS"]

SORT_KEYS = ("created_at", "updated_at", "zone_id", "tenant_id", "name", "type", "ttl")
_CREATE_FIELDS = {"name", "type", "ttl", "description", "records"}
_UPDATE_FIELDS = {"ttl", "description", "records"}


@dataclasses.dataclass
class View:
    """A recordset with what its rendering needs."""

    recordset: m.DnsRecordset
    zone_name: str
    records: list[str]


def _not_found() -> errors.NotFound:
    return errors.NotFound("Could not find RecordSet", kind="recordset_not_found")


def _schema(message: str) -> errors.BadRequest:
    return invalid(f"Provided object does not match schema: {message}")


def _records(rtype: str, values: Any) -> list[str]:
    if not isinstance(values, list):
        raise _schema(f"'{str(values)[:64]}' is not a valid list of records")
    out: list[str] = []
    for value in values:
        try:
            data = rdata.check(rtype, value)
        except ValueError as e:
            raise _schema(str(e)) from e
        if data not in out:
            out.append(data)
    return out


def _view(s: Session, rs: m.DnsRecordset, zone_name: str) -> View:
    datas = list(s.scalars(select(m.DnsRecord.data).where(m.DnsRecord.recordset_id == rs.id)
                           .order_by(m.DnsRecord.data)))
    return View(rs, zone_name, datas)


def _managed(s: Session, rs: m.DnsRecordset) -> bool:
    if rs.type in ("SOA",):
        return True
    return bool(s.scalars(select(m.DnsRecord.id).where(
        m.DnsRecord.recordset_id == rs.id, m.DnsRecord.managed.is_(True))).first())


def _placement(s: Session, zone: m.DnsZone, name: str, rtype: str,
               own_id: str | None) -> None:
    if name != zone.name and not name.endswith("." + zone.name):
        raise errors.BadRequest("RecordSet is not contained within it's parent zone",
                                kind="invalid_recordset_location")
    if rtype == "CNAME" and name == zone.name:
        raise errors.BadRequest("CNAME recordsets may not be created at the zone apex",
                                kind="invalid_recordset_location")
    query = select(m.DnsRecordset.id).where(
        m.DnsRecordset.zone_id == zone.id, m.DnsRecordset.name == name,
        m.DnsRecordset.action != "DELETE")
    if rtype != "CNAME":
        query = query.where(m.DnsRecordset.type == "CNAME")
    others = [i for i in s.scalars(query) if i != own_id]
    if others and not (rtype == "CNAME" and len(others) == 1 and _same_type_only(
            s, others[0], rtype)):
        raise errors.BadRequest("CNAME recordsets may not share a name with any other "
                                "records", kind="invalid_recordset_location")
    if name != zone.name:
        labels = name.split(".")
        for i in range(1, len(labels) - 1):
            child = ".".join(labels[i:])
            if child == zone.name:
                break
            if s.scalars(select(m.DnsZone.id).where(m.DnsZone.name == child)).first():
                raise errors.BadRequest(f"RecordSet belongs in a child zone: {child}",
                                        kind="invalid_recordset_location")


def _same_type_only(s: Session, rs_id: str, rtype: str) -> bool:
    """The one other recordset of the name is a CNAME: the duplicate check answers it."""
    return s.scalar(select(m.DnsRecordset.type).where(m.DnsRecordset.id == rs_id)) == rtype


def create(s: Session, ctx: Context, scope: Scope, zone_id: str,
           values: dict[str, Any]) -> View:
    ctx = scoped(ctx, scope)
    for key in values:
        if key not in _CREATE_FIELDS:
            raise _schema(f"'{key[:64]}' is a read only or unknown field")
    zone = writable_zone(s, ctx, scope, zone_id, "create_recordset")
    for key in ("name", "type"):
        if key not in values:
            raise _schema(f"'{key}' is a required property")
    rtype = values["type"]
    if not isinstance(rtype, str) or rtype not in rdata.TYPES:
        raise _schema(f"'{str(rtype)[:32]}' is not a valid record type")
    try:
        name = (names.zone_name(values["name"], "Host name") if rtype in ("NS", "SRV")
                else names.host_name(values["name"]))
    except ValueError as e:
        raise _schema(str(e)) from e
    if rtype == "SRV" and not rdata.srv_name_ok(name):
        raise _schema(f"Host name {name} is not a SRV record")
    ttl = _ttl(values.get("ttl"))
    description = _description(values.get("description"))
    datas = _records(rtype, values.get("records", []))
    if rtype == "CNAME" and len(datas) > 1:
        raise bad_request("CNAME recordsets may not have more than 1 record")
    quotas.check_recordsets(s, zone)
    _placement(s, zone, name, rtype, None)
    existing = s.scalars(select(m.DnsRecordset).where(
        m.DnsRecordset.zone_id == zone.id, m.DnsRecordset.name == name,
        m.DnsRecordset.type == rtype)).one_or_none()
    if existing is not None:
        if existing.action != "DELETE":
            raise errors.Conflict("Duplicate RecordSet", kind="duplicate_recordset")
        # A deleted, not yet unpublished recordset of the name: the new one replaces it.
        s.execute(sql_delete(m.DnsRecord).where(m.DnsRecord.recordset_id == existing.id))
        s.execute(sql_delete(m.DnsRecordset).where(m.DnsRecordset.id == existing.id))
        s.flush()
    if datas:
        quotas.check_records(s, zone, None, len(datas))
    rs = m.DnsRecordset(id=new_id(), zone_id=zone.id, project_id=zone.project_id, name=name,
                        type=rtype, ttl=ttl, description=description, status="PENDING",
                        action="CREATE", version=1, created_at=utcnow())
    s.add(rs)
    s.flush()
    for data in datas:
        s.add(m.DnsRecord(id=new_id(), recordset_id=rs.id, data=data, managed=False))
    bump(s, zone)
    s.flush()
    return View(rs, zone.name, sorted(datas))


def _ttl(value: Any) -> int | None:
    try:
        return names.ttl(value)
    except ValueError as e:
        raise _schema(str(e)) from e


def _description(value: Any) -> str | None:
    try:
        return names.description(value)
    except ValueError as e:
        raise _schema(str(e)) from e


_FILTERS = ("name", "type", "ttl", "data", "status", "description")


def list_recordsets(s: Session, ctx: Context, scope: Scope, zone_id: str | None,
                    params: Mapping[str, str]) -> tuple[paging.Page[View], int]:
    """A page of recordsets (in one zone, or every visible zone), and the page's limit."""
    ctx = scoped(ctx, scope)
    query = select(m.DnsRecordset).where(m.DnsRecordset.action != "DELETE")
    if zone_id is not None:
        zone = visible_zone(s, ctx, scope, zone_id)
        query = query.where(m.DnsRecordset.zone_id == zone.id)
    policy.enforce(ctx, "find_recordsets", {"project_id": ctx.project_id})
    if not scope.all_projects:
        query = query.where(m.DnsRecordset.project_id == (ctx.project_id or ""))
    for key in _FILTERS:
        value = params.get(key)
        if value is None:
            continue
        if key == "data":
            query = query.where(m.DnsRecordset.id.in_(select(m.DnsRecord.recordset_id).where(
                paging.criterion(m.DnsRecord.data, value))))
        else:
            if key == "name":
                value = value.lower()
            query = query.where(paging.criterion(getattr(m.DnsRecordset, key), value,
                                                 integer=key == "ttl"))
    found = paging.page(s, m.DnsRecordset, query, params, SORT_KEYS)
    zone_names = {z.id: z.name for z in s.scalars(select(m.DnsZone).where(
        m.DnsZone.id.in_({rs.zone_id for rs in found.rows})))}
    views = [_view(s, rs, zone_names.get(rs.zone_id, "")) for rs in found.rows]
    return paging.Page(views, found.total, found.limit), found.limit


def _find(s: Session, ctx: Context, scope: Scope, zone_id: str | None, recordset_id: str,
          lock: bool = False) -> tuple[m.DnsZone, m.DnsRecordset]:
    recordset_id = check_uuid(recordset_id, "recordset_id")
    if zone_id is not None:
        zone_id = check_uuid(zone_id, "zone_id")
    rs = s.get(m.DnsRecordset, recordset_id)
    if rs is None or rs.action == "DELETE" or (zone_id is not None and rs.zone_id != zone_id):
        if zone_id is not None:
            visible_zone(s, ctx, scope, zone_id)
        raise _not_found()
    try:
        zone = visible_zone(s, ctx, scope, rs.zone_id, lock=lock)
    except errors.NotFound:
        raise _not_found() from None
    return zone, rs


def show(s: Session, ctx: Context, scope: Scope, zone_id: str | None,
         recordset_id: str) -> View:
    ctx = scoped(ctx, scope)
    zone, rs = _find(s, ctx, scope, zone_id, recordset_id)
    policy.enforce(ctx, "get_recordset", {"project_id": zone.project_id})
    return _view(s, rs, zone.name)


def _writable(s: Session, ctx: Context, scope: Scope, zone_id: str, recordset_id: str,
              action: str, verb: str) -> tuple[m.DnsZone, m.DnsRecordset]:
    zone, rs = _find(s, ctx, scope, zone_id, recordset_id, lock=True)
    zone = writable_zone(s, ctx, scope, zone.id, action)
    if _managed(s, rs) and not scope.edit_managed:
        raise bad_request(f"Managed records may not be {verb}")
    return zone, rs


def update(s: Session, ctx: Context, scope: Scope, zone_id: str, recordset_id: str,
           values: dict[str, Any]) -> View:
    ctx = scoped(ctx, scope)
    zone, rs = _writable(s, ctx, scope, zone_id, recordset_id, "update_recordset", "updated")
    for key in ("name", "type", "zone_id", "project_id"):
        # Designate compares with what the recordset holds: the same value is no change.
        if key in values and values[key] != getattr(rs, key):
            raise bad_request(f"Changing a recordset's {key} is not allowed")
    for key in values:
        if key not in _UPDATE_FIELDS | {"name", "type", "zone_id", "project_id"}:
            raise _schema(f"'{key[:64]}' is a read only or unknown field")
    if "ttl" in values:
        rs.ttl = _ttl(values["ttl"])
    if "description" in values:
        rs.description = _description(values["description"])
    if "records" in values:
        if rs.type == "SOA":
            raise bad_request("Managed records may not be updated")
        datas = _records(rs.type, values["records"])
        if rs.type == "CNAME" and len(datas) > 1:
            raise bad_request("CNAME recordsets may not have more than 1 record")
        managed = _managed(s, rs)  # an admin's edit of a managed recordset keeps it managed
        if not managed:
            quotas.check_records(s, zone, rs.id, len(datas))
        current = {r.data: r for r in s.scalars(select(m.DnsRecord).where(
            m.DnsRecord.recordset_id == rs.id))}
        for data, record in current.items():
            if data not in datas:
                s.delete(record)
        for data in datas:
            if data not in current:
                s.add(m.DnsRecord(id=new_id(), recordset_id=rs.id, data=data, managed=managed))
    rs.status, rs.action = "PENDING", "UPDATE"
    rs.version += 1
    rs.updated_at = utcnow()
    bump(s, zone)
    s.flush()
    return _view(s, rs, zone.name)


def delete(s: Session, ctx: Context, scope: Scope, zone_id: str, recordset_id: str) -> View:
    ctx = scoped(ctx, scope)
    zone, rs = _writable(s, ctx, scope, zone_id, recordset_id, "delete_recordset", "deleted")
    if rs.type == "SOA" or (rs.type == "NS" and rs.name == zone.name):
        raise bad_request("Managed records may not be deleted")
    view = _view(s, rs, zone.name)
    rs.status, rs.action = "PENDING", "DELETE"
    rs.updated_at = utcnow()
    bump(s, zone)
    s.flush()
    return view
