"""Routes of the L3 and security resources (routers, floating IPs, security groups), mounted
by ``sausage/api/network/__init__.py`` under ``/v2.0`` after the core resources."""

from __future__ import annotations

from starlette.routing import BaseRoute

from sausage.api.network import floatingips, routers, security_groups

__all__ = ["ROUTES"]

ROUTES: list[BaseRoute] = [*security_groups.ROUTES, *routers.ROUTES, *floatingips.ROUTES]
