"""``/v2/tlds``: Designate's TLDs, admin only (create 201, list with ``name`` filter and
paging, show, PATCH name/description, delete 204)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.dns import extra_common as h
from sausage.services.dns import tlds as svc

__all__ = ["ROUTES", "render"]

SORT_KEYS = ("created_at", "id", "updated_at", "name")


def render(request: Request, row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "description": row.description,
            "created_at": h.when(row.created_at), "updated_at": h.when(row.updated_at),
            "links": {"self": f"{h.base(request)}/v2/tlds/{row.id}"}}


async def tlds(request: Request) -> Response:
    if request.method == "POST":
        values = await h.body(request)
        row = await wire.call(request, lambda s, ctx: render(request, svc.create(s, ctx, values)))
        return wire.json(row, 201, headers={"Location": row["links"]["self"]})
    p = h.paging(request, SORT_KEYS)
    name = request.query_params.get("name")

    def work(s: Any, ctx: Any) -> dict[str, Any]:
        page = svc.list_tlds(s, ctx, name=name, marker=p.marker, limit=p.limit,
                             sort_key=p.sort_key, sort_dir=p.sort_dir)
        return h.collection(request, "tlds", [render(request, r) for r in page.rows],
                            p.limit, page.total)
    return wire.json(await wire.call(request, work))


async def tld(request: Request) -> Response:
    tld_id = request.path_params["tld_id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete, tld_id)
        return wire.empty()
    if request.method == "PATCH":
        values = await h.body(request)
        return wire.json(await wire.call(
            request, lambda s, ctx: render(request, svc.update(s, ctx, tld_id, values))))
    return wire.json(await wire.call(
        request, lambda s, ctx: render(request, svc.show(s, ctx, tld_id))))


ROUTES = [
    Route("/v2/tlds", tlds, methods=["GET", "POST"]),
    Route("/v2/tlds/{tld_id}", tld, methods=["GET", "PATCH", "DELETE"]),
]
