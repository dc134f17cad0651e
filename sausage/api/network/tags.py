"""``/v2.0/{collection}/{id}/tags[/{tag}]``: tags of any Neutron resource with standard
attributes (networks, subnets, ports, subnet pools, routers, floating IPs, security groups)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.network import common
from sausage.services.network import standard as svc

__all__ = ["ROUTES"]


async def all_tags(request: Request) -> Response:
    collection, rid = request.path_params["collection"], request.path_params["resource_id"]
    if request.method == "GET":
        tags = await wire.call(request, svc.get_tags, collection, rid)
        return wire.json({"tags": tags})
    if request.method == "DELETE":
        await wire.call(request, svc.remove_all, collection, rid)
        return wire.empty()
    body = await common.json_body(request)
    if set(body) != {"tags"} or not isinstance(body["tags"], list):
        raise errors.BadRequest("Invalid input for operation: the body must be "
                                "{\"tags\": [...]}.", kind="InvalidInput")
    tags = await wire.call(request, svc.replace_tags, collection, rid, body["tags"])
    return wire.json({"tags": tags})


async def one_tag(request: Request) -> Response:
    collection, rid = request.path_params["collection"], request.path_params["resource_id"]
    tag = request.path_params["tag"]
    if request.method == "GET":
        await wire.call(request, svc.has_tag, collection, rid, tag)
        return wire.empty()
    if request.method == "DELETE":
        await wire.call(request, svc.remove_tag, collection, rid, tag)
        return wire.empty()
    await wire.call(request, svc.add_tag, collection, rid, tag)
    return wire.empty(201)


ROUTES = [
    Route("/{collection}/{resource_id}/tags", all_tags, methods=["GET", "PUT", "DELETE"]),
    Route("/{collection}/{resource_id}/tags/{tag}", one_tag, methods=["GET", "PUT", "DELETE"]),
]
