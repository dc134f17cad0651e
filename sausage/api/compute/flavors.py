"""``/flavors``: list, show, and for admin create, delete, extra specs and access lists."""

from __future__ import annotations

from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.compute import common, validation
from sausage.services.compute import flavors as svc

__all__ = ["ROUTES", "render"]

N = TypeVar("N", int, float)

# Nova's db limits: what its integer and single-precision float columns hold.
MAX_INT = 2147483647
MAX_FLOAT = 3.40282e+38

CREATE = {
    "type": "object",
    "properties": {"flavor": {
        "type": "object",
        "properties": {
            "name": validation.NAME,
            "id": {"type": ["string", "number", "null"], "minLength": 1, "maxLength": 255,
                   "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"},
            "ram": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1,
                    "maximum": MAX_INT},
            "vcpus": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1,
                      "maximum": MAX_INT},
            "disk": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0,
                     "maximum": MAX_INT},
            "OS-FLV-EXT-DATA:ephemeral": {"type": ["integer", "string"], "pattern": "^[0-9]*$",
                                          "minimum": 0, "maximum": MAX_INT},
            "swap": {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0,
                     "maximum": MAX_INT},
            # A float column: Nova allows up to single precision's largest value.
            "rxtx_factor": {"type": ["number", "string"], "pattern": r"^[0-9]+(\.[0-9]+)?$",
                            "minimum": 0, "exclusiveMinimum": True, "maximum": MAX_FLOAT},
            "os-flavor-access:is_public": validation.BOOLEAN,
        },
        "required": ["name", "ram", "vcpus", "disk"],
        "additionalProperties": False,
    }},
    "required": ["flavor"],
    "additionalProperties": False,
}


def _bounded(name: str, value: N, maximum: N) -> N:
    """A number given as a string is checked only after conversion (the schema's bounds apply
    to numbers): Nova's words for one outside its column."""
    if value > maximum:
        raise errors.BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                                f"{value} is greater than the maximum of {maximum}")
    if name == "rxtx_factor" and value <= 0:
        raise errors.BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                                f"{value} is less than or equal to the minimum of 0")
    if name in ("ram", "vcpus") and value < 1:
        raise errors.BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                                f"{value} is less than the minimum of 1")
    return value


def render(request: Request, row: Any, detail: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"id": row.id, "name": row.name,
                            "links": common.links(request, "flavors", row.id)}
    if detail:
        body.update({
            "ram": row.ram, "vcpus": row.vcpus, "disk": row.disk, "swap": row.swap or "",
            "OS-FLV-EXT-DATA:ephemeral": row.ephemeral, "OS-FLV-DISABLED:disabled": False,
            "os-flavor-access:is_public": row.is_public, "rxtx_factor": row.rxtx_factor,
        })
    return body


async def collection(request: Request) -> Response:
    if request.method == "POST":
        body = await common.json_body(request)
        validation.validate(CREATE, body)
        values = dict(body["flavor"])
        for key in ("ram", "vcpus", "disk", "OS-FLV-EXT-DATA:ephemeral", "swap"):
            if key in values and values[key] != "":
                values[key] = _bounded(key, int(values[key]), MAX_INT)
        if "rxtx_factor" in values:
            values["rxtx_factor"] = _bounded("rxtx_factor", float(values["rxtx_factor"]),
                                             MAX_FLOAT)
        if "os-flavor-access:is_public" in values:
            values["os-flavor-access:is_public"] = validation.truthy(
                values["os-flavor-access:is_public"])
        if values.get("id") is not None:
            values["id"] = str(values["id"])
        row = await wire.call(request, svc.create, values)
        return wire.json({"flavor": render(request, row)})
    detail = request.url.path.endswith("/detail")
    rows = await wire.call(request, svc.list_flavors, wire.filters(request))
    return wire.json({"flavors": [render(request, r, detail) for r in rows]})


async def member(request: Request) -> Response:
    flavor_id = request.path_params["id"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete, flavor_id)
        return wire.empty(202)
    row = await wire.call(request, svc.get, flavor_id)
    return wire.json({"flavor": render(request, row)})


async def extra_specs(request: Request) -> Response:
    flavor_id = request.path_params["id"]
    if request.method == "POST":
        body = await common.json_body(request)
        specs = body.get("extra_specs")
        if not isinstance(specs, dict) or not all(
                isinstance(k, str) and isinstance(v, (str, int, float, bool))
                for k, v in specs.items()):
            raise errors.BadRequest("Invalid input for field/attribute extra_specs.")
        specs = {k: str(v) for k, v in specs.items()}
        return wire.json({"extra_specs": await wire.call(request, svc.set_extra_specs,
                                                          flavor_id, specs)})
    return wire.json({"extra_specs": await wire.call(request, svc.extra_specs, flavor_id)})


async def extra_spec(request: Request) -> Response:
    flavor_id, key = request.path_params["id"], request.path_params["key"]
    if request.method == "DELETE":
        await wire.call(request, svc.delete_extra_spec, flavor_id, key)
        return wire.empty(200)
    if request.method == "PUT":
        body = await common.json_body(request)
        if list(body) != [key]:
            raise errors.BadRequest("Request body and URI mismatch")
        await wire.call(request, svc.set_extra_specs, flavor_id, {key: str(body[key])})
        return wire.json({key: str(body[key])})
    specs = await wire.call(request, svc.extra_specs, flavor_id)
    if key not in specs:
        raise errors.NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return wire.json({key: specs[key]})


def _access(flavor_id: str, projects: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavor_id, "tenant_id": p} for p in projects]}


async def access(request: Request) -> Response:
    flavor_id = request.path_params["id"]
    return wire.json(_access(flavor_id, await wire.call(request, svc.list_access, flavor_id)))


async def action(request: Request) -> Response:
    flavor_id = request.path_params["id"]
    body = await common.json_body(request)
    for name, fn in (("addTenantAccess", svc.add_access),
                     ("removeTenantAccess", svc.remove_access)):
        if name in body:
            tenant = body[name].get("tenant") if isinstance(body[name], dict) else None
            if not isinstance(tenant, str) or not tenant:
                raise errors.BadRequest(f"Invalid input for field/attribute {name}. Value: "
                                        f"{body[name]}. 'tenant' is a required property")
            return wire.json(_access(flavor_id, await wire.call(request, fn, flavor_id, tenant)))
    raise errors.BadRequest("Unknown flavor action.")


ROUTES = [
    Route("/flavors", collection, methods=["GET", "HEAD", "POST"]),
    Route("/flavors/detail", collection, methods=["GET", "HEAD"]),
    Route("/flavors/{id}", member, methods=["GET", "HEAD", "DELETE"]),
    Route("/flavors/{id}/os-extra_specs", extra_specs, methods=["GET", "HEAD", "POST"]),
    Route("/flavors/{id}/os-extra_specs/{key}", extra_spec,
          methods=["GET", "HEAD", "PUT", "DELETE"]),
    Route("/flavors/{id}/os-flavor-access", access, methods=["GET", "HEAD"]),
    Route("/flavors/{id}/action", action, methods=["POST"]),
]
