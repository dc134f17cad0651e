"""``/v3/users/{user_id}/application_credentials``: create (secret shown once), list, show, delete."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.identity import render, schemas
from sausage.api.identity.crud import base
from sausage.services.context import Context
from sausage.services.identity import app_creds as svc

__all__ = ["ROUTES"]


def _create(s: Session, ctx: Context, user_id: str, values: dict[str, Any], url: str
            ) -> dict[str, Any]:
    row, secret = svc.create(s, ctx, user_id, values)
    return render.app_cred(row, svc.role_rows(s, row), url, secret)


def _list(s: Session, ctx: Context, user_id: str, filters: dict[str, str], url: str
          ) -> list[dict[str, Any]]:
    return [render.app_cred(r, svc.role_rows(s, r), url)
            for r in svc.list_for_user(s, ctx, user_id, filters)]


def _get(s: Session, ctx: Context, user_id: str, cred_id: str, url: str) -> dict[str, Any]:
    row = svc.get(s, ctx, user_id, cred_id)
    return render.app_cred(row, svc.role_rows(s, row), url)


async def collection(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    if request.method == "POST":
        model = await wire.body(request, schemas.AppCredBody)
        values = model.application_credential.model_dump(exclude_unset=True)
        expires = values.get("expires_at")
        if isinstance(expires, datetime.datetime) and expires.tzinfo is None:
            values["expires_at"] = expires.replace(tzinfo=datetime.timezone.utc)
        if values.get("roles"):
            values["roles"] = [{k: v for k, v in r.items() if v} for r in values["roles"]]
        body = await wire.call_hashing(request, _create, user_id, values, base(request))
        return wire.json({"application_credential": body}, 201)
    items = await wire.call(request, _list, user_id, wire.filters(request), base(request))
    return wire.json(render.collection("application_credentials", items, str(request.url)))


async def member(request: Request) -> Response:
    user_id, cred_id = request.path_params["user_id"], request.path_params["id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete, user_id, cred_id)
        return wire.empty()
    body = await wire.call(request, _get, user_id, cred_id, base(request))
    return wire.json({"application_credential": body})


PATH = "/v3/users/{user_id}/application_credentials"
ROUTES = [
    Route(PATH, collection, methods=["GET", "HEAD", "POST"]),
    Route(PATH + "/{id}", member, methods=["GET", "HEAD", "DELETE"]),
]
