"""Flavors: the sizes servers come in. Admin creates and deletes; everyone lists public ones and
the private ones their project was given access to."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.db.session import storable
from sausage.services import policy
from sausage.services.compute import paging
from sausage.services.context import Context

__all__ = ["list_flavors", "get", "create", "update", "delete", "extra_specs", "set_extra_specs",
           "delete_extra_spec", "list_access", "add_access", "remove_access", "DEFAULTS",
           "ensure_defaults", "usable"]

# Nova's classic flavors, made by `sausage up` so `--flavor m1.tiny` works out of the box.
DEFAULTS = [("1", "m1.tiny", 1, 512, 1), ("2", "m1.small", 1, 2048, 20),
            ("3", "m1.medium", 2, 4096, 40), ("4", "m1.large", 4, 8192, 80),
            ("5", "m1.xlarge", 8, 16384, 160)]


def ensure_defaults(s: Session) -> None:
    for flavor_id, name, vcpus, ram, disk in DEFAULTS:
        if s.get(m.Flavor, flavor_id) is None and s.scalars(
                select(m.Flavor.id).where(m.Flavor.name == name)).first() is None:
            s.add(m.Flavor(id=flavor_id, name=name, vcpus=vcpus, ram=ram, disk=disk))


def _visible(ctx: Context) -> Any:
    if policy.allowed(ctx, "context_is_admin"):
        return m.Flavor.id.is_not(None)
    return or_(m.Flavor.is_public.is_(True), exists().where(and_(
        m.FlavorAccess.flavor_id == m.Flavor.id, m.FlavorAccess.project_id == ctx.project_id)))


def get(s: Session, ctx: Context, flavor_id: str) -> m.Flavor:
    row = s.scalars(select(m.Flavor).where(m.Flavor.id == flavor_id, _visible(ctx))).first()
    if row is None:
        raise errors.NotFound(f"Flavor {flavor_id} could not be found.")
    return row


def usable(s: Session, ctx: Context, ref: str) -> m.Flavor:
    """The flavor a server create names (by id), or BadRequest as Nova says it."""
    try:
        return get(s, ctx, ref)
    except errors.NotFound as e:
        raise errors.BadRequest(f"Flavor {ref} could not be found.") from e


def list_flavors(s: Session, ctx: Context, filters: Mapping[str, str]) -> list[m.Flavor]:
    query = select(m.Flavor)
    is_public = filters.get("is_public", "true").lower()
    if not policy.allowed(ctx, "context_is_admin"):
        # Nova ignores is_public for users: public flavors and those shared with the project.
        query = query.where(_visible(ctx))
    elif is_public in ("false", "0", "no", "f", "n"):
        query = query.where(m.Flavor.is_public.is_(False))
    elif is_public not in ("none", "all"):
        query = query.where(m.Flavor.is_public.is_(True))
    for name, column in (("minRam", m.Flavor.ram), ("minDisk", m.Flavor.disk)):
        if name in filters:
            try:
                least = int(filters[name])
            except ValueError as e:
                raise errors.BadRequest(f"Invalid {name} filter [{filters[name]}]") from e
            if storable(column, least) is not None:  # PostgreSQL compares within the column
                raise errors.BadRequest(f"Invalid {name} filter [{filters[name]}]")
            query = query.where(column >= least)
    sort_key = filters.get("sort_key", "flavorid")
    columns: dict[str, Any] = {"flavorid": m.Flavor.id, "name": m.Flavor.name, "memory_mb": m.Flavor.ram,
               "vcpus": m.Flavor.vcpus, "root_gb": m.Flavor.disk, "id": m.Flavor.id}
    if sort_key not in columns:
        raise errors.BadRequest(f"Invalid sort_key {sort_key}")
    column = columns[sort_key]
    query = query.order_by(column.desc() if filters.get("sort_dir") == "desc" else column.asc())
    return paging.page(list(s.scalars(query)), filters, lambda r: r.id)


def _admin(ctx: Context) -> None:
    policy.enforce(ctx, "os_compute_api:os-flavor-manage")


def create(s: Session, ctx: Context, values: Mapping[str, Any]) -> m.Flavor:
    _admin(ctx)
    flavor_id = values.get("id") or str(uuid.uuid4())
    if s.get(m.Flavor, flavor_id) is not None:
        raise errors.Conflict(f"Flavor with ID {flavor_id} already exists.")
    if s.scalars(select(m.Flavor.id).where(m.Flavor.name == values["name"])).first():
        raise errors.Conflict(f"Flavor with name {values['name']} already exists.")
    row = m.Flavor(
        id=flavor_id, name=values["name"], vcpus=values["vcpus"], ram=values["ram"],
        disk=values["disk"], ephemeral=values.get("OS-FLV-EXT-DATA:ephemeral", 0),
        swap=values.get("swap") or 0, rxtx_factor=values.get("rxtx_factor", 1.0),
        is_public=values.get("os-flavor-access:is_public", True),
        description=values.get("description"))
    s.add(row)
    s.flush()
    return row


def update(s: Session, ctx: Context, flavor_id: str, description: str | None) -> m.Flavor:
    _admin(ctx)
    row = get(s, ctx, flavor_id)
    row.description = description
    return row


def delete(s: Session, ctx: Context, flavor_id: str) -> None:
    _admin(ctx)
    s.delete(get(s, ctx, flavor_id))


def extra_specs(s: Session, ctx: Context, flavor_id: str) -> dict[str, str]:
    get(s, ctx, flavor_id)
    return dict(s.execute(select(m.FlavorExtraSpec.key, m.FlavorExtraSpec.value)
                          .where(m.FlavorExtraSpec.flavor_id == flavor_id)).tuples().all())


def set_extra_specs(s: Session, ctx: Context, flavor_id: str,
                    specs: Mapping[str, str]) -> dict[str, str]:
    _admin(ctx)
    get(s, ctx, flavor_id)
    for key, value in specs.items():
        row = s.get(m.FlavorExtraSpec, (flavor_id, key))
        if row is None:
            s.add(m.FlavorExtraSpec(flavor_id=flavor_id, key=key, value=value))
        else:
            row.value = value
    s.flush()
    return dict(specs)


def delete_extra_spec(s: Session, ctx: Context, flavor_id: str, key: str) -> None:
    _admin(ctx)
    get(s, ctx, flavor_id)
    row = s.get(m.FlavorExtraSpec, (flavor_id, key))
    if row is None:
        raise errors.NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    s.delete(row)


def list_access(s: Session, ctx: Context, flavor_id: str) -> list[str]:
    _admin(ctx)
    row = get(s, ctx, flavor_id)
    if row.is_public:
        raise errors.NotFound("Access list not available for public flavors.")
    return list(s.scalars(select(m.FlavorAccess.project_id)
                          .where(m.FlavorAccess.flavor_id == flavor_id)))


def add_access(s: Session, ctx: Context, flavor_id: str, project_id: str) -> list[str]:
    _admin(ctx)
    row = get(s, ctx, flavor_id)
    if row.is_public:
        raise errors.Conflict("Can not add access to a public flavor.")
    if s.get(m.FlavorAccess, (flavor_id, project_id)) is not None:
        raise errors.Conflict(f"Flavor access already exists for flavor {flavor_id} and "
                              f"project {project_id} combination.")
    s.add(m.FlavorAccess(flavor_id=flavor_id, project_id=project_id))
    s.flush()
    return list_access(s, ctx, flavor_id)


def remove_access(s: Session, ctx: Context, flavor_id: str, project_id: str) -> list[str]:
    _admin(ctx)
    get(s, ctx, flavor_id)
    row = s.get(m.FlavorAccess, (flavor_id, project_id))
    if row is None:
        raise errors.NotFound(f"Flavor access not found for {flavor_id} / {project_id} "
                              "combination.")
    s.delete(row)
    s.flush()
    return list_access(s, ctx, flavor_id)
