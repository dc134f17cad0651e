"""Compute v2.1 (Nova-compatible, microversions 2.1–2.37), mounted at ``/compute``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from sausage import errors
from sausage.api import wire
from sausage.api.compute import common
from sausage.api.compute import (admin, flavors, images, interfaces, keypairs, project,
                                 server_actions, server_groups, server_meta, servers, versions,
                                 volume_attachments)
from sausage.services.compute import networking

__all__ = ["ROUTES"]


async def networks(request: Request) -> Response:
    """Nova's os-networks proxy (before 2.36): the Neutron networks the caller can see."""
    if common.at_least(request, 2, 36):
        await wire.call(request, lambda s, ctx: None)
        raise errors.NotFound("The resource could not be found.")
    found = await wire.call(request, networking.proxy_networks, request.path_params.get("id"))
    items = [{"id": n.id, "label": n.name, **{k: None for k in NOVA_NETWORK_KEYS}}
             for n in found]
    if "id" in request.path_params:
        return wire.json({"network": items[0]})
    return wire.json({"networks": items})


# The nova-network attributes os-networks still carries; Nova's proxy leaves them null.
NOVA_NETWORK_KEYS = (
    "bridge", "bridge_interface", "broadcast", "cidr", "cidr_v6", "created_at", "deleted",
    "deleted_at", "dhcp_server", "dhcp_start", "dns1", "dns2", "enable_dhcp", "gateway",
    "gateway_v6", "host", "injected", "mtu", "multi_host", "netmask", "netmask_v6",
    "priority", "project_id", "rxtx_base", "share_address", "updated_at", "vlan",
    "vpn_private_address", "vpn_public_address", "vpn_public_port")


async def extensions(request: Request) -> Response:
    await wire.call(request, lambda s, ctx: None)
    return wire.json({"extensions": []})


V21: list[BaseRoute] = [
    *flavors.ROUTES, *images.ROUTES, *keypairs.ROUTES, *servers.ROUTES, *server_actions.ROUTES,
    *server_meta.ROUTES, *interfaces.ROUTES, *project.ROUTES, *admin.ROUTES, *server_groups.ROUTES,
    *volume_attachments.ROUTES,
    Route("/extensions", extensions, methods=["GET", "HEAD"]),
    Route("/os-networks", networks, methods=["GET", "HEAD"]),
    Route("/os-networks/{id}", networks, methods=["GET", "HEAD"]),
]

ROUTES: list[BaseRoute] = [*versions.ROUTES, Mount("/v2.1", routes=V21)]
