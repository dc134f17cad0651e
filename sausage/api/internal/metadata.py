"""``/internal/v1/metadata/{path}``: the metadata service behind the agents' proxies.

The proxy in a DHCP or router namespace adds ``X-Sausage-Network-Id`` (the network the guest
asked from) and ``X-Forwarded-For`` (the guest's address) and authenticates with its host's
``X-Sausage-Host-Token``. A guest learns only about its own server (``services/metadata``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api.internal import hosts
from sausage.services import metadata as svc

__all__ = ["ROUTES"]


async def metadata(request: Request) -> Response:
    network_id = request.headers.get("x-sausage-network-id", "")
    # The proxy sets X-Forwarded-For to the guest's address alone; take the first hop anyway.
    guest = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
    if not network_id or not guest:
        raise errors.BadRequest("X-Sausage-Network-Id and X-Forwarded-For are required.")
    path = request.path_params.get("path", "")

    def work(s: Session, host: Any) -> svc.Answer:
        return svc.answer(s, network_id, guest, path)

    found = await hosts.as_host(request, work)
    return Response(found.body, media_type=found.content_type)


ROUTES = [
    Route("/v1/metadata", metadata, methods=["GET", "HEAD"]),
    Route("/v1/metadata/{path:path}", metadata, methods=["GET", "HEAD"]),
]
