"""``POST /volumes/{id}/action``: one action per body (``{"os-extend": {...}}``), each parsed
here and carried out by ``services/volume/actions.py``; status codes as Cinder answers them
(202 with no body for most, 200 for os-set_bootable and the image metadata ones).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sausage import errors
from sausage.api import wire
from sausage.api.volume import common, volumes
from sausage.services.context import Context
from sausage.services.image import images
from sausage.services.volume import actions as svc
from sausage.services.volume import volumes as volume_svc

__all__ = ["ROUTES"]

Handler = Callable[[Request, str, Any], Awaitable[Response]]


def _object(body: Any, action: str) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise errors.BadRequest(f"Invalid input for field/attribute {action}. Value: {body}. "
                                f"{body!r} is not of type 'object'")
    return body


async def extend(request: Request, volume_id: str, body: Any) -> Response:
    args = _object(body, "os-extend")
    if args.get("new_size") is None:
        raise errors.BadRequest("Invalid input for field/attribute new_size. Value: None. "
                                "None is not of type 'integer', 'string'")
    new_size = volumes.parse_size(args["new_size"], "new_size")
    await wire.call(request, svc.extend, volume_id, new_size,
                    live=common.at_least(request, 3, 42))
    return wire.empty(202)


async def set_bootable(request: Request, volume_id: str, body: Any) -> Response:
    args = _object(body, "os-set_bootable")
    if "bootable" not in args:
        raise errors.BadRequest("Must specify bootable in request.")
    bootable = volume_svc.parse_bool(args["bootable"], "bootable")
    await wire.call(request, svc.set_bootable, volume_id, bootable)
    return wire.empty(200)


async def readonly(request: Request, volume_id: str, body: Any) -> Response:
    args = _object(body, "os-update_readonly_flag")
    if "readonly" not in args:
        raise errors.BadRequest("Must specify readonly in request.")
    flag = volume_svc.parse_bool(args["readonly"], "readonly")
    await wire.call(request, svc.set_readonly, volume_id, flag)
    return wire.empty(202)


def _type_body(vtype: Any) -> dict[str, Any] | None:
    if vtype is None:
        return None
    return {"id": vtype.id, "name": vtype.name, "description": vtype.description,
            "is_public": vtype.is_public, "extra_specs": {}, "qos_specs_id": None,
            "deleted": False, "created_at": common.iso(vtype.created_at),
            "updated_at": common.iso(vtype.updated_at), "deleted_at": None}


async def upload_image(request: Request, volume_id: str, body: Any) -> Response:
    args = _object(body, "os-volume_upload_image")
    name = args.get("image_name")
    if not isinstance(name, str) or not name:
        raise errors.BadRequest("No image_name was specified in request.")
    values: dict[str, Any] = {
        "image_name": name,
        "disk_format": args.get("disk_format") or "raw",
        "container_format": args.get("container_format") or "bare",
        "force": volume_svc.parse_bool(args.get("force", False), "force"),
    }
    if common.at_least(request, 3, 1):
        values["visibility"] = args.get("visibility") or "private"
        if "protected" in args:
            values["protected"] = volume_svc.parse_bool(args["protected"], "protected")
    for key in ("disk_format", "container_format", "visibility"):
        if key in values and not isinstance(values[key], str):
            raise errors.BadRequest(f"Invalid input for field/attribute {key}. "
                                    f"Value: {values[key]}. It is not of type 'string'")
    settings = request.app.state.cloud.settings
    quota = images.Quota(settings.image_quota_count, settings.image_quota_bytes)
    view, image, vtype = await wire.call(request, svc.upload_image, volume_id, values, quota)
    v = view.volume
    out: dict[str, Any] = {
        "id": v.id, "updated_at": common.iso(v.updated_at), "status": v.status,
        "display_description": v.description, "size": v.size, "volume_type": _type_body(vtype),
        "image_id": image.image.id, "container_format": image.image.container_format,
        "disk_format": image.image.disk_format, "image_name": image.image.name}
    if common.at_least(request, 3, 1):
        out["visibility"] = image.image.visibility
        out["protected"] = image.image.protected
    return wire.json({"os-volume_upload_image": out}, 202)


async def reset_status(request: Request, volume_id: str, body: Any) -> Response:
    await wire.call(request, svc.reset_status, volume_id, _object(body, "os-reset_status"))
    return wire.empty(202)


async def force_detach(request: Request, volume_id: str, body: Any) -> Response:
    args = _object(body, "os-force_detach")
    attachment_id = args.get("attachment_id")
    if attachment_id is not None and not isinstance(attachment_id, str):
        raise errors.BadRequest("Invalid input for field/attribute attachment_id.")
    await wire.call(request, svc.force_detach, volume_id, attachment_id)
    return wire.empty(202)


async def force_delete(request: Request, volume_id: str, body: Any) -> Response:
    await wire.call(request, volume_svc.delete, volume_id, force=True)
    return wire.empty(202)


def _flip(fn: Callable[[Session, Context, str], None]) -> Handler:
    async def handler(request: Request, volume_id: str, body: Any) -> Response:
        await wire.call(request, fn, volume_id)
        return wire.empty(202)
    return handler


async def show_image_metadata(request: Request, volume_id: str, body: Any) -> Response:
    return wire.json({"metadata": await wire.call(request, svc.image_metadata, volume_id)})


async def set_image_metadata(request: Request, volume_id: str, body: Any) -> Response:
    args = _object(body, "os-set_image_metadata")
    if not isinstance(args.get("metadata"), dict):
        raise errors.BadRequest("Malformed request body: 'metadata' must be an object.")
    merged = await wire.call(request, svc.set_image_metadata, volume_id, args["metadata"])
    return wire.json({"metadata": merged})


async def unset_image_metadata(request: Request, volume_id: str, body: Any) -> Response:
    args = _object(body, "os-unset_image_metadata")
    key = args.get("key")
    if not isinstance(key, str) or not key:
        raise errors.BadRequest("Malformed request body: 'key' must be a string.")
    await wire.call(request, svc.unset_image_metadata, volume_id, key)
    return wire.empty(200)


ACTIONS: dict[str, Handler] = {
    "os-extend": extend,
    "os-set_bootable": set_bootable,
    "os-update_readonly_flag": readonly,
    "os-volume_upload_image": upload_image,
    "os-reset_status": reset_status,
    "os-force_detach": force_detach,
    "os-force_delete": force_delete,
    "os-reserve": _flip(svc.reserve),
    "os-unreserve": _flip(svc.unreserve),
    "os-begin_detaching": _flip(svc.begin_detaching),
    "os-roll_detaching": _flip(svc.roll_detaching),
    "os-show_image_metadata": show_image_metadata,
    "os-set_image_metadata": set_image_metadata,
    "os-unset_image_metadata": unset_image_metadata,
}


async def action(request: Request) -> Response:
    body = await common.json_body(request)
    if len(body) != 1:
        raise errors.BadRequest("Malformed request body: exactly one action is expected.")
    name, args = next(iter(body.items()))
    handler = ACTIONS.get(name)
    if handler is None:
        raise errors.BadRequest(f"There is no such action: {name}")
    return await handler(request, request.path_params["id"], args)


ROUTES: list[BaseRoute] = [Route("/volumes/{id}/action", action, methods=["POST"])]
