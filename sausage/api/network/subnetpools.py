"""``/v2.0/subnetpools``: Neutron subnet pools (the ``subnet_allocation`` extension)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sausage.api.network import common
from sausage.api.network.common import Attr
from sausage.services.context import Context
from sausage.services.network import subnetpools as svc

__all__ = ["ROUTES", "SPEC", "render"]

SPEC: dict[str, Attr] = {
    "name": Attr(common.string()),
    "description": Attr(common.string()),
    "prefixes": Attr(common.list_of(common.cidr)),
    "default_prefixlen": Attr(common.integer(0, 128)),
    "min_prefixlen": Attr(common.integer(0, 128)),
    "max_prefixlen": Attr(common.integer(0, 128)),
    "default_quota": Attr(common.nullable(common.integer(0))),
    "shared": Attr(common.boolean),
    "is_default": Attr(common.boolean),
    "address_scope_id": Attr(common.nullable(common.uuid)),
    **common.TAGS,
    **common.OWNED,
}


def render(row: Any, tags: list[str]) -> dict[str, Any]:
    return {
        "id": row.id, "name": row.name, "ip_version": row.ip_version,
        "prefixes": list(row.prefixes), "default_prefixlen": row.default_prefixlen,
        "min_prefixlen": row.min_prefixlen, "max_prefixlen": row.max_prefixlen,
        "default_quota": row.default_quota, "shared": row.shared, "is_default": row.is_default,
        "address_scope_id": row.address_scope_id, **common.standard(row, tags)}


def _create(s: Session, ctx: Context, items: list[dict[str, Any]]) -> svc.View:
    return svc.view_of(s, [svc.create(s, ctx, v, common.project_of(v)) for v in items])


def _update(s: Session, ctx: Context, pool_id: str, values: dict[str, Any]) -> svc.View:
    return svc.view_of(s, [svc.update(s, ctx, pool_id, values)])


def _check(item: dict[str, Any]) -> None:
    if "prefixes" not in item:
        raise common.bad("prefixes must be specified")


ROUTES = common.routes(common.Resource(
    "subnetpool", "subnetpools", "pool_id", SPEC, lambda _view: render, index=svc.list_pools,
    show=svc.show, update=_update, delete=svc.delete, create_many=_create, check=_check))
