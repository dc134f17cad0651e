"""Builds the one ASGI app that serves every OpenStack API of the cloud.

Each service is mounted at its own prefix (``/identity`` …) so one port serves them all and the
catalog points at the same host. Errors from anywhere render through ``faults``.
"""

from __future__ import annotations

import threading

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from sausage import errors
from sausage.api import (compute, dns, faults, hashing, identity, image, internal, microversion,
                         network, volume, wire)
from sausage.api.middleware import RequestContext
from sausage.services.runtime import CatalogEntry, Cloud

__all__ = ["build", "catalog"]


def catalog(public_url: str) -> list[CatalogEntry]:
    """The services this build really serves, as the catalog should list them."""
    return [
        CatalogEntry("identity", "keystone", f"{public_url}/identity"),
        CatalogEntry("image", "glance", f"{public_url}/image"),
        CatalogEntry("compute", "nova", f"{public_url}/compute/v2.1"),
        CatalogEntry("network", "neutron", f"{public_url}/network"),
        CatalogEntry("block-storage", "cinder", f"{public_url}/volume/v3/$(project_id)s"),
        CatalogEntry("dns", "designate", f"{public_url}/dns"),
    ]


async def root(request: Request) -> Response:
    return wire.json({"name": "Sausage Cloud", "services": {
        entry.type: entry.url for entry in catalog(str(request.base_url).rstrip("/"))}})


def build(cloud: Cloud) -> Starlette:
    app = Starlette(
        routes=[
            Route("/", root, methods=["GET", "HEAD"]),
            # Keystone answers its root without a redirect; clients GET it for discovery.
            Route("/identity", identity.versions.root, methods=["GET", "HEAD"]),
            Mount("/identity", routes=identity.ROUTES),
            Route("/image", image.versions.root, methods=["GET", "HEAD"]),
            Mount("/image", routes=image.ROUTES),
            Route("/compute", compute.versions.root, methods=["GET", "HEAD"]),
            Mount("/compute", routes=compute.ROUTES),
            Route("/network", network.root, methods=["GET"]),
            Mount("/network", routes=network.ROUTES),
            Route("/volume", volume.root, methods=["GET"]),
            Mount("/volume", routes=volume.ROUTES),
            Route("/dns", dns.root, methods=["GET", "HEAD"]),
            Mount("/dns", routes=dns.ROUTES),
            Mount("/internal", routes=internal.ROUTES),
        ],
        middleware=[Middleware(RequestContext),
                    Middleware(microversion.Microversions, services=(microversion.COMPUTE, microversion.VOLUME))],
        exception_handlers={
            errors.SausageError: faults.handle,
            HTTPException: faults.handle,
        },
    )
    app.state.cloud = cloud
    # Logins and new passwords hash in their own bounded lane (see hashing.Lane).
    app.state.hashing = hashing.Lane(cloud.settings.password_hash_slots,
                                     cloud.settings.password_hash_backlog)
    # Set when the server begins to stop: long-polls answer at once instead of holding it up.
    app.state.stopping = threading.Event()
    return app
