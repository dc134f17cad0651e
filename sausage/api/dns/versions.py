"""``/dns/`` and ``/dns/v2/``: Designate's version document (v2 is the current API)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire

__all__ = ["root", "ROUTES"]

_HELP = "https://docs.openstack.org/api-ref/dns/"


async def root(request: Request) -> Response:
    url = wire.base_url(request, "dns") + "/v2"

    def one(version: str, status: str) -> dict[str, object]:
        return {"id": version, "status": status, "updated": "2022-06-29T00:00:00Z",
                "links": [{"href": url, "rel": "self"}, {"href": _HELP, "rel": "help"}]}

    return wire.json({"versions": [one("v2", "CURRENT"), one("v2.0", "SUPPORTED")]})


ROUTES = [
    Route("/", root, methods=["GET", "HEAD"]),
    Route("/v2", root, methods=["GET", "HEAD"]),
    Route("/v2/", root, methods=["GET", "HEAD"]),
]
