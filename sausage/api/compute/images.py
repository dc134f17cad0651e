"""``/images``: Nova's image proxy (list, show, delete, metadata), gone from microversion 2.36.

The proxy renders Glance images in Nova's shape: upper-case status with a progress figure,
``minDisk``/``minRam``, the custom properties as ``metadata`` and, for snapshots, the server.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.compute import common, validation
from sausage.services.compute import images_proxy as svc
from sausage.services.image.images import ImageView

__all__ = ["ROUTES", "render"]

# Nova's mapping of Glance statuses; anything else (deactivated, importing …) is UNKNOWN.
STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "deleted": "DELETED",
          "pending_delete": "DELETED", "killed": "ERROR"}
PROGRESS = {"queued": 25, "saving": 50, "active": 100}
FILTERS = ("name", "status", "changes-since", "server", "type", "minRam", "minDisk")

METADATA = {"type": "object", "properties": {"metadata": validation.METADATA},
            "required": ["metadata"], "additionalProperties": False}
META_ITEM = {"type": "object",
             "properties": {"meta": {**validation.METADATA, "minProperties": 1,
                                     "maxProperties": 1}},
             "required": ["meta"], "additionalProperties": False}


def _links(request: Request, image_id: str) -> list[dict[str, str]]:
    return [*common.links(request, "images", image_id),
            {"rel": "alternate", "type": "application/vnd.openstack.image",
             "href": f"{wire.base_url(request, 'image')}/images/{image_id}"}]


def render(request: Request, view: ImageView, detail: bool = True) -> dict[str, Any]:
    row = view.image
    body: dict[str, Any] = {"id": row.id, "name": row.name, "links": _links(request, row.id)}
    if not detail:
        return body
    body.update({
        "status": STATUS.get(row.status, "UNKNOWN"),
        "progress": PROGRESS.get(row.status, 0),
        "created": common.iso(row.created_at),
        "updated": common.iso(row.updated_at or row.created_at),
        "minDisk": int(row.min_disk or 0),
        "minRam": int(row.min_ram or 0),
        "metadata": dict(view.properties),
        "OS-EXT-IMG-SIZE:size": row.size,
    })
    server_id = view.properties.get("instance_uuid")
    if server_id:
        body["server"] = {"id": server_id, "links": common.links(request, "servers", server_id)}
    return body


async def _proxy_only(request: Request) -> None:
    """Authenticate, then 404 from 2.36 on, as Nova does once the proxy is deprecated."""
    if common.at_least(request, 2, 36):
        await wire.call(request, lambda s, ctx: None)
        raise errors.NotFound("The resource could not be found.")


def _limit(request: Request) -> int | None:
    raw = request.query_params.get("limit")
    if raw is None:
        return None
    try:
        limit = int(raw)
    except ValueError as e:
        raise errors.BadRequest("limit param must be an integer") from e
    if limit < 0:
        raise errors.BadRequest("limit param must be positive")
    return limit


async def collection(request: Request) -> Response:
    await _proxy_only(request)
    detail = request.url.path.endswith("/detail")
    query = {k: v for k, v in request.query_params.items() if k in FILTERS}
    limit = _limit(request)
    views = await wire.call(request, svc.list_images, query, limit,
                            request.query_params.get("marker"))
    body: dict[str, Any] = {"images": [render(request, v, detail) for v in views]}
    if limit is not None and views and len(views) == limit:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        params.append(("marker", views[-1].image.id))
        path = "images/detail" if detail else "images"
        body["images_links"] = [{"rel": "next", "href": f"{common.base(request)}/{path}?"
                                                        f"{urllib.parse.urlencode(params)}"}]
    return wire.json(body)


async def member(request: Request) -> Response:
    await _proxy_only(request)
    image_id = request.path_params["id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete, image_id)
        await wire.in_thread(request.app.state.cloud.images.delete, image_id)
        return wire.empty(204)
    view = await wire.call(request, svc.get, image_id)
    return wire.json({"image": render(request, view)})


async def metadata(request: Request) -> Response:
    await _proxy_only(request)
    image_id = request.path_params["id"]
    if request.method in ("POST", "PUT"):
        body = await common.json_body(request)
        validation.validate(METADATA, body)
        result = await wire.call(request, svc.set_metadata, image_id, body["metadata"],
                                 request.method == "PUT")
        if request.method == "PUT":
            result = dict(body["metadata"])
        return wire.json({"metadata": result})
    return wire.json({"metadata": await wire.call(request, svc.metadata, image_id)})


async def metadata_item(request: Request) -> Response:
    await _proxy_only(request)
    image_id, key = request.path_params["id"], request.path_params["key"]
    if request.method == "PUT":
        body = await common.json_body(request)
        validation.validate(META_ITEM, body)
        if key not in body["meta"]:
            raise errors.BadRequest("Request body and URI mismatch")
        await wire.call(request, svc.set_item, image_id, key, body["meta"][key])
        return wire.json({"meta": {key: body["meta"][key]}})
    if request.method == "DELETE":
        await wire.call(request, svc.delete_item, image_id, key)
        return wire.empty(204)
    found = await wire.call(request, svc.metadata, image_id)
    if key not in found:
        raise errors.NotFound("The resource could not be found.")
    return wire.json({"meta": {key: found[key]}})


ROUTES = [
    Route("/images", collection, methods=["GET", "HEAD"]),
    Route("/images/detail", collection, methods=["GET", "HEAD"]),
    Route("/images/{id}", member, methods=["GET", "HEAD", "DELETE"]),
    Route("/images/{id}/metadata", metadata, methods=["GET", "HEAD", "POST", "PUT"]),
    Route("/images/{id}/metadata/{key}", metadata_item, methods=["GET", "HEAD", "PUT", "DELETE"]),
]
