"""DNS v2 (Designate-compatible), mounted at ``/dns``: zones, recordsets, quotas (TLDs,
transfers and floating IP PTRs have their own modules)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from sausage.api.dns import quotas, recordsets, reverse, tlds, transfers, versions, zones

__all__ = ["ROUTES", "root"]

root = versions.root

ROUTES: list[BaseRoute] = [
    *versions.ROUTES, *zones.ROUTES, *recordsets.ROUTES, *quotas.ROUTES,
    *tlds.ROUTES, *transfers.ROUTES, *reverse.ROUTES,
]
