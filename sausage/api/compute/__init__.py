"""Compute v2.1 (Nova-compatible, microversions 2.1–2.37), mounted at ``/compute``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from sausage import errors
from sausage.api import wire
from sausage.api.compute import common
from sausage.api.compute import (admin, flavors, keypairs, project, server_actions,
                                 server_groups, server_meta, servers, versions)

__all__ = ["ROUTES"]


async def networks(request: Request) -> Response:
    """Nova's os-networks proxy: no nova-network here, and no networks until Neutron lands."""
    await wire.call(request, lambda s, ctx: None)
    if common.at_least(request, 2, 36):
        raise errors.NotFound("The resource could not be found.")
    if "id" in request.path_params:
        raise errors.NotFound(f"Network {request.path_params['id']} could not be found.")
    return wire.json({"networks": []})


async def extensions(request: Request) -> Response:
    await wire.call(request, lambda s, ctx: None)
    return wire.json({"extensions": []})


V21: list[BaseRoute] = [
    *flavors.ROUTES, *keypairs.ROUTES, *servers.ROUTES, *server_actions.ROUTES,
    *server_meta.ROUTES, *project.ROUTES, *admin.ROUTES, *server_groups.ROUTES,
    Route("/extensions", extensions, methods=["GET", "HEAD"]),
    Route("/os-networks", networks, methods=["GET", "HEAD"]),
    Route("/os-networks/{id}", networks, methods=["GET", "HEAD"]),
]

ROUTES: list[BaseRoute] = [*versions.ROUTES, Mount("/v2.1", routes=V21)]
