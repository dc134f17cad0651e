"""``/v2.0/subnetpools``: Neutron subnet pools (the ``subnet_allocation`` extension)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.network import common
from sausage.api.network.common import Attr
from sausage.services.context import Context
from sausage.services.network import subnetpools as svc

__all__ = ["ROUTES", "SPEC", "render"]

SPEC: dict[str, Attr] = {
    "name": Attr(common.string()),
    "description": Attr(common.string()),
    "prefixes": Attr(common.list_of(common.cidr)),
    "default_prefixlen": Attr(common.integer(0, 128)),
    "min_prefixlen": Attr(common.integer(0, 128)),
    "max_prefixlen": Attr(common.integer(0, 128)),
    "default_quota": Attr(common.nullable(common.integer(0))),
    "shared": Attr(common.boolean),
    "is_default": Attr(common.boolean),
    "address_scope_id": Attr(common.nullable(common.uuid)),
    "tags": Attr(common.list_of(common.string()), put=False),
    "project_id": Attr(common.string(64), put=False),
    "tenant_id": Attr(common.string(64), put=False),
}


def render(row: Any, tags: list[str]) -> dict[str, Any]:
    return {
        "id": row.id, "name": row.name, "ip_version": row.ip_version,
        "prefixes": list(row.prefixes), "default_prefixlen": row.default_prefixlen,
        "min_prefixlen": row.min_prefixlen, "max_prefixlen": row.max_prefixlen,
        "default_quota": row.default_quota, "shared": row.shared, "is_default": row.is_default,
        "address_scope_id": row.address_scope_id, **common.standard(row, tags)}


def _create(s: Session, ctx: Context, items: list[dict[str, Any]]) -> svc.View:
    return svc.view_of(s, [svc.create(s, ctx, v, common.project_of(v)) for v in items])


def _update(s: Session, ctx: Context, pool_id: str, values: dict[str, Any]) -> svc.View:
    return svc.view_of(s, [svc.update(s, ctx, pool_id, values)])


async def collection(request: Request) -> Response:
    if request.method == "POST":
        items, bulk = await common.many(request, "subnetpool", "subnetpools", SPEC)
        for item in items:
            if "prefixes" not in item:
                raise common.bad("prefixes must be specified")
        view = await wire.call(request, _create, items)
        bodies = [render(r, view.found.tags.get(r.id, [])) for r in view.found.rows]
        return wire.json({"subnetpools": bodies} if bulk else {"subnetpool": bodies[0]}, 201)
    q = common.list_query(request)
    view = await wire.call(request, svc.list_pools, q)
    return common.listing(request, "subnetpools", view.found, render, q)


async def member(request: Request) -> Response:
    pool_id = request.path_params["pool_id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete, pool_id)
        return wire.empty()
    if request.method == "PUT":
        values = await common.one(request, "subnetpool", SPEC, create=False)
        view = await wire.call(request, _update, pool_id, values)
    else:
        view = await wire.call(request, svc.show, pool_id)
    row = view.found.rows[0]
    return common.shown(request, "subnetpool", render(row, view.found.tags[row.id]))


ROUTES = [
    Route("/subnetpools", collection, methods=["GET", "POST"]),
    Route("/subnetpools/{pool_id}", member, methods=["GET", "PUT", "DELETE"]),
]
