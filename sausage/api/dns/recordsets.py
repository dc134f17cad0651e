"""``/v2/zones/{zone_id}/recordsets[/{recordset_id}]`` and ``/v2/recordsets[/{id}]``:
Designate recordsets. Writes answer 202 with the recordset PENDING; ``/v2/recordsets/{id}``
redirects (301) to the recordset under its zone, as Designate does."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.dns import common
from sausage.services.dns import recordsets as svc

__all__ = ["ROUTES"]


async def _list(request: Request, zone_id: str | None) -> Response:
    page, limit = await wire.call(request, svc.list_recordsets, common.scope(request), zone_id,
                                  dict(request.query_params))
    items = [common.recordset(request, view) for view in page.rows]
    return wire.json(common.listing(request, "recordsets", items, page.total, limit))


async def collection(request: Request) -> Response:
    zone_id = request.path_params["zone_id"]
    if request.method == "POST":
        values = await common.body(request)
        view = await wire.call(request, svc.create, common.scope(request), zone_id, values)
        doc = common.recordset(request, view)
        return wire.json(doc, 202, {"Location": doc["links"]["self"]})
    return await _list(request, zone_id)


async def item(request: Request) -> Response:
    scope = common.scope(request)
    zone_id, rs_id = request.path_params["zone_id"], request.path_params["recordset_id"]
    if request.method == "PUT":
        values = await common.body(request)
        view = await wire.call(request, svc.update, scope, zone_id, rs_id, values)
        return wire.json(common.recordset(request, view), 202)
    if request.method == "DELETE":
        view = await wire.call(request, svc.delete, scope, zone_id, rs_id)
        doc = common.recordset(request, view)
        doc.update(status="PENDING", action="DELETE")
        return wire.json(doc, 202)
    view = await wire.call(request, svc.show, scope, zone_id, rs_id)
    return wire.json(common.recordset(request, view))


async def everywhere(request: Request) -> Response:
    return await _list(request, None)


async def anywhere(request: Request) -> Response:
    view = await wire.call(request, svc.show, common.scope(request), None,
                           request.path_params["recordset_id"])
    return RedirectResponse(common.recordset(request, view)["links"]["self"], 301)


ROUTES = [
    Route("/v2/zones/{zone_id}/recordsets", collection, methods=["GET", "HEAD", "POST"]),
    Route("/v2/zones/{zone_id}/recordsets/{recordset_id}", item,
          methods=["GET", "HEAD", "PUT", "DELETE"]),
    Route("/v2/recordsets", everywhere, methods=["GET", "HEAD"]),
    Route("/v2/recordsets/{recordset_id}", anywhere, methods=["GET", "HEAD"]),
]
