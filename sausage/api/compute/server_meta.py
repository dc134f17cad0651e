"""Server metadata (``/servers/{id}/metadata``), tags (2.26) and instance actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.compute import common, validation
from sausage.services.compute import metadata as svc

__all__ = ["ROUTES"]


async def metadata(request: Request) -> Response:
    server_id = request.path_params["id"]
    if request.method in ("POST", "PUT"):
        body = await common.json_body(request)
        validation.validate({"type": "object", "properties": {"metadata": validation.METADATA},
                             "required": ["metadata"], "additionalProperties": False}, body)
        replace = request.method == "PUT"
        result = await wire.call(request, svc.set_metadata, server_id, body["metadata"], replace)
        return wire.json({"metadata": result})
    return wire.json({"metadata": await wire.call(request, svc.get_metadata, server_id)})


async def metadata_item(request: Request) -> Response:
    server_id, key = request.path_params["id"], request.path_params["key"]
    if request.method == "PUT":
        body = await common.json_body(request)
        validation.validate({"type": "object", "properties": {"meta": {
            **validation.METADATA, "minProperties": 1, "maxProperties": 1}},
            "required": ["meta"], "additionalProperties": False}, body)
        if key not in body["meta"]:
            raise errors.BadRequest("Request body and URI mismatch")
        await wire.call(request, svc.set_metadata, server_id, body["meta"], False)
        return wire.json({"meta": body["meta"]})
    if request.method == "DELETE":
        await wire.call(request, svc.delete_metadata, server_id, key)
        return wire.empty(204)
    items = await wire.call(request, svc.get_metadata, server_id)
    if key not in items:
        raise errors.NotFound("Metadata item was not found")
    return wire.json({"meta": {key: items[key]}})


TAG = {"type": "string", "minLength": 1, "maxLength": 60, "pattern": "^[^,/]*$"}


async def tags(request: Request) -> Response:
    common.require_version(request, 2, 26)
    server_id = request.path_params["id"]
    if request.method == "PUT":
        body = await common.json_body(request)
        validation.validate({"type": "object", "properties": {"tags": {
            "type": "array", "items": TAG, "maxItems": 50}}, "required": ["tags"],
            "additionalProperties": False}, body)
        return wire.json({"tags": await wire.call(request, svc.set_tags, server_id,
                                                  body["tags"])})
    if request.method == "DELETE":
        await wire.call(request, svc.set_tags, server_id, [])
        return wire.empty(204)
    return wire.json({"tags": await wire.call(request, svc.get_tags, server_id)})


async def tag(request: Request) -> Response:
    common.require_version(request, 2, 26)
    server_id, name = request.path_params["id"], request.path_params["tag"]
    if request.method == "PUT":
        validation.validate(TAG, name)
        created = await wire.call(request, svc.add_tag, server_id, name)
        location = f"{common.base(request)}/servers/{server_id}/tags/{name}"
        return wire.empty(201 if created else 204, {"Location": location})
    if request.method == "DELETE":
        await wire.call(request, svc.remove_tag, server_id, name)
        return wire.empty(204)
    if name not in await wire.call(request, svc.get_tags, server_id):
        raise errors.NotFound(f"Tag {name} could not be found for server {server_id}")
    return wire.empty(204)


def _action(row: Any, events: list[Any] | None, admin: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "action": row.action, "instance_uuid": row.server_id, "request_id": row.request_id,
        "user_id": row.user_id, "project_id": row.project_id,
        "start_time": row.start_time.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "message": row.message}
    if events is not None:
        body["events"] = []
        for e in events:
            event = {"event": e.event, "start_time": e.start_time.strftime(
                "%Y-%m-%dT%H:%M:%S.%f"), "finish_time": e.finish_time.strftime(
                "%Y-%m-%dT%H:%M:%S.%f") if e.finish_time else None, "result": e.result}
            if admin:
                event["traceback"] = e.traceback
            body["events"].append(event)
    return body


async def instance_actions(request: Request) -> Response:
    server_id = request.path_params["id"]
    rows = await wire.call(request, svc.list_actions, server_id)
    return wire.json({"instanceActions": [_action(r, None, False) for r in rows]})


async def instance_action(request: Request) -> Response:
    server_id, request_id = request.path_params["id"], request.path_params["request_id"]

    def work(s: Session, ctx: Any) -> tuple[Any, list[Any], bool]:
        row, events = svc.get_action(s, ctx, server_id, request_id)
        return row, events, ctx.is_admin

    row, events, admin = await wire.call(request, work)
    return wire.json({"instanceAction": _action(row, events, admin)})


ROUTES = [
    Route("/servers/{id}/metadata", metadata, methods=["GET", "HEAD", "POST", "PUT"]),
    Route("/servers/{id}/metadata/{key}", metadata_item, methods=["GET", "HEAD", "PUT",
                                                                  "DELETE"]),
    Route("/servers/{id}/tags", tags, methods=["GET", "HEAD", "PUT", "DELETE"]),
    Route("/servers/{id}/tags/{tag}", tag, methods=["GET", "HEAD", "PUT", "DELETE"]),
    Route("/servers/{id}/os-instance-actions", instance_actions, methods=["GET", "HEAD"]),
    Route("/servers/{id}/os-instance-actions/{request_id}", instance_action,
          methods=["GET", "HEAD"]),
]
