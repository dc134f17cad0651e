"""Compute v2.1 (Nova-compatible, microversions 2.1–2.26), mounted at ``/compute``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from sausage.api import wire
from sausage.api.compute import (admin, flavors, keypairs, project, server_actions,
                                 server_groups, server_meta, servers, versions)

__all__ = ["ROUTES"]


async def extensions(request: Request) -> Response:
    await wire.call(request, lambda s, ctx: None)
    return wire.json({"extensions": []})


V21: list[BaseRoute] = [
    *flavors.ROUTES, *keypairs.ROUTES, *servers.ROUTES, *server_actions.ROUTES,
    *server_meta.ROUTES, *project.ROUTES, *admin.ROUTES, *server_groups.ROUTES,
    Route("/extensions", extensions, methods=["GET", "HEAD"]),
]

ROUTES: list[BaseRoute] = [*versions.ROUTES, Mount("/v2.1", routes=V21)]
