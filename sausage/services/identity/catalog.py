"""Regions, services and endpoints, and the catalog built from them for tokens.

Only services whose API really works are registered (``bootstrap`` does it), so the clients never
discover something that is not there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import identity as m
from sausage.db.models.base import new_id
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.identity import common

__all__ = [
    "get_region",
    "list_regions",
    "create_region",
    "update_region",
    "delete_region",
    "get_service",
    "list_services",
    "create_service",
    "update_service",
    "delete_service",
    "get_endpoint",
    "list_endpoints",
    "create_endpoint",
    "update_endpoint",
    "delete_endpoint",
    "build_catalog", "endpoint_url",
    "INTERFACES",
]

INTERFACES = ("public", "internal", "admin")


def _extra(values: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in fields and k not in ("id", "links")}


# --- regions -----------------------------------------------------------------------------------


def get_region(s: Session, ctx: Context, region_id: str) -> m.Region:
    policy.enforce(ctx, "identity:get_region")
    return common.get(s, m.Region, region_id, "region")


def list_regions(s: Session, ctx: Context, filters: Mapping[str, str]) -> list[m.Region]:
    policy.enforce(ctx, "identity:list_regions")
    query = common.filtered(select(m.Region), m.Region, filters, ("parent_region_id",))
    return common.list_rows(s, query.order_by(m.Region.id))


def create_region(s: Session, ctx: Context, values: Mapping[str, Any]) -> m.Region:
    policy.enforce(ctx, "identity:create_region")
    region_id = values.get("id") or new_id()
    if s.get(m.Region, region_id) is not None:
        raise errors.Conflict(
            f"Conflict occurred attempting to store region - Duplicate ID, {region_id}."
        )
    parent = values.get("parent_region_id")
    if parent is not None:  # "" names no region either: 404, as in Keystone
        common.get(s, m.Region, parent, "region")
    row = m.Region(
        id=region_id,
        description=values.get("description") or "",
        parent_region_id=parent,
        extra=_extra(values, ("description", "parent_region_id")),
    )
    s.add(row)
    s.flush()
    return row


def update_region(s: Session, ctx: Context, region_id: str, values: Mapping[str, Any]) -> m.Region:
    policy.enforce(ctx, "identity:update_region")
    row = common.get(s, m.Region, region_id, "region")
    if "parent_region_id" in values:
        parent = values["parent_region_id"]
        if parent is not None:
            common.get(s, m.Region, parent, "region")
            if parent == region_id:
                raise errors.BadRequest("A region cannot be its own parent.")
        row.parent_region_id = parent
    if "description" in values:
        row.description = values["description"] or ""
    row.extra = {**row.extra, **_extra(values, ("description", "parent_region_id"))}
    return row


def delete_region(s: Session, ctx: Context, region_id: str) -> None:
    policy.enforce(ctx, "identity:delete_region")
    row = common.get(s, m.Region, region_id, "region")
    if s.scalars(select(m.Region.id).where(m.Region.parent_region_id == region_id)).first():
        raise errors.Forbidden(f"Cannot delete region {region_id}: it has child regions.")
    if s.scalars(select(m.Endpoint.id).where(m.Endpoint.region_id == region_id)).first():
        raise errors.Forbidden(f"Cannot delete region {region_id}: endpoints still use it.")
    s.delete(row)


# --- services ----------------------------------------------------------------------------------

SERVICE_FIELDS = ("type", "name", "description", "enabled")


def get_service(s: Session, ctx: Context, service_id: str) -> m.Service:
    policy.enforce(ctx, "identity:get_service")
    return common.get(s, m.Service, service_id, "service")


def list_services(s: Session, ctx: Context, filters: Mapping[str, str]) -> list[m.Service]:
    policy.enforce(ctx, "identity:list_services")
    query = common.filtered(select(m.Service), m.Service, filters, ("type", "name", "enabled"))
    return common.list_rows(s, query.order_by(m.Service.type))


def create_service(s: Session, ctx: Context, values: Mapping[str, Any]) -> m.Service:
    policy.enforce(ctx, "identity:create_service")
    row = m.Service(
        type=values["type"],
        name=values.get("name") or "",
        description=values.get("description") or "",
        enabled=values.get("enabled", True),
        extra=_extra(values, SERVICE_FIELDS),
    )
    s.add(row)
    s.flush()
    return row


def update_service(
    s: Session, ctx: Context, service_id: str, values: Mapping[str, Any]
) -> m.Service:
    policy.enforce(ctx, "identity:update_service")
    row = common.get(s, m.Service, service_id, "service")
    for key in SERVICE_FIELDS:
        if key in values:
            setattr(row, key, values[key] if values[key] is not None else "")
    row.extra = {**row.extra, **_extra(values, SERVICE_FIELDS)}
    return row


def delete_service(s: Session, ctx: Context, service_id: str) -> None:
    policy.enforce(ctx, "identity:delete_service")
    row = common.get(s, m.Service, service_id, "service")
    for endpoint in s.scalars(select(m.Endpoint).where(m.Endpoint.service_id == service_id)):
        s.delete(endpoint)
    s.delete(row)


# --- endpoints ---------------------------------------------------------------------------------

ENDPOINT_FIELDS = ("service_id", "interface", "region_id", "region", "url", "enabled")


def _endpoint_values(s: Session, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "interface" in values:
        if values["interface"] not in INTERFACES:
            raise errors.BadRequest(
                f"Invalid input for field 'interface': '{values['interface']}' is not one of "
                f"{list(INTERFACES)}"
            )
        out["interface"] = values["interface"]
    if "service_id" in values:
        common.get(s, m.Service, values["service_id"], "service")
        out["service_id"] = values["service_id"]
    region = values.get("region_id") or values.get("region")
    if region:
        if values.get("region_id") or s.get(m.Region, region) is not None:
            common.get(s, m.Region, region, "region")
        else:
            # The legacy ``region`` attribute names a region that Keystone creates on demand.
            s.add(m.Region(id=region, description="", extra={}))
            s.flush()
        out["region_id"] = region
    for key in ("url", "enabled"):
        if key in values:
            out[key] = values[key]
    return out


def get_endpoint(s: Session, ctx: Context, endpoint_id: str) -> m.Endpoint:
    policy.enforce(ctx, "identity:get_endpoint")
    return common.get(s, m.Endpoint, endpoint_id, "endpoint")


def list_endpoints(s: Session, ctx: Context, filters: Mapping[str, str]) -> list[m.Endpoint]:
    policy.enforce(ctx, "identity:list_endpoints")
    query = common.filtered(
        select(m.Endpoint), m.Endpoint, filters, ("interface", "service_id", "region_id", "enabled")
    )
    return common.list_rows(s, query.order_by(m.Endpoint.service_id, m.Endpoint.interface))


def create_endpoint(s: Session, ctx: Context, values: Mapping[str, Any]) -> m.Endpoint:
    policy.enforce(ctx, "identity:create_endpoint")
    row = m.Endpoint(enabled=True, extra=_extra(values, ENDPOINT_FIELDS))
    for key, value in _endpoint_values(s, values).items():
        setattr(row, key, value)
    s.add(row)
    s.flush()
    return row


def update_endpoint(
    s: Session, ctx: Context, endpoint_id: str, values: Mapping[str, Any]
) -> m.Endpoint:
    policy.enforce(ctx, "identity:update_endpoint")
    row = common.get(s, m.Endpoint, endpoint_id, "endpoint")
    for key, value in _endpoint_values(s, values).items():
        setattr(row, key, value)
    row.extra = {**row.extra, **_extra(values, ENDPOINT_FIELDS)}
    return row


def delete_endpoint(s: Session, ctx: Context, endpoint_id: str) -> None:
    policy.enforce(ctx, "identity:delete_endpoint")
    s.delete(common.get(s, m.Endpoint, endpoint_id, "endpoint"))


# --- the catalog -------------------------------------------------------------------------------


def endpoint_url(url: str, project_id: str | None) -> str:
    """An endpoint URL as a token's catalog shows it: ``$(project_id)s`` and
    ``%(project_id)s`` (and the ``tenant_id`` spellings) become the token's project, as
    Keystone substitutes them; a URL that needs a project is left out of an unscoped catalog's
    substitution (the caller drops it)."""
    if project_id is None:
        return url
    for name in ("project_id", "tenant_id"):
        url = url.replace(f"$({name})s", project_id).replace(f"%({name})s", project_id)
    return url


def build_catalog(s: Session, project_id: str | None = None) -> list[dict[str, Any]]:
    """The token catalog: every enabled service with its enabled endpoints, in one query;
    endpoint URLs name ``project_id`` where they have a project placeholder. Without a project
    (a domain-scoped token) endpoints that need one are left out, as Keystone does."""
    rows = s.execute(
        select(m.Service, m.Endpoint)
        .join(m.Endpoint, m.Endpoint.service_id == m.Service.id)
        .where(m.Service.enabled.is_(True), m.Endpoint.enabled.is_(True))
        .order_by(m.Service.type, m.Endpoint.interface)
    ).all()
    services: dict[str, dict[str, Any]] = {}
    for service, endpoint in rows:
        url = endpoint_url(endpoint.url, project_id)
        if "(project_id)s" in url or "(tenant_id)s" in url:
            continue
        entry = services.setdefault(
            service.id,
            {"type": service.type, "name": service.name, "id": service.id, "endpoints": []},
        )
        entry["endpoints"].append(
            {
                "id": endpoint.id,
                "interface": endpoint.interface,
                "region": endpoint.region_id,
                "region_id": endpoint.region_id,
                "url": url,
            }
        )
    return list(services.values())
