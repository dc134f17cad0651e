"""Servers: create (validate, quota, schedule, claim), show, list with Nova's filters, update,
delete. The actions on a running server are in ``server_actions``.

Creating writes the desired state and returns; the host's agent builds the VM and its reports
move the server from BUILD to ACTIVE (``power``). Deleting releases the claim and hides the
server at once; the agent then removes everything it had on the host.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.compute import (block_devices, flavors, keypairs, networking, power,
                                      quotas, scheduler)
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.image import images
from sausage.services.volume import attachments

__all__ = ["create", "get", "list_servers", "update", "delete", "record_action", "visible",
           "hostname_for", "CreateRequest", "metadata_of", "tags_of", "load_for_change"]

MAX_USER_DATA = 65535


def hostname_for(name: str) -> str:
    """Nova's sanitisation of a display name into a hostname."""
    host = re.sub(r"[^\w.-]+", "-", name.lower().replace("_", "-")).strip(".-")
    return host[:63] or "server"


def visible(ctx: Context, all_tenants: bool = False) -> Any:
    if all_tenants and policy.allowed(ctx, "os_compute_api:servers:index:get_all_tenants"):
        return m.Server.id.is_not(None)
    return m.Server.project_id == ctx.project_id


def get(s: Session, ctx: Context, server_id: str) -> m.Server:
    row = s.get(m.Server, server_id)
    if row is None or row.deleted or not policy.allowed(
            ctx, "os_compute_api:servers:show", {"project_id": row.project_id}):
        raise errors.NotFound(f"Instance {server_id} could not be found.")
    return row


def load_for_change(s: Session, ctx: Context, server_id: str) -> m.Server:
    """The server a write is about: readers are refused, a locked server only by its locker."""
    row = get(s, ctx, server_id)
    policy.enforce(ctx, "os_compute_api:servers:update")
    if row.locked and not policy.allowed(ctx,
                                         "os_compute_api:os-lock-server:unlock:unlock_override"):
        raise errors.Conflict(f"Instance {server_id} is locked")
    return row


def metadata_of(s: Session, server_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {i: {} for i in server_ids}
    if server_ids:
        for sid, key, value in s.execute(select(
                m.ServerMetadata.server_id, m.ServerMetadata.key, m.ServerMetadata.value)
                .where(m.ServerMetadata.server_id.in_(server_ids))):
            out[sid][key] = value
    return out


def tags_of(s: Session, server_ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {i: [] for i in server_ids}
    if server_ids:
        for sid, tag in s.execute(select(m.ServerTag.server_id, m.ServerTag.tag)
                                  .where(m.ServerTag.server_id.in_(server_ids))
                                  .order_by(m.ServerTag.tag)):
            out[sid].append(tag)
    return out


def record_action(s: Session, ctx: Context, server: m.Server, action: str,
                  event: str | None = None, host: str | None = None, done: bool = False) -> None:
    """An os-instance-actions record (and its event) for ``action`` on ``server``."""
    now = utcnow()
    row = m.InstanceAction(server_id=server.id, request_id=ctx.request_id or "req-none",
                           action=action, project_id=ctx.project_id or server.project_id,
                           user_id=ctx.user_id or server.user_id, start_time=now,
                           finish_time=now if done else None)
    s.add(row)
    s.flush()
    s.add(m.InstanceActionEvent(action_id=row.id, event=event or f"compute_{action}_instance",
                                host=host, start_time=now, finish_time=now if done else None,
                                result="Success" if done else None))


class CreateRequest(dict[str, Any]):
    """The validated ``server`` body of POST /servers (keys as Nova names them)."""


def _check_metadata(meta: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in meta.items():
        if not isinstance(key, str) or not 0 < len(key) <= 255:
            raise errors.BadRequest("Invalid metadata key: keys are 1 to 255 characters.")
        if not isinstance(value, str) or len(value) > 255:
            raise errors.BadRequest(f"Invalid metadata value for {key}: at most 255 characters.")
        out[key] = value
    return out


def _check_user_data(user_data: str | None) -> str | None:
    if user_data is None:
        return None
    if len(user_data) > MAX_USER_DATA:
        raise errors.BadRequest("User data too large. User data must be no larger than 65535 "
                                "bytes once base64 encoded.")
    try:
        base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError) as e:
        raise errors.BadRequest("User data needs to be valid base 64.") from e
    return user_data


def _ip(value: str | None, version: int) -> str:
    """An access IP as Nova stores it: validated and normalised (IPv6 compressed)."""
    if not value:
        return ""
    try:
        address = ipaddress.ip_address(value)
    except ValueError as e:
        raise errors.BadRequest(f"{value} is not a valid IP address.") from e
    if address.version != version:
        raise errors.BadRequest(f"{value} is not an IPv{version} address.")
    return str(address)


def _zone(s: Session, ctx: Context, requested: str | None) -> tuple[str | None, str | None]:
    if not requested:
        return None, None
    zone, _, host = requested.partition(":")
    if host:
        policy.enforce(ctx, "os_compute_api:servers:create:forced_host")
    known = set(s.scalars(select(m.Host.availability_zone)))
    if zone and zone not in known:
        raise errors.BadRequest(f"The requested availability zone is not available")
    return zone or None, host or None


def create(s: Session, ctx: Context, req: Mapping[str, Any]) -> list[m.Server]:
    """POST /servers: validate everything first, then write; raises before any write."""
    policy.enforce(ctx, "os_compute_api:servers:create")
    assert ctx.project_id is not None  # the rule wants a project-scoped token
    flavor = flavors.usable(s, ctx, str(req["flavorRef"]))
    min_count = int(req.get("min_count", 1))
    max_count = int(req.get("max_count", min_count))
    if not req.get("imageRef") and not req.get("block_device_mapping_v2") \
            and not req.get("block_device_mapping"):
        raise errors.BadRequest("Missing imageRef attribute")
    devices = block_devices.plan(s, ctx, req, max(max_count, 1))
    root_gb = 0 if devices.volume_backed else flavor.disk
    boot_images = [devices.image_id] if devices.image_id else [
        b.uuid for b in devices.volumes[:1] if b.source == "image" and b.uuid]
    for boot_image in boot_images:
        image = images.get(s, ctx, boot_image).image
        if flavor.ram < (image.min_ram or 0):
            raise errors.BadRequest("Flavor's memory is too small for requested image.")
        if devices.image_id and flavor.disk and flavor.disk < (image.min_disk or 0):
            raise errors.BadRequest("Flavor's disk is too small for requested image.")
    key = None
    if req.get("key_name"):
        try:
            key = keypairs.get(s, ctx, req["key_name"])
        except errors.NotFound as e:
            raise errors.BadRequest(f"Invalid key_name provided.") from e
    meta = _check_metadata(req.get("metadata") or {})
    limits = quotas.limits(s, ctx.project_id)
    if 0 <= limits["metadata_items"] < len(meta):
        raise errors.QuotaExceeded("Quota exceeded for metadata_items: too many metadata items.")
    user_data = _check_user_data(req.get("user_data"))
    zone, forced_host = _zone(s, ctx, req.get("availability_zone"))
    group_id = (req.get("os:scheduler_hints") or {}).get("group")
    if group_id is not None:
        group = s.get(m.ServerGroup, group_id)
        if group is None or not policy.allowed(ctx, "os_compute_api:os-server-groups:show",
                                               {"project_id": group.project_id}):
            raise errors.BadRequest(f"Invalid server group {group_id}.")
    if min_count < 1 or max_count < min_count:
        raise errors.BadRequest("min_count must be at least 1 and at most max_count.")
    quotas.check(s, ctx.project_id, {"instances": max_count, "cores": max_count * flavor.vcpus,
                                     "ram": max_count * flavor.ram})
    wanted_nets = networking.plan(s, ctx, req.get("networks"), req.get("security_groups"),
                                  max_count)
    reservation = "r-" + secrets.token_hex(4)
    extra_specs = dict(s.execute(select(m.FlavorExtraSpec.key, m.FlavorExtraSpec.value).where(
        m.FlavorExtraSpec.flavor_id == flavor.id)).tuples().all())
    flavor_doc = {"id": flavor.id, "name": flavor.name, "vcpus": flavor.vcpus,
                  "ram": flavor.ram, "disk": flavor.disk, "ephemeral": flavor.ephemeral,
                  "swap": flavor.swap, "extra_specs": extra_specs}
    created: list[m.Server] = []
    for index in range(max_count):
        name = req["name"] if max_count == 1 else f"{req['name']}-{index + 1}"
        srv = m.Server(
            id=str(uuid.uuid4()), name=name, hostname=hostname_for(name),
            description=req.get("description"), project_id=ctx.project_id,
            user_id=ctx.user_id, flavor_id=flavor.id, flavor=flavor_doc, old_flavor=None,
            vcpus=flavor.vcpus, memory_mb=flavor.ram, root_gb=root_gb,
            image_id=devices.image_id, key_name=key.name if key else None,
            key_data=key.public_key if key else None, user_data=user_data,
            config_drive="True" if req.get("config_drive") else "",
            access_ipv4=_ip(req.get("accessIPv4"), 4), access_ipv6=_ip(req.get("accessIPv6"), 6),
            reservation_id=reservation, launch_index=index, power="running", power_seq=1,
            vm_state="building", task_state="scheduling", observed={}, fault=None,
            requested_zone=zone)
        s.add(srv)
        s.flush()
        for k, v in meta.items():
            s.add(m.ServerMetadata(server_id=srv.id, key=k, value=v))
        for tag in req.get("tags") or []:
            s.add(m.ServerTag(server_id=srv.id, tag=tag))
        if group_id is not None:
            s.add(m.ServerGroupMember(group_id=group_id, server_id=srv.id))
            s.flush()
        record_action(s, ctx, srv, "create", "compute__do_build_and_run_instance")
        try:
            host = block_devices.schedule(s, scheduler.Request(
                flavor.vcpus, flavor.ram, root_gb, zone, forced_host, group_id), devices)
        except scheduler.NoValidHost as e:
            if devices.pinned_host is not None:
                raise errors.Conflict(
                    "The server's volumes are held by the 'file' backend of a host that cannot "
                    "take it (full, down, disabled or outside the requested zone): a server "
                    "can only use volumes of its own host.") from e
            srv.vm_state, srv.task_state = "error", None
            srv.fault = {"code": 500, "message": e.message, "created": utcnow().isoformat(),
                         "details": "Scheduling failed: no host has room for this flavor."}
            power.finish_action(s, srv, "Error", e.message)
        else:
            srv.host_id, srv.availability_zone = host.id, host.availability_zone
            srv.task_state = "spawning"
            networking.attach(s, srv, host.name, wanted_nets)
            block_devices.realize(s, ctx, srv, devices)
            changes.changed(s, [host.id])
        created.append(srv)
    return created


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _parse_time(value: str, name: str) -> datetime.datetime:
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise errors.BadRequest(f"Invalid filter field: {name}.") from e
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


SORT_KEYS: dict[str, Any] = {"created_at": m.Server.created_at, "updated_at": m.Server.updated_at,
             "display_name": m.Server.name, "uuid": m.Server.id, "vm_state": m.Server.vm_state,
             "launched_at": m.Server.launched_at, "host": m.Server.host_id,
             "availability_zone": m.Server.availability_zone,
             "project_id": m.Server.project_id, "user_id": m.Server.user_id}
STATUS_FILTERS = {"ACTIVE": ("active", None), "BUILD": ("building", None),
                  "SHUTOFF": ("stopped", None), "PAUSED": ("paused", None),
                  "SUSPENDED": ("suspended", None), "ERROR": ("error", None),
                  "VERIFY_RESIZE": ("resized", None), "DELETED": ("deleted", None)}


def list_servers(s: Session, ctx: Context, filters: Mapping[str, str],
                 tag_filters: Mapping[str, list[str]] | None = None) -> list[m.Server]:
    """GET /servers[/detail] with Nova's filters, sorting and limit/marker paging."""
    all_tenants = filters.get("all_tenants", filters.get("all_projects", "0")).lower() not in (
        "0", "false", "off", "no")
    if "all_tenants" in filters and filters["all_tenants"] == "":
        all_tenants = True
    query = select(m.Server).where(visible(ctx, all_tenants))
    if all_tenants and policy.allowed(ctx, "os_compute_api:servers:index:get_all_tenants"):
        for name in ("project_id", "tenant_id"):
            if name in filters:
                query = query.where(m.Server.project_id == filters[name])
        if "user_id" in filters:
            query = query.where(m.Server.user_id == filters["user_id"])
    if "changes-since" in filters:
        query = query.where(m.Server.updated_at >= _parse_time(filters["changes-since"],
                                                               "changes-since"))
    elif filters.get("deleted", "").lower() in ("true", "1") and policy.allowed(
            ctx, "os_compute_api:servers:allow_all_filters"):
        query = query.where(m.Server.deleted.is_(True))
    else:
        query = query.where(m.Server.deleted.is_(False))
    if "changes-before" in filters:
        query = query.where(m.Server.updated_at <= _parse_time(filters["changes-before"],
                                                               "changes-before"))
    if "name" in filters:
        try:
            re.compile(filters["name"])
        except re.error as e:
            raise errors.BadRequest("Invalid regular expression for name.") from e
        query = query.where(m.Server.name.regexp_match(filters["name"]))
    if "status" in filters:
        wanted = filters["status"].upper()
        if wanted not in STATUS_FILTERS and wanted not in ("REBOOT", "HARD_REBOOT", "REBUILD",
                                                            "RESIZE", "REVERT_RESIZE"):
            return []
        if wanted in STATUS_FILTERS:
            query = query.where(m.Server.vm_state == STATUS_FILTERS[wanted][0])
        else:
            tasks = {"REBOOT": ("rebooting",), "HARD_REBOOT": ("rebooting_hard",),
                     "REBUILD": ("rebuilding",), "RESIZE": ("resize_prep",),
                     "REVERT_RESIZE": ("resize_reverting",)}[wanted]
            query = query.where(m.Server.task_state.in_(tasks))
    for name, column in (("image", m.Server.image_id), ("flavor", m.Server.flavor_id),
                         ("reservation_id", m.Server.reservation_id),
                         ("availability_zone", m.Server.availability_zone),
                         ("key_name", m.Server.key_name)):
        if name in filters:
            query = query.where(column == filters[name])
    for name in ("ip", "ip6"):
        if name in filters:
            # Nova matches the pattern against the servers' fixed addresses.
            query = query.where(m.Server.id.in_(networking.servers_with_ip(
                filters[name], 6 if name == "ip6" else 4)))
    if "host" in filters:
        policy.enforce(ctx, "os_compute_api:servers:allow_all_filters")
        query = query.where(m.Server.host_id.in_(
            select(m.Host.id).where(m.Host.name == filters["host"])))
    tags = tag_filters or {}
    for tag in tags.get("tags", []):
        query = query.where(exists().where(m.ServerTag.server_id == m.Server.id,
                                           m.ServerTag.tag == tag))
    if tags.get("tags-any"):
        query = query.where(exists().where(m.ServerTag.server_id == m.Server.id,
                                           m.ServerTag.tag.in_(tags["tags-any"])))
    if tags.get("not-tags"):
        query = query.where(~and_(*[exists().where(m.ServerTag.server_id == m.Server.id,
                                                   m.ServerTag.tag == t)
                                    for t in tags["not-tags"]]))
    if tags.get("not-tags-any"):
        query = query.where(~exists().where(m.ServerTag.server_id == m.Server.id,
                                            m.ServerTag.tag.in_(tags["not-tags-any"])))
    sort_key = filters.get("sort_key", "created_at")
    if sort_key not in SORT_KEYS:
        raise errors.BadRequest(f"Invalid sort_key {sort_key}")
    direction = filters.get("sort_dir", "desc")
    if direction not in ("asc", "desc"):
        raise errors.BadRequest(f"Invalid sort_dir {direction}")
    column = SORT_KEYS[sort_key]
    order = [column.asc() if direction == "asc" else column.desc(),
             m.Server.id.asc() if direction == "asc" else m.Server.id.desc()]
    if "marker" in filters:
        marker = s.get(m.Server, filters["marker"])
        if marker is None:
            raise errors.BadRequest(f"marker [{filters['marker']}] not found")
        value = getattr(marker, column.key)
        after = (column > value) if direction == "asc" else (column < value)
        same = and_(column == value, (m.Server.id > marker.id) if direction == "asc"
                    else (m.Server.id < marker.id))
        query = query.where(or_(after, same))
    if "limit" in filters:
        try:
            limit = int(filters["limit"])
        except ValueError as e:
            raise errors.BadRequest("limit must be an integer") from e
        if limit < 0:
            raise errors.BadRequest("limit must be >= 0")
        query = query.limit(min(limit, 1000))
    else:
        query = query.limit(1000)
    return list(s.scalars(query.order_by(*order)))


def update(s: Session, ctx: Context, server_id: str, values: Mapping[str, Any]) -> m.Server:
    row = load_for_change(s, ctx, server_id)
    if "name" in values:
        row.name = values["name"]
        changes.changed(s, [row.host_id])  # the name is in its host's document
    if "description" in values:
        row.description = values["description"]
    for wire_name, attr, version in (("accessIPv4", "access_ipv4", 4),
                                     ("accessIPv6", "access_ipv6", 6)):
        if wire_name in values:
            setattr(row, attr, _ip(values[wire_name], version))
    row.updated_at = utcnow()
    return row


def delete(s: Session, ctx: Context, server_id: str, force: bool = False) -> None:
    """Delete: hide it, free its quota and host claim; the agent removes it from the host."""
    row = load_for_change(s, ctx, server_id)
    record_action(s, ctx, row, "delete", "compute_terminate_instance", done=True)
    scheduler.release(s, row.host_id, row.vcpus, row.memory_mb, row.root_gb)
    old = row.old_flavor
    if old is not None:
        scheduler.release(s, row.host_id, max(0, old["vcpus"] - row.vcpus),
                          max(0, old["ram"] - row.memory_mb), max(0, old["disk"] - row.root_gb))
    row.deleted, row.vm_state, row.task_state = True, "deleted", None
    row.terminated_at = row.updated_at = utcnow()
    s.execute(sql_delete(m.ServerGroupMember).where(m.ServerGroupMember.server_id == row.id))
    networking.release(s, row)
    attachments.release_server(s, row)
    changes.changed(s, [row.host_id])
