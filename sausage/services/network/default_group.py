"""A project's ``default`` security group, made on first use with Neutron's default rules:
ingress from members of the group itself and all egress, for IPv4 and IPv6."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sausage.db.models import network as nm

__all__ = ["ensure_default"]

DESCRIPTION = "Default security group"


def ensure_default(s: Session, project_id: str) -> nm.SecurityGroup:
    """The project's default group, created if missing. Concurrent first uses are safe: the
    loser of the ``default_security_groups`` primary key race reads the winner's group."""
    found = _lookup(s, project_id)
    if found is not None:
        return found
    group = nm.SecurityGroup(id=str(uuid.uuid4()), project_id=project_id, name="default",
                             description=DESCRIPTION)
    try:
        with s.begin_nested():
            s.add(group)
            s.flush()
            s.add(nm.DefaultSecurityGroup(project_id=project_id, security_group_id=group.id))
            for ethertype in ("IPv4", "IPv6"):
                s.add(_rule(group, "ingress", ethertype, remote_group_id=group.id))
                s.add(_rule(group, "egress", ethertype))
            s.flush()
    except IntegrityError:
        found = _lookup(s, project_id)
        if found is None:
            raise
        return found
    return group


def _lookup(s: Session, project_id: str) -> nm.SecurityGroup | None:
    return s.scalars(select(nm.SecurityGroup).join(
        nm.DefaultSecurityGroup,
        nm.DefaultSecurityGroup.security_group_id == nm.SecurityGroup.id).where(
        nm.DefaultSecurityGroup.project_id == project_id)).first()


def _rule(group: nm.SecurityGroup, direction: str, ethertype: str,
          remote_group_id: str | None = None) -> nm.SecurityGroupRule:
    return nm.SecurityGroupRule(
        id=str(uuid.uuid4()), security_group_id=group.id, project_id=group.project_id,
        direction=direction, ethertype=ethertype, remote_group_id=remote_group_id)
