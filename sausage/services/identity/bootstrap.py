"""What ``sausage up`` makes sure exists before anyone logs in (idempotent, like keystone-manage
bootstrap): the Default domain, the admin/member/reader roles, the ``admin`` and ``demo`` projects
and users, the region, and a catalog of exactly the services this cloud serves.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage.db.models import identity as m
from sausage.services.identity import common, passwords

__all__ = ["CatalogEntry", "bootstrap"]

MANAGED = "sausage"


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    type: str
    name: str
    url: str


def _role(s: Session, name: str) -> m.Role:
    row = s.scalars(select(m.Role).where(m.Role.name == name)).first()
    if row is None:
        row = m.Role(name=name, extra={})
        s.add(row)
        s.flush()
    return row


def _project(s: Session, name: str, description: str) -> m.Project:
    row = s.scalars(
        select(m.Project).where(
            m.Project.domain_id == common.DEFAULT_DOMAIN_ID, m.Project.name == name
        )
    ).first()
    if row is None:
        row = m.Project(
            name=name, domain_id=common.DEFAULT_DOMAIN_ID, description=description,
            extra={}, tags=[],
        )
        s.add(row)
        s.flush()
    return row


def _user(s: Session, name: str, password: str, project: m.Project) -> m.User:
    row = s.scalars(
        select(m.User).where(m.User.domain_id == common.DEFAULT_DOMAIN_ID, m.User.name == name)
    ).first()
    if row is None:
        row = m.User(
            name=name, domain_id=common.DEFAULT_DOMAIN_ID, default_project_id=project.id,
            password_hash=passwords.hash_secret(password), extra={},
        )
        s.add(row)
        s.flush()
    return row


def _grant(s: Session, user: m.User, project: m.Project, role: m.Role) -> None:
    key = ("UserProject", user.id, project.id, role.id, False)
    if s.get(m.Assignment, key) is None:
        s.add(m.Assignment(type="UserProject", actor_id=user.id, target_id=project.id,
                           role_id=role.id, inherited=False))


def _sync_catalog(s: Session, region: str, entries: list[CatalogEntry]) -> None:
    """Make the managed services and their three endpoints match ``entries`` exactly."""
    managed = {
        svc.type: svc
        for svc in s.scalars(select(m.Service))
        if svc.extra.get("managed_by") == MANAGED
    }
    wanted = {e.type: e for e in entries}
    for type_, stale in managed.items():
        if type_ not in wanted:
            for old in s.scalars(select(m.Endpoint).where(m.Endpoint.service_id == stale.id)):
                s.delete(old)
            s.delete(stale)
    for entry in entries:
        found = managed.get(entry.type)
        if found is not None:
            svc = found
        else:
            svc = m.Service(type=entry.type, name=entry.name, extra={"managed_by": MANAGED})
            s.add(svc)
            s.flush()
        svc.name = entry.name
        existing = {
            e.interface: e
            for e in s.scalars(select(m.Endpoint).where(m.Endpoint.service_id == svc.id))
        }
        for interface in ("public", "internal", "admin"):
            current = existing.get(interface)
            if current is None:
                s.add(m.Endpoint(service_id=svc.id, interface=interface, region_id=region,
                                 url=entry.url, extra={}))
            else:
                current.url, current.region_id, current.enabled = entry.url, region, True


def bootstrap(
    s: Session, *, admin_password: str, demo_password: str, region: str,
    catalog: list[CatalogEntry],
) -> None:
    if s.get(m.Domain, common.DEFAULT_DOMAIN_ID) is None:
        s.add(m.Domain(id=common.DEFAULT_DOMAIN_ID, name="Default",
                       description="The default domain", extra={}))
        s.flush()
    admin, member, _reader = (_role(s, n) for n in ("admin", "member", "reader"))
    admin_project = _project(s, "admin", "Bootstrap project for the cloud's administrators")
    demo_project = _project(s, "demo", "A project for trying the cloud")
    _grant(s, _user(s, "admin", admin_password, admin_project), admin_project, admin)
    _grant(s, _user(s, "demo", demo_password, demo_project), demo_project, member)
    if s.get(m.Region, region) is None:
        s.add(m.Region(id=region, extra={}))
        s.flush()
    _sync_catalog(s, region, catalog)
