"""The Network service (Neutron v2.0), mounted at ``/network``.

``GET /network/`` is the versions document, ``GET /network/v2.0/`` lists the resources; the
resources themselves live one module each (``networks``, ``subnets``, ``subnetpools``,
``ports``, ``quotas``, ``extensions``, ``tags``) and in ``l3`` (routers, floating IPs,
security groups).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from sausage.api import wire
from sausage.api.network import extensions, networks, ports, quotas, subnetpools, subnets, tags
from sausage.api.network import l3

__all__ = ["ROUTES", "V20", "root"]

RESOURCES = (("network", "networks"), ("subnet", "subnets"), ("port", "ports"),
             ("subnetpool", "subnetpools"), ("router", "routers"),
             ("floatingip", "floatingips"), ("security_group", "security-groups"),
             ("security_group_rule", "security-group-rules"), ("quota", "quotas"))


async def root(request: Request) -> Response:
    base = wire.base_url(request, "network")
    return wire.json({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": f"{base}/v2.0/"}]}]})


async def v20(request: Request) -> Response:
    base = wire.base_url(request, "network")
    return wire.json({"resources": [
        {"name": name, "collection": collection,
         "links": [{"rel": "self", "href": f"{base}/v2.0/{collection}"}]}
        for name, collection in RESOURCES]})


# l3 before tags: its literal paths (e.g. /routers/{id}/add_router_interface) never clash with
# the tag routes' "/tags" segment, but being first keeps them independent of it.
V20: list[BaseRoute] = [
    Route("/", v20, methods=["GET"]),
    *networks.ROUTES, *subnets.ROUTES, *subnetpools.ROUTES, *ports.ROUTES,
    *quotas.ROUTES, *extensions.ROUTES, *l3.ROUTES, *tags.ROUTES,
]

ROUTES: list[BaseRoute] = [
    Route("/", root, methods=["GET"]),
    Route("/v2.0", v20, methods=["GET"]),
    Mount("/v2.0", routes=V20),
]
