"""Per-project views: os-quota-sets, limits, os-availability-zone, os-simple-tenant-usage."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.compute import common
from sausage.services.compute import hypervisors, quotas, usage
from sausage.services.context import Context
from sausage.services.hosts import registry

__all__ = ["ROUTES"]

# Networking quotas Nova still shows below 2.36; they are unlimited here.
NETWORK_QUOTAS = {"floating_ips": -1, "fixed_ips": -1, "security_groups": -1,
                  "security_group_rules": -1}


def _quota_set(request: Request, limits: dict[str, int]) -> dict[str, int]:
    if common.at_least(request, 2, 36):
        return dict(limits)
    return {**limits, **NETWORK_QUOTAS}


async def quota_set(request: Request) -> Response:
    project_id = request.path_params["project_id"]
    if request.method == "PUT":
        body = await common.json_body(request)
        values = body.get("quota_set")
        if not isinstance(values, dict):
            raise errors.BadRequest("Invalid input for field/attribute quota_set.")
        values = {k: v for k, v in values.items() if k not in ("force", *NETWORK_QUOTAS)}
        try:
            clean = {k: int(v) for k, v in values.items()}
        except (TypeError, ValueError) as e:
            raise errors.BadRequest("Quota limits must be integers.") from e

        def update(s: Session, ctx: Context) -> dict[str, int]:
            quotas.update(s, ctx, project_id, clean)
            return quotas.limits(s, project_id)

        return wire.json({"quota_set": _quota_set(request, await wire.call(request, update))})
    if request.method == "DELETE":
        await wire.call(request, quotas.reset, project_id)
        return wire.empty(202)
    detail = request.url.path.endswith("/detail")

    limits, used = await wire.call(request, quotas.show, project_id)
    shown: dict[str, Any] = {"id": project_id}
    for key, limit in _quota_set(request, limits).items():
        shown[key] = ({"limit": limit, "in_use": used.get(key, 0), "reserved": 0}
                      if detail else limit)
    return wire.json({"quota_set": shown})


async def quota_defaults(request: Request) -> Response:
    await wire.call(request, lambda s, ctx: None)
    return wire.json({"quota_set": {"id": request.path_params["project_id"],
                                    **_quota_set(request, dict(quotas.DEFAULTS))}})


async def limits(request: Request) -> Response:
    def work(s: Session, ctx: Context) -> tuple[dict[str, int], dict[str, int]]:
        project = ctx.project_id or ""
        if "tenant_id" in request.query_params and ctx.is_admin:
            project = request.query_params["tenant_id"]
        return quotas.limits(s, project), quotas.usage(s, project)

    q, used = await wire.call(request, work)
    absolute: dict[str, int] = {
        "maxTotalInstances": q["instances"], "maxTotalCores": q["cores"],
        "maxTotalRAMSize": q["ram"], "maxTotalKeypairs": q["key_pairs"],
        "maxServerMeta": q["metadata_items"], "maxImageMeta": q["metadata_items"],
        "maxPersonality": q["injected_files"],
        "maxPersonalitySize": q["injected_file_content_bytes"],
        "maxServerGroups": q["server_groups"], "maxServerGroupMembers": q["server_group_members"],
        "totalInstancesUsed": used["instances"], "totalCoresUsed": used["cores"],
        "totalRAMUsed": used["ram"], "totalServerGroupsUsed": used["server_groups"],
    }
    if not common.at_least(request, 2, 36):
        absolute.update({"maxSecurityGroups": -1, "maxSecurityGroupRules": -1,
                         "maxTotalFloatingIps": -1, "totalFloatingIpsUsed": 0,
                         "totalSecurityGroupsUsed": 0})
    return wire.json({"limits": {"rate": [], "absolute": absolute}})


async def zones(request: Request) -> Response:
    detail = request.url.path.endswith("/detail")

    rows = await wire.call(request, hypervisors.zone_hosts, detail)
    by_zone: dict[str, list[Any]] = {}
    for h in rows:
        by_zone.setdefault(h.availability_zone, []).append(h)
    info = []
    for zone, members in sorted(by_zone.items()):
        available = any(h.enabled and registry.is_alive(h) for h in members)
        entry: dict[str, Any] = {"zoneName": zone, "zoneState": {"available": available},
                                 "hosts": None}
        if detail:
            entry["hosts"] = {h.name: {"nova-compute": {
                "available": h.enabled and registry.is_alive(h), "active": h.enabled,
                "updated_at": common.iso(h.last_seen)}} for h in members}
        info.append(entry)
    return wire.json({"availabilityZoneInfo": info})


def _period(request: Request) -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.timezone.utc)

    def parse(name: str, default: datetime.datetime) -> datetime.datetime:
        raw = request.query_params.get(name)
        if not raw:
            return default
        try:
            value = datetime.datetime.fromisoformat(raw.replace("Z", ""))
        except ValueError as e:
            raise errors.BadRequest(f"Invalid {name} time: {raw}") from e
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)

    return parse("start", now - datetime.timedelta(days=30)), parse("end", now)


def _usage_body(u: dict[str, Any], detailed: bool) -> dict[str, Any]:
    def fmt(v: Any) -> Any:
        return v.strftime("%Y-%m-%dT%H:%M:%S.%f") if isinstance(v, datetime.datetime) else v

    body = {k: fmt(v) for k, v in u.items() if k != "server_usages"}
    if detailed:
        body["server_usages"] = [{k: fmt(v) for k, v in su.items()}
                                 for su in u["server_usages"]]
    return body


async def tenant_usages(request: Request) -> Response:
    start, end = _period(request)
    detailed = request.query_params.get("detailed") in ("1", "true", "True")
    rows = await wire.call(request, usage.usage, None, start, end)
    return wire.json({"tenant_usages": [_usage_body(u, detailed) for u in rows]})


async def tenant_usage(request: Request) -> Response:
    start, end = _period(request)
    rows = await wire.call(request, usage.usage, request.path_params["project_id"], start, end)
    return wire.json({"tenant_usage": _usage_body(rows[0], True) if rows else {}})


ROUTES = [
    Route("/os-quota-sets/{project_id}", quota_set, methods=["GET", "HEAD", "PUT", "DELETE"]),
    Route("/os-quota-sets/{project_id}/detail", quota_set, methods=["GET", "HEAD"]),
    Route("/os-quota-sets/{project_id}/defaults", quota_defaults, methods=["GET", "HEAD"]),
    Route("/limits", limits, methods=["GET", "HEAD"]),
    Route("/os-availability-zone", zones, methods=["GET", "HEAD"]),
    Route("/os-availability-zone/detail", zones, methods=["GET", "HEAD"]),
    Route("/os-simple-tenant-usage", tenant_usages, methods=["GET", "HEAD"]),
    Route("/os-simple-tenant-usage/{project_id}", tenant_usage, methods=["GET", "HEAD"]),
]
