"""Roles, grants (``/v3/{projects|domains}/{id}/{users|groups}/{id}/roles[/{role}]``) and the
``/v3/role_assignments`` report."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.identity import render, schemas
from sausage.api.identity.crud import Resource, base, routes
from sausage.services.identity import roles as svc

__all__ = ["ROUTES"]

ROLES = Resource(
    path="/v3/roles", member="role", collection="roles", render=render.role,
    get=svc.get_role, list=svc.list_roles, create=svc.create_role,
    update=svc.update_role, delete=svc.delete_role,
    create_body=schemas.RoleBody, update_body=schemas.RolePatch,
)


def _grant_routes(target_kind: str, actor_kind: str) -> list[Route]:
    """The grant routes for one (project|domain, user|group) pair."""

    def grant_of(request: Request) -> svc.Grant:
        p = request.path_params
        return svc.Grant(target_kind, p["target_id"], actor_kind, p["actor_id"], p["role_id"])

    async def grant(request: Request) -> Response:
        action = {"PUT": svc.add_grant, "DELETE": svc.remove_grant}.get(
            request.method, svc.check_grant)
        await wire.call(request, action, grant_of(request))
        return wire.empty()

    async def grants(request: Request) -> Response:
        p = request.path_params
        rows = await wire.call(
            request, svc.list_grants, target_kind, p["target_id"], actor_kind, p["actor_id"])
        return wire.json(render.collection(
            "roles", [render.role(r, base(request)) for r in rows], str(request.url)))

    path = f"/v3/{target_kind}s/{{target_id}}/{actor_kind}s/{{actor_id}}/roles"
    return [
        Route(path, grants, methods=["GET", "HEAD"]),
        Route(path + "/{role_id}", grant, methods=["PUT", "GET", "HEAD", "DELETE"]),
    ]


async def role_assignments(request: Request) -> Response:
    filters = wire.filters(request)
    views = await wire.call(request, svc.list_assignments, filters)
    names = filters.get("include_names", "").lower() not in ("", "0", "false")
    return wire.json({
        "role_assignments": [render.assignment(v, base(request), names) for v in views],
        "links": {"self": str(request.url), "previous": None, "next": None},
    })


ROUTES = [
    *routes(ROLES),
    Route("/v3/role_assignments", role_assignments, methods=["GET", "HEAD"]),
    *_grant_routes("project", "user"),
    *_grant_routes("project", "group"),
    *_grant_routes("domain", "user"),
    *_grant_routes("domain", "group"),
]
