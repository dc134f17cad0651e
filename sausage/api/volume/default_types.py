"""``/default-types`` (microversion 3.62 on; 404 below): an admin sets (PUT), shows (GET),
lists and unsets (DELETE) a project's own default volume type. Domain rules live in
``services/volume/default_types.py``.
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
from sausage.services.volume import default_types as svc

__all__ = ["ROUTES"]


def _render(row: Any) -> dict[str, str]:
    return {"project_id": row.project_id, "volume_type_id": row.volume_type_id}


def _type_asked(body: dict[str, Any]) -> str:
    """The ``volume_type`` of ``{"default_type": {"volume_type": name or id}}``."""
    value = body.get("default_type")
    if not isinstance(value, dict):
        raise errors.BadRequest("Missing required element 'default_type' in request body.")
    extra = sorted(set(value) - {"volume_type"})
    if extra:
        raise errors.BadRequest(f"Additional properties are not allowed "
                                f"({', '.join(map(repr, extra))} was unexpected)")
    name = value.get("volume_type")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise errors.BadRequest(f"Invalid input for field/attribute volume_type. Value: "
                                f"{name}. It must be a non-blank string of at most 255 "
                                "characters.")
    return name


async def collection(request: Request) -> Response:
    common.require_version(request, 3, 62)

    def listing(s: Session, ctx: Context) -> list[dict[str, str]]:
        return [_render(r) for r in svc.listing(s, ctx)]

    return wire.json({"default_types": await wire.call(request, listing)})


async def member(request: Request) -> Response:
    common.require_version(request, 3, 62)
    project_id = request.path_params["target"]
    if request.method == "DELETE":
        await wire.call(request, svc.unset, project_id)
        return wire.empty(204)
    if request.method == "PUT":
        name = _type_asked(await common.json_body(request))

        def put(s: Session, ctx: Context) -> dict[str, str]:
            return _render(svc.put(s, ctx, project_id, name))

        return wire.json({"default_type": await wire.call(request, put)})

    def show(s: Session, ctx: Context) -> dict[str, str]:
        return _render(svc.get(s, ctx, project_id))

    return wire.json({"default_type": await wire.call(request, show)})


ROUTES: list[BaseRoute] = [
    Route("/default-types", collection, methods=["GET"]),
    Route("/default-types/{target}", member, methods=["GET", "PUT", "DELETE"]),
]
