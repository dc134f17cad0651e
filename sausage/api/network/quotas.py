"""``/v2.0/quotas``: Neutron quota limits per project, their defaults and usage details."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.network import common
from sausage.services.network import quotas as svc

__all__ = ["ROUTES"]


def _with_project(project_id: str, limits: dict[str, Any]) -> dict[str, Any]:
    return {**limits, "project_id": project_id, "tenant_id": project_id}


async def listing(request: Request) -> Response:
    rows = await wire.call(request, svc.list_overridden)
    return wire.json({"quotas": [_with_project(p, limits) for p, limits in rows]})


async def member(request: Request) -> Response:
    project_id = request.path_params["project_id"]
    if request.method == "DELETE":
        await wire.call(request, svc.reset, project_id)
        return wire.empty()
    if request.method == "PUT":
        body = await common.json_body(request)
        values = body.get("quota")
        if not isinstance(values, dict) or len(body) != 1:
            raise errors.BadRequest("Unable to find 'quota' in request body",
                                    kind="HTTPBadRequest")
        limits = await wire.call(request, svc.update, project_id, values)
    else:
        limits = await wire.call(request, svc.show, project_id)
    return wire.json({"quota": limits})


async def details(request: Request) -> Response:
    out = await wire.call(request, svc.details, request.path_params["project_id"])
    return wire.json({"quota": out})


async def defaults(request: Request) -> Response:
    out = await wire.call(request, svc.defaults, request.path_params["project_id"])
    return wire.json({"quota": out})


ROUTES = [
    Route("/quotas", listing, methods=["GET"]),
    Route("/quotas/{project_id}", member, methods=["GET", "PUT", "DELETE"]),
    Route("/quotas/{project_id}/details", details, methods=["GET"]),
    Route("/quotas/{project_id}/default", defaults, methods=["GET"]),
]
