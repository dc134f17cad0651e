"""``/servers/{id}/os-volume_attachments``: a server's volumes (list, show), attach (hot-plug)
and detach, as Nova renders them for 2.1–2.37 (``tag`` needs 2.49: refused here). Swapping a
volume (PUT) is not supported."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.compute import common, validation
from sausage.services.compute import servers, volume_attachments
from sausage.services.context import Context
from sausage.services.volume import attachments

__all__ = ["ROUTES"]

ATTACH = {"type": "object", "properties": {"volumeAttachment": {
    "type": "object",
    "properties": {
        "volumeId": {"type": "string", "format": "uuid"},
        "device": {"type": ["string", "null"],
                   "pattern": "(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]{1,2})$"},
    },
    "required": ["volumeId"],
    "additionalProperties": False}},
    "required": ["volumeAttachment"],
    "additionalProperties": False}


def _view(row: Any) -> dict[str, Any]:
    return {"id": row.volume_id, "serverId": row.instance_uuid, "volumeId": row.volume_id,
            "device": row.mountpoint}


async def collection(request: Request) -> Response:
    server_id = request.path_params["id"]
    if request.method == "POST":
        body = await common.json_body(request)
        validation.validate(ATTACH, body)
        wanted = body["volumeAttachment"]

        def attach(s: Session, ctx: Context) -> dict[str, Any]:
            return _view(volume_attachments.attach(s, ctx, server_id, wanted["volumeId"],
                                                   wanted.get("device")))

        return wire.json({"volumeAttachment": await wire.call(request, attach)})

    def listing(s: Session, ctx: Context) -> list[dict[str, Any]]:
        return [_view(r) for r in volume_attachments.listing(s, ctx, server_id)]

    items = await wire.call(request, listing)
    limit, offset = request.query_params.get("limit"), request.query_params.get("offset")
    try:
        start = int(offset) if offset else 0
        stop = start + int(limit) if limit else None
    except ValueError as e:
        raise errors.BadRequest("limit and offset must be integers") from e
    return wire.json({"volumeAttachments": items[start:stop]})


async def member(request: Request) -> Response:
    server_id, volume_id = request.path_params["id"], request.path_params["volume_id"]
    if request.method == "DELETE":
        def detach(s: Session, ctx: Context) -> None:
            volume_attachments.detach(s, ctx, server_id, volume_id)

        await wire.call(request, detach)
        return wire.empty(202)
    if request.method == "PUT":
        await common.json_body(request)
        await wire.call(request, volume_attachments.swap, server_id)

    def show(s: Session, ctx: Context) -> dict[str, Any]:
        server = servers.get(s, ctx, server_id)
        for row in attachments.of_servers(s, [server.id])[server.id]:
            if row.volume_id == volume_id:
                return _view(row)
        raise errors.NotFound(f"volume_id not found: {volume_id}")

    return wire.json({"volumeAttachment": await wire.call(request, show)})


ROUTES = [
    Route("/servers/{id}/os-volume_attachments", collection, methods=["GET", "HEAD", "POST"]),
    Route("/servers/{id}/os-volume_attachments/{volume_id}", member,
          methods=["GET", "HEAD", "PUT", "DELETE"]),
]
