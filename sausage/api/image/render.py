"""Image records → Glance's JSON: flat, extra properties beside the base attributes."""

from __future__ import annotations

import datetime
from typing import Any

from sausage.services.image.images import ImageView

__all__ = ["iso", "image", "member"]


def iso(value: datetime.datetime) -> str:
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def image(v: ImageView) -> dict[str, Any]:
    row = v.image
    return {
        **v.properties,
        "id": row.id, "name": row.name, "status": row.status, "visibility": row.visibility,
        "protected": row.protected, "os_hidden": row.os_hidden, "checksum": row.checksum,
        "os_hash_algo": row.os_hash_algo, "os_hash_value": row.os_hash_value,
        "owner": row.owner, "size": row.size, "virtual_size": row.virtual_size,
        "min_ram": row.min_ram, "min_disk": row.min_disk, "disk_format": row.disk_format,
        "container_format": row.container_format, "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at), "tags": list(v.tags),
        "self": f"/v2/images/{row.id}", "file": f"/v2/images/{row.id}/file",
        "schema": "/v2/schemas/image",
    }


def member(row: Any) -> dict[str, Any]:
    """An image member row (``services.image.members``) as Glance shows it."""
    return {"image_id": row.image_id, "member_id": row.member, "status": row.status,
            "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
            "schema": "/v2/schemas/member"}
