"""``/types``: volume types (list, show, ``default``; admin create, update, delete), their
extra specs and the access lists of private types (``os-volume-type-access``, the
``addProjectAccess``/``removeProjectAccess`` actions). Domain rules live in
``services/volume/types.py``; this module parses and renders.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.volume import common
from sausage.services.compute import paging
from sausage.services.context import Context
from sausage.services.volume import types as svc

__all__ = ["ROUTES", "render"]

ACCESS_KEY = "os-volume-type-access:is_public"


def render(row: Any, specs: dict[str, str], *, admin: bool,
           full: bool = True) -> dict[str, Any]:
    """A type as Cinder shows it; ``full`` adds the access flag (and qos_specs_id for
    admins) that show and list carry and update does not."""
    body: dict[str, Any] = {"id": row.id, "name": row.name, "is_public": row.is_public,
                            "description": row.description, "extra_specs": specs}
    if full:
        body[ACCESS_KEY] = row.is_public
        if admin:
            body["qos_specs_id"] = None
    return body


def _rendered(s: Session, ctx: Context, rows: list[Any], full: bool = True
              ) -> list[dict[str, Any]]:
    specs = svc.extra_specs(s, ctx, [r.id for r in rows])
    return [render(r, specs[r.id], admin=ctx.is_admin, full=full) for r in rows]


async def collection(request: Request) -> Response:
    if request.method == "POST":
        body = await common.entity(request, "volume_type")

        def make(s: Session, ctx: Context) -> dict[str, Any]:
            row = svc.create(s, ctx, body)
            out = _rendered(s, ctx, [row])[0]
            out.pop("qos_specs_id", None)
            return out

        return wire.json({"volume_type": await wire.call(request, make)})
    query = dict(request.query_params)

    def listing(s: Session, ctx: Context) -> list[dict[str, Any]]:
        # Users filter on extra specs from 3.52 (admins always could).
        specs = (query.get("extra_specs")
                 if ctx.is_admin or common.at_least(request, 3, 52) else None)
        rows = svc.listing(s, ctx, query.get("is_public"), specs)
        return _rendered(s, ctx, paging.page(rows, query, key=lambda r: r.id))

    return wire.json({"volume_types": await wire.call(request, listing)})


async def member(request: Request) -> Response:
    type_id = request.path_params["type_id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete_type, type_id)
        return wire.empty(202)
    if request.method == "PUT":
        body = await common.entity(request, "volume_type")

        def change(s: Session, ctx: Context) -> dict[str, Any]:
            return _rendered(s, ctx, [svc.update(s, ctx, type_id, body)], full=False)[0]

        return wire.json({"volume_type": await wire.call(request, change)})

    def show(s: Session, ctx: Context) -> dict[str, Any]:
        return _rendered(s, ctx, [svc.get(s, ctx, type_id)])[0]

    return wire.json({"volume_type": await wire.call(request, show)})


async def specs(request: Request) -> Response:
    type_id = request.path_params["type_id"]
    if request.method == "POST":
        body = await common.json_body(request)
        if set(body) != {"extra_specs"}:
            raise errors.BadRequest("Missing required element 'extra_specs' in request body.")
        written = await wire.call(request, svc.set_extra_specs, type_id, body["extra_specs"])
        return wire.json({"extra_specs": written})

    def index(s: Session, ctx: Context) -> dict[str, str]:
        row = svc.get(s, ctx, type_id)
        return svc.extra_specs(s, ctx, [row.id])[row.id]

    return wire.json({"extra_specs": await wire.call(request, index)})


async def spec(request: Request) -> Response:
    type_id, key = request.path_params["type_id"], request.path_params["key"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete_extra_spec, type_id, key)
        return wire.empty(202)
    if request.method == "PUT":
        body = await common.json_body(request)
        written = await wire.call(request, svc.set_extra_specs, type_id, body, single=key)
        return wire.json(written)

    def show(s: Session, ctx: Context) -> dict[str, str]:
        row = svc.get(s, ctx, type_id)
        values = svc.extra_specs(s, ctx, [row.id])[row.id]
        if key not in values:
            raise errors.NotFound(f"Volume Type {row.id} has no extra specs with key {key}.")
        return {key: values[key]}

    return wire.json(await wire.call(request, show))


async def access(request: Request) -> Response:
    type_id = request.path_params["type_id"]
    projects = await wire.call(request, svc.access, type_id)

    def grant(project: str) -> dict[str, str]:
        return {"volume_type_id": type_id, "project_id": project}

    return wire.json({"volume_type_access": [grant(p) for p in projects]})


async def action(request: Request) -> Response:
    type_id = request.path_params["type_id"]
    body = await common.json_body(request)
    if len(body) != 1:
        raise errors.BadRequest("There is no such action: " + ", ".join(sorted(body)))
    name, value = next(iter(body.items()))
    if name not in ("addProjectAccess", "removeProjectAccess"):
        raise errors.BadRequest(f"There is no such action: {name}")
    project = value.get("project") if isinstance(value, dict) else None
    fn = svc.add_access if name == "addProjectAccess" else svc.remove_access
    await wire.call(request, fn, type_id, project)
    return wire.empty(202)


ROUTES = [
    Route("/types", collection, methods=["GET", "POST"]),
    Route("/types/{type_id}", member, methods=["GET", "PUT", "DELETE"]),
    Route("/types/{type_id}/extra_specs", specs, methods=["GET", "POST"]),
    Route("/types/{type_id}/extra_specs/{key}", spec, methods=["GET", "PUT", "DELETE"]),
    Route("/types/{type_id}/os-volume-type-access", access, methods=["GET"]),
    Route("/types/{type_id}/action", action, methods=["POST"]),
]
