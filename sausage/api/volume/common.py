"""Helpers every Block Storage module shares: URLs and links, the URL's project, microversion
checks, body parsing, Cinder's timestamps and list paging.

- ``base(request)``: ``…/volume/v3/<project_id>``; ``links(request, collection, id)`` the
  self and bookmark links Cinder puts on every item.
- ``url_project(request)``: the ``{project_id}`` of the URL; a token scoped to another project
  gets 400 as in Cinder, unless it is an admin's.
- ``at_least(request, 3, 27)`` and ``require_version`` (404 below it, as Cinder does).
- ``await json_body(request)`` and ``await entity(request, "volume")`` (400 when the body is not
  ``{"volume": {...}}``).
- ``with_count(request, filters)``: 3.45's ``?with_count`` (then the list adds ``count``).
- ``iso(dt)``: ``2026-11-24T08:00:00.000000``, Cinder's naive-UTC form.
- ``paged(request, collection, items, more)``: ``{collection: items}`` plus
  ``<collection>_links`` with the next page when ``more``.
"""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from sausage import errors
from sausage.api import microversion, wire

__all__ = ["base", "links", "url_project", "at_least", "require_version", "json_body", "entity",
           "with_count", "iso", "paged"]


def base(request: Request) -> str:
    return f"{wire.base_url(request, 'volume')}/v3/{request.path_params['project_id']}"


def links(request: Request, collection: str, id_: str) -> list[dict[str, str]]:
    project = request.path_params["project_id"]
    return [{"href": f"{base(request)}/{collection}/{id_}", "rel": "self"},
            {"href": f"{wire.base_url(request, 'volume')}/{project}/{collection}/{id_}",
             "rel": "bookmark"}]


def url_project(request: Request) -> str:
    project_id: str = request.path_params["project_id"]
    return project_id


def at_least(request: Request, major: int, minor: int) -> bool:
    return microversion.of(request) >= (major, minor)


def require_version(request: Request, major: int, minor: int) -> None:
    if not at_least(request, major, minor):
        raise errors.NotFound("The resource could not be found.")


async def json_body(request: Request) -> dict[str, Any]:
    return await wire.json_object(request, "Malformed request body",
                                  "The request body must be a JSON object.")


async def entity(request: Request, name: str) -> dict[str, Any]:
    """The ``{name: {...}}`` object of the body; 400 "Missing required element" otherwise."""
    body = await json_body(request)
    value = body.get(name)
    if not isinstance(value, dict):
        raise errors.BadRequest(f"Missing required element '{name}' in request body.")
    return value


def with_count(request: Request, filters: dict[str, str]) -> bool:
    """Whether a list shows ``count`` (``?with_count=true`` from 3.45); takes the parameter
    out of ``filters`` either way."""
    text = filters.pop("with_count", None)
    if text is None or not at_least(request, 3, 45):
        return False
    low = text.strip().lower()
    if low in ("1", "t", "true", "on", "y", "yes"):
        return True
    if low in ("0", "f", "false", "off", "n", "no"):
        return False
    raise errors.BadRequest(f"Value '{text}' for 'with_count' is not a boolean.")


def iso(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def paged(request: Request, collection: str, items: list[dict[str, Any]], more: bool,
          path: str | None = None) -> dict[str, Any]:
    """The list body; with ``more`` a ``<collection>_links`` next link whose marker is the last
    item's id (keeping the other query parameters)."""
    body: dict[str, Any] = {collection: items}
    if more and items:
        query = {k: v for k, v in request.query_params.items() if k != "marker"}
        query["marker"] = str(items[-1]["id"])
        href = f"{base(request)}/{path or collection}?{urlencode(query)}"
        body[f"{collection}_links"] = [{"href": href, "rel": "next"}]
    return body
