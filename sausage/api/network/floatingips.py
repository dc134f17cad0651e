"""``/v2.0/floatingips``: Neutron floating IPs (allocate, associate via ``port_id``,
disassociate with ``port_id: null``, release)."""

from __future__ import annotations

from typing import Any

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
    **common.TAGS,
    **common.OWNED,
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


ROUTES = common.routes(common.Resource(
    "floatingip", "floatingips", "floatingip_id", SPEC, render, index=svc.list_floatingips,
    show=svc.show, update=svc.update, delete=svc.delete, create_one=svc.create))
