"""Policy decisions on plain contexts: roles imply each other, projects are walls."""

from __future__ import annotations

import pytest

from sausage import errors
from sausage.services import policy
from sausage.services.context import Context, expand_roles


def test_admin_implies_member_implies_reader() -> None:
    assert expand_roles({"admin"}) == {"admin", "member", "reader"}
    assert expand_roles({"member"}) == {"member", "reader"}
    assert expand_roles({"reader"}) == {"reader"}


def test_a_member_reads_their_own_project_and_nothing_else() -> None:
    ctx = Context(user_id="u", project_id="p", roles=frozenset({"member"}))
    policy.enforce(ctx, "identity:get_project", {"project_id": "p"})
    with pytest.raises(errors.Forbidden):
        policy.enforce(ctx, "identity:get_project", {"project_id": "other"})
    with pytest.raises(errors.Forbidden):
        policy.enforce(ctx, "identity:list_users")


def test_a_reader_cannot_make_application_credentials_but_a_member_can() -> None:
    target = {"user_id": "u"}
    reader = Context(user_id="u", project_id="p", roles=frozenset({"reader"}))
    member = Context(user_id="u", project_id="p", roles=frozenset({"member"}))
    assert not policy.allowed(reader, "identity:create_application_credential", target)
    assert policy.allowed(member, "identity:create_application_credential", target)


def test_every_rule_denies_an_anonymous_context_except_self_service_ones() -> None:
    nobody = Context(user_id="")
    allowed = {name for name in policy.RULES if policy.allowed(nobody, name, {})}
    assert allowed == set()
