"""Identity tables: domains, projects, users, groups, roles, assignments, catalog,
application credentials and token revocation events. Tokens themselves are never stored.

``IdentityGeneration`` is one row counting writes to all the others (sausage/db/generation.py
bumps it); token validation caches its results only while it is unchanged."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sausage.db.models.base import Base, new_id, utcnow

__all__ = [
    "Domain",
    "Project",
    "User",
    "Group",
    "GroupMember",
    "Role",
    "Assignment",
    "Region",
    "Service",
    "Endpoint",
    "ApplicationCredential",
    "RevocationEvent",
    "IdentityGeneration",
    "WATCHED",
]

ID = String(64)


class Domain(Base):
    __tablename__ = "domains"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), index=True)
    description: Mapped[str] = mapped_column(default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id"), index=True)
    default_project_id: Mapped[str | None] = mapped_column(ID)
    enabled: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None]
    description: Mapped[str] = mapped_column(default="")
    email: Mapped[str | None]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id"), index=True)
    description: Mapped[str] = mapped_column(default="")
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class GroupMember(Base):
    __tablename__ = "group_members"
    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Role(Base):
    __tablename__ = "roles"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    domain_id: Mapped[str | None] = mapped_column(ID)
    description: Mapped[str] = mapped_column(default="")
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Assignment(Base):
    """A role given to a user or group on a project or domain (Keystone's four kinds in one table)."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_target", "target_id", "actor_id"),)
    type: Mapped[str] = mapped_column(String(16), primary_key=True)  # UserProject, GroupDomain, ...
    actor_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    target_id: Mapped[str] = mapped_column(ID, primary_key=True)
    role_id: Mapped[str] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    inherited: Mapped[bool] = mapped_column(primary_key=True, default=False)


class Region(Base):
    __tablename__ = "regions"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[str] = mapped_column(default="")
    parent_region_id: Mapped[str | None] = mapped_column(ForeignKey("regions.id"))
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Service(Base):
    __tablename__ = "services"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(default="")
    description: Mapped[str] = mapped_column(default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Endpoint(Base):
    __tablename__ = "endpoints"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    interface: Mapped[str] = mapped_column(String(8))
    region_id: Mapped[str | None] = mapped_column(ForeignKey("regions.id"))
    url: Mapped[str]
    enabled: Mapped[bool] = mapped_column(default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ApplicationCredential(Base):
    __tablename__ = "application_credentials"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    secret_hash: Mapped[str]
    description: Mapped[str] = mapped_column(default="")
    expires_at: Mapped[datetime.datetime | None]
    unrestricted: Mapped[bool] = mapped_column(default=False)
    role_ids: Mapped[list[Any]] = mapped_column(default=list)


class RevocationEvent(Base):
    """Tokens matching every non-null field and issued at or before ``issued_before`` are revoked."""

    __tablename__ = "revocation_events"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    audit_id: Mapped[str | None] = mapped_column(String(32), index=True)
    user_id: Mapped[str | None] = mapped_column(ID, index=True)
    project_id: Mapped[str | None] = mapped_column(ID)
    issued_before: Mapped[datetime.datetime]
    revoked_at: Mapped[datetime.datetime] = mapped_column(default=utcnow, index=True)


class IdentityGeneration(Base):
    """One row (id 1) whose ``value`` grows with every committed write to an identity table."""

    __tablename__ = "identity_generation"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# Every table a token validation reads (directly, through roles, or for the catalog).
WATCHED: tuple[type[Base], ...] = (
    Domain, Project, User, Group, GroupMember, Role, Assignment, Region, Service, Endpoint,
    ApplicationCredential, RevocationEvent,
)
