"""Who is asking: the request context every service function receives.

Built by the API's auth middleware from a validated token; services enforce policy on it.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Context", "ROLE_IMPLIES", "expand_roles"]

# Keystone's bootstrap makes admin imply member and member imply reader; we keep that chain.
ROLE_IMPLIES = {"admin": "member", "member": "reader"}


def expand_roles(names: frozenset[str] | set[str]) -> frozenset[str]:
    """The role names together with every role they imply."""
    out = set(names)
    for name in names:
        implied = ROLE_IMPLIES.get(name)
        while implied:
            out.add(implied)
            implied = ROLE_IMPLIES.get(implied)
    return frozenset(out)


@dataclasses.dataclass(frozen=True)
class Context:
    user_id: str
    user_domain_id: str = ""
    project_id: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None
    roles: frozenset[str] = frozenset()
    request_id: str = ""
    audit_ids: tuple[str, ...] = ()
    application_credential_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def has_role(self, name: str) -> bool:
        return name in expand_roles(self.roles)

    @classmethod
    def system(cls) -> Context:
        """The context of the cloud itself (bootstrap, the agent's internal calls)."""
        return cls(user_id="", roles=frozenset({"admin", "member", "reader"}))
