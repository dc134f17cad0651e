"""Neutron security groups and rules through the API, as Tempest and the CLI use them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sausage.db.models import compute as cm
from tests.api.conftest import Api


def neutron(api: Api, method: str, path: str, token: dict[str, str], **kwargs: Any
            ) -> httpx.Response:
    return api.client.request(method, "/network/v2.0" + path, headers=token, **kwargs)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def group(api: Api, token: dict[str, str], name: str = "web", **extra: Any) -> dict[str, Any]:
    r = neutron(api, "POST", "/security-groups", token,
                json={"security_group": {"name": name, **extra}})
    return dict(ok(r, 201)["security_group"])


def add_rule(api: Api, token: dict[str, str], group_id: str, **values: Any) -> httpx.Response:
    body = {"security_group_id": group_id, "direction": "ingress", **values}
    return neutron(api, "POST", "/security-group-rules", token,
                   json={"security_group_rule": body})


def fault(r: httpx.Response, status: int, kind: str | None = None) -> str:
    assert r.status_code == status, r.text
    error = r.json()["NeutronError"]
    if kind is not None:
        assert error["type"] == kind, error
    return str(error["message"])


def rule_ids(api: Api, token: dict[str, str]) -> set[str]:
    r = neutron(api, "GET", "/security-group-rules", token)
    return {x["id"] for x in ok(r)["security_group_rules"]}


def test_listing_groups_makes_the_projects_default_group_once(api: Api) -> None:
    _, _, token = api.user_in_project()
    first = ok(neutron(api, "GET", "/security-groups", token))["security_groups"]
    again = ok(neutron(api, "GET", "/security-groups", token))["security_groups"]
    assert [g["name"] for g in first] == ["default"] == [g["name"] for g in again]
    assert first[0]["id"] == again[0]["id"]
    rules = first[0]["security_group_rules"]
    assert sorted((r["direction"], r["ethertype"], r["remote_group_id"] is not None)
                  for r in rules) == [("egress", "IPv4", False), ("egress", "IPv6", False),
                                      ("ingress", "IPv4", True), ("ingress", "IPv6", True)]
    assert all(r["belongs_to_default_sg"] for r in rules)


def test_a_new_group_has_egress_rules_and_neutrons_attributes(api: Api) -> None:
    _, project, token = api.user_in_project()
    made = group(api, token, "web", description="front", tags=["a"])
    assert (made["name"], made["description"], made["stateful"], made["shared"]) == \
        ("web", "front", True, False)
    assert made["project_id"] == made["tenant_id"] == project
    assert made["tags"] == ["a"] and made["revision_number"] == 0
    assert sorted((r["direction"], r["ethertype"]) for r in made["security_group_rules"]) == \
        [("egress", "IPv4"), ("egress", "IPv6")]
    assert not any(r["belongs_to_default_sg"] for r in made["security_group_rules"])
    shown = ok(neutron(api, "GET", f"/security-groups/{made['id']}?fields=name", token))
    assert shown == {"security_group": {"name": "web"}}


def test_a_group_is_renamed_and_described_and_its_revision_counts(api: Api) -> None:
    _, _, token = api.user_in_project()
    made = group(api, token)
    r = neutron(api, "PUT", f"/security-groups/{made['id']}", token,
                json={"security_group": {"name": "web2", "description": "new"}})
    updated = ok(r)["security_group"]
    assert (updated["name"], updated["description"], updated["revision_number"]) == \
        ("web2", "new", 1)


def test_there_is_only_one_default_group_and_it_keeps_its_name(api: Api) -> None:
    _, _, token = api.user_in_project()
    fault(neutron(api, "POST", "/security-groups", token,
                  json={"security_group": {"name": "default"}}), 409,
          "SecurityGroupDefaultAlreadyExists")
    made = group(api, token)
    fault(neutron(api, "PUT", f"/security-groups/{made['id']}", token,
                  json={"security_group": {"name": "default"}}), 409)
    groups = ok(neutron(api, "GET", "/security-groups?name=default", token))["security_groups"]
    assert len(groups) == 1
    fault(neutron(api, "PUT", f"/security-groups/{groups[0]['id']}", token,
                  json={"security_group": {"name": "other"}}), 409,
          "SecurityGroupCannotUpdateDefault")


def test_only_an_admin_deletes_a_projects_default_group(api: Api) -> None:
    _, _, token = api.user_in_project()
    default = ok(neutron(api, "GET", "/security-groups", token))["security_groups"][0]
    fault(neutron(api, "DELETE", f"/security-groups/{default['id']}", token), 409,
          "SecurityGroupCannotRemoveDefault")
    ok(neutron(api, "DELETE", f"/security-groups/{default['id']}", api.admin), 204)
    assert ok(neutron(api, "GET", f"/security-group-rules?security_group_id={default['id']}",
                      api.admin))["security_group_rules"] == []


def test_a_group_used_by_a_port_cannot_be_deleted(api: Api) -> None:
    _, _, token = api.user_in_project()
    made = group(api, token)
    net = ok(neutron(api, "POST", "/networks", token, json={"network": {"name": "n"}}), 201)
    ok(neutron(api, "POST", "/ports", token, json={"port": {
        "network_id": net["network"]["id"], "security_groups": [made["id"]]}}), 201)
    message = fault(neutron(api, "DELETE", f"/security-groups/{made['id']}", token), 409,
                    "SecurityGroupInUse")
    assert made["id"] in message
    ok(neutron(api, "GET", f"/security-groups/{made['id']}", token))


def test_deleting_a_group_takes_its_rules_along(api: Api) -> None:
    _, _, token = api.user_in_project()
    made = group(api, token)
    rule = ok(add_rule(api, token, made["id"], protocol="tcp"), 201)["security_group_rule"]
    ok(neutron(api, "DELETE", f"/security-groups/{made['id']}", token), 204)
    fault(neutron(api, "GET", f"/security-groups/{made['id']}", token), 404,
          "SecurityGroupNotFound")
    assert rule["id"] not in rule_ids(api, token)


@pytest.mark.parametrize("values,expected", [
    ({"protocol": "tcp", "port_range_min": 77, "port_range_max": 77}, {"protocol": "tcp"}),
    ({"protocol": "udp", "port_range_min": 50, "port_range_max": 55}, {"protocol": "udp"}),
    ({"protocol": "icmp", "port_range_min": 3, "port_range_max": 2}, {"port_range_max": 2}),
    ({"protocol": "icmp", "port_range_min": 11, "port_range_max": None},
     {"port_range_min": 11, "port_range_max": None}),
    ({"protocol": 17}, {"protocol": "17", "ethertype": "IPv4"}),
    ({"protocol": "TCP"}, {"protocol": "tcp"}),
    ({"protocol": "ipv6-icmp", "ethertype": "IPv6", "port_range_min": 128},
     {"protocol": "ipv6-icmp", "port_range_min": 128}),
    ({"protocol": "tcp", "remote_ip_prefix": "10.1.0.5/16"},
     {"remote_ip_prefix": "10.1.0.5/16", "normalized_cidr": "10.1.0.0/16"}),
    ({"ethertype": "IPv6", "remote_ip_prefix": "2001:db8::/64"},
     {"remote_ip_prefix": "2001:db8::/64", "normalized_cidr": "2001:db8::/64"}),
])
def test_rules_are_stored_as_neutron_returns_them(api: Api, values: dict[str, Any],
                                                  expected: dict[str, Any]) -> None:
    _, project, token = api.user_in_project()
    made = group(api, token)
    rule = ok(add_rule(api, token, made["id"], **values), 201)["security_group_rule"]
    for key, value in expected.items():
        assert rule[key] == value, key
    assert rule["project_id"] == project and rule["remote_address_group_id"] is None
    shown = ok(neutron(api, "GET", f"/security-group-rules/{rule['id']}", token))
    assert shown["security_group_rule"] == rule
    embedded = ok(neutron(api, "GET", f"/security-groups/{made['id']}", token))
    assert rule in embedded["security_group"]["security_group_rules"]


def test_a_rule_may_name_another_group_as_its_remote(api: Api) -> None:
    _, _, token = api.user_in_project()
    web, db = group(api, token, "web"), group(api, token, "db")
    rule = ok(add_rule(api, token, db["id"], protocol="tcp", port_range_min=5432,
                       port_range_max=5432, remote_group_id=web["id"]), 201)
    assert rule["security_group_rule"]["remote_group_id"] == web["id"]


@pytest.mark.parametrize("values,kind,message", [
    ({"ethertype": "bad_ethertype", "protocol": "udp"}, "InvalidInput", "ethertype"),
    ({"protocol": "bad_protocol_name"}, "SecurityGroupRuleInvalidProtocol",
     "Security group rule protocol bad_protocol_name not supported"),
    ({"protocol": "256"}, "SecurityGroupRuleInvalidProtocol", "[0 to 255]"),
    ({"direction": "sideways"}, "InvalidInput", "direction"),
    ({"protocol": "tcp", "port_range_min": -16, "port_range_max": 80}, None,
     "Invalid value for port -16"),
    ({"protocol": "tcp", "port_range_min": 80, "port_range_max": 79}, None,
     "port_range_min must be <= port_range_max"),
    ({"protocol": "tcp", "port_range_min": 80, "port_range_max": 65536}, None,
     "Invalid value for port 65536"),
    ({"protocol": "tcp", "port_range_min": None, "port_range_max": 6}, None,
     "port_range_min must be <= port_range_max"),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 6}, None,
     "Invalid value for port 0"),
    ({"protocol": "icmp", "port_range_min": 1, "port_range_max": 256}, None,
     "Invalid value for ICMP code"),
    ({"protocol": "icmp", "port_range_min": -1, "port_range_max": 25}, None, "Invalid value"),
    ({"protocol": "icmp", "port_range_min": None, "port_range_max": 6}, None,
     "ICMP type (port-range-min) is missing"),
    ({"protocol": "icmp", "port_range_min": 300, "port_range_max": 1}, None,
     "Invalid value for ICMP type"),
    ({"port_range_min": 22, "port_range_max": 22}, "SecurityGroupProtocolRequiredWithPorts",
     "Must also specify protocol"),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
     "SecurityGroupInvalidProtocolForPortRange", "Invalid protocol 47 for port range"),
    ({"protocol": "ipv6-icmp", "ethertype": "IPv4"},
     "SecurityGroupEthertypeConflictWithProtocol", "Invalid ethertype IPv4"),
    ({"remote_ip_prefix": "192.168.1./24"}, "InvalidInput", "remote_ip_prefix"),
    ({"remote_ip_prefix": "192.168.1.1/33"}, "InvalidInput", "remote_ip_prefix"),
    ({"remote_ip_prefix": "bad_prefix"}, "InvalidInput", "remote_ip_prefix"),
    ({"remote_ip_prefix": "256"}, "InvalidInput", "remote_ip_prefix"),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
     "SecurityGroupRuleParameterConflict", "Conflicting value ethertype IPv6"),
    ({"ethertype": "IPv4", "remote_ip_prefix": "2001:db8::/64"},
     "SecurityGroupRuleParameterConflict", "Conflicting value ethertype IPv4"),
])
def test_a_bad_rule_is_refused_with_neutrons_message_and_nothing_is_written(
        api: Api, values: dict[str, Any], kind: str | None, message: str) -> None:
    _, _, token = api.user_in_project()
    made = group(api, token)
    before = rule_ids(api, token)
    assert message in fault(add_rule(api, token, made["id"], **values), 400, kind)
    assert rule_ids(api, token) == before


def test_a_rule_with_both_a_remote_prefix_and_group_is_refused(api: Api) -> None:
    _, _, token = api.user_in_project()
    one, two = group(api, token, "one"), group(api, token, "two")
    fault(add_rule(api, token, one["id"], protocol="tcp", remote_ip_prefix="10.0.0.0/24",
                   remote_group_id=two["id"]), 400, "SecurityGroupRemoteGroupAndRemoteIpPrefix")


def test_a_duplicate_rule_is_a_conflict_naming_the_existing_rule(api: Api) -> None:
    _, _, token = api.user_in_project()
    made = group(api, token)
    values = {"protocol": "tcp", "port_range_min": 66, "port_range_max": 67}
    first = ok(add_rule(api, token, made["id"], **values), 201)["security_group_rule"]
    message = fault(add_rule(api, token, made["id"], **values), 409, "SecurityGroupRuleExists")
    assert first["id"] in message
    # The same protocol by number is the same rule.
    fault(add_rule(api, token, made["id"], **{**values, "protocol": "6"}), 409)


def test_unknown_groups_and_rules_are_not_found(api: Api) -> None:
    _, _, token = api.user_in_project()
    missing = "0d1c6d6e-8d1a-4d8e-9d1c-3c2b1a0f9e8d"
    made = group(api, token)
    fault(add_rule(api, token, missing), 404, "SecurityGroupNotFound")
    for remote in ("bad_group_id", missing):
        fault(add_rule(api, token, made["id"], protocol="tcp", remote_group_id=remote), 404,
              "SecurityGroupNotFound")
    fault(neutron(api, "GET", f"/security-groups/{missing}", token), 404)
    fault(neutron(api, "DELETE", f"/security-groups/{missing}", token), 404)
    fault(neutron(api, "GET", f"/security-group-rules/{missing}", token), 404,
          "SecurityGroupRuleNotFound")


def test_a_rule_is_deleted(api: Api) -> None:
    _, _, token = api.user_in_project()
    made = group(api, token)
    rule = ok(add_rule(api, token, made["id"], protocol="udp"), 201)["security_group_rule"]
    ok(neutron(api, "DELETE", f"/security-group-rules/{rule['id']}", token), 204)
    assert rule["id"] not in rule_ids(api, token)
    fault(neutron(api, "DELETE", f"/security-group-rules/{rule['id']}", token), 404)


def test_bulk_rules_are_all_or_nothing(api: Api) -> None:
    _, _, token = api.user_in_project()
    made = group(api, token)
    before = rule_ids(api, token)
    good = {"security_group_id": made["id"], "direction": "ingress", "protocol": "tcp"}
    bad = {**good, "protocol": "nonsense"}
    r = neutron(api, "POST", "/security-group-rules", token,
                json={"security_group_rules": [good, bad]})
    fault(r, 400)
    assert rule_ids(api, token) == before
    r = neutron(api, "POST", "/security-group-rules", token,
                json={"security_group_rules": [good, {**good, "protocol": "udp"}]})
    assert len(ok(r, 201)["security_group_rules"]) == 2


def test_another_projects_groups_and_rules_are_invisible(api: Api) -> None:
    _, _, mine = api.user_in_project()
    _, _, theirs = api.user_in_project()
    made = group(api, mine)
    rule = ok(add_rule(api, mine, made["id"], protocol="tcp"), 201)["security_group_rule"]
    fault(neutron(api, "GET", f"/security-groups/{made['id']}", theirs), 404)
    fault(neutron(api, "PUT", f"/security-groups/{made['id']}", theirs,
                  json={"security_group": {"name": "x"}}), 404)
    fault(neutron(api, "DELETE", f"/security-groups/{made['id']}", theirs), 404)
    fault(add_rule(api, theirs, made["id"]), 404)
    fault(neutron(api, "GET", f"/security-group-rules/{rule['id']}", theirs), 404)
    fault(neutron(api, "DELETE", f"/security-group-rules/{rule['id']}", theirs), 404)
    listed = ok(neutron(api, "GET", "/security-groups", theirs))["security_groups"]
    assert made["id"] not in {g["id"] for g in listed}
    assert rule["id"] not in rule_ids(api, theirs)
    # An admin sees and manages every project's groups.
    ok(neutron(api, "GET", f"/security-groups/{made['id']}", api.admin))


def test_a_reader_sees_groups_but_cannot_change_them(api: Api) -> None:
    _, project, member = api.user_in_project()
    project_name = ok(api.request("GET", f"/projects/{project}", api.admin))["project"]["name"]
    _, _, reader = api.user_in_project("reader", project_name)
    made = group(api, member)
    assert made["id"] in {g["id"] for g in ok(neutron(
        api, "GET", "/security-groups", reader))["security_groups"]}
    fault(neutron(api, "POST", "/security-groups", reader,
                  json={"security_group": {"name": "x"}}), 403)
    fault(neutron(api, "PUT", f"/security-groups/{made['id']}", reader,
                  json={"security_group": {"name": "x"}}), 403)
    fault(add_rule(api, reader, made["id"], protocol="tcp"), 403)
    fault(neutron(api, "DELETE", f"/security-groups/{made['id']}", reader), 403)


def test_rule_changes_wake_every_host(api: Api) -> None:
    from tests.api.test_compute import Host
    host = Host(api)
    with api.cloud.db.transaction() as s:
        before = s.scalar(select(cm.Host.revision).where(cm.Host.id == host.id))
    _, _, token = api.user_in_project()
    made = group(api, token)
    ok(add_rule(api, token, made["id"], protocol="tcp"), 201)
    with api.cloud.db.transaction() as s:
        after = s.scalar(select(cm.Host.revision).where(cm.Host.id == host.id))
    assert after is not None and before is not None and after > before


def test_unknown_attributes_are_refused(api: Api) -> None:
    _, _, token = api.user_in_project()
    fault(neutron(api, "POST", "/security-groups", token,
                  json={"security_group": {"name": "x", "colour": "red"}}), 400)
    made = group(api, token)
    fault(neutron(api, "PUT", f"/security-groups/{made['id']}", token,
                  json={"security_group": {"project_id": "x"}}), 400)


def test_a_rules_description_is_its_only_changeable_attribute(api: Api) -> None:
    _, _, token = api.user_in_project()
    made = group(api, token)
    rule = ok(add_rule(api, token, made["id"], protocol="tcp"), 201)["security_group_rule"]
    r = neutron(api, "PUT", f"/security-group-rules/{rule['id']}", token,
                json={"security_group_rule": {"description": "ssh"}})
    updated = ok(r)["security_group_rule"]
    assert (updated["description"], updated["revision_number"]) == ("ssh", 1)
    fault(neutron(api, "PUT", f"/security-group-rules/{rule['id']}", token,
                  json={"security_group_rule": {"protocol": "udp"}}), 400)


def test_groups_are_created_in_bulk_all_or_nothing(api: Api) -> None:
    _, _, token = api.user_in_project()
    r = neutron(api, "POST", "/security-groups", token, json={"security_groups": [
        {"name": "a"}, {"name": "default"}]})
    fault(r, 409)
    r = neutron(api, "POST", "/security-groups", token, json={"security_groups": [
        {"name": "a"}, {"name": "b"}]})
    assert [g["name"] for g in ok(r, 201)["security_groups"]] == ["a", "b"]
    names = {g["name"] for g in ok(neutron(api, "GET", "/security-groups",
                                           token))["security_groups"]}
    assert names == {"default", "a", "b"}
