"""Identity v3 (Keystone-compatible), mounted at ``/identity``."""

from __future__ import annotations

from starlette.routing import BaseRoute

from sausage.api.identity import app_creds, auth, catalog, directory, roles, versions

__all__ = ["ROUTES"]

ROUTES: list[BaseRoute] = [
    *versions.ROUTES, *auth.ROUTES, *directory.ROUTES, *roles.ROUTES, *catalog.ROUTES,
    *app_creds.ROUTES,
]
