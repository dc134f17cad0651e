"""Image v2 (Glance-compatible), mounted at ``/image``."""

from __future__ import annotations

from starlette.routing import BaseRoute

from sausage.api.image import data, images, members, schemas, versions

__all__ = ["ROUTES"]

ROUTES: list[BaseRoute] = [
    *versions.ROUTES, *schemas.ROUTES, *images.ROUTES, *data.ROUTES, *members.ROUTES,
]
