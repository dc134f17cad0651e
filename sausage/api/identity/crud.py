"""Declarative CRUD routes for Identity resources.

A ``Resource`` names its path, its member and collection keys, its service functions, its body
models and its renderer; ``routes`` turns that into Starlette routes with Keystone's statuses
(201 on create, 204 on delete) and collection ``links``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pydantic
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire

__all__ = ["Resource", "routes", "base"]

Fn = Callable[..., Any]


def base(request: Request) -> str:
    return wire.base_url(request, "identity")


@dataclasses.dataclass(frozen=True)
class Resource:
    path: str  # e.g. "/v3/projects"
    member: str  # "project"
    collection: str  # "projects"
    render: Callable[[Any, str], dict[str, Any]]
    get: Fn
    list: Fn
    create: Fn | None = None
    update: Fn | None = None
    delete: Fn | None = None
    create_body: type[pydantic.BaseModel] | None = None
    update_body: type[pydantic.BaseModel] | None = None


def _values(model: pydantic.BaseModel, key: str) -> dict[str, Any]:
    inner = getattr(model, key)
    assert isinstance(inner, pydantic.BaseModel)
    return inner.model_dump(exclude_unset=True)


def _call(request: Request, values: dict[str, Any]) -> Callable[..., Awaitable[Any]]:
    """A body that sets a password is hashed in the hashing lane, anything else in the pool."""
    return wire.call_hashing if values.get("password") else wire.call


def routes(r: Resource) -> list[Route]:
    async def collection(request: Request) -> Response:
        if request.method == "POST":
            assert r.create is not None and r.create_body is not None
            model = await wire.body(request, r.create_body)
            values = _values(model, r.member)
            row = await _call(request, values)(request, r.create, values)
            return wire.json({r.member: r.render(row, base(request))}, 201)
        rows = await wire.call(request, r.list, wire.filters(request))
        url = f"{base(request)}{r.path}"
        return wire.json(
            {r.collection: [r.render(x, base(request)) for x in rows],
             "links": {"self": url, "previous": None, "next": None}}
        )

    async def member(request: Request) -> Response:
        id_ = request.path_params["id"]
        if request.method == "PATCH":
            assert r.update is not None and r.update_body is not None
            model = await wire.body(request, r.update_body)
            values = _values(model, r.member)
            row = await _call(request, values)(request, r.update, id_, values)
        elif request.method == "DELETE":
            assert r.delete is not None
            await wire.call(request, r.delete, id_)
            return wire.empty()
        else:
            row = await wire.call(request, r.get, id_)
        return wire.json({r.member: r.render(row, base(request))})

    collection_methods = ["GET", "HEAD"] + (["POST"] if r.create else [])
    member_methods = ["GET", "HEAD"] + (["PATCH"] if r.update else []) + (
        ["DELETE"] if r.delete else [])
    return [
        Route(r.path, collection, methods=collection_methods),
        Route(r.path + "/{id}", member, methods=member_methods),
    ]
