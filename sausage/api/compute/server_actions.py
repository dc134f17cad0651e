"""``POST /servers/{id}/action``: one handler per action name, as Nova dispatches them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.compute import common, interfaces, render, servers, validation
from sausage.services.compute import server_actions as svc
from sausage.services.compute import servers as server_svc
from sausage.services.context import Context
from sausage.services.image import images

__all__ = ["ROUTES"]

Handler = Callable[[Request, str, Any], Awaitable[Response]]


async def _simple(request: Request, server_id: str, fn: Callable[..., Any]) -> Response:
    await wire.call(request, fn, server_id)
    return wire.empty(202)


async def reboot(request: Request, server_id: str, body: Any) -> Response:
    validation.validate({"type": "object", "properties": {"type": {
        "type": "string", "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}},
        "required": ["type"], "additionalProperties": False}, body)
    await wire.call(request, svc.reboot, server_id, body["type"].upper())
    return wire.empty(202)


async def lock(request: Request, server_id: str, body: Any) -> Response:
    reason = (body or {}).get("locked_reason") if isinstance(body, dict) else None
    if reason is not None:  # Nova's lock schema: a string of at most 255 characters
        validation.validate({"type": "string", "maxLength": 255}, reason)
    await wire.call(request, svc.lock, server_id, reason)
    return wire.empty(202)


async def rebuild(request: Request, server_id: str, body: Any) -> Response:
    props: dict[str, Any] = {"imageRef": {"type": "string"}, "name": validation.NAME,
                             "metadata": validation.METADATA, "adminPass": {"type": "string"},
                             "accessIPv4": {"type": "string"}, "accessIPv6": {"type": "string"},
                             "OS-DCF:diskConfig": {"type": "string"},
                             "preserve_ephemeral": {"type": "boolean"},
                             "personality": {"type": "array"}}
    if common.at_least(request, 2, 19):
        props["description"] = {"type": ["string", "null"], "maxLength": 255}
    validation.validate({"type": "object", "properties": props, "required": ["imageRef"],
                         "additionalProperties": False}, body)

    def work(s: Session, ctx: Context) -> tuple[Any, Any]:
        row = svc.rebuild(s, ctx, server_id, body)
        return row, servers.render_context(s, ctx, [row])

    row, rctx = await wire.call(request, work)
    out = render.server(request, row, rctx)
    for key in [k for k in out if k.startswith(("OS-EXT", "OS-SRV", "os-extended"))]:
        out.pop(key)
    for key in ("key_name", "config_drive", "security_groups", "host_status"):
        out.pop(key, None)
    render.plain_addresses(out)
    out["adminPass"] = body.get("adminPass") or "rebuilt"
    return wire.json({"server": out}, 202)


async def resize(request: Request, server_id: str, body: Any) -> Response:
    validation.validate({"type": "object", "properties": {
        "flavorRef": {"type": ["string", "integer"], "minLength": 1},
        "OS-DCF:diskConfig": {"type": "string"}},
        "required": ["flavorRef"], "additionalProperties": False}, body)
    await wire.call(request, svc.resize, server_id, str(body["flavorRef"]))
    return wire.empty(202)


async def confirm(request: Request, server_id: str, body: Any) -> Response:
    await wire.call(request, svc.confirm_resize, server_id)
    return wire.empty(204)


async def revert(request: Request, server_id: str, body: Any) -> Response:
    await wire.call(request, svc.revert_resize, server_id)
    return wire.empty(202)


async def create_image(request: Request, server_id: str, body: Any) -> Response:
    validation.validate({"type": "object", "properties": {
        "name": validation.NAME, "metadata": validation.METADATA},
        "required": ["name"], "additionalProperties": False}, body)
    settings = request.app.state.cloud.settings
    quota = images.Quota(settings.image_quota_count, settings.image_quota_bytes)
    image_id = await wire.call(request, svc.create_image, server_id, body["name"],
                               body.get("metadata") or {}, quota)
    location = f"{wire.base_url(request, 'image')}/v2/images/{image_id}"
    if common.at_least(request, 2, 45):
        return wire.json({"image_id": image_id}, 202)
    return wire.empty(202, {"Location": location})


async def console(request: Request, server_id: str, body: Any) -> Response:
    validation.validate({"type": "object", "properties": {"length": {
        "type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$"}},
        "additionalProperties": False}, body or {})
    raw = (body or {}).get("length")
    length = None if raw in (None, -1, "-1") else int(raw)
    output = await wire.call(request, svc.console_output, server_id, length)
    return wire.json({"output": output})


async def force_delete(request: Request, server_id: str, body: Any) -> Response:
    await wire.call(request, server_svc.delete, server_id, True)
    return wire.empty(202)


def simple(fn: Callable[..., Any]) -> Handler:
    async def handler(request: Request, server_id: str, body: Any) -> Response:
        return await _simple(request, server_id, fn)
    return handler


ACTIONS: dict[str, Handler] = {
    "os-stop": simple(svc.stop), "os-start": simple(svc.start),
    "pause": simple(svc.pause), "unpause": simple(svc.unpause),
    "suspend": simple(svc.suspend), "resume": simple(svc.resume),
    "unlock": simple(svc.unlock), "lock": lock, "reboot": reboot, "rebuild": rebuild,
    "resize": resize, "confirmResize": confirm, "revertResize": revert,
    "createImage": create_image, "os-getConsoleOutput": console,
    "forceDelete": force_delete,
    "addFloatingIp": interfaces.add_floating_ip,
    "removeFloatingIp": interfaces.remove_floating_ip,
    "addSecurityGroup": interfaces.add_security_group,
    "removeSecurityGroup": interfaces.remove_security_group,
}


async def action(request: Request) -> Response:
    body = await common.json_body(request)
    if len(body) != 1:
        raise errors.BadRequest("There is either no action or more than one in the body.")
    (name, payload), = body.items()
    handler = ACTIONS.get(name)
    if handler is None:
        raise errors.BadRequest(f"There is no such action: {name}")
    return await handler(request, request.path_params["id"], payload)


ROUTES = [Route("/servers/{id}/action", action, methods=["POST"])]
