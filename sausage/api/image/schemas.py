"""``/v2/schemas/*``: the JSON schemas Glance publishes for images and members."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.services.image.images import CONTAINER_FORMATS, DISK_FORMATS, VISIBILITIES

__all__ = ["ROUTES", "IMAGE"]

_nullable_str = {"type": ["null", "string"], "maxLength": 255}

IMAGE: dict[str, Any] = {
    "name": "image",
    "additionalProperties": {"type": "string"},
    "properties": {
        "id": {"type": "string", "description": "An identifier for the image",
               "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                          "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
        "name": {**_nullable_str, "description": "Descriptive name for the image"},
        "status": {"type": "string", "readOnly": True, "enum": [
            "queued", "saving", "active", "killed", "deleted", "uploading", "importing",
            "pending_delete", "deactivated"]},
        "visibility": {"type": "string", "enum": list(VISIBILITIES)},
        "protected": {"type": "boolean"},
        "os_hidden": {"type": "boolean"},
        "checksum": {"type": ["null", "string"], "readOnly": True, "maxLength": 32},
        "os_hash_algo": {"type": ["null", "string"], "readOnly": True, "maxLength": 64},
        "os_hash_value": {"type": ["null", "string"], "readOnly": True, "maxLength": 128},
        "owner": _nullable_str,
        "size": {"type": ["null", "integer"], "readOnly": True},
        "virtual_size": {"type": ["null", "integer"], "readOnly": True},
        "container_format": {"type": ["null", "string"], "enum": [None, *CONTAINER_FORMATS]},
        "disk_format": {"type": ["null", "string"], "enum": [None, *DISK_FORMATS]},
        "created_at": {"type": "string", "readOnly": True},
        "updated_at": {"type": "string", "readOnly": True},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
        "min_ram": {"type": "integer"},
        "min_disk": {"type": "integer"},
        "self": {"type": "string", "readOnly": True},
        "file": {"type": "string", "readOnly": True},
        "schema": {"type": "string", "readOnly": True},
        "kernel_id": {"type": ["null", "string"], "is_base": False},
        "ramdisk_id": {"type": ["null", "string"], "is_base": False},
    },
    "links": [
        {"rel": "self", "href": "{self}"},
        {"rel": "enclosure", "href": "{file}"},
        {"rel": "describedby", "href": "{schema}"},
    ],
}

MEMBER: dict[str, Any] = {
    "name": "member",
    "properties": {
        "created_at": {"type": "string"},
        "image_id": {"type": "string"},
        "member_id": {"type": "string"},
        "schema": {"type": "string", "readOnly": True},
        "status": {"type": "string", "enum": ["pending", "accepted", "rejected"]},
        "updated_at": {"type": "string"},
    },
}


def _plural(name: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "properties": {name: {"type": "array", "items": item},
                       "schema": {"type": "string"}, "first": {"type": "string"},
                       "next": {"type": "string"}},
        "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                  {"rel": "describedby", "href": "{schema}"}],
    }


SCHEMAS = {"image": IMAGE, "images": _plural("images", IMAGE), "member": MEMBER,
           "members": _plural("members", MEMBER)}


async def schema(request: Request) -> Response:
    name = request.path_params["name"]
    await wire.call(request, lambda s, ctx: None)  # Glance serves schemas to authenticated users
    if name not in SCHEMAS:
        raise errors.NotFound(f"No schema named {name}")
    return wire.json(SCHEMAS[name])


ROUTES = [Route("/v2/schemas/{name}", schema, methods=["GET", "HEAD"])]
