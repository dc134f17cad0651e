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


# --- one table, each service's wording ---------------------------------------------------------

def _ctx(*roles: str, project: str | None = "p", user: str = "u") -> Context:
    return Context(user_id=user, project_id=project, roles=frozenset(roles))


ADMIN = _ctx("admin", project="admin-project", user="root")
MEMBER = _ctx("member")
READER = _ctx("reader")
STRANGER = _ctx("member", project="q", user="w")


def _refusal(ctx: Context, action: str, target: dict[str, object] | None = None
             ) -> errors.Forbidden:
    with pytest.raises(errors.Forbidden) as refused:
        policy.enforce(ctx, action, target)
    return refused.value


def test_an_action_nobody_named_is_a_programming_error_not_a_refusal() -> None:
    with pytest.raises(KeyError):
        policy.allowed(ADMIN, "create_spaceship")


def test_each_service_refuses_in_its_own_words() -> None:
    assert _refusal(READER, "identity:list_users").message == (
        "You are not authorized to perform the requested action: identity:list_users.")
    neutron = _refusal(READER, "update_network", {"project_id": "p"})
    assert (neutron.message, neutron.kind) == (
        "(rule:update_network) is disallowed by policy", "PolicyNotAuthorized")
    assert _refusal(READER, "volume:extend", {"project_id": "p"}).message == (
        "Policy doesn't allow volume:extend to be performed.")
    assert _refusal(MEMBER, "os_compute_api:os-flavor-manage").message == (
        "Policy doesn't allow os_compute_api:os-flavor-manage to be performed.")
    assert _refusal(READER, "add_image").message == (
        "You are not authorized to create images (read-only role).")


def test_only_an_admin_sees_every_project() -> None:
    assert policy.allowed(ADMIN, "context_is_admin")
    assert not policy.allowed(MEMBER, "context_is_admin")


# --- network (Neutron) ------------------------------------------------------------------------

def test_another_projects_port_is_invisible_unless_it_sits_on_the_callers_network() -> None:
    port = {"project_id": "q", "network_project_id": "q"}
    assert not policy.allowed(MEMBER, "get_port", port)
    assert policy.allowed(MEMBER, "get_port", {**port, "network_project_id": "p"})
    assert policy.allowed(ADMIN, "get_port", port)


def test_a_reader_sees_their_projects_network_but_cannot_change_it() -> None:
    network = {"project_id": "p"}
    assert policy.allowed(READER, "get_network", network)
    assert not policy.allowed(READER, "update_network", network)
    assert policy.allowed(MEMBER, "update_network", network)
    assert not policy.allowed(STRANGER, "update_network", network)


def test_shared_and_external_networks_are_readable_by_every_project_writable_by_theirs() -> None:
    shared = {"project_id": "q", "public": True}
    assert policy.allowed(MEMBER, "get_network", shared)
    assert policy.allowed(MEMBER, "get_subnet", shared)
    assert not policy.allowed(MEMBER, "delete_network", shared)


def test_provider_attributes_and_sharing_are_an_admins_to_set() -> None:
    for action in ("create_network:provider:network_type", "create_network:shared",
                   "update_network:router:external", "create_port:binding:host_id"):
        assert policy.allowed(ADMIN, action)
        assert not policy.allowed(MEMBER, action), action


def test_a_port_on_another_projects_network_may_not_choose_its_address_or_mac() -> None:
    theirs = {"network_project_id": "q"}
    assert not policy.allowed(MEMBER, "create_port:fixed_ips:ip_address", theirs)
    assert not policy.allowed(MEMBER, "create_port:mac_address", theirs)
    assert policy.allowed(MEMBER, "create_port:fixed_ips:ip_address", {"network_project_id": "p"})


def test_a_port_goes_on_an_external_network_only_when_it_is_shared_or_the_callers() -> None:
    assert not policy.allowed(MEMBER, "create_port:network:external",
                              {"network_project_id": "q", "public": False})
    assert policy.allowed(MEMBER, "create_port:network:external",
                          {"network_project_id": "q", "public": True})


def test_a_subnet_goes_only_on_a_network_of_the_callers_own_project() -> None:
    assert policy.allowed(MEMBER, "create_subnet", {"project_id": "p", "network_project_id": "p"})
    assert not policy.allowed(MEMBER, "create_subnet",
                              {"project_id": "p", "network_project_id": "q"})
    assert policy.allowed(ADMIN, "create_subnet", {"project_id": "p", "network_project_id": "q"})


def test_a_floating_ip_points_only_at_a_port_of_its_own_project() -> None:
    assert policy.allowed(MEMBER, "update_floatingip:port_id",
                          {"project_id": "p", "port_project_id": "p"})
    assert not policy.allowed(MEMBER, "update_floatingip:port_id",
                              {"project_id": "p", "port_project_id": "q"})


def test_a_project_reads_its_own_network_quota_only() -> None:
    assert policy.allowed(READER, "get_quota", {"project_id": "p"})
    assert not policy.allowed(READER, "get_quota", {"project_id": "q"})
    assert not policy.allowed(MEMBER, "update_quota", {"project_id": "p"})


# --- volume (Cinder) --------------------------------------------------------------------------

def test_a_reader_cannot_write_a_volume_but_a_member_can() -> None:
    volume = {"project_id": "p"}
    for action in ("volume:update", "volume:extend", "volume:delete", "volume:create_snapshot",
                   "volume:attachment_create", "volume_extension:volume_actions:set_bootable"):
        assert policy.allowed(READER, "volume:get", volume)
        assert not policy.allowed(READER, action, volume), action
        assert policy.allowed(MEMBER, action, volume), action


def test_another_projects_volume_snapshot_and_attachment_are_invisible() -> None:
    theirs = {"project_id": "q"}
    for action in ("volume:get", "volume:get_snapshot", "volume:attachment_get"):
        assert not policy.allowed(MEMBER, action, theirs)
        assert policy.allowed(ADMIN, action, theirs)


def test_an_admin_may_reset_a_volumes_status_and_a_member_may_not() -> None:
    action = "volume_extension:volume_admin_actions:reset_status"
    assert policy.allowed(ADMIN, action)
    assert _refusal(MEMBER, action).message == f"Policy doesn't allow {action} to be performed."


def test_a_volume_is_made_only_with_a_project_scoped_token() -> None:
    assert policy.allowed(MEMBER, "volume:create", {"project_id": "p"})
    assert not policy.allowed(_ctx("admin", project=None), "volume:create", {"project_id": None})


def test_volume_types_and_quota_changes_are_an_admins() -> None:
    for action in ("volume_extension:types_manage", "volume_extension:quotas:update",
                   "volume_extension:default_set_or_update"):
        assert not policy.allowed(MEMBER, action)
        assert policy.allowed(ADMIN, action)
    assert policy.allowed(READER, "volume_extension:quotas:show", {"project_id": "p"})
    assert not policy.allowed(READER, "volume_extension:quotas:show", {"project_id": "q"})


# --- compute (Nova) ---------------------------------------------------------------------------

def test_another_projects_server_and_server_group_are_invisible() -> None:
    for action in ("os_compute_api:servers:show", "os_compute_api:os-server-groups:show"):
        assert policy.allowed(READER, action, {"project_id": "p"})
        assert not policy.allowed(MEMBER, action, {"project_id": "q"})
        assert policy.allowed(ADMIN, action, {"project_id": "q"})


def test_a_reader_cannot_change_or_lock_a_server_and_is_told_why() -> None:
    assert _refusal(READER, "os_compute_api:servers:update").message == (
        "Policy does not allow a read-only role to change servers.")
    assert _refusal(READER, "os_compute_api:os-lock-server:lock").message == (
        "A read-only role cannot lock servers.")


def test_a_server_an_admin_locked_is_unlocked_only_by_an_admin() -> None:
    action = "os_compute_api:os-lock-server:unlock"
    assert policy.allowed(MEMBER, action, {"locked_by": "owner"})
    assert _refusal(MEMBER, action, {"locked_by": "admin"}).message == (
        "The server was locked by an administrator.")
    assert _refusal(READER, action, {"locked_by": "admin"}).message == (
        "A read-only role cannot unlock servers.")
    assert policy.allowed(ADMIN, action, {"locked_by": "admin"})


def test_servers_are_made_by_members_with_a_project_scoped_token() -> None:
    assert policy.allowed(MEMBER, "os_compute_api:servers:create")
    assert not policy.allowed(READER, "os_compute_api:servers:create")
    assert not policy.allowed(_ctx("member", project=None), "os_compute_api:servers:create")


def test_another_users_keypairs_are_an_admins_business() -> None:
    assert policy.allowed(MEMBER, "os_compute_api:os-keypairs", {"user_id": "u"})
    assert _refusal(MEMBER, "os_compute_api:os-keypairs", {"user_id": "w"}).message == (
        "Policy doesn't allow os_compute_api:os-keypairs to be performed for another user.")
    assert policy.allowed(ADMIN, "os_compute_api:os-keypairs", {"user_id": "w"})


def test_a_server_joins_an_external_network_only_if_it_is_shared() -> None:
    action = "network:attach_external_network"
    assert _refusal(MEMBER, action, {"public": False, "network_id": "n1"}).message == (
        "It is not allowed to create an interface on external network n1")
    assert policy.allowed(MEMBER, action, {"public": True, "network_id": "n1"})


def test_only_an_admin_reads_another_projects_usage_and_quotas() -> None:
    for action in ("os_compute_api:os-simple-tenant-usage:show",
                   "os_compute_api:os-quota-sets:show"):
        assert policy.allowed(READER, action, {"project_id": "p"})
        assert not policy.allowed(MEMBER, action, {"project_id": "q"})
        assert policy.allowed(ADMIN, action, {"project_id": "q"})
    assert not policy.allowed(MEMBER, "os_compute_api:os-simple-tenant-usage:list")


# --- image (Glance) ---------------------------------------------------------------------------

def test_an_image_is_changed_by_a_member_of_its_owner_project_and_the_refusals_say_why() -> None:
    image = {"project_id": "p"}
    assert policy.allowed(MEMBER, "modify_image", image)
    assert _refusal(READER, "modify_image", image).message == (
        "You are not authorized to modify images (read-only role).")
    assert _refusal(STRANGER, "modify_image", image).message == (
        "You are not permitted to modify this image.")
    assert policy.allowed(ADMIN, "modify_image", image)


def test_only_admins_publicize_images_or_set_their_owner() -> None:
    assert _refusal(MEMBER, "publicize_image").message == (
        "You are not authorized to publicize images.")
    assert not policy.allowed(MEMBER, "set_image_owner")
    assert policy.allowed(ADMIN, "publicize_image")


def test_the_owner_shares_an_image_and_only_the_member_itself_answers() -> None:
    image = {"project_id": "p"}
    assert policy.allowed(MEMBER, "add_member", image)
    assert not policy.allowed(READER, "add_member", image)
    assert not policy.allowed(STRANGER, "add_member", image)
    invitation = {"project_id": "p", "member": "q"}
    assert policy.allowed(STRANGER, "get_member", invitation)
    assert policy.allowed(STRANGER, "modify_member", invitation)
    assert _refusal(MEMBER, "modify_member", invitation).message == (
        "Only the member itself can accept or reject a shared image.")
    assert not policy.allowed(_ctx("member", project="r"), "get_member", invitation)
