"""Compute version discovery: ``/compute`` lists v2.0 and v2.1, ``/compute/v2.1`` describes it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import microversion, wire

__all__ = ["root", "ROUTES"]


def _versions(request: Request) -> list[dict[str, Any]]:
    base = wire.base_url(request, "compute")
    top = microversion.COMPUTE
    return [
        {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
         "updated": "2011-01-21T11:33:21Z", "links": [{"rel": "self", "href": f"{base}/v2/"}]},
        {"id": "v2.1", "status": "CURRENT", "version": top.text(top.maximum),
         "min_version": top.text(top.minimum), "updated": "2013-07-23T11:33:21Z",
         "links": [{"rel": "self", "href": f"{base}/v2.1/"}]},
    ]


async def root(request: Request) -> Response:
    return wire.json({"versions": _versions(request)})


async def v21(request: Request) -> Response:
    doc = {**_versions(request)[1], "media-types": [
        {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}]}
    return wire.json({"version": doc})


ROUTES = [Route("/", root, methods=["GET", "HEAD"]),
          Route("/v2.1", v21, methods=["GET", "HEAD"]),
          Route("/v2.1/", v21, methods=["GET", "HEAD"])]
