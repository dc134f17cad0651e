"""``/v2/tlds``: Designate's TLDs, admin only (create 201, list with ``name`` filter and
paging, show, PATCH name/description, delete 204)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.dns import common
from sausage.services.dns import tlds as svc

__all__ = ["ROUTES", "render"]


def render(request: Request, row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "description": row.description,
            "created_at": common.iso(row.created_at), "updated_at": common.iso(row.updated_at),
            "links": {"self": f"{common.v2_url(request)}/tlds/{row.id}"}}


async def tlds(request: Request) -> Response:
    if request.method == "POST":
        values = await common.body(request)
        doc = await wire.call(request,
                              lambda s, ctx: render(request, svc.create(s, ctx, values)))
        return wire.json(doc, 201, headers={"Location": doc["links"]["self"]})
    params = dict(request.query_params)

    def work(s: Any, ctx: Any) -> dict[str, Any]:
        page = svc.list_tlds(s, ctx, params)
        return common.listing(request, "tlds", [render(request, r) for r in page.rows],
                              page.total, page.limit)
    return wire.json(await wire.call(request, work))


async def tld(request: Request) -> Response:
    tld_id = request.path_params["tld_id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete, tld_id)
        return wire.empty()
    if request.method == "PATCH":
        values = await common.body(request)
        return wire.json(await wire.call(
            request, lambda s, ctx: render(request, svc.update(s, ctx, tld_id, values))))
    return wire.json(await wire.call(
        request, lambda s, ctx: render(request, svc.show(s, ctx, tld_id))))


ROUTES = [
    Route("/v2/tlds", tlds, methods=["GET", "POST"]),
    Route("/v2/tlds/{tld_id}", tld, methods=["GET", "PATCH", "DELETE"]),
]
