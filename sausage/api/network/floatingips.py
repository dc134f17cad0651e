"""``/v2.0/floatingips``: Neutron floating IPs (allocate, associate via ``port_id``,
disassociate with ``port_id: null``, release)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.network import common
from sausage.api.network.common import Attr
from sausage.services.network import floatingips as svc

__all__ = ["ROUTES", "SPEC", "render"]

SPEC: dict[str, Attr] = {
    "floating_network_id": Attr(common.uuid, put=False, required=True),
    "floating_ip_address": Attr(common.nullable(common.ip_address), put=False),
    "subnet_id": Attr(common.nullable(common.uuid), put=False),
    "port_id": Attr(common.nullable(common.uuid)),
    "fixed_ip_address": Attr(common.nullable(common.ip_address)),
    "description": Attr(common.string()),
    "dns_name": Attr(common.string(), put=False),
    "dns_domain": Attr(common.string(), put=False),
    "tags": Attr(common.list_of(common.string()), put=False),
    "project_id": Attr(common.string(64), put=False),
    "tenant_id": Attr(common.string(64), put=False),
}


def render(view: svc.View) -> Any:
    def one(row: Any, tags: list[str]) -> dict[str, Any]:
        port = view.ports.get(row.fixed_port_id) if row.fixed_port_id else None
        details = None if port is None else {
            "name": port.name, "network_id": port.network_id,
            "mac_address": port.mac_address, "admin_state_up": port.admin_state_up,
            "status": port.status, "device_id": port.device_id,
            "device_owner": port.device_owner}
        on = port is not None
        return {"id": row.id, "floating_ip_address": row.floating_ip_address,
                "floating_network_id": row.floating_network_id,
                "router_id": row.router_id if on else None,
                "port_id": row.fixed_port_id if on else None,
                "fixed_ip_address": row.fixed_ip_address if on else None,
                "status": row.status if on else "DOWN",
                "dns_name": row.dns_name, "dns_domain": row.dns_domain,
                "port_details": details, "port_forwardings": [],
                "qos_policy_id": None, **common.standard(row, tags)}
    return one


def _one(request: Request, view: svc.View, status: int = 200) -> Response:
    row = view.found.rows[0]
    body = render(view)(row, view.found.tags.get(row.id, []))
    if status == 201:
        return common.created("floatingip", body)
    return common.shown(request, "floatingip", body)


async def collection(request: Request) -> Response:
    if request.method == "POST":
        values = await common.one(request, "floatingip", SPEC)
        view = await wire.call(request, svc.create, values, common.project_of(values))
        return _one(request, view, 201)
    q = common.list_query(request)
    view = await wire.call(request, svc.list_floatingips, q)
    return common.listing(request, "floatingips", view.found, render(view), q)


async def member(request: Request) -> Response:
    fip_id = request.path_params["floatingip_id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete, fip_id)
        return wire.empty()
    if request.method == "PUT":
        values = await common.one(request, "floatingip", SPEC, create=False)
        view = await wire.call(request, svc.update, fip_id, values)
    else:
        view = await wire.call(request, svc.show, fip_id)
    return _one(request, view)


ROUTES = [
    Route("/floatingips", collection, methods=["GET", "POST"]),
    Route("/floatingips/{floatingip_id}", member, methods=["GET", "PUT", "DELETE"]),
]
