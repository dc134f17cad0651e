"""Servers → Nova's JSON, shaped exactly for the negotiated microversion (2.1 … 2.37).

Tempest validates these against schemas that forbid extra keys, so every attribute added by a
microversion appears only from that version on.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request

from sausage.api.compute import common
from sausage.services.compute import power

__all__ = ["server", "server_brief", "created", "ServerContext", "plain_addresses"]


class ServerContext:
    """What rendering needs besides the row: metadata, tags, host names, who is asking."""

    def __init__(self, metadata: dict[str, dict[str, str]], tags: dict[str, list[str]],
                 host_names: dict[str, str], host_status: dict[str, str], is_admin: bool,
                 image_meta: dict[str, dict[str, Any]] | None = None,
                 addresses: dict[str, dict[str, list[dict[str, Any]]]] | None = None,
                 security_groups: dict[str, list[str]] | None = None,
                 volumes: dict[str, list[tuple[str, bool]]] | None = None) -> None:
        self.metadata, self.tags, self.host_names = metadata, tags, host_names
        self.host_status, self.is_admin = host_status, is_admin
        self.image_meta = image_meta or {}
        self.addresses = addresses or {}
        self.security_groups = security_groups or {}
        # server id → its volumes (id, delete_on_termination), in attach order
        self.volumes = volumes or {}


def _host_id(row: Any, host_name: str | None) -> str:
    if not host_name:
        return ""
    return hashlib.sha224((row.project_id + host_name).encode()).hexdigest()


def server_brief(request: Request, row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "links": common.links(request, "servers", row.id)}


def server(request: Request, row: Any, ctx: ServerContext) -> dict[str, Any]:
    status = power.status(row)
    host_name = ctx.host_names.get(row.host_id or "")
    body: dict[str, Any] = {
        "id": row.id, "name": row.name, "status": status, "tenant_id": row.project_id,
        "user_id": row.user_id, "metadata": ctx.metadata.get(row.id, {}),
        "hostId": _host_id(row, host_name),
        "image": common.link(request, "images", row.image_id) if row.image_id else "",
        "flavor": common.link(request, "flavors", row.flavor_id),
        "created": common.iso(row.created_at), "updated": common.iso(row.updated_at),
        "addresses": ctx.addresses.get(row.id, {}), "accessIPv4": row.access_ipv4, "accessIPv6": row.access_ipv6,
        "links": common.links(request, "servers", row.id), "OS-DCF:diskConfig": "MANUAL",
        "key_name": row.key_name, "config_drive": row.config_drive,
        "OS-EXT-AZ:availability_zone": row.availability_zone or "",
        "OS-EXT-STS:vm_state": row.vm_state, "OS-EXT-STS:task_state": row.task_state,
        "OS-EXT-STS:power_state": row.power_state,
        "OS-SRV-USG:launched_at": _usg(row.launched_at),
        "OS-SRV-USG:terminated_at": _usg(row.terminated_at),
        "os-extended-volumes:volumes_attached": [
            {"id": volume_id} for volume_id, _ in ctx.volumes.get(row.id, [])],
    }
    groups = ctx.security_groups.get(row.id)
    if groups:
        # As Nova with Neutron: the groups of the server's ports, absent without ports.
        body["security_groups"] = [{"name": name} for name in groups]
    if status in ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE"):
        body["progress"] = row.progress if status != "BUILD" else 0
    if status in ("ERROR", "DELETED") and row.fault:
        fault = {"code": int(row.fault.get("code", 500)), "message": row.fault["message"],
                 "created": str(row.fault.get("created", ""))[:19] + "Z"}
        if ctx.is_admin and row.fault.get("details"):
            fault["details"] = row.fault["details"]
        body["fault"] = fault
    if ctx.is_admin:
        body["OS-EXT-SRV-ATTR:host"] = host_name
        body["OS-EXT-SRV-ATTR:hypervisor_hostname"] = host_name
        body["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{row.id[:8]}"
    if common.at_least(request, 2, 3) and ctx.is_admin:
        body.update({
            "OS-EXT-SRV-ATTR:reservation_id": row.reservation_id,
            "OS-EXT-SRV-ATTR:launch_index": row.launch_index,
            "OS-EXT-SRV-ATTR:kernel_id": "", "OS-EXT-SRV-ATTR:ramdisk_id": "",
            "OS-EXT-SRV-ATTR:hostname": row.hostname,
            "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
            "OS-EXT-SRV-ATTR:user_data": row.user_data,
        })
    if common.at_least(request, 2, 3):
        body["os-extended-volumes:volumes_attached"] = [
            {"id": volume_id, "delete_on_termination": delete}
            for volume_id, delete in ctx.volumes.get(row.id, [])]
    if common.at_least(request, 2, 9):
        body["locked"] = row.locked
    if common.at_least(request, 2, 16) and ctx.is_admin and host_name:
        body["host_status"] = ctx.host_status.get(row.host_id or "", "UNKNOWN")
    if common.at_least(request, 2, 19):
        body["description"] = row.description
    if common.at_least(request, 2, 26):
        body["tags"] = ctx.tags.get(row.id, [])
    return body


def _usg(value: Any) -> str | None:
    return None if value is None else str(value.strftime("%Y-%m-%dT%H:%M:%S.%f"))


def created(request: Request, row: Any, admin_pass: str | None,
            security_groups: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": row.id, "links": common.links(request, "servers", row.id),
                            "OS-DCF:diskConfig": "MANUAL",
                            "security_groups": [{"name": name}
                                                for name in security_groups or ["default"]]}
    if admin_pass is not None:
        body["adminPass"] = admin_pass
    return body


def plain_addresses(body: dict[str, Any]) -> None:
    """Addresses without the OS-EXT-IPS keys, as Nova shows them in update and rebuild
    responses (their schemas forbid the extended keys)."""
    body["addresses"] = {label: [{"version": a["version"], "addr": a["addr"]} for a in entries]
                         for label, entries in body.get("addresses", {}).items()}
