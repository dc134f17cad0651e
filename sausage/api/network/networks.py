"""``/v2.0/networks``: Neutron networks (create, bulk create, list, show, update, delete)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

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
    **common.TAGS,
    **common.OWNED,
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


ROUTES = common.routes(common.Resource(
    "network", "networks", "network_id", SPEC, render, index=svc.list_networks, show=svc.show,
    update=_update, delete=svc.delete, create_many=_create))
