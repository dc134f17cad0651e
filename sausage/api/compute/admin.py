"""Admin views of the compute hosts: os-hypervisors and os-services (disable a host and the
scheduler avoids it)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.compute import common
from sausage.services.compute import hypervisors as compute_hosts
from sausage.services.compute import paging
from sausage.services.hosts import registry

__all__ = ["ROUTES"]


def _hypervisor(h: Any, detail: bool, numeric: int, cpu_info_object: bool = False
                ) -> dict[str, Any]:
    state = "up" if registry.is_alive(h) else "down"
    body: dict[str, Any] = {"id": numeric, "hypervisor_hostname": h.name,
                            "state": state, "status": "enabled" if h.enabled else "disabled"}
    if detail:
        body.update({
            "vcpus": h.vcpus, "memory_mb": h.memory_mb, "local_gb": h.disk_gb,
            "vcpus_used": h.used_vcpus, "memory_mb_used": h.used_memory_mb,
            "local_gb_used": h.used_disk_gb, "free_ram_mb": h.memory_mb - h.used_memory_mb,
            "free_disk_gb": h.disk_gb - h.used_disk_gb, "hypervisor_type": "QEMU",
            "hypervisor_version": 7002000, "current_workload": 0, "running_vms": 0,
            "disk_available_least": h.disk_gb - h.used_disk_gb, "host_ip": "127.0.0.1",
            "cpu_info": {} if cpu_info_object else "{}", "service": {"host": h.name, "id": numeric,
                                          "disabled_reason": h.disabled_reason}})
    return body


async def hypervisors(request: Request) -> Response:
    detail = request.url.path.endswith("/detail")
    rows = await wire.call(request, compute_hosts.list_hosts)
    items = [_hypervisor(h, detail, i + 1, common.at_least(request, 2, 28))
             for i, h in enumerate(rows)]
    if common.at_least(request, 2, 33):
        items = paging.page(items, request.query_params, lambda x: str(x["id"]))
    return wire.json({"hypervisors": items})


async def hypervisor(request: Request) -> Response:
    rows = await wire.call(request, compute_hosts.list_hosts)
    wanted = request.path_params["id"]
    for i, h in enumerate(rows):
        if str(i + 1) == wanted or h.id == wanted:
            return wire.json({"hypervisor": _hypervisor(h, True, i + 1,
                                                        common.at_least(request, 2, 28))})
    raise errors.NotFound(f"Hypervisor with ID {wanted} could not be found.")


async def statistics(request: Request) -> Response:
    rows = await wire.call(request, compute_hosts.list_hosts)
    keys = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used",
            "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
            "disk_available_least")
    total = {k: 0 for k in keys}
    for i, h in enumerate(rows):
        for k, v in _hypervisor(h, True, i + 1).items():
            if k in total:
                total[k] += int(v)
    return wire.json({"hypervisor_statistics": {"count": len(rows), **total}})


def _service(h: Any, numeric: int) -> dict[str, Any]:
    return {"id": numeric, "binary": "nova-compute", "host": h.name,
            "zone": h.availability_zone, "status": "enabled" if h.enabled else "disabled",
            "state": "up" if registry.is_alive(h) else "down",
            "updated_at": common.iso(h.last_seen), "disabled_reason": h.disabled_reason,
            "forced_down": h.forced_down}


async def services(request: Request) -> Response:
    rows = await wire.call(request, compute_hosts.list_hosts)
    host = request.query_params.get("host")
    binary = request.query_params.get("binary")
    items = [_service(h, i + 1) for i, h in enumerate(rows)
             if (host is None or h.name == host) and binary in (None, "nova-compute")]
    if not common.at_least(request, 2, 11):
        for item in items:
            item.pop("forced_down")
    return wire.json({"services": items})


async def service_toggle(request: Request) -> Response:
    """Legacy PUT /os-services/{enable|disable|disable-log-reason} with host and binary."""
    action = request.path_params["action"]
    if action not in ("enable", "disable", "disable-log-reason"):
        raise errors.NotFound("Unknown service action.")
    body = await common.json_body(request)
    name, reason = body.get("host"), body.get("disabled_reason")
    if not isinstance(name, str):
        raise errors.BadRequest("Invalid input for field/attribute host.")

    row = await wire.call(request, compute_hosts.set_enabled, name, action == "enable", reason)
    out: dict[str, Any] = {"host": row.name, "binary": "nova-compute",
                           "status": "enabled" if row.enabled else "disabled"}
    if action == "disable-log-reason":
        out["disabled_reason"] = reason
    return wire.json({"service": out})


ROUTES = [
    Route("/os-hypervisors", hypervisors, methods=["GET", "HEAD"]),
    Route("/os-hypervisors/detail", hypervisors, methods=["GET", "HEAD"]),
    Route("/os-hypervisors/statistics", statistics, methods=["GET", "HEAD"]),
    Route("/os-hypervisors/{id}", hypervisor, methods=["GET", "HEAD"]),
    Route("/os-services", services, methods=["GET", "HEAD"]),
    Route("/os-services/{action}", service_toggle, methods=["PUT"]),
]
