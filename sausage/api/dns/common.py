"""What the Designate routes share: the request modifiers read from headers (``Scope``),
bodies decoded in Designate's terms, list documents with ``links`` and ``metadata``, and the
zone and recordset documents.
"""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from sausage import errors
from sausage.api import wire
from sausage.services.dns import recordsets
from sausage.services.dns.common import Scope

__all__ = ["scope", "body", "listing", "zone", "recordset", "iso", "v2_url", "POOL_ID"]

_TRUE = {"1", "t", "true", "on", "y", "yes"}


def _flag(value: str | None) -> bool:
    """oslo's ``bool_from_string``: a true word is true, anything else false."""
    return value is not None and value.strip().lower() in _TRUE


def scope(request: Request) -> Scope:
    """Designate's modifiers: the headers (or the ``all_projects``/``edit_managed_records``
    query parameters Designate also reads)."""
    h, q = request.headers, request.query_params
    all_projects = _flag(h.get("x-auth-all-projects"))
    for name in ("all_projects", "all_tenants"):
        if name in q:
            all_projects = _flag(q[name])
    edit = (_flag(q["edit_managed_records"]) if "edit_managed_records" in q
            else _flag(h.get("x-designate-edit-managed-records")))
    sudo = h.get("x-auth-sudo-project-id") or h.get("x-auth-sudo-tenant-id") or None
    return Scope(all_projects=all_projects, sudo_project_id=sudo, edit_managed=edit,
                 hard_delete=_flag(h.get("x-designate-hard-delete")))


async def body(request: Request) -> dict[str, Any]:
    """The JSON object sent: 400 ``invalid_json`` when it is not JSON, ``bad_request`` when
    it is not an object."""
    value = await wire.json_value(request, "Malformed JSON in request body", kind="invalid_json")
    if not isinstance(value, dict):
        raise errors.BadRequest("The request body must be a JSON object", kind="bad_request")
    return value


def v2_url(request: Request) -> str:
    return wire.base_url(request, "dns") + "/v2"


def iso(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def listing(request: Request, name: str, items: list[dict[str, Any]], total: int,
            limit: int) -> dict[str, Any]:
    """A Designate list: the items, ``links`` (self, and next when the page is full) and
    ``metadata.total_count``."""
    here = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    query = request.url.query
    links: dict[str, str] = {"self": here + (f"?{query}" if query else "")}
    if items and len(items) == limit:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        params = [(k, v) for k, v in params if k != "limit"]
        params += [("limit", str(limit)), ("marker", str(items[-1]["id"]))]
        links["next"] = f"{here}?{urlencode(params)}"
    return {name: items, "links": links, "metadata": {"total_count": total}}


def zone(request: Request, row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "pool_id": POOL_ID, "project_id": row.project_id, "name": row.name,
        "email": row.email, "ttl": row.ttl, "serial": row.serial, "status": row.status,
        "action": row.action, "description": row.description, "masters": [],
        "type": row.type, "transferred_at": iso(row.transferred_at), "version": row.version,
        "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
        "attributes": {}, "shared": False,
        "links": {"self": f"{v2_url(request)}/zones/{row.id}"},
    }


# Designate's default pool (the cloud has one PowerDNS pool).
POOL_ID = "794ccc2c-d751-44fe-b57f-8894c9f5c842"


def recordset(request: Request, view: recordsets.View) -> dict[str, Any]:
    rs = view.recordset
    return {
        "id": rs.id, "zone_id": rs.zone_id, "project_id": rs.project_id, "name": rs.name,
        "zone_name": view.zone_name, "type": rs.type, "records": view.records,
        "ttl": rs.ttl, "status": rs.status, "action": rs.action, "version": rs.version,
        "description": rs.description, "created_at": iso(rs.created_at),
        "updated_at": iso(rs.updated_at),
        "links": {"self": f"{v2_url(request)}/zones/{rs.zone_id}/recordsets/{rs.id}"},
    }
