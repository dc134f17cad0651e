"""``/v2/images``: create, list, show, JSON-patch update, delete, tags, (de)activate."""

from __future__ import annotations

import urllib.parse
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.image import render
from sausage.services.image import images as svc

__all__ = ["ROUTES"]

PATCH_TYPES = ("application/openstack-images-v2.1-json-patch",
               "application/openstack-images-v2.0-json-patch")


async def _json(request: Request) -> Any:
    return await wire.json_value(request, "Malformed JSON in request body")


def _quota(request: Request) -> svc.Quota:
    settings = request.app.state.cloud.settings
    return svc.Quota(settings.image_quota_count, settings.image_quota_bytes)


async def collection(request: Request) -> Response:
    if request.method == "POST":
        values = await _json(request)
        if not isinstance(values, dict):
            raise errors.BadRequest("The request body must be a JSON object of image attributes.")
        view = await wire.call(request, svc.create, values, _quota(request))
        return wire.json(render.image(view), 201,
                         {"Location": f"{wire.base_url(request, 'image')}/v2/images/{view.image.id}"})
    filters = {k: v for k, v in request.query_params.items() if k != "tag"}
    tags = request.query_params.getlist("tag")
    views, next_marker = await wire.call(request, svc.list_images, filters, tags)
    body: dict[str, Any] = {"images": [render.image(v) for v in views],
                            "schema": "/v2/schemas/images", "first": "/v2/images"}
    if next_marker is not None:
        query_items = [*[(k, v) for k, v in request.query_params.multi_items() if k != "marker"],
                       ("marker", next_marker)]
        body["next"] = "/v2/images?" + urllib.parse.urlencode(query_items)
    return wire.json(body)


def _changes(body: Any) -> list[tuple[str, str, Any]]:
    if not isinstance(body, list):
        raise errors.BadRequest("A JSON-patch body is a list of operations.")
    out: list[tuple[str, str, Any]] = []
    for item in body:
        if not isinstance(item, dict):
            raise errors.BadRequest("Each operation is a JSON object.")
        if "op" not in item:
            # The v2.0 draft form names the operation by its key: {"replace": "/name", ...}.
            ops = [k for k in ("add", "replace", "remove") if k in item]
            if len(ops) != 1:
                raise errors.BadRequest("Each operation needs 'op' and 'path'.")
            item = {"op": ops[0], "path": item[ops[0]], **(
                {"value": item["value"]} if "value" in item else {})}
        if "path" not in item:
            raise errors.BadRequest("Each operation needs 'op' and 'path'.")
        op, path = item["op"], item["path"]
        if op not in ("add", "replace", "remove"):
            raise errors.BadRequest(f"Operation '{op}' is not supported; use add, replace or "
                                    "remove.")
        if not isinstance(path, str) or not path.startswith("/") or path.count("/") != 1:
            raise errors.BadRequest(f"Invalid JSON pointer for this resource: '{path}'")
        name = path[1:].replace("~1", "/").replace("~0", "~")
        if op != "remove" and "value" not in item:
            raise errors.BadRequest(f"Operation '{op}' needs a 'value'.")
        out.append((op, name, item.get("value")))
    return out


async def member(request: Request) -> Response:
    image_id = request.path_params["id"]
    if request.method == "PATCH":
        if wire.media_type(request) not in PATCH_TYPES:
            raise errors.UnsupportedMediaType(
                f"Unsupported Content-Type for PATCH: use {PATCH_TYPES[0]}",
                headers={"Accept-Patch": ", ".join(sorted(PATCH_TYPES))})
        changes = _changes(await _json(request))
        view = await wire.call(request, svc.update, image_id, changes)
        return wire.json(render.image(view))
    if request.method == "DELETE":
        await wire.call(request, svc.delete, image_id)
        await wire.in_thread(request.app.state.cloud.images.delete, image_id)
        return wire.empty()
    view = await wire.call(request, svc.get, image_id)
    return wire.json(render.image(view))


async def tag(request: Request) -> Response:
    image_id, name = request.path_params["id"], request.path_params["tag"]
    action = svc.add_tag if request.method == "PUT" else svc.remove_tag
    await wire.call(request, action, image_id, name)
    return wire.empty()


async def deactivate(request: Request) -> Response:
    await wire.call(request, svc.set_active_state, request.path_params["id"], False)
    return wire.empty()


async def reactivate(request: Request) -> Response:
    await wire.call(request, svc.set_active_state, request.path_params["id"], True)
    return wire.empty()


async def no_id(request: Request) -> Response:
    raise errors.NotFound("An image id is required in the URL.")


ROUTES = [
    Route("/v2/images", collection, methods=["GET", "HEAD", "POST"]),
    Route("/v2/images/", no_id, methods=["GET", "HEAD", "PATCH", "DELETE"]),
    Route("/v2/images/{id}", member, methods=["GET", "HEAD", "PATCH", "DELETE"]),
    Route("/v2/images/{id}/tags/{tag}", tag, methods=["PUT", "DELETE"]),
    Route("/v2/images/{id}/actions/deactivate", deactivate, methods=["POST"]),
    Route("/v2/images/{id}/actions/reactivate", reactivate, methods=["POST"]),
]
