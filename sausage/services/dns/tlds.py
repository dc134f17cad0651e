"""Designate's TLDs (``/v2/tlds``): the top-level domains zones may be made under, kept by
admins. While none is defined any zone name is allowed; once one is, a zone must end in one
of them and may not be one (``allowed``).

Called by ``api/dns/tlds.py`` (and by zone creation, through ``allowed``). A name is stored
lower case without its trailing dot; a second TLD of the same name is 409 ``duplicate_tld``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import dns as m
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.dns import common, paging

__all__ = ["allowed", "is_tld", "create", "show", "list_tlds", "update", "delete",
           "check_name", "SORT_KEYS"]

# Designate's RE_TLDNAME: dot-separated labels of letters, digits, '-' and '_' (no label
# starting or ending with '-'), at most 254 characters, no trailing dot.
_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")
MAX_DESCRIPTION = 160


def _not_found() -> errors.NotFound:
    return errors.NotFound("Could not find Tld", kind="tld_not_found")


def check_name(value: Any) -> str:
    """A TLD name as Designate's schema takes it (400 ``invalid_object`` otherwise)."""
    if not isinstance(value, str) or len(value) > 254 or not _NAME.fullmatch(value):
        raise common.invalid(f"Provided object does not match schema 'tld': '{value}' is not "
                             "a 'tldname'")
    return value.lower()


def check_description(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > MAX_DESCRIPTION):
        raise common.invalid("Provided object does not match schema 'tld': description must "
                             f"be a string of at most {MAX_DESCRIPTION} characters or null")
    return value


def _names(s: Session) -> set[str]:
    return set(s.scalars(select(m.DnsTld.name)))


def allowed(s: Session, zone_name: str) -> bool:
    """Whether a zone may be called ``zone_name`` (absolute or not): true while no TLD is
    defined, else when some trailing run of its labels is a TLD."""
    tlds = _names(s)
    if not tlds:
        return True
    labels = zone_name.rstrip(".").lower().split(".")
    return any(".".join(labels[i:]) in tlds for i in range(len(labels)))


def is_tld(s: Session, zone_name: str) -> bool:
    """Whether ``zone_name`` is itself a TLD (Designate refuses such a zone)."""
    name = zone_name.rstrip(".").lower()
    return s.scalars(select(m.DnsTld.id).where(m.DnsTld.name == name)).first() is not None


def _row(s: Session, tld_id: str) -> m.DnsTld:
    row = s.get(m.DnsTld, common.check_uuid(tld_id, "tld_id"))
    if row is None:
        raise _not_found()
    return row


def _duplicate() -> errors.Conflict:
    return errors.Conflict("Duplicate Tld", kind="duplicate_tld")


def _taken(s: Session, name: str, but: str | None = None) -> bool:
    found = s.scalars(select(m.DnsTld.id).where(m.DnsTld.name == name)).first()
    return found is not None and found != but


def create(s: Session, ctx: Context, values: dict[str, Any]) -> m.DnsTld:
    policy.enforce(ctx, "create_tld")
    extra = sorted(k for k in values if k not in ("name", "description"))
    if extra:
        raise common.invalid(f"Provided object does not match schema 'tld': '{extra[0][:64]}' "
                             "is read only or not a property")
    name = check_name(values.get("name"))
    if _taken(s, name):
        raise _duplicate()
    row = m.DnsTld(id=common.new_id(), name=name,
                   description=check_description(values.get("description")))
    s.add(row)
    try:
        with s.begin_nested():
            s.flush()
    except IntegrityError as e:  # a concurrent create of the same name
        raise _duplicate() from e
    return row


def show(s: Session, ctx: Context, tld_id: str) -> m.DnsTld:
    policy.enforce(ctx, "get_tld")
    return _row(s, tld_id)


SORT_KEYS = ("created_at", "id", "updated_at", "name")


def list_tlds(s: Session, ctx: Context, params: Mapping[str, str]) -> paging.Page[m.DnsTld]:
    """TLDs, filtered by ``name`` (``*`` a wildcard), paged as Designate pages."""
    policy.enforce(ctx, "find_tlds")
    query = select(m.DnsTld)
    if params.get("name") is not None:
        query = query.where(paging.criterion(m.DnsTld.name, params["name"].lower()))
    return paging.page(s, m.DnsTld, query, params, SORT_KEYS)


def update(s: Session, ctx: Context, tld_id: str, values: dict[str, Any]) -> m.DnsTld:
    policy.enforce(ctx, "update_tld")
    row = _row(s, tld_id)
    extra = sorted(k for k in values if k not in ("name", "description"))
    if extra:
        raise common.invalid(f"Provided object does not match schema 'tld': '{extra[0][:64]}' "
                             "is read only or not a property")
    if "name" in values:
        name = check_name(values["name"])
        if _taken(s, name, but=row.id):
            raise _duplicate()
        row.name = name
    if "description" in values:
        row.description = check_description(values["description"])
    row.updated_at = utcnow()
    try:
        with s.begin_nested():
            s.flush()
    except IntegrityError as e:
        raise _duplicate() from e
    return row


def delete(s: Session, ctx: Context, tld_id: str) -> None:
    policy.enforce(ctx, "delete_tld")
    s.delete(_row(s, tld_id))
