"""Block Storage v3 (Cinder-compatible, microversions 3.0–3.65), mounted at ``/volume``.

``GET /volume/`` and ``GET /volume/v3/`` are the versions document; everything else lives
under ``/volume/v3/{project_id}/`` (the catalog URL carries the token's project), one module
per resource: ``volumes`` (and their actions and metadata), ``snapshots``, ``types``,
``attachments``, ``quotas`` (quota sets and limits), ``default_types`` (3.62's per-project
default types) and ``misc`` (availability zones, extensions).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from sausage.api.volume import (attachments, default_types, misc, quotas, snapshots, types,
                                versions, volume_actions, volumes)

__all__ = ["ROUTES", "root"]

root = versions.root

PROJECT: list[BaseRoute] = [
    *volumes.ROUTES, *volume_actions.ROUTES, *snapshots.ROUTES, *types.ROUTES,
    *attachments.ROUTES, *quotas.ROUTES, *misc.ROUTES, *default_types.ROUTES,
]

ROUTES: list[BaseRoute] = [
    Route("/", versions.root, methods=["GET"]),
    Route("/v3", versions.v3, methods=["GET"]),
    Route("/v3/", versions.v3, methods=["GET"]),
    Mount("/v3/{project_id}", routes=PROJECT),
]
