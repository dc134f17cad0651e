"""Wire shapes of Identity v3 request bodies (pydantic, strict: a string is never a bool).

Models allow extra attributes where Keystone stores them (projects, users, domains, roles …) and
forbid them where Keystone's JSON schema does.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "Name",
    "DomainCreate", "DomainUpdate", "DomainBody", "DomainPatch",
    "ProjectCreate", "ProjectUpdate", "ProjectBody", "ProjectPatch",
    "UserCreate", "UserUpdate", "UserBody", "UserPatch", "PasswordChangeBody",
    "GroupCreate", "GroupUpdate", "GroupBody", "GroupPatch",
    "RoleCreate", "RoleUpdate", "RoleBody", "RolePatch",
    "RegionCreate", "RegionUpdate", "RegionBody", "RegionPatch",
    "ServiceCreate", "ServiceUpdate", "ServiceBody", "ServicePatch",
    "EndpointCreate", "EndpointUpdate", "EndpointBody", "EndpointPatch",
    "AppCredBody", "AuthBody",
]

Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"\S")]
LongName = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"\S")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Update(Open):
    """A PATCH body: a field left out stays as it is; ``null`` only where Keystone's schema
    allows it (a description, a default project …), never for a name, a flag or a list."""

    not_null: ClassVar[frozenset[str]] = frozenset({
        "name", "enabled", "tags", "options", "type", "interface", "url", "service_id"})

    @model_validator(mode="before")
    @classmethod
    def _refuse_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in sorted(cls.not_null & set(cls.model_fields)):
                if key in data and data[key] is None:
                    raise PydanticCustomError("null", "'{field}' may not be null",
                                              {"field": key})
        return data


class DomainCreate(Open):
    name: Name
    description: str | None = None
    enabled: bool = True


class DomainUpdate(Update):
    name: Name | None = None
    description: str | None = None
    enabled: bool | None = None


class ProjectCreate(Open):
    name: Name
    description: str | None = None
    domain_id: Id | None = None
    parent_id: Id | None = None
    enabled: bool = True
    is_domain: bool = False
    tags: list[Name] = Field(default_factory=list, max_length=80)


class ProjectUpdate(Update):
    name: Name | None = None
    description: str | None = None
    enabled: bool | None = None
    tags: list[Name] | None = None


class UserCreate(Open):
    name: LongName
    domain_id: Id | None = None
    default_project_id: Id | None = None
    enabled: bool = True
    password: str | None = None
    description: str | None = None
    email: str | None = None
    options: dict[str, Any] | None = None


class UserUpdate(Update):
    name: LongName | None = None
    default_project_id: Id | None = None
    enabled: bool | None = None
    password: str | None = None
    description: str | None = None
    email: str | None = None
    options: dict[str, Any] | None = None


class GroupCreate(Open):
    name: Name
    domain_id: Id | None = None
    description: str | None = None


class GroupUpdate(Update):
    name: Name | None = None
    description: str | None = None


class RoleCreate(Open):
    name: LongName
    description: str | None = None
    domain_id: Id | None = None
    options: dict[str, Any] | None = None


class RoleUpdate(Update):
    name: LongName | None = None
    description: str | None = None
    options: dict[str, Any] | None = None


class RegionCreate(Open):
    id: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    description: str | None = None
    parent_region_id: str | None = None


class RegionUpdate(Update):
    description: str | None = None
    parent_region_id: str | None = None


class ServiceCreate(Open):
    type: LongName
    name: str | None = None
    description: str | None = None
    enabled: bool = True


class ServiceUpdate(Update):
    type: LongName | None = None
    name: str | None = None
    description: str | None = None
    enabled: bool | None = None


class EndpointCreate(Open):
    service_id: Id
    interface: str
    url: Annotated[str, StringConstraints(min_length=1, pattern=r"^[a-zA-Z0-9+.-]+:")]
    region_id: str | None = None
    region: str | None = None
    enabled: bool = True


class EndpointUpdate(Update):
    service_id: Id | None = None
    interface: str | None = None
    url: Annotated[str, StringConstraints(min_length=1, pattern=r"^[a-zA-Z0-9+.-]+:")] | None = None
    region_id: str | None = None
    region: str | None = None
    enabled: bool | None = None


class DomainBody(Closed):
    domain: DomainCreate


class DomainPatch(Closed):
    domain: DomainUpdate


class ProjectBody(Closed):
    project: ProjectCreate


class ProjectPatch(Closed):
    project: ProjectUpdate


class UserBody(Closed):
    user: UserCreate


class UserPatch(Closed):
    user: UserUpdate


class GroupBody(Closed):
    group: GroupCreate


class GroupPatch(Closed):
    group: GroupUpdate


class RoleBody(Closed):
    role: RoleCreate


class RolePatch(Closed):
    role: RoleUpdate


class RegionBody(Closed):
    region: RegionCreate


class RegionPatch(Closed):
    region: RegionUpdate


class ServiceBody(Closed):
    service: ServiceCreate


class ServicePatch(Closed):
    service: ServiceUpdate


class EndpointBody(Closed):
    endpoint: EndpointCreate


class EndpointPatch(Closed):
    endpoint: EndpointUpdate


class PasswordChange(Closed):
    original_password: str
    password: Annotated[str, StringConstraints(min_length=1)]


class PasswordChangeBody(Closed):
    user: PasswordChange


class RoleRef(Closed):
    id: str | None = None
    name: str | None = None


class AppCredCreate(Closed):
    name: LongName
    description: str | None = None
    secret: str | None = None
    expires_at: datetime.datetime | None = None
    roles: list[RoleRef] | None = None
    unrestricted: bool = False
    access_rules: list[dict[str, Any]] | None = None


class AppCredBody(Closed):
    application_credential: AppCredCreate


class Ref(Open):
    """A domain, project or trust named by id or by name."""

    id: str | None = None
    name: str | None = None


class Scoped(Ref):
    domain: Ref | None = None


class AuthUser(Scoped):
    password: str | None = None


class PasswordMethod(Open):
    user: AuthUser | None = None


class TokenMethod(Open):
    id: str


class AppCredMethod(Open):
    id: str | None = None
    name: str | None = None
    secret: str | None = None
    user: AuthUser | None = None


class Identity(Open):
    methods: list[str]
    password: PasswordMethod | None = None
    token: TokenMethod | None = None
    application_credential: AppCredMethod | None = None


class SystemScope(Open):
    all: bool | None = None


class Scope(Open):
    project: Scoped | None = None
    domain: Ref | None = None
    system: SystemScope | None = None
    trust: Ref | None = Field(default=None, alias="OS-TRUST:trust")


class Auth(Open):
    identity: Identity
    # An explicitly unscoped request says "unscoped"; older clients send {}.
    scope: Scope | str | None = None


class AuthBody(Closed):
    """Keystone's token request shape, every id and name a string (as its JSON schema says):
    the token service reads the methods from the plain values, never a wrong type."""

    auth: Auth
