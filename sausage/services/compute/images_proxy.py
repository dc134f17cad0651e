"""Nova's image proxy (``/images`` before microversion 2.36), over the Glance image service.

Every read and write goes through ``services.image.images`` so that who sees and who may change
an image is exactly what the Image API says for the same caller. This module only translates
Nova's filters and its metadata verbs (merge, replace, one key) into Glance's terms.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from sausage import errors
from sausage.services.compute import quotas
from sausage.services.context import Context
from sausage.services.image import images

__all__ = ["list_images", "get", "delete", "metadata", "set_metadata", "set_item",
           "delete_item"]

NOT_FOUND = "Image not found."
PAGE = 1000


def _parse_time(value: str) -> datetime.datetime:
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise errors.BadRequest(f"Invalid changes-since value: {value}") from e
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def _non_negative(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError as e:
        raise errors.BadRequest(f"Invalid {name} filter: an integer is required.") from e
    if number < 0:
        raise errors.BadRequest(f"Invalid {name} filter: it must not be negative.")
    return number


def list_images(s: Session, ctx: Context, query: Mapping[str, str], limit: int | None,
                marker: str | None) -> list[images.ImageView]:
    """The images the caller would list in Glance, narrowed by Nova's filters.

    ``name``, ``status`` (any case), ``server`` (an id or a server URL) and ``type`` are Glance
    filters; ``changes-since``, ``minRam`` and ``minDisk`` are lower bounds checked here, page by
    page, so that ``limit`` and ``marker`` keep their meaning. No ``limit`` means every image.
    """
    glance: dict[str, str] = {}
    if "name" in query:
        glance["name"] = query["name"]
    if "status" in query:
        glance["status"] = query["status"].lower()
    if "server" in query:
        glance["instance_uuid"] = query["server"].rstrip("/").rsplit("/", 1)[-1]
    if "type" in query:
        glance["image_type"] = query["type"]
    since = _parse_time(query["changes-since"]) if "changes-since" in query else None
    min_ram = _non_negative("minRam", query["minRam"]) if "minRam" in query else None
    min_disk = _non_negative("minDisk", query["minDisk"]) if "minDisk" in query else None
    if limit is not None and limit < 0:
        raise errors.BadRequest("limit must be a non-negative integer.")
    found: list[images.ImageView] = []
    next_marker = marker
    while limit is None or len(found) < limit:
        page_filters = {**glance, "limit": str(PAGE)}
        if next_marker is not None:
            page_filters["marker"] = next_marker
        try:
            page, next_marker = images.list_images(s, ctx, page_filters)
        except errors.BadRequest as e:
            if "marker" in str(e):
                raise errors.BadRequest(f"marker [{marker}] not found") from e
            raise
        for item in page:
            row = item.image
            if since is not None and row.updated_at < since:
                continue
            if min_ram is not None and (row.min_ram or 0) < min_ram:
                continue
            if min_disk is not None and (row.min_disk or 0) < min_disk:
                continue
            found.append(item)
        if next_marker is None:
            break
    return found if limit is None else found[:limit]


def get(s: Session, ctx: Context, image_id: str) -> images.ImageView:
    try:
        return images.get(s, ctx, image_id)
    except errors.NotFound as e:
        raise errors.NotFound(NOT_FOUND) from e


def delete(s: Session, ctx: Context, image_id: str) -> None:
    """Delete as Glance would; the caller removes the stored data after the commit."""
    try:
        images.delete(s, ctx, image_id)
    except errors.NotFound as e:
        raise errors.NotFound(NOT_FOUND) from e


def metadata(s: Session, ctx: Context, image_id: str) -> dict[str, str]:
    return dict(get(s, ctx, image_id).properties)


def _check_keys(ctx: Context, keys: Any) -> None:
    for key in keys:
        if key in images.BASE_ATTRS or key in images.READ_ONLY:
            raise errors.BadRequest(
                f"Metadata key {key} names an image attribute, not an image property.")


def _quota(s: Session, ctx: Context, count: int) -> None:
    if ctx.project_id is None:
        return
    limit = quotas.limits(s, ctx.project_id)["metadata_items"]
    if 0 <= limit < count:
        raise errors.QuotaExceeded("Image metadata limit exceeded")


def _apply(s: Session, ctx: Context, image_id: str, old: Mapping[str, str],
           new: Mapping[str, str]) -> dict[str, str]:
    _check_keys(ctx, new)
    _quota(s, ctx, len(new))
    changes: list[tuple[str, str, Any]] = [("remove", k, None) for k in old if k not in new]
    changes += [("add", k, v) for k, v in new.items() if old.get(k) != v]
    try:
        view = images.update(s, ctx, image_id, changes)
    except errors.NotFound as e:
        raise errors.NotFound(NOT_FOUND) from e
    return dict(view.properties)


def set_metadata(s: Session, ctx: Context, image_id: str, values: Mapping[str, str],
                 replace: bool) -> dict[str, str]:
    """POST merges ``values`` into the image's properties; PUT (``replace``) makes them all."""
    old = metadata(s, ctx, image_id)
    new = dict(values) if replace else {**old, **values}
    return _apply(s, ctx, image_id, old, new)


def set_item(s: Session, ctx: Context, image_id: str, key: str, value: str) -> None:
    old = metadata(s, ctx, image_id)
    _apply(s, ctx, image_id, old, {**old, key: value})


def delete_item(s: Session, ctx: Context, image_id: str, key: str) -> None:
    old = metadata(s, ctx, image_id)
    if key not in old:
        raise errors.NotFound("Invalid metadata key")
    _apply(s, ctx, image_id, old, {k: v for k, v in old.items() if k != key})
