"""``/v2.0/security-groups`` and ``/v2.0/security-group-rules``: Neutron security groups with
their embedded rules, and the rules themselves (bulk create is all or nothing; a rule's only
changeable attribute is its description, as in Neutron)."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.network import common
from sausage.api.network.common import Attr
from sausage.services.context import Context
from sausage.services.network import security_groups as svc

__all__ = ["ROUTES", "GROUP_SPEC", "RULE_SPEC", "render_group", "render_rule"]

GROUP_SPEC: dict[str, Attr] = {
    "name": Attr(common.string()),
    "description": Attr(common.string()),
    "stateful": Attr(common.boolean),
    **common.TAGS,
    **common.OWNED,
}

# The values are checked by the service, in Neutron's order and with its messages.
RULE_SPEC: dict[str, Attr] = {
    "security_group_id": Attr(common.string(36), put=False, required=True),
    "direction": Attr(common.anything, put=False, required=True),
    "ethertype": Attr(common.anything, put=False),
    "protocol": Attr(common.anything, put=False),
    "port_range_min": Attr(common.anything, put=False),
    "port_range_max": Attr(common.anything, put=False),
    "remote_ip_prefix": Attr(common.anything, put=False),
    "remote_group_id": Attr(common.anything, put=False),
    "remote_address_group_id": Attr(common.anything, put=False),
    "description": Attr(common.string()),
    **common.OWNED,
}


def render_rule(rule: Any, defaults: set[str]) -> dict[str, Any]:
    body = common.standard(rule, None)
    del body["tags"]
    normalized = (str(ipaddress.ip_network(rule.remote_ip_prefix, strict=False))
                  if rule.remote_ip_prefix else None)
    body.update({
        "id": rule.id, "security_group_id": rule.security_group_id,
        "direction": rule.direction, "ethertype": rule.ethertype, "protocol": rule.protocol,
        "port_range_min": rule.port_range_min, "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix, "normalized_cidr": normalized,
        "remote_group_id": rule.remote_group_id,
        "remote_address_group_id": rule.remote_address_group_id,
        "belongs_to_default_sg": rule.security_group_id in defaults})
    return body


def render_group(view: svc.Groups) -> Any:
    def one(row: Any, tags: list[str]) -> dict[str, Any]:
        return {"id": row.id, "name": row.name, "stateful": row.stateful,
                "shared": row.shared,
                "security_group_rules": [render_rule(r, view.defaults)
                                         for r in view.rules.get(row.id, [])],
                **common.standard(row, tags)}
    return one


def _create_groups(s: Session, ctx: Context, items: list[dict[str, Any]]) -> list[svc.Groups]:
    """One or several (bulk) groups, in one transaction: all or none."""
    return [svc.create_group(s, ctx, v, common.project_of(v)) for v in items]


GROUPS = common.Resource(
    "security_group", "security_groups", "group_id", GROUP_SPEC, render_group,
    index=svc.list_groups, show=svc.show_group, update=svc.update_group,
    delete=svc.delete_group)  # a (bulk) create makes one view per group: see ``groups``
_list_groups = common.collection(GROUPS)


async def groups(request: Request) -> Response:
    if request.method == "POST":
        items, bulk = await common.many(request, "security_group", "security_groups",
                                        GROUP_SPEC)
        views = await wire.call(request, _create_groups, items)
        bodies = [GROUPS.rendered(v)[0] for v in views]
        return wire.json({"security_groups": bodies} if bulk
                         else {"security_group": bodies[0]}, 201)
    return await _list_groups(request)


async def rules(request: Request) -> Response:
    if request.method == "POST":
        items, bulk = await common.many(request, "security_group_rule",
                                        "security_group_rules", RULE_SPEC)
        made = await wire.call(request, svc.create_rules, items)
        bodies = [render_rule(r, made.defaults) for r in made.rows]
        return wire.json({"security_group_rules": bodies} if bulk
                         else {"security_group_rule": bodies[0]}, 201)
    q = common.list_query(request)
    found = await wire.call(request, svc.list_rules, q)
    assert found.found is not None
    return common.listing(request, "security_group_rules", found.found,
                          lambda row, _tags: render_rule(row, found.defaults), q)


async def rule(request: Request) -> Response:
    rule_id = request.path_params["rule_id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete_rule, rule_id)
        return wire.empty()
    if request.method == "PUT":
        values = await common.one(request, "security_group_rule", RULE_SPEC, create=False)
        shown = await wire.call(request, svc.update_rule, rule_id, values)
    else:
        shown = await wire.call(request, svc.show_rule, rule_id)
    return common.shown(request, "security_group_rule",
                        render_rule(shown.rows[0], shown.defaults))


ROUTES = [
    Route("/security-groups", groups, methods=["GET", "POST"]),
    Route("/security-groups/{group_id}", common.member(GROUPS),
          methods=["GET", "PUT", "DELETE"]),
    Route("/security-group-rules", rules, methods=["GET", "POST"]),
    Route("/security-group-rules/{rule_id}", rule, methods=["GET", "PUT", "DELETE"]),
]
