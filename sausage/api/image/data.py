"""``/v2/images/{id}/file``: upload and download image data, streamed both ways.

An upload moves the image queued → saving → active; any failure (a broken stream, data that is
not what its disk_format claims, quota) puts it back to queued and keeps no byte of it.
"""

from __future__ import annotations

from collections.abc import Iterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.services.image import images as svc
from sausage.services.image.store import CHUNK, Upload, Written

__all__ = ["ROUTES"]

UPLOAD_TYPES = ("application/octet-stream",)


async def _receive(request: Request, upload: Upload) -> None:
    """Copy the request body into ``upload`` in ~1 MiB pieces, hashing off the event loop."""
    buffer = bytearray()
    async for chunk in request.stream():
        buffer += chunk
        if len(buffer) >= CHUNK:
            await wire.in_thread(upload.write, bytes(buffer))
            buffer.clear()
    if buffer:
        await wire.in_thread(upload.write, bytes(buffer))


async def upload(request: Request) -> Response:
    image_id = request.path_params["id"]
    if wire.media_type(request) not in UPLOAD_TYPES:
        raise errors.UnsupportedMediaType("Image data is uploaded as application/octet-stream.")
    cloud = request.app.state.cloud
    length_header = request.headers.get("content-length")
    length = int(length_header) if length_header and length_header.isdigit() else None
    quota = svc.Quota(cloud.settings.image_quota_count, cloud.settings.image_quota_bytes)
    row, room = await wire.call(request, svc.begin_upload, image_id, quota, length)
    try:
        pending = await wire.in_thread(cloud.images.upload, image_id, room)
        try:
            await _receive(request, pending)
            written: Written = await wire.in_thread(pending.finish, row.disk_format)
        except BaseException:
            await wire.in_thread(pending.abort)
            raise
        kept = await wire.call_public(request, svc.finish_upload, image_id, written.size,
                                      written.md5, written.sha512, written.virtual_size)
    except BaseException:
        await wire.call_public(request, svc.fail_upload, image_id)
        raise
    if not kept:
        await wire.in_thread(cloud.images.delete, image_id)
        raise errors.Gone(f"Image {image_id} could not be found after upload. "
                          "The image may have been deleted during the upload.")
    return wire.empty()


async def download(request: Request) -> Response:
    image_id = request.path_params["id"]
    cloud = request.app.state.cloud
    row = await wire.call(request, svc.readable_data, image_id)
    if row is None:
        return wire.empty(204)
    if not cloud.images.exists(image_id):
        raise errors.NotFound(f"The data of image {image_id} is missing from the store.")
    chunks: Iterator[bytes] = cloud.images.chunks(image_id)
    headers = {"Content-Length": str(row.size)}
    if row.checksum:
        headers["Content-MD5"] = row.checksum
    return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)


async def file(request: Request) -> Response:
    return await (upload(request) if request.method == "PUT" else download(request))


ROUTES = [Route("/v2/images/{id}/file", file, methods=["GET", "HEAD", "PUT"])]
