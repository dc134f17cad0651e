"""``/v2/reverse/floatingips[/{region}:{floatingip_id}]``: Designate's floating IP PTRs (list
the project's floating IPs with their PTRs, show one, PATCH ``ptrdname`` to set or null to
unset: 202).

Here the two domains meet: the floating IP is read through the network service (only the
caller's project's, sudo included: another project's, or an unknown one, is 404 as
Designate), then handed to the DNS service as ``reverse.FloatingIp``. The region is the
cloud's; a key naming another region is 404, a key that is not ``<region>:<uuid>`` is 400.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.dns import common as api_common
from sausage.services.context import Context
from sausage.services.dns import common
from sausage.services.dns import reverse as svc
from sausage.services.network import floatingips, query

__all__ = ["ROUTES", "render", "parse_key"]

# Designate's RE_FIP.
_KEY = re.compile(r"(?P<region>[A-Za-z0-9.\-_]{1,100}):(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-"
                  r"[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")


def parse_key(key: str) -> tuple[str, str]:
    found = _KEY.fullmatch(key)
    if found is None:
        raise errors.BadRequest(f"Floating IP {key[:140]} is not in the format of "
                                "<region>:<uuid>", kind="bad_request")
    return found["region"], found["id"].lower()


def render(request: Request, ptr: svc.Ptr) -> dict[str, Any]:
    return {"id": ptr.id, "ptrdname": ptr.ptrdname, "description": ptr.description,
            "ttl": ptr.ttl, "address": ptr.address, "status": ptr.status,
            "action": ptr.action,
            "links": {"self": f"{api_common.v2_url(request)}/reverse/floatingips/{ptr.id}"}}


def _region(request: Request) -> str:
    return str(request.app.state.cloud.settings.region)


def _fip(s: Session, ctx: Context, region: str, wanted_region: str, fip_id: str
         ) -> svc.FloatingIp:
    """The caller's project's floating IP, as the DNS service takes it; 404 otherwise."""
    missing = errors.NotFound(f"FloatingIP {fip_id} in {wanted_region} is not associated "
                              f"for project \"{ctx.project_id}\"", kind="not_found")
    if wanted_region != region:
        raise missing
    try:
        row = floatingips.find(s, ctx, fip_id)
    except errors.NotFound:
        raise missing from None
    if row.project_id != ctx.project_id:
        raise missing
    return svc.FloatingIp(row.id, row.floating_ip_address, row.project_id)


def _listed(request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Designate's floating IP list: not paged, so no ``next`` and no ``metadata``."""
    here = f"{api_common.v2_url(request)}/reverse/floatingips"
    query = request.url.query
    return {"floatingips": items, "links": {"self": here + (f"?{query}" if query else "")}}


async def listing(request: Request) -> Response:
    region, scope = _region(request), api_common.scope(request)

    def work(s: Session, ctx: Context) -> dict[str, Any]:
        ctx = common.scoped(ctx, scope)
        if ctx.project_id is None:
            return _listed(request, [])
        found = floatingips.list_floatingips(s, ctx, query.ListQuery(
            filters={"project_id": [ctx.project_id]}))
        fips = [svc.FloatingIp(r.id, r.floating_ip_address, r.project_id)
                for r in found.found.rows]
        return _listed(request, [render(request, p)
                                 for p in svc.list_ptrs(s, ctx, region, fips)])
    return wire.json(await wire.call(request, work))


async def member(request: Request) -> Response:
    wanted, fip_id = parse_key(request.path_params["fip_key"])
    region, scope = _region(request), api_common.scope(request)
    if request.method == "PATCH":
        values = svc.check_values(await api_common.body(request))

        def change(s: Session, ctx: Context) -> dict[str, Any] | None:
            ctx = common.scoped(ctx, scope)
            ptr = svc.update(s, ctx, region, _fip(s, ctx, region, wanted, fip_id), values)
            return None if ptr is None else render(request, ptr)
        body = await wire.call(request, change)
        return wire.empty(202) if body is None else wire.json(body, 202)

    def show(s: Session, ctx: Context) -> dict[str, Any]:
        ctx = common.scoped(ctx, scope)
        return render(request, svc.show(s, ctx, region, _fip(s, ctx, region, wanted, fip_id)))
    return wire.json(await wire.call(request, show))


ROUTES = [
    Route("/v2/reverse/floatingips", listing, methods=["GET"]),
    Route("/v2/reverse/floatingips/{fip_key}", member, methods=["GET", "PATCH"]),
]
