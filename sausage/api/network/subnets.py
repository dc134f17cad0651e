"""``/v2.0/subnets``: Neutron subnets (IPv4/IPv6, pools, DHCP, subnet-pool allocation)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

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
    "allocation_pools": Attr(common.nullable(common.list_of(common.ip_pool))),
    "dns_nameservers": Attr(common.nullable(common.list_of(common.ip_as_given))),
    "host_routes": Attr(common.nullable(common.list_of(common.host_route))),
    "enable_dhcp": Attr(common.boolean),
    "ipv6_ra_mode": Attr(common.nullable(common.string(32))),
    "ipv6_address_mode": Attr(common.nullable(common.string(32))),
    **common.TAGS,
    **common.OWNED,
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


ROUTES = common.routes(common.Resource(
    "subnet", "subnets", "subnet_id", SPEC, lambda _view: render, index=svc.list_subnets,
    show=svc.show, update=_update, delete=svc.delete, create_many=_create))
