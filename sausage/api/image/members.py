"""``/v2/images/{id}/members``: share an image with other projects."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.image import render
from sausage.services.image import members as svc

__all__ = ["ROUTES"]


async def _field(request: Request, name: str) -> str:
    body = await wire.json_value(request, "Malformed JSON in request body")
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise errors.BadRequest(f"The request body needs a '{name}' string.")
    return value


async def collection(request: Request) -> Response:
    image_id = request.path_params["id"]
    if request.method == "POST":
        row = await wire.call(request, svc.add, image_id, await _field(request, "member"))
        return wire.json(render.member(row))
    rows = await wire.call(request, svc.list_members, image_id)
    return wire.json({"members": [render.member(r) for r in rows],
                      "schema": "/v2/schemas/members"})


async def member(request: Request) -> Response:
    image_id, member_id = request.path_params["id"], request.path_params["member"]
    if request.method == "PUT":
        status = await _field(request, "status")
        row = await wire.call(request, svc.set_status, image_id, member_id, status)
    elif request.method == "DELETE":
        await wire.call(request, svc.remove, image_id, member_id)
        return wire.empty()
    else:
        row = await wire.call(request, svc.get, image_id, member_id)
    return wire.json(render.member(row))


ROUTES = [
    Route("/v2/images/{id}/members", collection, methods=["GET", "HEAD", "POST"]),
    Route("/v2/images/{id}/members/{member}", member, methods=["GET", "HEAD", "PUT", "DELETE"]),
]
