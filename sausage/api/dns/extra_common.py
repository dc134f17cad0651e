"""HTTP helpers the TLD, zone transfer and floating IP PTR modules share (``tlds``,
``transfers``, ``reverse``), in Designate's shapes; meant to fold into the core's own DNS
helpers.

- ``scope(request)``: Designate's request modifiers from their headers
  (``X-Auth-All-Projects``, ``X-Auth-Sudo-Project-ID``/``-Tenant-ID``,
  ``X-Designate-Edit-Managed-Records``, ``X-Designate-Hard-Delete``);
- ``await body(request)``: the JSON object sent (400 ``invalid_json`` otherwise), or an empty
  one when ``optional`` and nothing was sent;
- ``paging(request, sort_keys)``: marker, limit (20 by default, ``max`` = 1000), sort key and
  direction, refused as Designate does (``invalid_limit``, ``invalid_sort_key`` …);
- ``base(request)`` (``…/dns``), ``when(datetime)`` (``2026-12-05T17:22:42.000000``) and
  ``collection(request, name, items, limit, total)``: a list body with its ``links`` (``self``,
  ``next`` when the page is full) and, when ``total`` is given, ``metadata.total_count``.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from sausage import errors
from sausage.api import wire
from sausage.services.dns import common

__all__ = ["scope", "body", "Paging", "paging", "base", "when", "collection",
           "DEFAULT_LIMIT", "MAX_LIMIT"]

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
_TRUE = {"1", "t", "true", "on", "y", "yes"}


def _flag(request: Request, name: str) -> bool:
    return request.headers.get(name, "").strip().lower() in _TRUE


def scope(request: Request) -> common.Scope:
    """The modifiers (Designate also reads ``all_projects``/``all_tenants`` and
    ``edit_managed_records`` from the query string)."""
    q = request.query_params
    all_projects = _flag(request, "x-auth-all-projects")
    for name in ("all_projects", "all_tenants"):
        if name in q:
            all_projects = q[name].strip().lower() in _TRUE
    edit = (q["edit_managed_records"].strip().lower() in _TRUE
            if "edit_managed_records" in q else _flag(request, "x-designate-edit-managed-records"))
    sudo = (request.headers.get("x-auth-sudo-project-id")
            or request.headers.get("x-auth-sudo-tenant-id") or None)
    return common.Scope(all_projects=all_projects, sudo_project_id=sudo, edit_managed=edit,
                        hard_delete=_flag(request, "x-designate-hard-delete"))


async def body(request: Request, optional: bool = False) -> dict[str, Any]:
    length = request.headers.get("content-length")
    if optional and (length == "0" or (length is None
                                       and "transfer-encoding" not in request.headers)):
        return {}
    return await wire.json_object(request, "Invalid JSON body", "Invalid JSON body: the body "
                                  "must be a JSON object", kind="invalid_json")


@dataclasses.dataclass(frozen=True)
class Paging:
    marker: str | None
    limit: int
    sort_key: str
    sort_dir: str


def paging(request: Request, sort_keys: Sequence[str]) -> Paging:
    params = request.query_params
    raw = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        if raw.lower() == "max":
            limit = MAX_LIMIT
        else:
            try:
                limit = int(raw)
            except ValueError:
                limit = 0
            if not 0 < limit <= wire.INT64_MAX:
                raise errors.BadRequest(f"limit should be an integer between 1 and "
                                        f"{MAX_LIMIT}", kind="invalid_limit")
    sort_dir = params.get("sort_dir") or "asc"
    if sort_dir not in ("asc", "desc"):
        raise errors.BadRequest("Unknown sort direction, must be 'desc' or 'asc'",
                                kind="invalid_sort_dir")
    sort_key = params.get("sort_key") or "created_at"
    if sort_key not in sort_keys:
        raise errors.BadRequest(f"sort key must be one of {list(sort_keys)}",
                                kind="invalid_sort_key")
    return Paging(params.get("marker") or None, limit, sort_key, sort_dir)


def base(request: Request) -> str:
    return wire.base_url(request, "dns")


def when(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def collection(request: Request, name: str, items: list[dict[str, Any]],
               limit: int | None = None, total: int | None = None) -> dict[str, Any]:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    url = f"{base(request)}{request.url.path.removeprefix('/dns')}"
    query = urlencode(request.query_params.multi_items())
    links = {"self": f"{url}?{query}" if query else url}
    if limit is not None and items and len(items) == limit:
        links["next"] = f"{url}?{urlencode(params + [('marker', items[-1]['id'])])}"
    out: dict[str, Any] = {name: items, "links": links}
    if total is not None:
        out["metadata"] = {"total_count": total}
    return out
