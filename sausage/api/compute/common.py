"""Helpers every compute module shares: URLs, links, microversion checks, body parsing."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from sausage import errors
from sausage.api import microversion, wire

__all__ = ["base", "link", "links", "at_least", "json_body", "iso", "require_version"]


def base(request: Request) -> str:
    return f"{wire.base_url(request, 'compute')}/v2.1"


def links(request: Request, kind: str, id_: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": f"{base(request)}/{kind}/{id_}"},
            {"rel": "bookmark", "href": f"{wire.base_url(request, 'compute')}/{kind}/{id_}"}]


def link(request: Request, kind: str, id_: str) -> dict[str, Any]:
    return {"id": id_, "links": [{"rel": "bookmark",
                                   "href": f"{wire.base_url(request, 'compute')}/{kind}/{id_}"}]}


def at_least(request: Request, major: int, minor: int) -> bool:
    return microversion.of(request) >= (major, minor)


def require_version(request: Request, major: int, minor: int) -> None:
    if not at_least(request, major, minor):
        raise errors.NotFound("The resource could not be found.")


async def json_body(request: Request) -> dict[str, Any]:
    return await wire.json_object(request, "Malformed request body",
                                  "The request body must be a JSON object.")


def iso(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))
