"""``/os-quota-sets/{project_id}`` (show, ``?usage=true``, ``/defaults``; admin update and
delete) and ``/limits`` (the caller's absolute limits and usage; no rate limits). Domain
rules live in ``services/volume/quotas.py``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.volume import common
from sausage.services.context import Context
from sausage.services.volume import quotas as svc
from sausage.services.volume import types

__all__ = ["ROUTES"]

_LIMITS = {"maxTotalVolumes": "volumes", "maxTotalSnapshots": "snapshots",
           "maxTotalVolumeGigabytes": "gigabytes", "maxTotalBackups": "backups",
           "maxTotalBackupGigabytes": "backup_gigabytes"}
_USED = {"totalVolumesUsed": "volumes", "totalGigabytesUsed": "gigabytes",
         "totalSnapshotsUsed": "snapshots", "totalBackupsUsed": "backups",
         "totalBackupGigabytesUsed": "backup_gigabytes"}


def _usage_flag(request: Request) -> bool:
    value = request.query_params.get("usage")
    if value is None:
        return False
    return types.parse_bool(value, "usage")


async def quota_set(request: Request) -> Response:
    project_id = request.path_params["target"]
    if request.method == "DELETE":
        await wire.call(request, svc.reset, project_id)
        return wire.empty(200)
    if request.method == "PUT":
        body = await common.json_body(request)
        if set(body) != {"quota_set"} or not isinstance(body["quota_set"], dict):
            raise errors.BadRequest("Missing required element 'quota_set' in request body.")
        limits = await wire.call(request, svc.update, project_id, body["quota_set"])
        return wire.json({"quota_set": limits})
    usage = _usage_flag(request)
    values = await wire.call(request, svc.show, project_id, with_usage=usage)
    return wire.json({"quota_set": {"id": project_id, **values}})


async def defaults(request: Request) -> Response:
    project_id = request.path_params["target"]

    def work(s: Session, ctx: Context) -> dict[str, int]:
        svc.show(s, ctx, project_id)  # the same policy as reading the project's quotas
        return svc.defaults(s)

    return wire.json({"quota_set": {"id": project_id, **await wire.call(request, work)}})


async def limits(request: Request) -> Response:
    # From 3.39 an admin may ask for another project's limits.
    asked = request.query_params.get("project_id") if common.at_least(request, 3, 39) else None

    def work(s: Session, ctx: Context) -> dict[str, Any]:
        project = ctx.project_id or common.url_project(request)
        if asked and ctx.is_admin:
            project = asked
        allowed, used = svc.limits(s, project), svc.usage(s, project)
        absolute = {name: allowed[key] for name, key in _LIMITS.items()}
        absolute.update({name: used[key] for name, key in _USED.items()})
        return absolute

    absolute = await wire.call(request, work)
    return wire.json({"limits": {"rate": [], "absolute": absolute}})


ROUTES = [
    Route("/os-quota-sets/{target}", quota_set, methods=["GET", "PUT", "DELETE"]),
    Route("/os-quota-sets/{target}/defaults", defaults, methods=["GET"]),
    Route("/limits", limits, methods=["GET"]),
]
