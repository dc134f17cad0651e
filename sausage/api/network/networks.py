"""``/v2.0/networks``: Neutron networks (create, bulk create, list, show, update, delete)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.network import common
from sausage.api.network.common import Attr
from sausage.services.context import Context
from sausage.services.network import networks as svc

__all__ = ["ROUTES", "SPEC", "render"]

SPEC: dict[str, Attr] = {
    "name": Attr(common.string()),
    "description": Attr(common.string()),
    "admin_state_up": Attr(common.boolean),
    "shared": Attr(common.boolean),
    "router:external": Attr(common.boolean),
    "provider:network_type": Attr(common.string(16)),
    "provider:physical_network": Attr(common.nullable(common.string(64))),
    "provider:segmentation_id": Attr(common.nullable(common.integer(0))),
    "mtu": Attr(common.integer(0)),
    "port_security_enabled": Attr(common.boolean),
    "is_default": Attr(common.boolean),
    "availability_zone_hints": Attr(common.list_of(common.string()), put=False),
    "dns_domain": Attr(common.string()),
    "tags": Attr(common.list_of(common.string()), put=False),
    "project_id": Attr(common.string(64), put=False),
    "tenant_id": Attr(common.string(64), put=False),
}


def render(view: svc.View) -> Any:
    def one(row: Any, tags: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": row.id, "name": row.name, "status": row.status,
            "admin_state_up": row.admin_state_up, "shared": row.shared,
            "router:external": row.external, "mtu": row.mtu,
            "port_security_enabled": row.port_security_enabled, "is_default": row.is_default,
            "subnets": view.subnets.get(row.id, []), "availability_zone_hints": [],
            "availability_zones": ["nova"], "ipv4_address_scope": None,
            "ipv6_address_scope": None, "l2_adjacency": True, "dns_domain": row.dns_domain,
            **common.standard(row, tags)}
        if view.admin:
            body.update({"provider:network_type": row.network_type,
                         "provider:physical_network": row.physical_network or None,
                         "provider:segmentation_id": row.segmentation_id})
        return body
    return one


def _create(s: Session, ctx: Context, items: list[dict[str, Any]]) -> svc.View:
    rows = [svc.create(s, ctx, v, common.project_of(v)) for v in items]
    return svc.view_of(s, ctx, rows)


def _update(s: Session, ctx: Context, network_id: str, values: dict[str, Any]) -> svc.View:
    return svc.view_of(s, ctx, [svc.update(s, ctx, network_id, values)])


async def collection(request: Request) -> Response:
    if request.method == "POST":
        items, bulk = await common.many(request, "network", "networks", SPEC)
        view = await wire.call(request, _create, items)
        bodies = [render(view)(r, view.found.tags.get(r.id, [])) for r in view.found.rows]
        return wire.json({"networks": bodies} if bulk else {"network": bodies[0]}, 201)
    q = common.list_query(request)
    view = await wire.call(request, svc.list_networks, q)
    return common.listing(request, "networks", view.found, render(view), q)


async def member(request: Request) -> Response:
    network_id = request.path_params["network_id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete, network_id)
        return wire.empty()
    if request.method == "PUT":
        values = await common.one(request, "network", SPEC, create=False)
        view = await wire.call(request, _update, network_id, values)
    else:
        view = await wire.call(request, svc.show, network_id)
    row = view.found.rows[0]
    return common.shown(request, "network", render(view)(row, view.found.tags[row.id]))


ROUTES = [
    Route("/networks", collection, methods=["GET", "POST"]),
    Route("/networks/{network_id}", member, methods=["GET", "PUT", "DELETE"]),
]
