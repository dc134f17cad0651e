"""``/snapshots``: create, list (summary and ``/detail``), show, update, delete, the
``/metadata`` sub-resource and the actions ``os-reset_status``, ``os-force_delete`` (admin)
and ``os-update_snapshot_status``. Domain rules live in ``services/volume/snapshots.py``.

Shapes: the summary list carries the plain snapshot; create, update, show and ``/detail`` add
from 3.14 ``group_snapshot_id``, from 3.41 ``user_id``, from 3.65 ``consumes_quota``; show and
``/detail`` add the ``os-extended-snapshot-attributes`` keys (Tempest's schemas reject any
other key). From 3.45 ``?with_count=true`` adds ``count`` to the lists.
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
from sausage.services.volume import snapshots as svc

__all__ = ["ROUTES", "render"]


def render(request: Request, view: svc.SnapshotView, *, detail: bool,
           summary: bool = False) -> dict[str, Any]:
    """The snapshot body: ``summary`` for ``GET /snapshots`` (no versioned keys), ``detail``
    for show and ``/detail`` (the extended attributes)."""
    row = view.snapshot
    body: dict[str, Any] = {
        "id": row.id, "name": row.name, "description": row.description, "status": row.status,
        "size": row.size, "volume_id": row.volume_id, "metadata": dict(view.metadata),
        "created_at": common.iso(row.created_at), "updated_at": common.iso(row.updated_at),
    }
    if detail:
        body["os-extended-snapshot-attributes:project_id"] = row.project_id
        body["os-extended-snapshot-attributes:progress"] = (
            "100%" if row.status == "available" else "0%")
    if summary:
        return body
    if common.at_least(request, 3, 14):
        body["group_snapshot_id"] = None
    if common.at_least(request, 3, 41):
        body["user_id"] = row.user_id
    if common.at_least(request, 3, 65):
        body["consumes_quota"] = True  # every snapshot counts (no temporary ones)
    return body


async def collection(request: Request) -> Response:
    if request.method == "POST":
        values = await common.entity(request, "snapshot")

        def make(s: Session, ctx: Context) -> svc.SnapshotView:
            return svc.views(s, [svc.create(s, ctx, values)])[0]

        view = await wire.call(request, make)
        return wire.json({"snapshot": render(request, view, detail=False)}, 202)
    return await _listing(request, detail=False)


async def detail(request: Request) -> Response:
    return await _listing(request, detail=True)


async def _listing(request: Request, *, detail: bool) -> Response:
    filters = dict(request.query_params)
    if not common.at_least(request, 3, 22):
        filters.pop("metadata", None)  # the metadata filter came with 3.22
    if not common.at_least(request, 3, 65):
        filters.pop("consumes_quota", None)
    with_count = common.with_count(request, filters)

    def page(s: Session, ctx: Context) -> tuple[list[svc.SnapshotView], bool, int | None]:
        views, more = svc.listing(s, ctx, filters)
        return views, more, svc.count(s, ctx, filters) if with_count else None

    views, more, total = await wire.call(request, page)
    items = [render(request, v, detail=detail, summary=not detail) for v in views]
    path = "snapshots/detail" if detail else "snapshots"
    body = common.paged(request, "snapshots", items, more, path=path)
    if total is not None:
        body["count"] = total
    return wire.json(body)


async def member(request: Request) -> Response:
    snapshot_id = request.path_params["snapshot_id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete_snapshot, snapshot_id)
        return wire.empty(202)
    if request.method == "PUT":
        values = await common.entity(request, "snapshot")

        def change(s: Session, ctx: Context) -> svc.SnapshotView:
            return svc.views(s, [svc.update(s, ctx, snapshot_id, values)])[0]

        view = await wire.call(request, change)
        return wire.json({"snapshot": render(request, view, detail=False)})

    def show(s: Session, ctx: Context) -> svc.SnapshotView:
        return svc.views(s, [svc.get(s, ctx, snapshot_id)])[0]

    view = await wire.call(request, show)
    return wire.json({"snapshot": render(request, view, detail=True)})


async def action(request: Request) -> Response:
    snapshot_id = request.path_params["snapshot_id"]
    body = await common.json_body(request)
    if len(body) != 1:
        raise errors.BadRequest("Invalid request body: one action is expected.")
    name, value = next(iter(body.items()))
    if name == "os-reset_status":
        status = value.get("status") if isinstance(value, dict) else None
        await wire.call(request, svc.reset_status, snapshot_id, status)
    elif name == "os-force_delete":
        await wire.call(request, svc.force_delete, snapshot_id)
    elif name == "os-update_snapshot_status":
        await wire.call(request, svc.update_status, snapshot_id, value)
    else:
        raise errors.BadRequest(f"There is no such action: {name}")
    return wire.empty(202)


async def metadata(request: Request) -> Response:
    snapshot_id = request.path_params["snapshot_id"]
    if request.method == "GET":
        return wire.json({"metadata": await wire.call(request, svc.metadata, snapshot_id)})
    body = await common.json_body(request)
    if not isinstance(body.get("metadata"), dict):
        raise errors.BadRequest("Malformed request body")
    result = await wire.call(request, svc.set_metadata, snapshot_id, body["metadata"],
                             replace=request.method == "PUT")
    return wire.json({"metadata": result})


async def metadata_item(request: Request) -> Response:
    snapshot_id, key = request.path_params["snapshot_id"], request.path_params["key"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete_metadata_item, snapshot_id, key)
        return wire.empty(200)
    if request.method == "PUT":
        body = await common.json_body(request)
        meta = body.get("meta")
        if not isinstance(meta, dict):
            raise errors.BadRequest("Malformed request body")
        if key not in meta:
            raise errors.BadRequest("Request body and URI mismatch")
        if len(meta) > 1:
            raise errors.BadRequest("Request body contains too many items")
        await wire.call(request, svc.set_metadata, snapshot_id, meta, replace=False)
        return wire.json({"meta": meta})
    values = await wire.call(request, svc.metadata, snapshot_id)
    if key not in values:
        raise errors.NotFound(f"Snapshot {snapshot_id} has no metadata with key {key}.")
    return wire.json({"meta": {key: values[key]}})


ROUTES = [
    Route("/snapshots", collection, methods=["GET", "POST"]),
    Route("/snapshots/detail", detail, methods=["GET"]),
    Route("/snapshots/{snapshot_id}", member, methods=["GET", "PUT", "DELETE"]),
    Route("/snapshots/{snapshot_id}/action", action, methods=["POST"]),
    Route("/snapshots/{snapshot_id}/metadata", metadata, methods=["GET", "POST", "PUT"]),
    Route("/snapshots/{snapshot_id}/metadata/{key}", metadata_item,
          methods=["GET", "PUT", "DELETE"]),
]
