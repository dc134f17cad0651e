"""``/v2.0/subnets``: Neutron subnets (IPv4/IPv6, pools, DHCP, subnet-pool allocation)."""

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
from sausage.services.network import subnets as svc

__all__ = ["ROUTES", "SPEC", "render"]

SPEC: dict[str, Attr] = {
    "name": Attr(common.string()),
    "description": Attr(common.string()),
    "network_id": Attr(common.uuid, put=False, required=True),
    "ip_version": Attr(common.integer(), put=False),
    "cidr": Attr(common.nullable(common.string(64)), put=False),
    "prefixlen": Attr(common.integer(0, 128), put=False),
    "subnetpool_id": Attr(common.nullable(common.uuid), put=False),
    "use_default_subnetpool": Attr(common.boolean, put=False),
    "gateway_ip": Attr(common.nullable(common.ip_address)),
    "allocation_pools": Attr(common.nullable(common.list_of(common.anything))),
    "dns_nameservers": Attr(common.nullable(common.list_of(common.anything))),
    "host_routes": Attr(common.nullable(common.list_of(common.anything))),
    "enable_dhcp": Attr(common.boolean),
    "ipv6_ra_mode": Attr(common.nullable(common.string(32))),
    "ipv6_address_mode": Attr(common.nullable(common.string(32))),
    "tags": Attr(common.list_of(common.string()), put=False),
    "project_id": Attr(common.string(64), put=False),
    "tenant_id": Attr(common.string(64), put=False),
}


def render(row: Any, tags: list[str]) -> dict[str, Any]:
    return {
        "id": row.id, "name": row.name, "network_id": row.network_id,
        "ip_version": row.ip_version, "cidr": row.cidr, "gateway_ip": row.gateway_ip,
        "enable_dhcp": row.enable_dhcp, "ipv6_ra_mode": row.ipv6_ra_mode,
        "ipv6_address_mode": row.ipv6_address_mode,
        "allocation_pools": [dict(p) for p in row.allocation_pools],
        "dns_nameservers": list(row.dns_nameservers),
        "host_routes": [dict(r) for r in row.host_routes],
        "subnetpool_id": row.subnetpool_id, "service_types": [], "segment_id": None,
        **common.standard(row, tags)}


def _create(s: Session, ctx: Context, items: list[dict[str, Any]]) -> svc.View:
    return svc.view_of(s, [svc.create(s, ctx, v, common.project_of(v)) for v in items])


def _update(s: Session, ctx: Context, subnet_id: str, values: dict[str, Any]) -> svc.View:
    return svc.view_of(s, [svc.update(s, ctx, subnet_id, values)])


async def collection(request: Request) -> Response:
    if request.method == "POST":
        items, bulk = await common.many(request, "subnet", "subnets", SPEC)
        view = await wire.call(request, _create, items)
        bodies = [render(r, view.found.tags.get(r.id, [])) for r in view.found.rows]
        return wire.json({"subnets": bodies} if bulk else {"subnet": bodies[0]}, 201)
    q = common.list_query(request)
    view = await wire.call(request, svc.list_subnets, q)
    return common.listing(request, "subnets", view.found, render, q)


async def member(request: Request) -> Response:
    subnet_id = request.path_params["subnet_id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete, subnet_id)
        return wire.empty()
    if request.method == "PUT":
        values = await common.one(request, "subnet", SPEC, create=False)
        view = await wire.call(request, _update, subnet_id, values)
    else:
        view = await wire.call(request, svc.show, subnet_id)
    row = view.found.rows[0]
    return common.shown(request, "subnet", render(row, view.found.tags[row.id]))


ROUTES = [
    Route("/subnets", collection, methods=["GET", "POST"]),
    Route("/subnets/{subnet_id}", member, methods=["GET", "PUT", "DELETE"]),
]
