"""``/v2/zones[/{zone_id}]`` and ``/v2/zones/{zone_id}/nameservers``: Designate zones.
Creates, updates and deletes answer 202 with the zone PENDING (the publisher makes it
ACTIVE)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.dns import common
from sausage.services.dns import zones as svc

__all__ = ["ROUTES"]


async def collection(request: Request) -> Response:
    scope = common.scope(request)
    if request.method == "POST":
        values = await common.body(request)
        row = await wire.call(request, svc.create, scope, values)
        doc = common.zone(request, row)
        return wire.json(doc, 202, {"Location": doc["links"]["self"]})
    page = await wire.call(request, svc.list_zones, scope, dict(request.query_params))
    items = [common.zone(request, row) for row in page.rows]
    return wire.json(common.listing(request, "zones", items, page.total, page.limit))


async def item(request: Request) -> Response:
    scope = common.scope(request)
    zone_id = request.path_params["zone_id"]
    if request.method == "PATCH":
        values = await common.body(request)
        row = await wire.call(request, svc.update, scope, zone_id, values)
        return wire.json(common.zone(request, row), 202)
    if request.method == "DELETE":
        row = await wire.call(request, svc.delete, scope, zone_id)
        return wire.json(common.zone(request, row), 202)
    row = await wire.call(request, svc.show, scope, zone_id)
    return wire.json(common.zone(request, row))


async def nameservers(request: Request) -> Response:
    found = await wire.call(request, svc.zone_nameservers, common.scope(request),
                            request.path_params["zone_id"])
    return wire.json({"nameservers": found})


ROUTES = [
    Route("/v2/zones", collection, methods=["GET", "HEAD", "POST"]),
    Route("/v2/zones/{zone_id}", item, methods=["GET", "HEAD", "PATCH", "DELETE"]),
    Route("/v2/zones/{zone_id}/nameservers", nameservers, methods=["GET", "HEAD"]),
]
