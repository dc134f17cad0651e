"""Identity version discovery: ``/identity`` lists versions (300), ``/identity/v3`` describes v3."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire

__all__ = ["ROUTES", "v3_document"]

UPDATED = "2019-01-22T00:00:00Z"


def v3_document(request: Request) -> dict[str, Any]:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": UPDATED,
        "links": [{"rel": "self", "href": f"{wire.base_url(request, 'identity')}/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }


async def root(request: Request) -> Response:
    return wire.json({"versions": {"values": [v3_document(request)]}}, 300)


async def v3(request: Request) -> Response:
    return wire.json({"version": v3_document(request)})


ROUTES = [
    Route("/", root, methods=["GET", "HEAD"]),
    Route("/v3", v3, methods=["GET", "HEAD"]),
    Route("/v3/", v3, methods=["GET", "HEAD"]),
]
