"""Server metadata, server tags, and the os-instance-actions history."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.db.models.base import utcnow
from sausage.services.compute import quotas, servers
from sausage.services.context import Context

__all__ = ["get_metadata", "set_metadata", "delete_metadata", "get_tags", "set_tags",
           "add_tag", "remove_tag", "list_actions", "get_action"]

MAX_TAGS = 50


def get_metadata(s: Session, ctx: Context, server_id: str) -> dict[str, str]:
    servers.get(s, ctx, server_id)
    return servers.metadata_of(s, [server_id])[server_id]


def set_metadata(s: Session, ctx: Context, server_id: str, items: Mapping[str, str],
                 replace: bool) -> dict[str, str]:
    row = servers.load_for_change(s, ctx, server_id)
    current = {} if replace else servers.metadata_of(s, [server_id])[server_id]
    merged = {**current, **items}
    limit = quotas.limits(s, row.project_id)["metadata_items"]
    if 0 <= limit < len(merged):
        raise errors.QuotaExceeded("Quota exceeded for metadata_items: too many metadata "
                                   "items.")
    s.execute(delete(m.ServerMetadata).where(m.ServerMetadata.server_id == server_id))
    for key, value in merged.items():
        s.add(m.ServerMetadata(server_id=server_id, key=key, value=value))
    row.updated_at = utcnow()
    return merged


def delete_metadata(s: Session, ctx: Context, server_id: str, key: str) -> None:
    servers.load_for_change(s, ctx, server_id)
    found = s.get(m.ServerMetadata, (server_id, key))
    if found is None:
        raise errors.NotFound("Metadata item was not found")
    s.delete(found)


def get_tags(s: Session, ctx: Context, server_id: str) -> list[str]:
    servers.get(s, ctx, server_id)
    return servers.tags_of(s, [server_id])[server_id]


def set_tags(s: Session, ctx: Context, server_id: str, tags: list[str]) -> list[str]:
    servers.load_for_change(s, ctx, server_id)
    unique = list(dict.fromkeys(tags))
    if len(unique) > MAX_TAGS:
        raise errors.BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
    s.execute(delete(m.ServerTag).where(m.ServerTag.server_id == server_id))
    for tag in unique:
        s.add(m.ServerTag(server_id=server_id, tag=tag))
    return sorted(unique)


def add_tag(s: Session, ctx: Context, server_id: str, tag: str) -> bool:
    servers.load_for_change(s, ctx, server_id)
    if s.get(m.ServerTag, (server_id, tag)) is not None:
        return False
    count = s.scalar(select(func.count()).where(m.ServerTag.server_id == server_id)) or 0
    if count >= MAX_TAGS:
        raise errors.BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
    s.add(m.ServerTag(server_id=server_id, tag=tag))
    return True


def remove_tag(s: Session, ctx: Context, server_id: str, tag: str) -> None:
    servers.load_for_change(s, ctx, server_id)
    found = s.get(m.ServerTag, (server_id, tag))
    if found is None:
        raise errors.NotFound(f"Tag {tag} could not be found for server {server_id}")
    s.delete(found)


def list_actions(s: Session, ctx: Context, server_id: str) -> list[m.InstanceAction]:
    servers.get(s, ctx, server_id)
    return list(s.scalars(select(m.InstanceAction).where(m.InstanceAction.server_id == server_id)
                          .order_by(m.InstanceAction.start_time.desc(),
                                    m.InstanceAction.id.desc())))


def get_action(s: Session, ctx: Context, server_id: str, request_id: str
               ) -> tuple[m.InstanceAction, list[m.InstanceActionEvent]]:
    servers.get(s, ctx, server_id)
    row = s.scalars(select(m.InstanceAction).where(
        m.InstanceAction.server_id == server_id,
        m.InstanceAction.request_id == request_id)).first()
    if row is None:
        raise errors.NotFound(f"Action for request_id {request_id} on instance {server_id} not "
                              "found")
    events = list(s.scalars(select(m.InstanceActionEvent).where(
        m.InstanceActionEvent.action_id == row.id).order_by(m.InstanceActionEvent.id)))
    return row, events
