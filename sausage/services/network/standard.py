"""Neutron's standard attributes shared by every resource kind: the revision bump on update
and tags (``/v2.0/{collection}/{id}/tags[/{tag}]``).

Every service calls ``touch`` when it changes a resource, ``set_tags`` when a create body
carries ``tags`` and ``drop_tags`` when it deletes one (tags have no foreign key: one table
serves every kind). The tag endpoints call ``get_tags``/``replace_tags``/``add_tag``/
``remove_tag``/``remove_all``/``has_tag`` with the URL's collection name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context

__all__ = ["touch", "set_tags", "drop_tags", "get_tags", "replace_tags", "add_tag",
           "remove_tag", "remove_all", "has_tag", "KINDS", "MAX_TAG"]

MAX_TAG = 255

# URL collection → (model, resource type stored with the tag, Neutron's not-found kind).
KINDS: dict[str, tuple[Any, str, str]] = {
    "networks": (nm.Network, "network", "NetworkNotFound"),
    "subnets": (nm.Subnet, "subnet", "SubnetNotFound"),
    "ports": (nm.Port, "port", "PortNotFound"),
    "subnetpools": (nm.SubnetPool, "subnetpool", "SubnetPoolNotFound"),
    "routers": (nm.Router, "router", "RouterNotFound"),
    "floatingips": (nm.FloatingIP, "floatingip", "FloatingIPNotFound"),
    "security-groups": (nm.SecurityGroup, "security_group", "SecurityGroupNotFound"),
    "security_groups": (nm.SecurityGroup, "security_group", "SecurityGroupNotFound"),
}


def touch(row: Any) -> None:
    """Count one more revision of ``row`` (Neutron's revision_number) and stamp it."""
    row.revision_number = (row.revision_number or 0) + 1
    row.updated_at = utcnow()


def _valid(tags: Sequence[Any]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG or "," in tag:
            raise errors.BadRequest(f"Invalid input for operation: '{tag}' is not a valid tag.",
                                    kind="InvalidInput")
        if tag not in out:
            out.append(tag)
    return out


def set_tags(s: Session, row: Any, resource_type: str, tags: Sequence[Any]) -> list[str]:
    """Make ``row``'s tags exactly ``tags``. Raises BadRequest for an invalid tag."""
    wanted = _valid(tags)
    s.execute(delete(nm.NetworkTag).where(nm.NetworkTag.resource_id == row.id))
    for tag in wanted:
        s.add(nm.NetworkTag(resource_id=row.id, tag=tag, resource_type=resource_type))
    s.flush()
    return sorted(wanted)


def drop_tags(s: Session, ids: Sequence[str]) -> None:
    if ids:
        s.execute(delete(nm.NetworkTag).where(nm.NetworkTag.resource_id.in_(list(ids))))


def _public(s: Session, row: Any) -> bool:
    if isinstance(row, nm.Network):
        return row.shared or row.external
    if isinstance(row, nm.Subnet):
        net = s.get(nm.Network, row.network_id)
        return net is not None and (net.shared or net.external)
    if isinstance(row, (nm.SubnetPool, nm.SecurityGroup)):
        return bool(row.shared)
    return False


def _find(s: Session, ctx: Context, collection: str, resource_id: str, write: bool
          ) -> tuple[Any, str]:
    if collection not in KINDS:
        raise errors.NotFound("The resource could not be found.")
    model, resource_type, missing = KINDS[collection]
    row = s.get(model, resource_id)
    if row is None or not policy.allowed(ctx, f"get_{resource_type}", {
            "project_id": row.project_id, "public": _public(s, row)}):
        raise errors.NotFound(f"{resource_type.replace('_', ' ').title().replace(' ', '')} "
                              f"{resource_id} could not be found.", kind=missing)
    if write:
        policy.enforce(ctx, f"update_{resource_type}:tags", {"project_id": row.project_id})
    return row, resource_type


def get_tags(s: Session, ctx: Context, collection: str, resource_id: str) -> list[str]:
    row, _ = _find(s, ctx, collection, resource_id, write=False)
    return sorted(s.scalars(select(nm.NetworkTag.tag).where(
        nm.NetworkTag.resource_id == row.id)))


def has_tag(s: Session, ctx: Context, collection: str, resource_id: str, tag: str) -> None:
    """NotFound unless the resource carries ``tag``."""
    if tag not in get_tags(s, ctx, collection, resource_id):
        raise errors.NotFound(f"Tag {tag} could not be found for {collection[:-1]} "
                              f"{resource_id}.", kind="TagNotFound")


def replace_tags(s: Session, ctx: Context, collection: str, resource_id: str,
                 tags: Sequence[Any]) -> list[str]:
    row, resource_type = _find(s, ctx, collection, resource_id, write=True)
    out = set_tags(s, row, resource_type, tags)
    touch(row)
    return out


def add_tag(s: Session, ctx: Context, collection: str, resource_id: str, tag: str) -> None:
    row, resource_type = _find(s, ctx, collection, resource_id, write=True)
    (tag,) = _valid([tag])
    if s.get(nm.NetworkTag, (row.id, tag)) is None:
        s.add(nm.NetworkTag(resource_id=row.id, tag=tag, resource_type=resource_type))
        touch(row)


def remove_tag(s: Session, ctx: Context, collection: str, resource_id: str, tag: str) -> None:
    row, _ = _find(s, ctx, collection, resource_id, write=True)
    found = s.get(nm.NetworkTag, (row.id, tag))
    if found is None:
        raise errors.NotFound(f"Tag {tag} could not be found for {collection[:-1]} "
                              f"{resource_id}.", kind="TagNotFound")
    s.delete(found)
    touch(row)


def remove_all(s: Session, ctx: Context, collection: str, resource_id: str) -> None:
    row, _ = _find(s, ctx, collection, resource_id, write=True)
    drop_tags(s, [row.id])
    touch(row)
