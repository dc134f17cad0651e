"""``/v2.0/ports``: Neutron ports (fixed IPs, MAC, security groups, allowed address pairs,
port security, host binding, DNS name and domain with their ``dns_assignment``); bulk create
is all or nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sausage.api.network import common
from sausage.api.network.common import Attr
from sausage.services.context import Context
from sausage.services.network import ports as svc

__all__ = ["ROUTES", "SPEC", "render"]

VNIC_TYPES = ("normal",)


def _vnic(name: str, value: Any) -> str:
    if value not in VNIC_TYPES:
        raise common.bad(f"'{value}' is not in {list(VNIC_TYPES)}")
    return str(value)


def _empty_dict(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise common.bad(f"'{value}' is not a dictionary")
    if value:
        raise common.bad(f"{name} values are not supported by this cloud")
    return value


def _empty_list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise common.bad(f"'{value}' is not a list")
    if value:
        raise common.bad(f"{name} are not supported by this cloud")
    return value


SPEC: dict[str, Attr] = {
    "network_id": Attr(common.uuid, put=False, required=True),
    "name": Attr(common.string()),
    "description": Attr(common.string()),
    "admin_state_up": Attr(common.boolean),
    "mac_address": Attr(common.string(32)),
    "fixed_ips": Attr(common.nullable(common.list_of(common.anything))),
    "device_id": Attr(common.string()),
    "device_owner": Attr(common.string()),
    "security_groups": Attr(common.nullable(common.list_of(common.uuid))),
    "port_security_enabled": Attr(common.boolean),
    "allowed_address_pairs": Attr(common.nullable(common.list_of(common.anything))),
    "binding:host_id": Attr(common.nullable(common.string())),
    "binding:vnic_type": Attr(_vnic),
    "binding:profile": Attr(_empty_dict),
    "dns_name": Attr(common.string()),
    "dns_domain": Attr(common.string()),
    "extra_dhcp_opts": Attr(_empty_list),
    **common.TAGS,
    **common.OWNED,
}


def render(view: svc.View) -> Any:
    def one(row: Any, tags: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": row.id, "name": row.name, "network_id": row.network_id,
            "mac_address": row.mac_address, "admin_state_up": row.admin_state_up,
            "status": row.status, "device_id": row.device_id,
            "device_owner": row.device_owner,
            "fixed_ips": [{"subnet_id": sub, "ip_address": ip}
                          for sub, ip in view.fixed_ips.get(row.id, [])],
            "allowed_address_pairs": [dict(p) for p in row.allowed_address_pairs],
            "extra_dhcp_opts": [], "security_groups": view.security_groups.get(row.id, []),
            "port_security_enabled": row.port_security_enabled,
            "binding:vnic_type": row.binding_vnic_type, "dns_name": row.dns_name,
            "dns_domain": row.dns_domain,
            "dns_assignment": [dict(a) for a in view.dns_assignment.get(row.id, [])],
            **common.standard(row, tags)}
        if view.admin:
            bound = bool(row.binding_host_id)
            body.update({"binding:host_id": row.binding_host_id,
                         "binding:vif_type": "bridge" if bound else "unbound",
                         "binding:vif_details": {"port_filter": True} if bound else {},
                         "binding:profile": {}})
        return body
    return one


def _create(s: Session, ctx: Context, items: list[dict[str, Any]]) -> svc.View:
    return svc.create_many(s, ctx, items, [common.project_of(v) for v in items])


def _update(s: Session, ctx: Context, port_id: str, values: dict[str, Any]) -> svc.View:
    return svc.view_of(s, ctx, [svc.update(s, ctx, port_id, values)])


ROUTES = common.routes(common.Resource(
    "port", "ports", "port_id", SPEC, render, index=svc.list_ports, show=svc.show,
    update=_update, delete=svc.delete, create_many=_create))
