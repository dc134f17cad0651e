"""``/volumes``: create, list (brief, detail, summary), show, update, delete, and the volume's
metadata (``/volumes/{id}/metadata[/{key}]``), shaped per microversion as Cinder v3 does.

Domain rules are in ``services/volume/volumes.py``; this module parses, validates the body's
shape and renders. The actions (``/volumes/{id}/action``) are in ``volume_actions``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sausage import errors
from sausage.api import wire
from sausage.api.volume import common
from sausage.services.context import Context
from sausage.services.volume import listing
from sausage.services.volume import volumes as svc

__all__ = ["ROUTES", "render", "parse_size"]


# --- rendering ------------------------------------------------------------------------------------


def _attachments(view: svc.VolumeView, is_admin: bool) -> list[dict[str, Any]]:
    # Cinder shows the compute host's name to admins (and services) only.
    return [{"id": view.volume.id, "attachment_id": a.id, "volume_id": view.volume.id,
             "server_id": a.instance_uuid, "host_name": a.attached_host if is_admin else None,
             "device": a.mountpoint, "attached_at": common.iso(a.attach_time)}
            for a in view.attachments]


def render(request: Request, view: svc.VolumeView, is_admin: bool, full: bool = True
           ) -> dict[str, Any]:
    """The volume body Cinder shows for ``GET /volumes/{id}`` (``full``) or returns from
    create and update (without the extension attributes)."""
    v = view.volume
    metadata = dict(view.metadata)
    if full:
        # Cinder shows its admin metadata (the read-only flag, the attach mode) in here.
        metadata["readonly"] = str(v.readonly)
        if v.attach_status == "attached":
            metadata["attached_mode"] = "ro" if v.readonly else "rw"
    body: dict[str, Any] = {
        "id": v.id, "name": v.name, "description": v.description, "size": v.size,
        "status": v.status, "availability_zone": v.availability_zone,
        "created_at": common.iso(v.created_at), "updated_at": common.iso(v.updated_at),
        "attachments": _attachments(view, is_admin), "bootable": "true" if v.bootable else "false",
        "encrypted": False, "links": common.links(request, "volumes", v.id),
        "metadata": metadata, "multiattach": v.multiattach, "replication_status": "disabled",
        "snapshot_id": v.snapshot_id, "source_volid": v.source_volid,
        "consistencygroup_id": None, "user_id": v.user_id, "volume_type": view.type_name,
    }
    if is_admin:
        body["migration_status"] = None
    if common.at_least(request, 3, 13):
        body["group_id"] = None
    if common.at_least(request, 3, 21) and is_admin:
        body["provider_id"] = None
    if common.at_least(request, 3, 48):
        # The file backend exports no target shared between volumes; the volume service
        # Cinder names is, for us, the volume host.
        body["shared_targets"] = False
        body["service_uuid"] = v.host_id
    if common.at_least(request, 3, 61) and is_admin:
        body["cluster_name"] = None  # no Active/Active clusters here
    if common.at_least(request, 3, 63):
        body["volume_type_id"] = v.volume_type_id
    # 3.64's encryption_key_id is shown only for encrypted volumes, and none is.
    if common.at_least(request, 3, 65):
        body["consumes_quota"] = True  # every volume counts (no temporary ones)
    if full:
        body["os-vol-tenant-attr:tenant_id"] = v.project_id
        if v.image_metadata:
            body["volume_image_metadata"] = dict(v.image_metadata)
        if is_admin:
            body["os-vol-host-attr:host"] = (
                f"{view.host_name}@{v.backend}#{v.backend}" if view.host_name else None)
            body["os-vol-mig-status-attr:migstat"] = None
            body["os-vol-mig-status-attr:name_id"] = None
    return body


def _brief(request: Request, view: svc.VolumeView) -> dict[str, Any]:
    return {"id": view.volume.id, "name": view.volume.name,
            "links": common.links(request, "volumes", view.volume.id)}


# --- parsing --------------------------------------------------------------------------------------


def parse_size(value: Any, field: str = "size") -> int:
    """A size in GiB as Cinder's schema takes it: a positive integer, or its digits."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                                f"{value!r} must be an integer greater than 0.")
    return value


def _optional_str(body: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise errors.BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. "
                                    f"{value!r} is not of type 'string', 'null'")
        return value
    return None


# The keys of Cinder's create schema (``volume``'s properties), and the microversion that
# added each later one; from 3.53 any other key is refused.
CREATE_KEYS = {key: (3, 0) for key in (
    "name", "description", "display_name", "display_description", "volume_type", "metadata",
    "snapshot_id", "source_volid", "consistencygroup_id", "size", "availability_zone",
    "multiattach", "image_id", "imageRef")}
CREATE_KEYS.update({"group_id": (3, 13), "backup_id": (3, 47)})


def _additional(keys: list[str]) -> errors.BadRequest:
    return errors.BadRequest(f"Additional properties are not allowed "
                             f"({', '.join(sorted(map(repr, keys)))} was unexpected)")


def _create_args(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    extra = set(body) - {"volume", "OS-SCH-HNT:scheduler_hints"}
    if extra:
        raise _additional(list(extra))
    volume = body.get("volume")
    if not isinstance(volume, dict):
        raise errors.BadRequest("Missing required element 'volume' in request body.")
    known = {k for k, since in CREATE_KEYS.items() if common.at_least(request, *since)}
    unknown = [k for k in volume if k not in known]
    if unknown and common.at_least(request, 3, 53):
        raise _additional(unknown)
    volume = {k: v for k, v in volume.items() if k in known}  # before 3.53 Cinder ignores them
    if "multiattach" in volume and volume["multiattach"] is not None and svc.parse_bool(
            volume["multiattach"], "multiattach"):
        raise errors.BadRequest("Invalid input received: multiattach volumes are not "
                                "supported by this cloud's volume backends.")
    for key in ("consistencygroup_id", "group_id", "backup_id"):
        if volume.get(key) is not None:
            raise errors.BadRequest(f"Invalid input received: {key} is not supported.")
    size = volume.get("size")
    return {
        "size": None if size is None else parse_size(size),
        "name": _optional_str(volume, "name", "display_name"),
        "description": _optional_str(volume, "description", "display_description"),
        "image_id": _optional_str(volume, "imageRef", "image_id") or None,
        "snapshot_id": _optional_str(volume, "snapshot_id"),
        "source_volid": _optional_str(volume, "source_volid"),
        "volume_type": _optional_str(volume, "volume_type") or None,
        "availability_zone": _optional_str(volume, "availability_zone") or None,
        "metadata": svc.check_metadata(volume.get("metadata")),
        "nova_images": common.at_least(request, 3, 46),
    }


# --- handlers -------------------------------------------------------------------------------------


async def collection(request: Request) -> Response:
    if request.method == "POST":
        args = _create_args(request, await common.json_body(request))

        def create(s: Session, ctx: Context) -> tuple[svc.VolumeView, bool]:
            row = svc.make(s, ctx, **args)
            return svc.views(s, [row])[0], ctx.is_admin

        view, admin = await wire.call(request, create)
        return wire.json({"volume": render(request, view, admin, full=False)}, 202)
    detail = request.url.path.endswith("/detail")
    filters = list_filters(request)
    with_count = common.with_count(request, filters)

    def page(s: Session, ctx: Context) -> tuple[list[svc.VolumeView], bool, bool, int | None]:
        views, more = listing.list_volumes(s, ctx, filters)
        total = listing.count(s, ctx, filters) if with_count else None
        return views, more, ctx.is_admin, total

    views, more, admin, total = await wire.call(request, page)
    items = [render(request, v, admin) if detail else _brief(request, v) for v in views]
    body = common.paged(request, "volumes", items, more,
                        "volumes/detail" if detail else "volumes")
    if total is not None:
        body["count"] = total
    return wire.json(body)


# Filters that came with a microversion: below it Cinder drops them from the query.
_VERSIONED_FILTERS = {"created_at": (3, 60), "updated_at": (3, 60), "consumes_quota": (3, 65)}


def list_filters(request: Request) -> dict[str, str]:
    filters = wire.filters(request)
    for name, since in _VERSIONED_FILTERS.items():
        if not common.at_least(request, *since):
            filters.pop(name, None)
    return filters


async def summary(request: Request) -> Response:
    common.require_version(request, 3, 12)
    filters = list_filters(request)
    filters.pop("with_count", None)
    count, total, metadata = await wire.call(request, listing.summary, filters)
    body: dict[str, Any] = {"total_size": total, "total_count": count}
    if common.at_least(request, 3, 36):
        body["metadata"] = metadata
    return wire.json({"volume-summary": body})


UPDATABLE = ("name", "description", "display_name", "display_description", "metadata")


async def member(request: Request) -> Response:
    volume_id = request.path_params["id"]
    if request.method == "DELETE":
        query = request.query_params
        cascade = svc.parse_bool(query.get("cascade", "false"), "cascade")
        force = (common.at_least(request, 3, 23)
                 and svc.parse_bool(query.get("force", "false"), "force"))
        await wire.call(request, svc.delete, volume_id, cascade=cascade, force=force)
        return wire.empty(202)
    if request.method == "PUT":
        values = await common.entity(request, "volume")
        extra = [k for k in values if k not in UPDATABLE]
        if extra:
            raise _additional(extra)
        if not values and common.at_least(request, 3, 53):
            raise errors.BadRequest("Invalid input for field/attribute volume. Value: {}. {} "
                                    "is not valid under any of the given schemas")

        def change(s: Session, ctx: Context) -> tuple[svc.VolumeView, bool]:
            row = svc.update(s, ctx, volume_id, values)
            return svc.views(s, [row])[0], ctx.is_admin

        view, admin = await wire.call(request, change)
        return wire.json({"volume": render(request, view, admin, full=False)})

    def show(s: Session, ctx: Context) -> tuple[svc.VolumeView, bool]:
        return svc.views(s, [svc.get(s, ctx, volume_id)])[0], ctx.is_admin

    view, admin = await wire.call(request, show)
    return wire.json({"volume": render(request, view, admin)})


async def metadata(request: Request) -> Response:
    volume_id = request.path_params["id"]
    if request.method == "GET":
        def read(s: Session, ctx: Context) -> dict[str, str]:
            return svc.metadata_of(s, [svc.get(s, ctx, volume_id).id])[volume_id]

        return wire.json({"metadata": await wire.call(request, read)})
    values = (await common.entity(request, "metadata"))
    merged = await wire.call(request, svc.set_metadata, volume_id, values,
                             replace=request.method == "PUT")
    return wire.json({"metadata": merged})


async def metadata_item(request: Request) -> Response:
    volume_id, key = request.path_params["id"], request.path_params["key"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete_metadata_item, volume_id, key)
        return wire.empty(200)
    if request.method == "PUT":
        meta = await common.entity(request, "meta")
        if key not in meta:
            raise errors.BadRequest("Request body and URI mismatch")
        if len(meta) > 1:
            raise errors.BadRequest("Request body contains too many items")

        merged = await wire.call(request, svc.set_metadata, volume_id, {key: meta[key]},
                                 replace=False)
        return wire.json({"meta": {key: merged[key]}})

    def read(s: Session, ctx: Context) -> dict[str, str]:
        values = svc.metadata_of(s, [svc.get(s, ctx, volume_id).id])[volume_id]
        if key not in values:
            raise errors.NotFound("Metadata item was not found")
        return {key: values[key]}

    return wire.json({"meta": await wire.call(request, read)})


async def no_id(request: Request) -> Response:
    """``/volumes/`` names no volume: 404, as Cinder answers (not the list)."""
    raise errors.NotFound("Volume  could not be found.")


ROUTES: list[BaseRoute] = [
    Route("/volumes", collection, methods=["GET", "POST"]),
    Route("/volumes/", no_id, methods=["GET", "PUT", "DELETE", "POST"]),
    Route("/volumes/detail", collection, methods=["GET"]),
    Route("/volumes/summary", summary, methods=["GET"]),
    Route("/volumes/{id}", member, methods=["GET", "PUT", "DELETE"]),
    Route("/volumes/{id}/metadata", metadata, methods=["GET", "POST", "PUT"]),
    Route("/volumes/{id}/metadata/{key}", metadata_item, methods=["GET", "PUT", "DELETE"]),
]
