"""``/v2.0/routers``: Neutron routers (gateway, extra routes) and
``PUT /v2.0/routers/{id}/add_router_interface`` / ``remove_router_interface``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.network import common
from sausage.api.network.common import Attr
from sausage.services.network import routers as svc

__all__ = ["ROUTES", "SPEC", "render"]

SPEC: dict[str, Attr] = {
    "name": Attr(common.string()),
    "description": Attr(common.string()),
    "admin_state_up": Attr(common.boolean),
    "external_gateway_info": Attr(common.anything),
    "routes": Attr(common.anything, post=False),
    "distributed": Attr(common.nullable(common.boolean)),
    "ha": Attr(common.nullable(common.boolean)),
    "availability_zone_hints": Attr(common.list_of(common.string()), put=False),
    "flavor_id": Attr(common.nullable(common.string(36)), put=False),
    **common.TAGS,
    **common.OWNED,
}


def render(view: svc.View) -> Any:
    def one(row: Any, tags: list[str]) -> dict[str, Any]:
        gateway = view.gateways.get(row.id)
        info = None if gateway is None else {
            "network_id": gateway.network_id, "enable_snat": gateway.enable_snat,
            "external_fixed_ips": gateway.external_fixed_ips}
        return {"id": row.id, "name": row.name, "status": row.status,
                "admin_state_up": row.admin_state_up, "external_gateway_info": info,
                "routes": view.routes.get(row.id, []), "distributed": False, "ha": False,
                "flavor_id": None, "availability_zone_hints": [],
                "availability_zones": ["nova"], **common.standard(row, tags)}
    return one


async def add_interface(request: Request) -> Response:
    body = await common.json_body(request)
    reply = await wire.call(request, svc.add_interface, request.path_params["router_id"], body)
    return wire.json(reply)


async def remove_interface(request: Request) -> Response:
    body = await common.json_body(request)
    reply = await wire.call(request, svc.remove_interface, request.path_params["router_id"],
                            body)
    return wire.json(reply)


ROUTES = [
    *common.routes(common.Resource(
        "router", "routers", "router_id", SPEC, render, index=svc.list_routers, show=svc.show,
        update=svc.update, delete=svc.delete, create_one=svc.create)),
    Route("/routers/{router_id}/add_router_interface", add_interface, methods=["PUT"]),
    Route("/routers/{router_id}/remove_router_interface", remove_interface, methods=["PUT"]),
]
