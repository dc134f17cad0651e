"""``/servers``: create, list (brief and detail), show, update, delete; addresses."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.compute import common, render, validation
from sausage.services.compute import networking, servers as svc
from sausage.services.context import Context
from sausage.services.hosts import registry
from sausage.services.volume import attachments

__all__ = ["ROUTES", "render_context"]


def _create_schema(request: Request) -> dict[str, Any]:
    server: dict[str, Any] = {
        "type": "object",
        "properties": {
            "name": validation.NAME,
            "imageRef": {"type": ["string", "null"]},
            "flavorRef": {"type": ["string", "integer"], "minLength": 1},
            "key_name": {"type": "string"},
            "user_data": {"type": "string"},
            "metadata": validation.METADATA,
            "availability_zone": {"type": "string"},
            "min_count": validation.POSITIVE_INT,
            "max_count": validation.POSITIVE_INT,
            "return_reservation_id": validation.BOOLEAN,
            "networks": {"oneOf": [{"type": "string", "enum": ["none", "auto"]},
                                   {"type": "array", "items": {"type": "object"}}]},
            "security_groups": {"type": "array", "items": {"type": "object"}},
            "config_drive": validation.BOOLEAN,
            "accessIPv4": {"type": "string", "format": "ipv4"},
            "accessIPv6": {"type": "string", "format": "ipv6"},
            "adminPass": {"type": "string"},
            "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
            "block_device_mapping_v2": {"type": "array"},
            "block_device_mapping": {"type": "array"},
            "personality": {"type": "array"},
        },
        "required": ["name", "flavorRef"],
        "additionalProperties": False,
    }
    if common.at_least(request, 2, 19):
        server["properties"]["description"] = {"type": ["string", "null"], "maxLength": 255}
    if common.at_least(request, 2, 26):
        server["properties"]["tags"] = {"type": "array", "maxItems": 50, "items": {
            "type": "string", "minLength": 1, "maxLength": 60, "pattern": "^[^,/]*$"}}
    if common.at_least(request, 2, 37):
        # From 2.37 a server says what networks it wants: a list, "auto" or "none".
        server["required"] = [*server["required"], "networks"]
    return {"type": "object",
            "properties": {"server": server,
                           "os:scheduler_hints": {"type": "object"},
                           "OS-SCH-HNT:scheduler_hints": {"type": "object"}},
            "required": ["server"], "additionalProperties": False}


def render_context(s: Session, ctx: Context, rows: Sequence[Any]) -> render.ServerContext:
    ids = [r.id for r in rows]
    names, status = {}, {}
    for host in registry.list_hosts(s):
        names[host.id] = host.name
        status[host.id] = ("MAINTENANCE" if not host.enabled else
                           "UP" if registry.is_alive(host) else "DOWN")
    volumes = {sid: [(r.volume_id, r.delete_on_termination) for r in rows_]
               for sid, rows_ in attachments.of_servers(s, ids).items()}
    return render.ServerContext(svc.metadata_of(s, ids), svc.tags_of(s, ids), names, status,
                                ctx.is_admin, addresses=networking.addresses(s, ids),
                                security_groups=networking.security_group_names(s, ids),
                                volumes=volumes)


def _create(s: Session, ctx: Context, req: dict[str, Any]) -> tuple[list[Any], Any]:
    rows = svc.create(s, ctx, req)
    return rows, render_context(s, ctx, rows)


async def collection(request: Request) -> Response:
    if request.method == "POST":
        body = await common.json_body(request)
        validation.validate(_create_schema(request), body)
        req = dict(body["server"])
        req["os:scheduler_hints"] = body.get("os:scheduler_hints") or body.get(
            "OS-SCH-HNT:scheduler_hints") or {}
        for key in ("min_count", "max_count"):
            if key in req:
                req[key] = int(req[key])
        if "config_drive" in req:
            req["config_drive"] = validation.truthy(req["config_drive"])
        rows, _ = await wire.call(request, _create, req)
        if validation.truthy(req.get("return_reservation_id", False)):
            return wire.json({"reservation_id": rows[0].reservation_id}, 202)
        admin_pass = req.get("adminPass") or secrets.token_urlsafe(9)
        first = rows[0]
        groups = [g["name"] for g in req.get("security_groups") or []
                  if isinstance(g, dict) and isinstance(g.get("name"), str)]
        return wire.json({"server": render.created(request, first, admin_pass, groups)}, 202,
                         {"Location": f"{common.base(request)}/servers/{first.id}"})
    detail = request.url.path.endswith("/detail")
    filters = wire.filters(request)
    tag_filters = {name: [t for t in request.query_params[name].split(",") if t]
                   for name in ("tags", "tags-any", "not-tags", "not-tags-any")
                   if name in request.query_params and common.at_least(request, 2, 26)}

    def listing(s: Session, ctx: Context) -> tuple[list[Any], Any]:
        rows = svc.list_servers(s, ctx, filters, tag_filters)
        return rows, render_context(s, ctx, rows) if detail else None

    rows, rctx = await wire.call(request, listing)
    items = [render.server(request, r, rctx) if detail else render.server_brief(request, r)
             for r in rows]
    page: dict[str, Any] = {"servers": items}
    limit = filters.get("limit")
    if limit is not None and rows and len(rows) == int(limit):
        path = "servers/detail" if detail else "servers"
        page["servers_links"] = [{"rel": "next", "href":
                                  f"{common.base(request)}/{path}?limit={limit}"
                                  f"&marker={rows[-1].id}"}]
    return wire.json(page)


UPDATE = {"type": "object", "properties": {"server": {
    "type": "object",
    "properties": {"name": validation.NAME,
                   "description": {"type": ["string", "null"], "maxLength": 255},
                   "accessIPv4": {"type": "string", "format": "ipv4"},
                   "accessIPv6": {"type": "string", "format": "ipv6"},
                   "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]}},
    "additionalProperties": False}},
    "required": ["server"], "additionalProperties": False}


async def member(request: Request) -> Response:
    server_id = request.path_params["id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete, server_id)
        return wire.empty(204)
    if request.method == "PUT":
        body = await common.json_body(request)
        # The shape first: ``server`` may be any JSON value until the schema says it is an object.
        validation.validate(UPDATE, body)
        if not common.at_least(request, 2, 19) and "description" in body["server"]:
            raise errors.BadRequest("Additional properties are not allowed ('description' was "
                                    "unexpected)")

        def change(s: Session, ctx: Context) -> tuple[Any, Any]:
            row = svc.update(s, ctx, server_id, body["server"])
            return row, render_context(s, ctx, [row])
    else:
        def change(s: Session, ctx: Context) -> tuple[Any, Any]:
            row = svc.get(s, ctx, server_id)
            return row, render_context(s, ctx, [row])

    row, rctx = await wire.call(request, change)
    out = render.server(request, row, rctx)
    if request.method == "PUT":
        out.pop("OS-EXT-STS:vm_state", None)
        for key in [k for k in out if k.startswith(("OS-EXT", "OS-SRV", "os-extended"))]:
            out.pop(key)
        for key in ("key_name", "config_drive", "security_groups", "host_status"):
            out.pop(key, None)
        render.plain_addresses(out)
    return wire.json({"server": out})


ROUTES = [
    Route("/servers", collection, methods=["GET", "HEAD", "POST"]),
    Route("/servers/detail", collection, methods=["GET", "HEAD"]),
    Route("/servers/{id}", member, methods=["GET", "HEAD", "PUT", "DELETE"]),
]
