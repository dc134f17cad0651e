"""Zones (Designate v2, PRIMARY): create with their SOA and apex NS recordsets, list, show,
update (email, ttl, description), delete (the row stays PENDING/DELETE until the publisher
has removed it from the server; ``state.finish_deletes``).

Designate's rules on create: quota first, then the name (two labels or more; its TLD among
the cloud's TLDs when any exist, never a TLD itself), no other project's zone of that name,
above it (403 ``illegal_child``) or below it (403 ``illegal_parent``), and no duplicate
(409 ``duplicate_zone``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import dns as m
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.dns import names, paging, quotas, tlds
from sausage.services.dns.common import (Scope, bump, invalid, nameservers, new_id,
                                         next_serial, scoped, soa_data, visible_zone,
                                         writable_zone)

__all__ = ["create", "list_zones", "show", "update", "delete", "zone_nameservers",
           "SORT_KEYS", "DEFAULT_TTL"]

SORT_KEYS = ("created_at", "id", "updated_at", "name", "tenant_id", "serial", "ttl", "status")
DEFAULT_TTL = 3600
_CREATE_FIELDS = {"name", "email", "ttl", "description", "type", "masters", "attributes"}
_UPDATE_FIELDS = {"email", "ttl", "description"}


def _field(fn: Any, value: Any) -> Any:
    try:
        return fn(value)
    except ValueError as e:
        raise invalid(f"Provided object does not match schema: {e}") from e


def _unknown(values: Mapping[str, Any], allowed: set[str]) -> None:
    for key in values:
        if key not in allowed:
            raise invalid(f"Provided object does not match schema: '{key[:64]}' is a read "
                          "only or unknown field")


def _check_name(s: Session, name: str) -> None:
    labels = name.rstrip(".").split(".")
    if len(labels) <= 1:
        raise errors.BadRequest("More than one label is required", kind="invalid_zone_name")
    if not tlds.allowed(s, name):
        raise errors.BadRequest("Invalid TLD", kind="invalid_zone_name")
    if tlds.is_tld(s, name):
        raise errors.BadRequest("Zone name cannot be the same as a TLD",
                                kind="invalid_zone_name")


def _ownership(s: Session, project_id: str, name: str) -> None:
    """No other project's zone is this name, an ancestor or a descendant of it; a zone of
    this name in this project is a duplicate."""
    same = s.scalars(select(m.DnsZone).where(m.DnsZone.name == name)).first()
    if same is not None:
        raise errors.Conflict("Duplicate Zone", kind="duplicate_zone")
    labels = name.split(".")
    for i in range(1, len(labels) - 1):
        ancestors = list(s.scalars(select(m.DnsZone).where(
            m.DnsZone.name == ".".join(labels[i:]))))
        if ancestors:
            if any(a.project_id != project_id for a in ancestors):
                raise errors.Forbidden("Unable to create subzone in another tenants zone",
                                       kind="illegal_child")
            break
    escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    below = s.scalars(select(m.DnsZone).where(m.DnsZone.name.like("%." + escaped,
                                                                   escape="\\")))
    if any(z.project_id != project_id for z in below):
        raise errors.Forbidden("Unable to create zone because another tenant owns a subzone "
                               "of the zone", kind="illegal_parent")


def _apex(s: Session, zone: m.DnsZone) -> None:
    """The zone's managed SOA and NS recordsets at its apex."""
    for rtype, datas in (("SOA", [soa_data(s, zone)]), ("NS", list(nameservers(s)))):
        rs = m.DnsRecordset(id=new_id(), zone_id=zone.id, project_id=zone.project_id,
                            name=zone.name, type=rtype, ttl=None, status="PENDING",
                            action="CREATE")
        s.add(rs)
        s.flush()
        for data in datas:
            s.add(m.DnsRecord(id=new_id(), recordset_id=rs.id, data=data, managed=True))


def create(s: Session, ctx: Context, scope: Scope, values: dict[str, Any]) -> m.DnsZone:
    ctx = scoped(ctx, scope)
    _unknown(values, _CREATE_FIELDS)
    project_id = ctx.project_id
    policy.enforce(ctx, "create_zone", {"project_id": project_id})
    if project_id is None:
        raise errors.BadRequest("A project ID must be specified when not using a project "
                                "scoped token.", kind="missing_project_id")
    zone_type = values.get("type", "PRIMARY")
    if zone_type != "PRIMARY":
        raise invalid("Provided object does not match schema: only PRIMARY zones are "
                      "supported")
    if values.get("masters") not in (None, []):
        raise invalid("Provided object does not match schema: a PRIMARY zone has no masters")
    attributes = values.get("attributes")
    # Designate's scheduler hints (pool placement): the cloud has one pool, so they are
    # checked and not kept.
    if attributes is not None and not (isinstance(attributes, dict) and all(
            isinstance(v, str) and len(k) <= 50 and len(v) <= 50
            for k, v in attributes.items())):
        raise invalid("Provided object does not match schema: attributes must map names to "
                      "strings")
    if "name" not in values:
        raise invalid("Provided object does not match schema: 'name' is a required property")
    if "email" not in values:
        raise invalid("Provided object does not match schema: 'email' is a required property")
    name = _field(names.zone_name, values["name"])
    email = _field(names.email, values["email"])
    ttl = _field(names.ttl, values.get("ttl"))
    description = _field(names.description, values.get("description"))
    quotas.check_zones(s, project_id)
    _check_name(s, name)
    _ownership(s, project_id, name)
    zone = m.DnsZone(id=new_id(), project_id=project_id, name=name, email=email,
                     ttl=DEFAULT_TTL if ttl is None else ttl, serial=next_serial(0),
                     description=description, type="PRIMARY", status="PENDING",
                     action="CREATE", version=1, managed=False, created_at=utcnow())
    s.add(zone)
    try:
        s.flush()
    except IntegrityError as e:  # the same name created at the same moment
        raise errors.Conflict("Duplicate Zone", kind="duplicate_zone") from e
    _apex(s, zone)
    s.flush()
    return zone


_FILTERS = ("name", "email", "status", "ttl", "description", "type")


def list_zones(s: Session, ctx: Context, scope: Scope, params: Mapping[str, str]
               ) -> paging.Page[m.DnsZone]:
    ctx = scoped(ctx, scope)
    policy.enforce(ctx, "find_zones", {"project_id": ctx.project_id})
    query = select(m.DnsZone)
    if not scope.all_projects:
        query = query.where(m.DnsZone.project_id == (ctx.project_id or ""))
    for key in _FILTERS:
        value = params.get(key)
        if value is not None:
            column = getattr(m.DnsZone, key)
            if key in ("name", "email"):
                value = value.lower() if key == "name" else value
            query = query.where(paging.criterion(column, value, integer=key == "ttl"))
    return paging.page(s, m.DnsZone, query, params, SORT_KEYS)


def show(s: Session, ctx: Context, scope: Scope, zone_id: str) -> m.DnsZone:
    return visible_zone(s, scoped(ctx, scope), scope, zone_id)


def update(s: Session, ctx: Context, scope: Scope, zone_id: str,
           values: dict[str, Any]) -> m.DnsZone:
    ctx = scoped(ctx, scope)
    if "name" in values:
        raise errors.BadRequest("Renaming a zone is not allowed", kind="bad_request")
    _unknown(values, _UPDATE_FIELDS)
    zone = writable_zone(s, ctx, scope, zone_id, "update_zone")
    if "email" in values:
        zone.email = _field(names.email, values["email"])
    if "ttl" in values:
        ttl = _field(names.ttl, values["ttl"])
        zone.ttl = DEFAULT_TTL if ttl is None else ttl
    if "description" in values:
        zone.description = _field(names.description, values["description"])
    bump(s, zone)
    s.flush()
    return zone


def delete(s: Session, ctx: Context, scope: Scope, zone_id: str) -> m.DnsZone:
    """Mark the zone PENDING/DELETE (with its recordsets): the publisher removes it, then
    the rows go. A zone with subzones is not deleted (400 ``zone_has_sub_zone``)."""
    ctx = scoped(ctx, scope)
    zone = visible_zone(s, ctx, scope, zone_id, lock=True)
    policy.enforce(ctx, "delete_zone", {"project_id": zone.project_id})
    if zone.action == "DELETE":
        return zone
    escaped = zone.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    children = s.scalar(select(func.count()).select_from(m.DnsZone).where(
        m.DnsZone.name.like("%." + escaped, escape="\\"))) or 0
    if children:
        raise errors.BadRequest("Please delete any subzones before deleting this zone",
                                kind="zone_has_sub_zone")
    zone.status, zone.action = "PENDING", "DELETE"
    zone.updated_at = utcnow()
    for rs in s.scalars(select(m.DnsRecordset).where(m.DnsRecordset.zone_id == zone.id)):
        rs.status, rs.action = "PENDING", "DELETE"
    s.flush()
    return zone


def zone_nameservers(s: Session, ctx: Context, scope: Scope, zone_id: str
                     ) -> list[dict[str, Any]]:
    ctx = scoped(ctx, scope)
    zone = visible_zone(s, ctx, scope, zone_id)
    policy.enforce(ctx, "get_zone_ns_records", {"project_id": zone.project_id})
    return [{"hostname": name, "priority": index + 1}
            for index, name in enumerate(nameservers(s))]
