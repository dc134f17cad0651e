"""HTTP helpers every Neutron resource module shares (networks, subnets, ports, subnet pools,
routers, floating IPs, security groups …). Handlers stay thin: parse with these, call the
service through ``wire.call``, render with these.

Request side
- ``list_query(request) -> query.ListQuery``: Neutron's list query string — ``fields``
  (repeatable), any attribute as a filter (repeated = OR), ``tags``/``tags-any``/``not-tags``/
  ``not-tags-any`` (comma-separated or repeated), ``sort_key``/``sort_dir`` (repeatable, paired),
  ``limit``/``marker``/``page_reverse``. BadRequest on a bad limit or sort_dir.
- ``fields(request) -> list[str]``: the ``fields`` asked for on a show (empty: all).
- ``await one(request, resource, spec, create=True) -> dict``: the body ``{resource: {...}}``
  checked against ``spec`` (unknown attribute, read-only attribute on update, wrong type → 400,
  required attribute missing on create → 400); values come back converted.
- ``await many(request, resource, collection, spec) -> (list[dict], bulk: bool)``: the same for
  a create that may be bulk (``{collection: [{...}, ...]}``).
- ``Attr`` and the converters ``string``, ``boolean``, ``integer``, ``uuid``, ``nullable``,
  ``list_of``, ``anything``, ``ip_address``, ``cidr``, ``shaped`` (an object of known keys;
  ``ip_pool`` and ``host_route`` are two): the declarative body spec; ``OWNED``
  (``project_id``/``tenant_id``) and ``TAGS`` are the create-only entries most specs spread in.
- ``project_of(ctx_project, values) -> str | None``: ``project_id``/``tenant_id`` of a create
  body (400 if both given and different).

Response side
- ``standard(row, tags) -> dict``: ``description``, ``created_at``, ``updated_at`` (as
  ``2026-11-24T08:00:00Z``), ``revision_number``, ``tags``, ``project_id`` and ``tenant_id``.
- ``listing(request, collection, found, render) -> Response``: ``{collection: [...]}`` with only
  the requested fields and, when paged, ``<collection>_links`` (next/previous) as Neutron does;
  ``render(row, tags) -> dict`` makes one item.
- ``shown(request, resource, body, status=200) -> Response``: ``{resource: body}`` keeping the
  requested ``fields``; ``created(resource, body)`` is the 201; ``pick(body, fields)``.

Handlers
- ``Resource(...)`` names a resource's collection and member (singular, plural, path
  parameter, body spec, renderer, service functions); ``collection(res)`` and ``member(res)``
  make its two handlers and ``routes(res)`` their two ``Route``s. Extra routes (router
  interfaces, tags …) stay in the resource's own module.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.services.network import query

__all__ = [
    "Attr", "list_query", "fields", "one", "many", "project_of", "standard", "listing", "shown",
    "created", "pick", "iso", "string", "boolean", "integer", "uuid", "nullable", "list_of",
    "anything", "ip_address", "cidr", "json_body", "bad", "OWNED", "TAGS", "shaped",
    "ip_pool", "host_route", "ip_as_given",
    "Resource", "collection", "member",
    "routes",
]

Converter = Callable[[str, Any], Any]

# Query keys that are not attribute filters.
_CONTROL = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", "tags",
            "tags-any", "not-tags", "not-tags-any"}


MAX_LIMIT = 2 ** 31 - 1


def bad(message: str) -> errors.BadRequest:
    return errors.BadRequest(f"Invalid input for operation: {message}", kind="InvalidInput")


# --- request side -------------------------------------------------------------------------

def _split(values: Sequence[str]) -> list[str]:
    return [t for v in values for t in v.split(",") if t]


def list_query(request: Request) -> query.ListQuery:
    params = request.query_params
    filters: dict[str, list[str]] = {}
    for key, value in params.multi_items():
        if key not in _CONTROL:
            filters.setdefault(key, []).append(value)
    keys, dirs = params.getlist("sort_key"), params.getlist("sort_dir")
    if dirs and len(dirs) != len(keys):
        raise errors.BadRequest("The number of sort_keys and sort_dirs must be same",
                                kind="BadRequest")
    for d in dirs:
        if d not in ("asc", "desc"):
            raise errors.BadRequest(f"{d} is invalid value for sort_dirs, valid sort dir is "
                                    "[asc, desc]", kind="BadRequest")
    limit: int | None = None
    if "limit" in params:
        try:
            limit = int(params["limit"])
        except ValueError as e:
            raise errors.BadRequest(f"Limit must be an integer 0 or greater and not "
                                    f"'{params['limit']}'", kind="BadRequest") from e
        if limit < 0:
            raise errors.BadRequest(f"Limit must be an integer 0 or greater and not "
                                    f"'{limit}'", kind="BadRequest")
        # Neutron: limit=0 means no limit; past any real page size, asking for more changes
        # nothing (and a number past 64 bits must never reach the database).
        limit = min(limit, MAX_LIMIT) or None
    return query.ListQuery(
        filters=filters,
        tags=_split(params.getlist("tags")), tags_any=_split(params.getlist("tags-any")),
        not_tags=_split(params.getlist("not-tags")),
        not_tags_any=_split(params.getlist("not-tags-any")),
        sorts=list(zip(keys, dirs or ["asc"] * len(keys))),
        limit=limit, marker=params.get("marker") or None,
        page_reverse=params.get("page_reverse", "").lower() == "true",
        fields=fields(request))


def fields(request: Request) -> list[str]:
    return [f for f in request.query_params.getlist("fields") if f]


async def json_body(request: Request) -> dict[str, Any]:
    return await wire.json_object(request, "Malformed request body", "Malformed request body",
                                  kind="HTTPBadRequest")


@dataclasses.dataclass(frozen=True)
class Attr:
    """One attribute of a resource body: its converter, whether a create or an update may
    set it, and whether a create must."""

    convert: Converter
    post: bool = True
    put: bool = True
    required: bool = False


def _check(values: Any, resource: str, spec: Mapping[str, Attr], create: bool
           ) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise errors.BadRequest(f"Invalid input for operation: body of {resource} must be an "
                                "object.", kind="InvalidInput")
    unknown = sorted(k for k in values if k not in spec)
    if unknown:
        raise errors.BadRequest("Unrecognized attribute(s) '" + ", ".join(unknown) + "'",
                                kind="HTTPBadRequest")
    out: dict[str, Any] = {}
    for name, value in values.items():
        attr = spec[name]
        if not (attr.post if create else attr.put):
            raise errors.BadRequest(
                f"Attribute '{name}' not allowed in {'POST' if create else 'PUT'}",
                kind="HTTPBadRequest")
        out[name] = attr.convert(name, value)
    if create:
        missing = [n for n, a in spec.items() if a.required and n not in values]
        if missing:
            raise errors.BadRequest(f"Failed to parse request. Required attribute "
                                    f"'{missing[0]}' not specified", kind="HTTPBadRequest")
    return out


async def one(request: Request, resource: str, spec: Mapping[str, Attr], create: bool = True
              ) -> dict[str, Any]:
    body = await json_body(request)
    if resource not in body or len(body) != 1:
        raise errors.BadRequest(f"Unable to find '{resource}' in request body",
                                kind="HTTPBadRequest")
    return _check(body[resource], resource, spec, create)


async def many(request: Request, resource: str, collection: str, spec: Mapping[str, Attr]
               ) -> tuple[list[dict[str, Any]], bool]:
    body = await json_body(request)
    if collection in body and len(body) == 1:
        items = body[collection]
        if not isinstance(items, list) or not items:
            raise errors.BadRequest("Resources required", kind="HTTPBadRequest")
        return [_check(item, resource, spec, True) for item in items], True
    if resource not in body or len(body) != 1:
        raise errors.BadRequest(f"Unable to find '{resource}' in request body",
                                kind="HTTPBadRequest")
    return [_check(body[resource], resource, spec, True)], False


def project_of(values: Mapping[str, Any]) -> str | None:
    project, tenant = values.get("project_id"), values.get("tenant_id")
    if project and tenant and project != tenant:
        raise bad("'project_id' and 'tenant_id' do not match")
    return project or tenant or None


# --- converters ---------------------------------------------------------------------------

def string(max_len: int = 255) -> Converter:
    def conv(name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise bad(f"'{value}' is not a valid string")
        if len(value) > max_len:
            raise bad(f"'{value}' exceeds maximum length of {max_len}")
        return value
    return conv


def boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise bad(f"'{value}' cannot be converted to boolean")


def integer(low: int | None = None, high: int | None = None) -> Converter:
    def conv(name: str, value: Any) -> int:
        if isinstance(value, bool):
            raise bad(f"'{value}' is not an integer")
        try:
            number = int(value)
        except (TypeError, ValueError) as e:
            raise bad(f"'{value}' is not an integer") from e
        if isinstance(value, float) and value != number:
            raise bad(f"'{value}' is not an integer")
        if low is not None and number < low:
            raise bad(f"'{number}' should be greater than or equal to {low}")
        if high is not None and number > high:
            raise bad(f"'{number}' should be lower than or equal to {high}")
        return number
    return conv


def uuid(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise bad(f"'{value}' is not a valid UUID")
    try:
        uuidlib.UUID(value)
    except ValueError as e:
        raise bad(f"'{value}' is not a valid UUID") from e
    return value


def ip_address(name: str, value: Any) -> str:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return str(ipaddress.ip_address(value))
    except ValueError as e:
        raise bad(f"'{value}' is not a valid IP address") from e


def cidr(name: str, value: Any) -> str:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        ipaddress.ip_network(value, strict=False)
        return value
    except ValueError as e:
        raise bad(f"'{value}' is not a valid IP subnet") from e


def nullable(conv: Converter) -> Converter:
    def inner(name: str, value: Any) -> Any:
        return None if value is None else conv(name, value)
    return inner


def list_of(conv: Converter) -> Converter:
    def inner(name: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise bad(f"'{value}' is not a list")
        return [conv(name, v) for v in value]
    return inner


def anything(name: str, value: Any) -> Any:
    return value


def shaped(what: str, keys: Mapping[str, Converter], required: Sequence[str] = ()
           ) -> Converter:
    """An object with only ``keys`` (each converted), ``required`` among them: Neutron's
    "Invalid data format for <what>" otherwise, so no service meets another shape."""
    def conv(name: str, value: Any) -> dict[str, Any]:
        if (not isinstance(value, dict) or any(k not in keys for k in value)
                or any(k not in value for k in required)):
            raise bad(f"Invalid data format for {what}: '{value}'")
        return {k: keys[k](k, v) for k, v in value.items()}
    return conv


def ip_as_given(name: str, value: Any) -> str:
    """An IP address, kept as the client wrote it (Neutron echoes these back unchanged)."""
    ip_address(name, value)
    return str(value)


ip_pool = shaped("IP pool", {"start": ip_as_given, "end": ip_as_given}, ("start", "end"))
host_route = shaped("hostroute", {"destination": cidr, "nexthop": ip_as_given},
                    ("destination", "nexthop"))


# The attributes every owned resource's body may carry on create (not on update).
OWNED: dict[str, Attr] = {
    "project_id": Attr(string(64), put=False),
    "tenant_id": Attr(string(64), put=False),
}
# ``tags`` on create (the tags extension's ``tags-post``).
TAGS: dict[str, Attr] = {"tags": Attr(list_of(string()), put=False)}


# --- response side ------------------------------------------------------------------------

def iso(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))


def standard(row: Any, tags: Sequence[str] | None) -> dict[str, Any]:
    return {"description": row.description, "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at), "revision_number": row.revision_number,
            "tags": list(tags or []), "project_id": row.project_id,
            "tenant_id": row.project_id}


def pick(body: dict[str, Any], wanted: Sequence[str]) -> dict[str, Any]:
    if not wanted:
        return body
    return {k: v for k, v in body.items() if k in wanted}


def _links(request: Request, collection: str, found: query.Found[Any], q: query.ListQuery
           ) -> list[dict[str, str]]:
    if q.limit is None or not found.rows:
        return []
    base = [(k, v) for k, v in request.query_params.multi_items()
            if k not in ("marker", "page_reverse")]
    url = str(request.url).split("?", 1)[0]

    def href(marker: str, reverse: bool) -> str:
        extra = [("marker", marker)] + ([("page_reverse", "True")] if reverse else [])
        return f"{url}?{urlencode(base + extra)}"

    out: list[dict[str, str]] = []
    first, last = found.rows[0].id, found.rows[-1].id
    if q.page_reverse:
        if found.more:
            out.append({"rel": "previous", "href": href(first, True)})
        if q.marker:
            out.append({"rel": "next", "href": href(last, False)})
    else:
        if found.more:
            out.append({"rel": "next", "href": href(last, False)})
        if q.marker:
            out.append({"rel": "previous", "href": href(first, True)})
    return out


def listing(request: Request, collection: str, found: query.Found[Any],
            render: Callable[[Any, list[str]], dict[str, Any]],
            q: query.ListQuery | None = None) -> Response:
    q = q or list_query(request)
    items = [pick(render(r, found.tags.get(r.id, [])), q.fields) for r in found.rows]
    body: dict[str, Any] = {collection: items}
    links = _links(request, collection, found, q)
    if links:
        body[f"{collection}_links"] = links
    return wire.json(body)


def shown(request: Request, resource: str, body: dict[str, Any], status: int = 200
          ) -> Response:
    return wire.json({resource: pick(body, fields(request))}, status)


def created(resource: str, body: dict[str, Any]) -> Response:
    return wire.json({resource: body}, 201)


# --- handlers -----------------------------------------------------------------------------

Render = Callable[[Any, list[str]], dict[str, Any]]
Handler = Callable[[Request], Awaitable[Response]]


@dataclasses.dataclass(frozen=True)
class Resource:
    """One resource's collection and member. The service functions run through
    ``wire.call`` and return a view whose ``found`` holds the rows (``delete`` returns
    nothing); ``render(view)`` renders one row of it.

    A create is either ``create_many(s, ctx, items)`` (bulk allowed: one view of every row,
    all or none) or ``create_one(s, ctx, values, project)`` (one body, its ``project_of``
    taken before the call); ``check(item)`` vets each create body before the call."""

    singular: str
    plural: str
    id_param: str
    spec: Mapping[str, Attr]
    render: Callable[[Any], Render]
    index: Callable[..., Any]
    show: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., None]
    create_many: Callable[..., Any] | None = None
    create_one: Callable[..., Any] | None = None
    check: Callable[[dict[str, Any]], None] | None = None

    def rendered(self, view: Any) -> list[dict[str, Any]]:
        render = self.render(view)
        return [render(r, view.found.tags.get(r.id, [])) for r in view.found.rows]


def collection(res: Resource) -> Handler:
    """GET: the list (filters, fields, sorting, paging); POST: a create, 201."""
    async def handler(request: Request) -> Response:
        if request.method == "POST":
            if res.create_one is not None:
                values = await one(request, res.singular, res.spec)
                view = await wire.call(request, res.create_one, values, project_of(values))
                return created(res.singular, res.rendered(view)[0])
            assert res.create_many is not None
            items, bulk = await many(request, res.singular, res.plural, res.spec)
            if res.check is not None:
                for item in items:
                    res.check(item)
            view = await wire.call(request, res.create_many, items)
            bodies = res.rendered(view)
            return wire.json({res.plural: bodies} if bulk else {res.singular: bodies[0]}, 201)
        q = list_query(request)
        view = await wire.call(request, res.index, q)
        return listing(request, res.plural, view.found, res.render(view), q)
    return handler


def member(res: Resource) -> Handler:
    """GET: show; PUT: update (only the attributes the spec lets a PUT set); DELETE: 204."""
    async def handler(request: Request) -> Response:
        resource_id = request.path_params[res.id_param]
        if request.method == "DELETE":
            await wire.call(request, res.delete, resource_id)
            return wire.empty()
        if request.method == "PUT":
            values = await one(request, res.singular, res.spec, create=False)
            view = await wire.call(request, res.update, resource_id, values)
        else:
            view = await wire.call(request, res.show, resource_id)
        return shown(request, res.singular, res.rendered(view)[0])
    return handler


def routes(res: Resource) -> list[Route]:
    """``/<plural>`` (GET, POST) and ``/<plural>/{<id_param>}`` (GET, PUT, DELETE)."""
    path = f"/{res.plural}"
    return [Route(path, collection(res), methods=["GET", "POST"]),
            Route(f"{path}/{{{res.id_param}}}", member(res), methods=["GET", "PUT", "DELETE"])]
