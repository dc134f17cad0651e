"""``/os-server-groups``: affinity and anti-affinity groups (soft policies from 2.15)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.compute import common, validation
from sausage.services.compute import groups as svc
from sausage.services.context import Context

__all__ = ["ROUTES"]


def _render(request: Request, row: Any, members: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": row.id, "name": row.name, "policies": [row.policy],
                            "members": members, "metadata": {}}
    if common.at_least(request, 2, 13):
        body["project_id"], body["user_id"] = row.project_id, row.user_id
    return body


async def collection(request: Request) -> Response:
    if request.method == "POST":
        policies = ["affinity", "anti-affinity"]
        if common.at_least(request, 2, 15):
            policies += ["soft-affinity", "soft-anti-affinity"]
        body = await common.json_body(request)
        validation.validate({"type": "object", "properties": {"server_group": {
            "type": "object", "properties": {
                "name": validation.NAME,
                "policies": {"type": "array", "items": {"type": "string", "enum": policies},
                             "minItems": 1, "maxItems": 1, "uniqueItems": True}},
            "required": ["name", "policies"], "additionalProperties": False}},
            "required": ["server_group"], "additionalProperties": False}, body)
        group = body["server_group"]
        row = await wire.call(request, svc.create, group["name"], group["policies"][0])
        return wire.json({"server_group": _render(request, row, [])})
    all_projects = request.query_params.get("all_projects", "").lower() in ("1", "true", "yes")

    def listing(s: Session, ctx: Context) -> list[tuple[Any, list[str]]]:
        return [(g, svc.members(s, g.id)) for g in svc.list_groups(s, ctx, all_projects)]

    rows = await wire.call(request, listing)
    return wire.json({"server_groups": [_render(request, g, mem) for g, mem in rows]})


async def member(request: Request) -> Response:
    group_id = request.path_params["id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete, group_id)
        return wire.empty(204)

    def show(s: Session, ctx: Context) -> tuple[Any, list[str]]:
        row = svc.get(s, ctx, group_id)
        return row, svc.members(s, row.id)

    row, members = await wire.call(request, show)
    return wire.json({"server_group": _render(request, row, members)})


ROUTES = [
    Route("/os-server-groups", collection, methods=["GET", "HEAD", "POST"]),
    Route("/os-server-groups/{id}", member, methods=["GET", "HEAD", "DELETE"]),
]
