"""The scheduler: filter hosts, weigh them, and claim resources atomically.

Filters: enabled and alive, availability zone, free vCPU (with the allocation ratio), RAM and
disk, server-group affinity / anti-affinity. Weight: most free RAM first (spreads load).
A claim is one conditional UPDATE on the host row — it succeeds only if the resources are still
free — so two concurrent boots can never both take the last slot; a lost race tries the next
host.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.db.models.base import utcnow
from sausage.services.hosts import registry

__all__ = ["Request", "NoValidHost", "schedule", "claim", "release"]


class NoValidHost(errors.SausageError):
    status = 500
    title = "No valid host was found."


@dataclasses.dataclass(frozen=True)
class Request:
    vcpus: int
    memory_mb: int
    disk_gb: int
    zone: str | None = None
    host: str | None = None  # admin's "zone:host" forcing
    group_id: str | None = None


def claim(s: Session, host_id: str, vcpus: int, memory_mb: int, disk_gb: int) -> bool:
    """Take resources on a host if they are still free; False when the host is full."""
    h = m.Host
    result = s.execute(
        update(h).where(
            h.id == host_id,
            h.used_vcpus + vcpus <= h.vcpus * h.cpu_allocation_ratio,
            h.used_memory_mb + memory_mb <= h.memory_mb * h.ram_allocation_ratio,
            h.used_disk_gb + disk_gb <= h.disk_gb * h.disk_allocation_ratio,
        ).values(used_vcpus=h.used_vcpus + vcpus, used_memory_mb=h.used_memory_mb + memory_mb,
                 used_disk_gb=h.used_disk_gb + disk_gb))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(s: Session, host_id: str | None, vcpus: int, memory_mb: int, disk_gb: int) -> None:
    if host_id is None:
        return
    h = m.Host
    s.execute(update(h).where(h.id == host_id).values(
        used_vcpus=h.used_vcpus - vcpus, used_memory_mb=h.used_memory_mb - memory_mb,
        used_disk_gb=h.used_disk_gb - disk_gb))


def _group_hosts(s: Session, group_id: str) -> tuple[str, set[str]]:
    group = s.get(m.ServerGroup, group_id)
    if group is None:
        raise errors.BadRequest(f"Invalid server group {group_id}.")
    members = select(m.ServerGroupMember.server_id).where(
        m.ServerGroupMember.group_id == group_id)
    used = set(s.scalars(select(m.Server.host_id).where(
        m.Server.id.in_(members), m.Server.deleted.is_(False), m.Server.host_id.is_not(None))))
    return group.policy, {h for h in used if h}


def schedule(s: Session, req: Request) -> m.Host:
    """Pick and claim a host for ``req``; raises NoValidHost with Nova's message."""
    now = utcnow()
    candidates = [h for h in s.scalars(select(m.Host).where(m.Host.enabled.is_(True)))
                  if registry.is_alive(h, now)]
    if req.zone:
        candidates = [h for h in candidates if h.availability_zone == req.zone]
    if req.host:
        candidates = [h for h in candidates if h.name == req.host]
    if req.group_id:
        policy, used = _group_hosts(s, req.group_id)
        if policy == "affinity" and used:
            candidates = [h for h in candidates if h.id in used]
        elif policy == "anti-affinity":
            candidates = [h for h in candidates if h.id not in used]
        elif policy == "soft-anti-affinity":
            candidates.sort(key=lambda h: h.id in used)
        elif policy == "soft-affinity":
            candidates.sort(key=lambda h: h.id not in used)

    def free_ram(h: m.Host) -> float:
        return h.memory_mb * h.ram_allocation_ratio - h.used_memory_mb

    soft = req.group_id is not None
    ordered = sorted(candidates, key=free_ram, reverse=True) if not soft else candidates
    for host in ordered:
        if claim(s, host.id, req.vcpus, req.memory_mb, req.disk_gb):
            return host
    raise NoValidHost("No valid host was found. There are not enough hosts available.")
