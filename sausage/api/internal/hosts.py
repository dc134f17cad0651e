"""``/internal/v1/hosts`` and ``/internal/v1/images``: the control plane's side of
``sausage.contract.host``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.contract import host as contract
from sausage.services.compute import snapshots
from sausage.services.hosts import document, registry
from sausage.services.image import images

__all__ = ["ROUTES", "LONG_POLL_SECONDS", "as_host"]

T = TypeVar("T")
LONG_POLL_SECONDS = 25.0
POLL_INTERVAL = 0.25


def _token(request: Request) -> str:
    token = request.headers.get("x-sausage-host-token")
    if not token:
        raise errors.Unauthorized("X-Sausage-Host-Token is required.")
    return token


async def _as_host(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(session, host, *args)`` in one transaction as the host the token names."""
    cloud = request.app.state.cloud
    host_id = request.path_params.get("host_id")
    token = _token(request)

    def work() -> T:
        with cloud.db.transaction() as s:
            host = (registry.authenticate(s, host_id, token) if host_id
                    else registry.authenticate_token(s, token))
            request.state.user_id = f"host:{host.name}"
            return fn(s, host, *args)

    return await run_in_threadpool(work)


as_host = _as_host  # for the other internal endpoints (metadata)


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as e:
        raise errors.BadRequest("Malformed request body") from e


async def register(request: Request) -> Response:
    cloud = request.app.state.cloud
    body = await _json(request)
    if not isinstance(body, dict) or not all(k in body for k in ("name", "vcpus", "memory_mb",
                                                                   "disk_gb", "virt_type")):
        raise errors.BadRequest("A registration needs name, vcpus, memory_mb, disk_gb and "
                                "virt_type.")
    presented = request.headers.get("x-sausage-registration-key", "")
    reply = await wire.call_public(request, registry.register, cast(contract.Registration, body),
                                   cloud.agent_key, presented)
    return wire.json(reply, 201)


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def desired(request: Request) -> Response:
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError as e:
        raise errors.BadRequest("after must be an integer") from e
    base = _base(request)
    sections = request.app.state.cloud.host_sections
    deadline = time.monotonic() + float(request.query_params.get("wait", LONG_POLL_SECONDS))
    while True:
        def work(s: Session, host: Any) -> contract.Desired | None:
            if host.revision <= after and time.monotonic() < deadline:
                return None
            return document.desired(s, host, base, sections)

        doc = await _as_host(request, work)
        if doc is not None:
            return wire.json(doc)
        if await request.is_disconnected() or request.app.state.stopping.is_set():
            return wire.empty(204)
        await asyncio.sleep(POLL_INTERVAL)


async def observed(request: Request) -> Response:
    body = await _json(request)
    if not isinstance(body, dict) or not isinstance(body.get("servers"), list):
        raise errors.BadRequest("An observed report needs a servers list.")
    report = cast(contract.Observed, body)
    cloud = request.app.state.cloud
    name = await wire.in_thread(document.receive, cloud.db, cloud.images,
                                request.path_params.get("host_id"), _token(request), report,
                                cloud.host_sections)
    request.state.user_id = f"host:{name}"
    return wire.empty(204)


async def image_file(request: Request) -> Response:
    image_id = request.path_params["image_id"]
    cloud = request.app.state.cloud
    if request.method == "PUT":
        return await _snapshot_upload(request, image_id)
    row = await _as_host(request, lambda s, host: snapshots.readable(s, image_id))
    headers = {"Content-Length": str(row.size)} if row.size is not None else {}
    return StreamingResponse(cloud.images.chunks(image_id), media_type="application/octet-stream",
                             headers=headers)


async def _snapshot_upload(request: Request, image_id: str) -> Response:
    cloud = request.app.state.cloud
    disk_format = await _as_host(request, snapshots.check_upload, image_id)
    pending = await wire.in_thread(cloud.images.upload, image_id, None)
    try:
        async for chunk in request.stream():
            if chunk:
                await wire.in_thread(pending.write, chunk)
        written = await wire.in_thread(pending.finish, disk_format)
    except BaseException:
        await wire.in_thread(pending.abort)
        raise
    kept = await wire.call_public(request, images.finish_upload, image_id, written.size,
                                  written.md5, written.sha512, written.virtual_size)
    if not kept:
        await wire.in_thread(cloud.images.delete, image_id)
        raise errors.Gone(f"Image {image_id} was deleted during the snapshot upload.")
    return wire.empty(204)


ROUTES = [
    Route("/v1/hosts", register, methods=["POST"]),
    Route("/v1/hosts/{host_id}/desired", desired, methods=["GET"]),
    Route("/v1/hosts/{host_id}/observed", observed, methods=["POST"]),
    Route("/v1/images/{image_id}/file", image_file, methods=["GET", "PUT"]),
]
