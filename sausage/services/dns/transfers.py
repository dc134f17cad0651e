"""Designate's zone transfers: a zone's project offers it (a *request*, with a generated key,
optionally naming the one project that may take it); another project *accepts* with the key,
and the zone with its recordsets becomes that project's.

Called by ``api/dns/transfers.py``. As Designate:

- one ACTIVE request per zone (409 ``duplicate_zone_transfer_request``); a zone being deleted
  is not offered (400);
- a request is listed to its zone's project and to its target; shown also to anyone when it
  names no target; only the zone's project (and admin) see its details (key, projects, dates,
  ``Shown.detailed``);
- accepting needs the request ACTIVE (400 ``invalid_zone_transfer_request``), the right key
  (403 ``invalid_key``, nothing changes) and room in the accepting project's zones quota (413
  ``over_quota``); the zone's change bumps its serial (``common.bump``) so the publisher
  republishes it, and ``transferred_at`` says when;
- accepts are shown to their project and listed only to admin.
"""

from __future__ import annotations

import dataclasses
import secrets
import string
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import dns as m
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.dns import common, paging, quotas

__all__ = ["Shown", "SORT_KEYS", "create_request", "show_request", "list_requests",
           "update_request", "delete_request", "accept", "show_accept", "list_accepts"]

MAX_DESCRIPTION = 160
_KEY_CHARS = string.ascii_uppercase + string.digits
SORT_KEYS = ("created_at", "id", "updated_at")

@dataclasses.dataclass(frozen=True)
class Shown:
    """A transfer request as its caller may see it: ``detailed`` False hides the key, the
    projects and the dates (Designate's ``get_zone_transfer_request_detailed``)."""

    row: m.DnsZoneTransferRequest
    detailed: bool


def _request_missing() -> errors.NotFound:
    return errors.NotFound("Could not find ZoneTransferRequest",
                           kind="zone_transfer_request_not_found")


def _accept_missing() -> errors.NotFound:
    return errors.NotFound("Could not find ZoneTransferAccept",
                           kind="zone_transfer_accept_not_found")


def _description(values: dict[str, Any]) -> str | None:
    value = values.get("description")
    if value is not None and (not isinstance(value, str) or len(value) > MAX_DESCRIPTION):
        raise common.invalid("Provided object does not match schema: description must be a "
                             f"string of at most {MAX_DESCRIPTION} characters or null")
    return value


# Designate's adapter fields: what a body may set (rw), set once (immutable: on create, or
# when still unset), or only repeat unchanged (ro).
_REQUEST_FIELDS = {"id": "ro", "zone_id": "immutable", "project_id": "ro",
                   "target_project_id": "immutable", "description": "rw", "key": "ro",
                   "status": "ro", "zone_name": "immutable", "created_at": "ro",
                   "updated_at": "ro"}
_ACCEPT_FIELDS = {"id": "ro", "zone_transfer_request_id": "immutable", "project_id": "ro",
                  "key": "rw", "status": "ro", "zone_id": "ro", "created_at": "ro",
                  "updated_at": "ro"}


def _when(value: Any) -> str | None:
    return None if value is None else str(value.isoformat(timespec="microseconds"))


def _current(row: m.DnsZoneTransferRequest) -> dict[str, Any]:
    return {"id": row.id, "zone_id": row.zone_id, "project_id": row.project_id,
            "target_project_id": row.target_project_id, "key": row.key,
            "status": row.status, "zone_name": row.zone_name,
            "created_at": _when(row.created_at), "updated_at": _when(row.updated_at)}


def _parse(values: Mapping[str, Any], fields: Mapping[str, str], current: Mapping[str, Any],
           resource: str) -> None:
    """Designate's parse of a body onto an object: an unknown key, a read-only one that
    differs or an immutable one already set to something else is 400 ``invalid_object``."""
    wrong = []
    for key, value in values.items():
        kind = fields.get(key)
        now = current.get(key)
        if kind is None:
            wrong.append(key)
        elif (kind == "immutable" and now and now != value) or (kind == "ro" and now != value):
            wrong.append(key)
            break
    if wrong:
        raise common.invalid(f"Provided object does not match schema. Keys {wrong[:8]} are not "
                             f"valid for {resource}")


def _target_project(values: Mapping[str, Any]) -> str | None:
    target = values.get("target_project_id")
    if target is not None and (not isinstance(target, str) or not 0 < len(target) <= 64):
        raise common.invalid("Provided object does not match schema: target_project_id must "
                             "be a project id or null")
    return target


def _shown(ctx: Context, row: m.DnsZoneTransferRequest) -> Shown:
    return Shown(row, policy.allowed(ctx, "get_zone_transfer_request_detailed",
                                     {"project_id": row.project_id}))


def _page(s: Session, model: Any, query: Any, params: Mapping[str, str]
          ) -> paging.Page[Any]:
    if params.get("status") is not None:
        query = query.where(paging.criterion(model.status, params["status"]))
    return paging.page(s, model, query, params, SORT_KEYS)


# --- requests ---------------------------------------------------------------------------

def create_request(s: Session, ctx: Context, scope: common.Scope, zone_id: str,
                   values: dict[str, Any]) -> Shown:
    """Offer the zone: a new ACTIVE request with a fresh key."""
    ctx = common.scoped(ctx, scope)
    zone = common.visible_zone(s, ctx, scope, zone_id, lock=True)
    # The zone's id and name come from the path, whatever the body said.
    values = {k: v for k, v in values.items() if k not in ("zone_id", "zone_name")}
    _parse(values, _REQUEST_FIELDS, {}, "transfer_request")
    policy.enforce(ctx, "create_zone_transfer_request", {"project_id": zone.project_id})
    if zone.action == "DELETE":
        raise common.bad_request("Can not transfer a deleting zone")
    target = _target_project(values)
    active = s.scalars(select(m.DnsZoneTransferRequest.id).where(
        m.DnsZoneTransferRequest.zone_id == zone.id,
        m.DnsZoneTransferRequest.status == "ACTIVE")).first()
    if active is not None:
        raise errors.Conflict("Duplicate ZoneTransferRequest",
                              kind="duplicate_zone_transfer_request")
    row = m.DnsZoneTransferRequest(
        id=common.new_id(), zone_id=zone.id, zone_name=zone.name,
        project_id=zone.project_id, target_project_id=target,
        key="".join(secrets.choice(_KEY_CHARS) for _ in range(8)),
        description=_description(values), status="ACTIVE")
    s.add(row)
    s.flush()
    return _shown(ctx, row)


def _request(s: Session, ctx: Context, request_id: str, lock: bool = False
             ) -> m.DnsZoneTransferRequest:
    """The request, shown to whoever Designate's ``get_zone_transfer_request`` lets see it
    (404 when missing, 403 when it is someone else's and names another target)."""
    request_id = common.check_uuid(request_id, "zone_transfer_request_id")
    query = select(m.DnsZoneTransferRequest).where(m.DnsZoneTransferRequest.id == request_id)
    row = s.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise _request_missing()
    policy.enforce(ctx, "get_zone_transfer_request",
                   {"project_id": row.project_id, "target_project_id": row.target_project_id})
    return row


def show_request(s: Session, ctx: Context, scope: common.Scope, request_id: str) -> Shown:
    ctx = common.scoped(ctx, scope)
    return _shown(ctx, _request(s, ctx, request_id))


def list_requests(s: Session, ctx: Context, scope: common.Scope, params: Mapping[str, str]
                  ) -> paging.Page[Shown]:
    """The requests of the caller's zones and those naming it as target (every one with all
    projects)."""
    ctx = common.scoped(ctx, scope)
    policy.enforce(ctx, "find_zone_transfer_requests")
    table = m.DnsZoneTransferRequest
    query = select(table)
    if not scope.all_projects:
        query = query.where(or_(table.project_id == (ctx.project_id or ""),
                                table.target_project_id == (ctx.project_id or "")))
    page = _page(s, table, query, params)
    return paging.Page([_shown(ctx, r) for r in page.rows], page.total, page.limit)


def update_request(s: Session, ctx: Context, scope: common.Scope, request_id: str,
                   values: dict[str, Any]) -> Shown:
    """Change a request's description, or name its target while it has none."""
    ctx = common.scoped(ctx, scope)
    row = _request(s, ctx, request_id, lock=True)
    policy.enforce(ctx, "update_zone_transfer_request", {"project_id": row.project_id})
    _parse(values, _REQUEST_FIELDS, _current(row), "transfer_request")
    if "description" in values:
        row.description = _description(values)
    if row.target_project_id is None and values.get("target_project_id") is not None:
        row.target_project_id = _target_project(values)
    row.updated_at = utcnow()
    s.flush()
    return _shown(ctx, row)


def delete_request(s: Session, ctx: Context, scope: common.Scope, request_id: str) -> None:
    ctx = common.scoped(ctx, scope)
    request_id = common.check_uuid(request_id, "zone_transfer_request_id")
    row = s.get(m.DnsZoneTransferRequest, request_id)
    # Designate finds it with the caller's own scope: their zone's, or naming them as target.
    if row is None or not (scope.all_projects or ctx.project_id in (
            row.project_id, row.target_project_id)):
        raise _request_missing()
    policy.enforce(ctx, "delete_zone_transfer_request", {"project_id": row.project_id})
    s.delete(row)


# --- accepts ----------------------------------------------------------------------------

def accept(s: Session, ctx: Context, scope: common.Scope, values: dict[str, Any]
           ) -> m.DnsZoneTransferAccept:
    """Take the zone of the request with its key: the zone and its recordsets become the
    caller's project's, the request COMPLETE."""
    ctx = common.scoped(ctx, scope)
    _parse(values, _ACCEPT_FIELDS, {}, "transfer_accept")
    key, request_id = values.get("key"), values.get("zone_transfer_request_id")
    if not isinstance(key, str) or not key or len(key) > 160:
        raise common.invalid("Provided object does not match schema 'transfer_accept': "
                             "'key' is a required string of at most 160 characters")
    if not isinstance(request_id, str):
        raise common.invalid("Provided object does not match schema 'transfer_accept': "
                             "'zone_transfer_request_id' is a required property")
    request = _request(s, ctx, request_id, lock=True)
    if request.status != "ACTIVE":
        message = ("Zone Transfer Request has been used" if request.status == "COMPLETE"
                   else "Zone Transfer Request Invalid")
        raise errors.BadRequest(message, kind="invalid_zone_transfer_request")
    if not secrets.compare_digest(request.key.encode(), key.encode()):
        raise errors.Forbidden("Key does not match stored key for request",
                               kind="invalid_key")
    policy.enforce(ctx, "create_zone_transfer_accept",
                   {"target_project_id": request.target_project_id})
    if ctx.project_id is None:
        raise common.bad_request("A project must accept a zone transfer")
    zone = s.scalars(select(m.DnsZone).where(m.DnsZone.id == request.zone_id)
                     .with_for_update()).one_or_none()
    if zone is None:
        raise _request_missing()
    if zone.action == "DELETE":
        raise common.bad_request("Can not transfer a deleting zone")
    quotas.check_zones(s, ctx.project_id)
    now = utcnow()
    zone.project_id = ctx.project_id
    zone.transferred_at = now
    s.execute(update(m.DnsRecordset).where(m.DnsRecordset.zone_id == zone.id)
              .values(project_id=ctx.project_id))
    common.bump(s, zone)
    request.status, request.updated_at = "COMPLETE", now
    row = m.DnsZoneTransferAccept(
        id=common.new_id(), zone_id=zone.id, project_id=ctx.project_id,
        zone_transfer_request_id=request.id, status="COMPLETE")
    s.add(row)
    s.flush()
    return row


def show_accept(s: Session, ctx: Context, scope: common.Scope, accept_id: str
                ) -> m.DnsZoneTransferAccept:
    ctx = common.scoped(ctx, scope)
    row = s.get(m.DnsZoneTransferAccept, common.check_uuid(accept_id, "transfer_accept_id"))
    if row is None or not (scope.all_projects or row.project_id == ctx.project_id):
        raise _accept_missing()
    policy.enforce(ctx, "get_zone_transfer_accept", {"project_id": row.project_id})
    return row


def list_accepts(s: Session, ctx: Context, scope: common.Scope, params: Mapping[str, str]
                 ) -> paging.Page[m.DnsZoneTransferAccept]:
    """Accepts (admin only): the caller's project's, or every one with all projects."""
    ctx = common.scoped(ctx, scope)
    policy.enforce(ctx, "find_zone_transfer_accepts")
    table = m.DnsZoneTransferAccept
    query = select(table)
    if not scope.all_projects:
        query = query.where(table.project_id == (ctx.project_id or ""))
    return _page(s, table, query, params)
