"""``/servers/{id}/os-interface`` (list, show, attach, detach) and ``/servers/{id}/ips``
(all addresses, or those on one network label), as Nova renders them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.compute import common, validation
from sausage.services.compute import network_actions as actions
from sausage.services.compute import interfaces as svc

__all__ = ["ROUTES", "add_floating_ip", "remove_floating_ip", "add_security_group",
           "remove_security_group"]

ATTACH = {"type": "object", "properties": {"interfaceAttachment": {
    "type": "object",
    "properties": {
        "net_id": {"type": "string", "format": "uuid"},
        "port_id": {"type": "string", "format": "uuid"},
        "fixed_ips": {"type": "array", "minItems": 1, "maxItems": 1, "items": {
            "type": "object", "properties": {"ip_address": {"type": "string"}},
            "required": ["ip_address"], "additionalProperties": False}},
    },
    "additionalProperties": False}},
    "additionalProperties": False}


def _attachment(item: svc.Interface) -> dict[str, Any]:
    port = item.port
    return {"port_state": port.status, "port_id": port.id, "net_id": port.network_id,
            "mac_addr": port.mac_address,
            "fixed_ips": [{"subnet_id": sub, "ip_address": ip} for sub, ip in item.fixed_ips]}


async def collection(request: Request) -> Response:
    server_id = request.path_params["id"]
    if request.method == "POST":
        body = await common.json_body(request)
        validation.validate(ATTACH, body)
        item = await wire.call(request, svc.add_interface, server_id,
                               body.get("interfaceAttachment") or {})
        return wire.json({"interfaceAttachment": _attachment(item)})
    items = await wire.call(request, svc.list_interfaces, server_id)
    return wire.json({"interfaceAttachments": [_attachment(i) for i in items]})


async def member(request: Request) -> Response:
    server_id, port_id = request.path_params["id"], request.path_params["port_id"]
    if request.method == "DELETE":
        await wire.call(request, svc.remove_interface, server_id, port_id)
        return wire.empty(202)
    item = await wire.call(request, svc.show_interface, server_id, port_id)
    return wire.json({"interfaceAttachment": _attachment(item)})


def _basic(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # /ips shows the plain {version, addr}; the OS-EXT-IPS keys are the server body's.
    return [{"version": e["version"], "addr": e["addr"]} for e in entries]


async def ips(request: Request) -> Response:
    found = await wire.call(request, svc.server_addresses, request.path_params["id"])
    label = request.path_params.get("label")
    if label is None:
        return wire.json({"addresses": {k: _basic(v) for k, v in found.items()}})
    if label not in found:
        raise errors.NotFound("Instance is not a member of specified network")
    return wire.json({label: _basic(found[label])})


ADD_FLOATING_IP = {"type": "object", "properties": {
    "address": {"type": "string", "format": "ipv4"},
    "fixed_address": {"type": "string", "format": "ipv4"}},
    "required": ["address"], "additionalProperties": False}
REMOVE_FLOATING_IP = {"type": "object", "properties": {"address": {"type": "string"}},
                      "required": ["address"], "additionalProperties": False}


async def add_floating_ip(request: Request, server_id: str, body: Any) -> Response:
    """The ``addFloatingIp`` server action (Nova's proxy to Neutron, removed in 2.44)."""
    if common.at_least(request, 2, 44):
        raise errors.BadRequest("There is no such action: addFloatingIp")
    validation.validate(ADD_FLOATING_IP, body)
    await wire.call(request, actions.add_floating_ip, server_id, body["address"],
                    body.get("fixed_address"))
    return wire.empty(202)


async def remove_floating_ip(request: Request, server_id: str, body: Any) -> Response:
    if common.at_least(request, 2, 44):
        raise errors.BadRequest("There is no such action: removeFloatingIp")
    validation.validate(REMOVE_FLOATING_IP, body)
    await wire.call(request, actions.remove_floating_ip, server_id, body["address"])
    return wire.empty(202)


SECURITY_GROUP = {"type": "object", "properties": {"name": {
    "type": "string", "minLength": 1, "maxLength": 255}},
    "required": ["name"], "additionalProperties": False}


async def add_security_group(request: Request, server_id: str, body: Any) -> Response:
    """The ``addSecurityGroup`` server action: the group goes on all the server's ports."""
    validation.validate(SECURITY_GROUP, body)
    await wire.call(request, actions.add_security_group, server_id, body["name"])
    return wire.empty(202)


async def remove_security_group(request: Request, server_id: str, body: Any) -> Response:
    validation.validate(SECURITY_GROUP, body)
    await wire.call(request, actions.remove_security_group, server_id, body["name"])
    return wire.empty(202)


ROUTES = [
    Route("/servers/{id}/os-interface", collection, methods=["GET", "HEAD", "POST"]),
    Route("/servers/{id}/os-interface/{port_id}", member, methods=["GET", "HEAD", "DELETE"]),
    Route("/servers/{id}/ips", ips, methods=["GET", "HEAD"]),
    Route("/servers/{id}/ips/{label}", ips, methods=["GET", "HEAD"]),
]
