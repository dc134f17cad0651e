"""``/v2/quotas/{project_id}`` (and ``/v2/quotas``, the caller's own): Designate quotas
(read, set by admins, reset to the defaults)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.dns import common
from sausage.services.dns import quotas as svc

__all__ = ["ROUTES"]


async def item(request: Request) -> Response:
    scope = common.scope(request)
    project_id = request.path_params["project_id"]
    if request.method == "PATCH":
        values = await common.body(request)
        return wire.json(await wire.call(request, svc.update, scope, project_id, values))
    if request.method == "DELETE":
        await wire.call(request, svc.reset, scope, project_id)
        return wire.empty(204)
    return wire.json(await wire.call(request, svc.show, scope, project_id))


async def own(request: Request) -> Response:
    return wire.json(await wire.call(request, svc.show_own, common.scope(request)))


ROUTES = [
    Route("/v2/quotas", own, methods=["GET", "HEAD"]),
    Route("/v2/quotas/", own, methods=["GET", "HEAD"]),
    Route("/v2/quotas/{project_id}", item, methods=["GET", "HEAD", "PATCH", "DELETE"]),
]
