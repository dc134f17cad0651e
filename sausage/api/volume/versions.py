"""The Block Storage versions document: ``GET /volume/`` and ``GET /volume/v3/``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sausage.api import microversion, wire

__all__ = ["root", "v3", "document"]

_MEDIA = [{"base": "application/json",
           "type": "application/vnd.openstack.volume+json;version=3"}]


def document(request: Request) -> dict[str, Any]:
    base = wire.base_url(request, "volume")
    service = microversion.VOLUME
    return {"id": "v3.0", "status": "CURRENT", "updated": "2023-03-01T00:00:00Z",
            "version": service.text(service.maximum), "min_version": service.text(service.minimum),
            "links": [{"rel": "describedby", "type": "text/html",
                       "href": "https://docs.openstack.org/"},
                      {"rel": "self", "href": f"{base}/v3/"}],
            "media-types": _MEDIA}


async def root(request: Request) -> Response:
    return wire.json({"versions": [document(request)]}, status=300)


async def v3(request: Request) -> Response:
    return wire.json({"versions": [document(request)]})
