"""Routes of the L3 and security resources (routers, floating IPs, security groups).

Helper 2 fills ``ROUTES``; ``sausage/api/network/__init__.py`` mounts them under ``/v2.0``
after the core resources.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

__all__ = ["ROUTES"]

ROUTES: list[BaseRoute] = []
