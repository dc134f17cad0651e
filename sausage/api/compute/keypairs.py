"""``/os-keypairs``: import or generate, list, show, delete (types from 2.2, user_id 2.10)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.compute import common, validation
from sausage.services.compute import keypairs as svc

__all__ = ["ROUTES"]


def _schema(request: Request) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "public_key": {"type": "string"},
    }
    if common.at_least(request, 2, 2):
        props["type"] = {"type": "string", "enum": ["ssh", "x509"]}
    if common.at_least(request, 2, 10):
        props["user_id"] = {"type": "string"}
    return {"type": "object",
            "properties": {"keypair": {"type": "object", "properties": props,
                                       "required": ["name"], "additionalProperties": False}},
            "required": ["keypair"], "additionalProperties": False}


def render(request: Request, row: Any, full: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"name": row.name, "public_key": row.public_key,
                            "fingerprint": row.fingerprint}
    if common.at_least(request, 2, 2):
        body["type"] = row.type
    if full:
        body.update({"user_id": row.user_id, "created_at": row.created_at.strftime(
            "%Y-%m-%dT%H:%M:%S.%f"), "deleted": False, "deleted_at": None, "updated_at": None,
            "id": svc.numeric_id(row)})
    return body


def _user(request: Request) -> str | None:
    return request.query_params.get("user_id") if common.at_least(request, 2, 10) else None


async def collection(request: Request) -> Response:
    if request.method == "POST":
        body = await common.json_body(request)
        validation.validate(_schema(request), body)
        row, private = await wire.call(request, svc.create, body["keypair"])
        out = render(request, row, full=False)
        out["user_id"] = row.user_id
        if private is not None:
            out["private_key"] = private
        return wire.json({"keypair": out}, 201 if common.at_least(request, 2, 2) else 200)
    filters = wire.filters(request) if common.at_least(request, 2, 35) else {}
    rows = await wire.call(request, svc.list_keypairs, _user(request), filters)
    return wire.json({"keypairs": [{"keypair": render(request, r, full=False)} for r in rows]})


async def member(request: Request) -> Response:
    name = request.path_params["name"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete, name, _user(request))
        return wire.empty(204 if common.at_least(request, 2, 2) else 202)
    row = await wire.call(request, svc.get, name, _user(request))
    return wire.json({"keypair": render(request, row, full=True)})


ROUTES = [
    Route("/os-keypairs", collection, methods=["GET", "HEAD", "POST"]),
    Route("/os-keypairs/{name}", member, methods=["GET", "HEAD", "DELETE"]),
]
