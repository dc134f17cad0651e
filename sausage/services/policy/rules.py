"""Policy building blocks: the shared predicates every service's rule table is made of.

A check is a plain function of (context, target attributes). The predicates here say who the
caller is (admin, member, reader) and how they stand to the target (its project is theirs, they
own it, it is shared or public). A ``Rule`` is one or more checks in order, each with the
message that refuses when it fails (None: the service's usual wording for the action).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from sausage.services.context import Context

__all__ = ["Target", "Check", "Rule", "Wording", "rule", "steps", "any_of", "all_of", "admin",
           "member", "scoped", "in_project", "project_member", "owner", "owner_writer",
           "public", "network_owner", "domain_reader", "authenticated"]

Target = Mapping[str, Any]
Check = Callable[[Context, Target], bool]


@dataclasses.dataclass(frozen=True)
class Wording:
    """How a service refuses: ``template`` is formatted with ``action`` (and the target)."""

    template: str
    kind: str = ""


@dataclasses.dataclass(frozen=True)
class Rule:
    """Checks in order; the first that fails refuses with its own message (or the service's)."""

    steps: tuple[tuple[Check, str | None], ...]


def rule(check: Check, message: str | None = None) -> Rule:
    return Rule(((check, message),))


def steps(*pairs: tuple[Check, str | None]) -> Rule:
    return Rule(tuple(pairs))


def any_of(*checks: Check) -> Check:
    return lambda ctx, t: any(check(ctx, t) for check in checks)


def all_of(*checks: Check) -> Check:
    return lambda ctx, t: all(check(ctx, t) for check in checks)


def admin(ctx: Context, _t: Target) -> bool:
    return ctx.is_admin


def member(ctx: Context, _t: Target) -> bool:
    """Holds at least ``member``: a writer (a reader writes nothing)."""
    return ctx.has_role("member")


def scoped(ctx: Context, _t: Target) -> bool:
    """The token is scoped to a project."""
    return ctx.project_id is not None


def in_project(ctx: Context, t: Target) -> bool:
    """The target belongs to the caller's project (which every role there may read)."""
    return ctx.project_id is not None and t.get("project_id") == ctx.project_id


project_member = all_of(in_project, member)


def owner(ctx: Context, t: Target) -> bool:
    """The target is the caller's own (``user_id``)."""
    return bool(ctx.user_id) and t.get("user_id") == ctx.user_id


owner_writer = all_of(owner, member)


def public(_ctx: Context, t: Target) -> bool:
    """The target is open to every project (a shared or external network, a shared group)."""
    return bool(t.get("public"))


def network_owner(ctx: Context, t: Target) -> bool:
    """The network the target sits on belongs to the caller's project."""
    return ctx.project_id is not None and t.get("network_project_id") == ctx.project_id


def domain_reader(ctx: Context, t: Target) -> bool:
    domain = t.get("domain_id")
    return domain is not None and domain in (ctx.domain_id, ctx.project_domain_id)


def authenticated(ctx: Context, _t: Target) -> bool:
    return bool(ctx.user_id) or ctx.is_admin
