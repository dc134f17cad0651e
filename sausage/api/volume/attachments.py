"""Cinder's attachments API (microversion 3.27 on; 404 below): create (reserve, or attach with
a connector), list (summary and detail), show, update (the connector), delete and the
``os-complete`` action (3.44). The rows are the same ones Nova's os-volume_attachments make."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sausage import errors
from sausage.api import wire
from sausage.api.volume import common
from sausage.services.context import Context
from sausage.services.volume import cinder_attachments as svc

__all__ = ["ROUTES"]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


def _summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "status": row.attach_status, "instance": row.instance_uuid,
            "volume_id": row.volume_id}


def _connection_info(row: Any) -> dict[str, Any]:
    if row.connector is None:
        return {}
    return {"driver_volume_type": "file", "data": {
        "volume_id": row.volume_id, "access_mode": row.attach_mode,
        "device_path": row.mountpoint}}


def _detail(row: Any) -> dict[str, Any]:
    return {**_summary(row), "attached_at": common.iso(row.attach_time) or "",
            "detached_at": common.iso(row.detach_time) or "",
            "attach_mode": row.attach_mode, "connection_info": _connection_info(row)}


def _uuid_field(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _UUID.match(value):
        raise errors.BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                                f"{value!r} is not a 'uuid'")
    return value


def _connector(value: Any) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise errors.BadRequest(f"Invalid input for field/attribute connector. Value: {value}. "
                                f"{value!r} is not of type 'object', 'null'")
    return value


async def collection(request: Request) -> Response:
    common.require_version(request, 3, 27)
    if request.method == "POST":
        body = await common.entity(request, "attachment")
        allowed = {"instance_uuid", "connector", "volume_uuid"}
        if common.at_least(request, 3, 54):
            allowed.add("mode")
        extra = set(body) - allowed
        if extra:
            raise errors.BadRequest(f"Additional properties are not allowed "
                                    f"({', '.join(repr(k) for k in sorted(extra))} were "
                                    f"unexpected)")
        if "volume_uuid" not in body:
            raise errors.BadRequest("'volume_uuid' is a required property")
        volume_id = _uuid_field(body["volume_uuid"], "volume_uuid")
        instance = body.get("instance_uuid")
        if instance is not None:
            instance = _uuid_field(instance, "instance_uuid")
        connector = _connector(body.get("connector"))
        mode = body.get("mode")
        if mode is not None and mode not in ("rw", "ro"):
            raise errors.BadRequest("Invalid input received: Invalid attachment mode: "
                                    f"{mode}, must be 'rw' or 'ro'.")

        def create(s: Session, ctx: Context) -> dict[str, Any]:
            return _detail(svc.create(s, ctx, volume_id, instance, connector, mode))

        return wire.json({"attachment": await wire.call(request, create)})
    detail = request.url.path.endswith("/detail")
    filters = wire.filters(request)

    def listing(s: Session, ctx: Context) -> list[dict[str, Any]]:
        return [_detail(r) if detail else _summary(r) for r in svc.listing(s, ctx, filters)]

    items = await wire.call(request, listing)
    limit = filters.get("limit")
    more = limit is not None and limit.isdigit() and len(items) == int(limit) > 0
    return wire.json(common.paged(request, "attachments", items, more,
                                  "attachments/detail" if detail else None))


async def member(request: Request) -> Response:
    common.require_version(request, 3, 27)
    attachment_id = request.path_params["attachment_id"]
    if request.method == "DELETE":
        def remove(s: Session, ctx: Context) -> list[dict[str, Any]]:
            return [_summary(r) for r in svc.remove(s, ctx, attachment_id)]

        return wire.json({"attachments": await wire.call(request, remove)})
    if request.method == "PUT":
        body = await common.entity(request, "attachment")
        extra = set(body) - {"connector"}
        if extra or not isinstance(body.get("connector"), dict):
            raise errors.BadRequest("Invalid input received: the attachment update needs "
                                    "exactly a 'connector' object.")
        connector = body["connector"]

        def change(s: Session, ctx: Context) -> dict[str, Any]:
            return _detail(svc.update(s, ctx, attachment_id, connector))

        return wire.json({"attachment": await wire.call(request, change)})

    def show(s: Session, ctx: Context) -> dict[str, Any]:
        return _detail(svc.get(s, ctx, attachment_id))

    return wire.json({"attachment": await wire.call(request, show)})


async def action(request: Request) -> Response:
    common.require_version(request, 3, 27)
    attachment_id = request.path_params["attachment_id"]
    body = await common.json_body(request)
    if "os-complete" in body and common.at_least(request, 3, 44):
        await wire.call(request, svc.complete, attachment_id)
        return wire.empty(204)
    raise errors.BadRequest("There is no such action: " + ", ".join(sorted(body)))


ROUTES: list[BaseRoute] = [
    Route("/attachments", collection, methods=["GET", "HEAD", "POST"]),
    Route("/attachments/detail", collection, methods=["GET", "HEAD"]),
    Route("/attachments/{attachment_id}", member, methods=["GET", "HEAD", "PUT", "DELETE"]),
    Route("/attachments/{attachment_id}/action", action, methods=["POST"]),
]
