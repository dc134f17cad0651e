"""Image version discovery: ``/image`` answers 300 with the versions list, as Glance does."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire

__all__ = ["ROUTES", "root"]

# Glance's v2 minor versions; all share the one v2 API served here.
VERSIONS = ("2.16", "2.15", "2.9", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0")


async def root(request: Request) -> Response:
    href = f"{wire.base_url(request, 'image')}/v2/"
    return wire.json({"versions": [
        {"id": f"v{v}", "status": "CURRENT" if i == 0 else "SUPPORTED",
         "links": [{"rel": "self", "href": href}]}
        for i, v in enumerate(VERSIONS)
    ]}, 300)


ROUTES = [
    Route("/", root, methods=["GET", "HEAD"]),
    Route("/versions", root, methods=["GET", "HEAD"]),
]
