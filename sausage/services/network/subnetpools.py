"""Subnet pools: CRUD, and carving subnets out of a pool's prefixes (first free prefix of
the asked length), as Neutron's ``subnet_allocation`` extension does."""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.network import query, quotas, standard

__all__ = ["View", "view_of", "find", "show", "list_pools", "create", "update", "delete", "carve",
           "default_pool", "check_inside"]

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclasses.dataclass
class View:
    found: query.Found[nm.SubnetPool]


def view_of(s: Session, rows: Sequence[nm.SubnetPool]) -> View:
    """``rows`` (just written by this caller) as the API renders them."""
    return View(query.found_of(s, rows))


def not_found(pool_id: str) -> errors.NotFound:
    return errors.NotFound(f"Subnet pool {pool_id} could not be found.",
                           kind="SubnetPoolNotFound")


def find(s: Session, ctx: Context, pool_id: str) -> nm.SubnetPool:
    row = s.get(nm.SubnetPool, pool_id)
    if row is None or not policy.allowed(ctx, "get_subnetpool",
                                         {"project_id": row.project_id, "public": row.shared}):
        raise not_found(pool_id)
    return row


def show(s: Session, ctx: Context, pool_id: str) -> View:
    row = find(s, ctx, pool_id)
    return View(query.found_of(s, [row]))


def list_pools(s: Session, ctx: Context, q: query.ListQuery) -> View:
    stmt = select(nm.SubnetPool).where(
        query.owned_or(nm.SubnetPool, ctx, nm.SubnetPool.shared.is_(True)))
    return View(query.run(s, stmt, nm.SubnetPool, q))


def _prefixes(raw: Sequence[str]) -> tuple[int, list[Net]]:
    nets: list[Net] = []
    for text in raw:
        try:
            nets.append(ipaddress.ip_network(text, strict=False))
        except ValueError as e:
            raise errors.BadRequest(f"Invalid input for prefixes. Reason: '{text}' is not a "
                                    "valid IP subnet.", kind="InvalidInput") from e
    if not nets:
        raise errors.BadRequest("Invalid input for operation: prefixes must not be empty.",
                                kind="InvalidInput")
    versions = {n.version for n in nets}
    if len(versions) != 1:
        raise errors.BadRequest("Illegal subnetpool: prefixes of different IP versions.",
                                kind="PrefixVersionMismatch")
    merged: list[Net] = list(ipaddress.collapse_addresses(nets))  # type: ignore[type-var]
    return versions.pop(), merged


def _lengths(values: Mapping[str, Any], version: int,
             current: nm.SubnetPool | None = None) -> tuple[int, int, int]:
    """(min, default, max) prefix lengths: Neutron's defaults are 8 (IPv4) or 64 (IPv6) for
    min, min for default, 32 or 128 for max."""
    top = 32 if version == 4 else 128
    lo = int(values.get("min_prefixlen", current.min_prefixlen if current else
                        (8 if version == 4 else 64)))
    hi = int(values.get("max_prefixlen", current.max_prefixlen if current else top))
    default = int(values.get("default_prefixlen", current.default_prefixlen if current else lo))
    if not 0 <= lo <= default <= hi <= top:
        raise errors.BadRequest("Illegal prefix bounds: min_prefixlen <= default_prefixlen <= "
                                f"max_prefixlen <= {top} is required.",
                                kind="IllegalSubnetPoolPrefixBounds")
    return lo, default, hi


def create(s: Session, ctx: Context, values: Mapping[str, Any],
           project_id: str | None = None) -> nm.SubnetPool:
    project = project_id or ctx.project_id or ""
    if project != ctx.project_id:
        policy.enforce(ctx, "create_subnetpool:project_id")
    policy.enforce(ctx, "create_subnetpool", {"project_id": project})
    if values.get("shared"):
        policy.enforce(ctx, "create_subnetpool:shared")
    if values.get("is_default"):
        policy.enforce(ctx, "create_subnetpool:is_default")
    if values.get("address_scope_id"):
        raise errors.NotFound(f"Address scope {values['address_scope_id']} could not be found.",
                              kind="AddressScopeNotFound")
    version, nets = _prefixes(values.get("prefixes") or [])
    lo, default, hi = _lengths(values, version)
    if values.get("is_default"):
        _one_default(s, version, None)
    quotas.check(s, project, "subnetpool")
    row = nm.SubnetPool(
        id=str(uuid.uuid4()), project_id=project, name=values.get("name", ""),
        description=values.get("description", ""), ip_version=version,
        prefixes=[str(n) for n in nets], min_prefixlen=lo, default_prefixlen=default,
        max_prefixlen=hi, default_quota=values.get("default_quota"),
        shared=bool(values.get("shared", False)), is_default=bool(values.get("is_default")),
        address_scope_id=None)
    s.add(row)
    s.flush()
    if values.get("tags"):
        standard.set_tags(s, row, "subnetpool", values["tags"])
    return row


def _one_default(s: Session, version: int, except_id: str | None) -> None:
    other = s.scalars(select(nm.SubnetPool.id).where(
        nm.SubnetPool.is_default.is_(True), nm.SubnetPool.ip_version == version)).first()
    if other and other != except_id:
        raise errors.Conflict(f"A default subnetpool for this IP family has already been set. "
                              f"Only one default may exist per IP family: {other}.",
                              kind="InvalidInput")


def update(s: Session, ctx: Context, pool_id: str, values: Mapping[str, Any]
           ) -> nm.SubnetPool:
    row = find(s, ctx, pool_id)
    policy.enforce(ctx, "update_subnetpool", {"project_id": row.project_id})
    if "is_default" in values and values["is_default"] != row.is_default:
        policy.enforce(ctx, "update_subnetpool:is_default")
        if values["is_default"]:
            _one_default(s, row.ip_version, row.id)
    if "shared" in values and values["shared"] != row.shared:
        raise errors.BadRequest("Attribute 'shared' not allowed in PUT", kind="HTTPBadRequest")
    if "prefixes" in values:
        version, nets = _prefixes(values["prefixes"])
        old = [ipaddress.ip_network(p) for p in row.prefixes]
        if version != row.ip_version or not all(
                any(o.subnet_of(n) for n in nets) for o in old):  # type: ignore[arg-type]
            raise errors.BadRequest("Illegal update to prefixes: existing prefixes must be "
                                    "kept.", kind="IllegalSubnetPoolPrefixUpdate")
        row.prefixes = [str(n) for n in nets]
    if {"min_prefixlen", "max_prefixlen", "default_prefixlen"} & set(values):
        row.min_prefixlen, row.default_prefixlen, row.max_prefixlen = _lengths(
            values, row.ip_version, row)
    for key in ("name", "description", "default_quota", "is_default"):
        if key in values:
            setattr(row, key, values[key])
    standard.touch(row)
    s.flush()
    return row


def delete(s: Session, ctx: Context, pool_id: str) -> None:
    row = find(s, ctx, pool_id)
    policy.enforce(ctx, "delete_subnetpool", {"project_id": row.project_id})
    if s.scalars(select(nm.Subnet.id).where(nm.Subnet.subnetpool_id == row.id)).first():
        raise errors.Conflict(f"Unable to delete subnet pool: Subnet pool {row.id} has "
                              "allocated subnets.", kind="SubnetPoolInUse")
    standard.drop_tags(s, [row.id])
    s.delete(row)
    s.flush()


def default_pool(s: Session, version: int) -> nm.SubnetPool:
    row = s.scalars(select(nm.SubnetPool).where(
        nm.SubnetPool.is_default.is_(True), nm.SubnetPool.ip_version == version)).first()
    if row is None:
        raise errors.BadRequest(f"No default subnetpool found for IPv{version}",
                                kind="BadRequest")
    return row


def _taken(s: Session, pool: nm.SubnetPool) -> list[Net]:
    return [ipaddress.ip_network(c) for c in s.scalars(
        select(nm.Subnet.cidr).where(nm.Subnet.subnetpool_id == pool.id))]


def check_inside(s: Session, pool: nm.SubnetPool, cidr: Net) -> None:
    """A requested cidr from ``pool``: inside its prefixes, of an allowed length, not taken."""
    if not pool.min_prefixlen <= cidr.prefixlen <= pool.max_prefixlen:
        raise errors.BadRequest(f"Unsupported prefix length {cidr.prefixlen}: it must be "
                                f"between {pool.min_prefixlen} and {pool.max_prefixlen}.",
                                kind="InvalidInput")
    if not any(cidr.subnet_of(ipaddress.ip_network(p))  # type: ignore[arg-type]
               for p in pool.prefixes):
        raise errors.BadRequest(f"Cidr {cidr} is not within the subnet pool prefixes.",
                                kind="InvalidInput")
    if any(cidr.overlaps(t) for t in _taken(s, pool)):
        raise errors.Conflict(f"Unable to allocate subnet with prefix {cidr}: it overlaps an "
                              "allocated subnet of the pool.", kind="SubnetAllocationError")


def carve(s: Session, pool: nm.SubnetPool, prefixlen: int | None) -> Net:
    """The first free prefix of ``prefixlen`` (default: the pool's) in the pool."""
    length = pool.default_prefixlen if prefixlen is None else int(prefixlen)
    if not pool.min_prefixlen <= length <= pool.max_prefixlen:
        raise errors.BadRequest(f"Unsupported prefix length {length}: it must be between "
                                f"{pool.min_prefixlen} and {pool.max_prefixlen}.",
                                kind="InvalidInput")
    taken = _taken(s, pool)
    for prefix in sorted((ipaddress.ip_network(p) for p in pool.prefixes),
                         key=lambda n: int(n.network_address)):
        if length < prefix.prefixlen:
            continue
        for candidate in prefix.subnets(new_prefix=length):
            if not any(candidate.overlaps(t) for t in taken):
                return candidate
    raise errors.Conflict(f"Unable to allocate subnet with prefix length {length}, no "
                          "prefix is available in the pool.", kind="SubnetAllocationError")
