"""Designate's zone transfers: ``POST /v2/zones/{zone_id}/tasks/transfer_requests`` (offer a
zone), ``/v2/zones/tasks/transfer_requests[/{id}]`` (list, show, PATCH, delete) and
``/v2/zones/tasks/transfer_accepts[/{id}]`` (accept with the key, list, show).

A request shown to someone other than its zone's project (its target, or anyone when it
names none) leaves out the key, the projects and the dates, as Designate does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.dns import common
from sausage.services.dns import transfers as svc

__all__ = ["ROUTES", "render_request", "render_accept"]

_HIDDEN = ("project_id", "target_project_id", "key", "created_at", "updated_at")


def render_request(request: Request, shown: svc.Shown) -> dict[str, Any]:
    row = shown.row
    out = {"id": row.id, "zone_id": row.zone_id, "zone_name": row.zone_name,
           "project_id": row.project_id, "target_project_id": row.target_project_id,
           "description": row.description, "key": row.key, "status": row.status,
           "created_at": common.iso(row.created_at), "updated_at": common.iso(row.updated_at),
           "links": {"self": f"{common.v2_url(request)}/zones/tasks/transfer_requests/{row.id}"}}
    if not shown.detailed:
        for name in _HIDDEN:
            del out[name]
    return out


def render_accept(request: Request, row: Any, key: str | None = None) -> dict[str, Any]:
    base = common.v2_url(request)
    return {"id": row.id, "zone_transfer_request_id": row.zone_transfer_request_id,
            "project_id": row.project_id, "key": key, "status": row.status,
            "zone_id": row.zone_id, "created_at": common.iso(row.created_at),
            "updated_at": common.iso(row.updated_at),
            "links": {"self": f"{base}/zones/tasks/transfer_accepts/{row.id}",
                      "zone": f"{base}/zones/{row.zone_id}"}}


async def _optional_body(request: Request) -> dict[str, Any]:
    """The body, or an empty one when none was sent or it is JSON ``null`` (Designate offers
    a zone either way)."""
    length = request.headers.get("content-length")
    if length == "0" or (length is None and "transfer-encoding" not in request.headers):
        return {}
    value = await wire.json_value(request, "Malformed JSON in request body", kind="invalid_json")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.BadRequest("The request body must be a JSON object", kind="bad_request")
    return value


async def offer(request: Request) -> Response:
    zone_id = request.path_params["zone_id"]
    values = await _optional_body(request)
    scope = common.scope(request)
    body = await wire.call(request, lambda s, ctx: render_request(
        request, svc.create_request(s, ctx, scope, zone_id, values)))
    return wire.json(body, 201, headers={"Location": body["links"]["self"]})


async def requests(request: Request) -> Response:
    params, scope = dict(request.query_params), common.scope(request)

    def work(s: Any, ctx: Any) -> dict[str, Any]:
        page = svc.list_requests(s, ctx, scope, params)
        return common.listing(request, "transfer_requests",
                              [render_request(request, x) for x in page.rows], page.total,
                              page.limit)
    return wire.json(await wire.call(request, work))


async def transfer_request(request: Request) -> Response:
    request_id = request.path_params["transfer_request_id"]
    scope = common.scope(request)
    if request.method == "DELETE":
        await wire.call(request, svc.delete_request, scope, request_id)
        return wire.empty()
    if request.method == "PATCH":
        values = await common.body(request)
        return wire.json(await wire.call(request, lambda s, ctx: render_request(
            request, svc.update_request(s, ctx, scope, request_id, values))))
    return wire.json(await wire.call(request, lambda s, ctx: render_request(
        request, svc.show_request(s, ctx, scope, request_id))))


async def accepts(request: Request) -> Response:
    scope = common.scope(request)
    if request.method == "POST":
        values = await common.body(request)
        key = values.get("key") if isinstance(values.get("key"), str) else None
        body = await wire.call(request, lambda s, ctx: render_accept(
            request, svc.accept(s, ctx, scope, values), key))
        return wire.json(body, 201, headers={"Location": body["links"]["self"]})
    params = dict(request.query_params)

    def work(s: Any, ctx: Any) -> dict[str, Any]:
        page = svc.list_accepts(s, ctx, scope, params)
        return common.listing(request, "transfer_accepts",
                              [render_accept(request, x) for x in page.rows], page.total,
                              page.limit)
    return wire.json(await wire.call(request, work))


async def transfer_accept(request: Request) -> Response:
    accept_id = request.path_params["transfer_accept_id"]
    scope = common.scope(request)
    return wire.json(await wire.call(request, lambda s, ctx: render_accept(
        request, svc.show_accept(s, ctx, scope, accept_id))))


ROUTES = [
    Route("/v2/zones/{zone_id}/tasks/transfer_requests", offer, methods=["POST"]),
    Route("/v2/zones/tasks/transfer_requests", requests, methods=["GET"]),
    Route("/v2/zones/tasks/transfer_requests/{transfer_request_id}", transfer_request,
          methods=["GET", "PATCH", "DELETE"]),
    Route("/v2/zones/tasks/transfer_accepts", accepts, methods=["GET", "POST"]),
    Route("/v2/zones/tasks/transfer_accepts/{transfer_accept_id}", transfer_accept,
          methods=["GET"]),
]
