"""DNS zones (Designate v2): created PENDING with their SOA and NS, listed, paged, changed,
deleted; bad names and clashes refused in Designate's words with nothing written; another
project's zones invisible; quotas and the request modifiers."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import httpx
import pytest

from sausage.db.models import dns as m
from sausage.services.dns import state
from tests.api.conftest import Api


def dns(api: Api, method: str, path: str, token: dict[str, str], **kwargs: Any
        ) -> httpx.Response:
    headers = {**token, **kwargs.pop("headers", {})}
    return api.client.request(method, "/dns/v2" + path, headers=headers, **kwargs)


def make_zone(api: Api, token: dict[str, str], name: str = "example.org.",
              **values: Any) -> dict[str, Any]:
    r = dns(api, "POST", "/zones", token, json={"name": name, "email": "admin@example.org",
                                                 **values})
    assert r.status_code == 202, r.text
    return dict(r.json())


def count(api: Api, model: Any) -> int:
    with api.cloud.db.transaction() as s:
        return len(list(s.query(model)))


def counts(api: Api) -> tuple[int, int, int]:
    return count(api, m.DnsZone), count(api, m.DnsRecordset), count(api, m.DnsRecord)


@pytest.fixture
def member(api: Api) -> dict[str, str]:
    return api.user_in_project("member")[2]


def test_the_dns_root_lists_v2_as_current(api: Api) -> None:
    r = api.client.get("/dns/")
    assert r.status_code == 200
    current = [v for v in r.json()["versions"] if v["status"] == "CURRENT"]
    assert current[0]["id"] == "v2"
    assert current[0]["links"][0]["href"] == "http://127.0.0.1:8000/dns/v2"


def test_a_zone_is_created_pending_with_designates_fields(api: Api, member: dict[str, str]
                                                          ) -> None:
    zone = make_zone(api, member, "Example.ORG.", ttl=600, description="mine",
                     attributes={"attribute_key": "hint"})
    assert zone["name"] == "example.org." and zone["ttl"] == 600
    assert (zone["status"], zone["action"]) == ("PENDING", "CREATE")
    assert zone["type"] == "PRIMARY" and zone["masters"] == [] and zone["attributes"] == {}
    assert zone["serial"] > 1_600_000_000 and zone["version"] == 1
    assert zone["links"]["self"] == f"http://127.0.0.1:8000/dns/v2/zones/{zone['id']}"
    shown = dns(api, "GET", f"/zones/{zone['id']}", member).json()
    assert shown["id"] == zone["id"] and shown["email"] == "admin@example.org"


def test_a_new_zone_has_managed_soa_and_ns_recordsets(api: Api, member: dict[str, str]
                                                      ) -> None:
    zone = make_zone(api, member)
    r = dns(api, "GET", f"/zones/{zone['id']}/recordsets", member)
    kinds = {rs["type"]: rs for rs in r.json()["recordsets"]}
    assert set(kinds) == {"SOA", "NS"}
    assert kinds["NS"]["records"] == ["ns1.sausage.test."]
    assert kinds["SOA"]["records"][0].startswith(
        f"ns1.sausage.test. admin.example.org. {zone['serial']} ")
    ns = dns(api, "GET", f"/zones/{zone['id']}/nameservers", member).json()
    assert ns == {"nameservers": [{"hostname": "ns1.sausage.test.", "priority": 1}]}


@pytest.mark.parametrize("name, kind", [
    ("example.org", "invalid_object"),              # no trailing dot
    ("a" * 64 + ".org.", "invalid_object"),         # a label over 63
    (("a" * 60 + ".") * 5 + "org.", "invalid_object"),  # over 253 characters
    ("org.", "invalid_zone_name"),                  # a single label
    ("ex ample.org.", "invalid_object"),
    ("-bad.org.", "invalid_object"),
    (42, "invalid_object"),
])
def test_a_bad_zone_name_is_a_400_and_nothing_is_written(
        api: Api, member: dict[str, str], name: Any, kind: str) -> None:
    before = counts(api)
    r = dns(api, "POST", "/zones", member, json={"name": name, "email": "a@example.org"})
    assert r.status_code == 400, r.text
    assert r.json()["type"] == kind and r.json()["code"] == 400
    assert r.json()["request_id"].startswith("req-")
    assert counts(api) == before


@pytest.mark.parametrize("values", [
    {"email": "zahlabut#gmail.com"}, {"email": "123456"}, {"email": ""},
    {"ttl": -1}, {"ttl": 2147483647 + 10}, {"ttl": "300"}, {"description": "d" * 161},
    {"id": "0" * 32}, {"type": "SECONDARY"},
])
def test_bad_zone_fields_are_refused_as_invalid_objects(api: Api, member: dict[str, str],
                                                        values: dict[str, Any]) -> None:
    before = counts(api)
    r = dns(api, "POST", "/zones", member,
            json={"name": "example.org.", "email": "a@example.org", **values})
    assert r.status_code == 400 and r.json()["type"] == "invalid_object", r.text
    assert counts(api) == before


def test_malformed_json_is_a_designate_400(api: Api, member: dict[str, str]) -> None:
    for raw in (b'{"name": 1e999}', b'{"name": "\\ud800"}', b"[" * 100 + b"]" * 100,
                b'{"ttl": 99999999999999999999999}', b"not json"):
        r = dns(api, "POST", "/zones", member, content=raw,
                headers={"Content-Type": "application/json"})
        assert r.status_code == 400, raw
        assert set(r.json()) == {"code", "type", "message", "request_id"}
        assert r.json()["type"] == "invalid_json"
    r = dns(api, "POST", "/zones", member, json=[{"name": "example.org."}])
    assert r.status_code == 400 and r.json()["type"] == "bad_request"
    r = dns(api, "POST", "/zones", member, content=b'{"name": "example.org."}',
            headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["type"] == "unsupported_content_type"
    assert counts(api) == (0, 0, 0)


def test_a_duplicate_zone_is_a_409_and_nothing_is_written(api: Api, member: dict[str, str]
                                                          ) -> None:
    make_zone(api, member)
    before = counts(api)
    r = dns(api, "POST", "/zones", member, json={"name": "EXAMPLE.org.", "email": "a@b.org"})
    assert r.status_code == 409 and r.json()["type"] == "duplicate_zone"
    assert counts(api) == before


def test_another_project_cannot_create_a_subzone_or_superzone_of_your_zone(
        api: Api, member: dict[str, str]) -> None:
    make_zone(api, member, "a.example.org.")
    other = api.user_in_project("member")[2]
    before = counts(api)
    r = dns(api, "POST", "/zones", other, json={"name": "x.a.example.org.", "email": "a@b.org"})
    assert r.status_code == 403 and r.json()["type"] == "illegal_child"
    r = dns(api, "POST", "/zones", other, json={"name": "example.org.", "email": "a@b.org"})
    assert r.status_code == 403 and r.json()["type"] == "illegal_parent"
    assert counts(api) == before
    assert dns(api, "POST", "/zones", member,
               json={"name": "x.a.example.org.", "email": "a@b.org"}).status_code == 202


def test_a_zone_must_sit_under_a_known_tld_once_tlds_exist(api: Api, member: dict[str, str]
                                                           ) -> None:
    with api.cloud.db.transaction() as s:
        s.add(m.DnsTld(id="00000000-0000-0000-0000-000000000001", name="test"))
    r = dns(api, "POST", "/zones", member, json={"name": "example.org.", "email": "a@b.org"})
    assert r.status_code == 400 and r.json()["type"] == "invalid_zone_name"
    r = dns(api, "POST", "/zones", member, json={"name": "test.", "email": "a@b.org"})
    assert r.status_code == 400
    assert dns(api, "POST", "/zones", member,
               json={"name": "example.test.", "email": "a@b.org"}).status_code == 202


def test_another_projects_zones_are_invisible(api: Api, member: dict[str, str]) -> None:
    zone = make_zone(api, member)
    other = api.user_in_project("member")[2]
    for method in ("GET", "PATCH", "DELETE"):
        r = dns(api, method, f"/zones/{zone['id']}", other,
                **({"json": {"ttl": 5}} if method == "PATCH" else {}))
        assert r.status_code == 404 and r.json()["type"] == "zone_not_found", method
    assert dns(api, "GET", "/zones", other).json()["zones"] == []
    assert dns(api, "GET", f"/zones/{zone['id']}", api.admin).status_code == 404
    seen = dns(api, "GET", f"/zones/{zone['id']}", api.admin,
               headers={"X-Auth-All-Projects": "true"})
    assert seen.status_code == 200


def test_a_reader_reads_but_cannot_write(api: Api) -> None:
    _, project, member = api.user_in_project("member")
    zone = make_zone(api, member)
    reader = api.user_in_project("reader", project=dns_project_name(api, project))[2]
    assert dns(api, "GET", f"/zones/{zone['id']}", reader).status_code == 200
    before = counts(api)
    r = dns(api, "POST", "/zones", reader, json={"name": "other.org.", "email": "a@b.org"})
    assert r.status_code == 403 and r.json()["type"] == "forbidden"
    assert dns(api, "PATCH", f"/zones/{zone['id']}", reader, json={"ttl": 5}).status_code == 403
    assert dns(api, "DELETE", f"/zones/{zone['id']}", reader).status_code == 403
    assert counts(api) == before


def dns_project_name(api: Api, project_id: str) -> str:
    r = api.request("GET", f"/projects/{project_id}", api.admin)
    return str(r.json()["project"]["name"])


def test_a_zone_update_moves_the_serial_and_marks_it_pending(api: Api, member: dict[str, str]
                                                             ) -> None:
    zone = make_zone(api, member)
    with api.cloud.db.transaction() as s:
        state.mark_published(s, zone["id"], zone["serial"])
    assert dns(api, "GET", f"/zones/{zone['id']}", member).json()["status"] == "ACTIVE"
    r = dns(api, "PATCH", f"/zones/{zone['id']}", member,
            json={"ttl": 300, "email": "new@example.org", "description": "d"})
    assert r.status_code == 202, r.text
    changed = r.json()
    assert (changed["status"], changed["action"]) == ("PENDING", "UPDATE")
    assert changed["serial"] > zone["serial"] and changed["ttl"] == 300
    r = dns(api, "PATCH", f"/zones/{zone['id']}", member, json={"name": "other.org."})
    assert r.status_code == 400


def test_a_deleted_zone_shows_pending_delete_until_the_publisher_drops_it(
        api: Api, member: dict[str, str]) -> None:
    zone = make_zone(api, member)
    r = dns(api, "DELETE", f"/zones/{zone['id']}", member)
    assert r.status_code == 202
    assert (r.json()["status"], r.json()["action"]) == ("PENDING", "DELETE")
    assert dns(api, "GET", f"/zones/{zone['id']}", member).json()["action"] == "DELETE"
    with api.cloud.db.transaction() as s:
        assert state.mark_published(s, zone["id"], zone["serial"]) is False
        assert state.finish_deletes(s, zone["id"]) is True
    assert dns(api, "GET", f"/zones/{zone['id']}", member).status_code == 404
    assert counts(api) == (0, 0, 0)


def test_a_zone_with_subzones_cannot_be_deleted(api: Api, member: dict[str, str]) -> None:
    zone = make_zone(api, member)
    make_zone(api, member, "sub.example.org.")
    r = dns(api, "DELETE", f"/zones/{zone['id']}", member)
    assert r.status_code == 400 and r.json()["type"] == "zone_has_sub_zone"


def test_a_path_id_that_is_not_a_uuid_is_invalid_uuid(api: Api, member: dict[str, str]
                                                      ) -> None:
    r = dns(api, "GET", "/zones/invalid", member)
    assert r.status_code == 400 and r.json()["type"] == "invalid_uuid"
    r = dns(api, "GET", "/zones/00000000-0000-0000-0000-000000000000", member)
    assert r.status_code == 404 and r.json()["type"] == "zone_not_found"


def test_zones_page_with_limit_marker_and_next_links(api: Api, member: dict[str, str]
                                                     ) -> None:
    made = [make_zone(api, member, f"z{i}.example.org.") for i in range(5)]
    first = dns(api, "GET", "/zones?limit=2&sort_key=name", member).json()
    assert [z["name"] for z in first["zones"]] == ["z0.example.org.", "z1.example.org."]
    assert first["metadata"]["total_count"] == 5
    following = httpx.URL(first["links"]["next"])
    assert following.host == "127.0.0.1" and following.params["marker"] == made[1]["id"]
    second = api.client.get(str(following), headers=member).json()
    assert [z["name"] for z in second["zones"]] == ["z2.example.org.", "z3.example.org."]
    desc = dns(api, "GET", "/zones?sort_key=name&sort_dir=desc", member).json()
    assert desc["zones"][0]["name"] == "z4.example.org." and "next" not in desc["links"]
    for query, kind in (("marker=nope", "invalid_marker"),
                        ("marker=00000000-0000-0000-0000-000000000000", "marker_not_found"),
                        ("sort_key=email", "invalid_sort_key"),
                        ("sort_dir=up", "invalid_sort_dir"), ("limit=0", "invalid_limit"),
                        ("limit=abc", "invalid_limit")):
        r = dns(api, "GET", f"/zones?{query}", member)
        assert r.status_code == 400 and r.json()["type"] == kind, query


def test_zones_filter_by_name_with_wildcards_and_by_ttl(api: Api, member: dict[str, str]
                                                        ) -> None:
    make_zone(api, member, "alpha.example.org.", ttl=300)
    make_zone(api, member, "beta.example.net.")

    def names(query: str) -> list[str]:
        return [z["name"] for z in dns(api, "GET", f"/zones?{query}", member).json()["zones"]]

    assert names("name=*.org.") == ["alpha.example.org."]
    assert names("name=beta.example.net.") == ["beta.example.net."]
    assert names("ttl=300") == ["alpha.example.org."]
    assert names("status=ACTIVE") == []


def test_the_zone_quota_is_enforced_with_413_and_admins_set_it(
        api: Api) -> None:
    _, project, member = api.user_in_project("member")
    shown = dns(api, "GET", f"/quotas/{project}", member).json()
    assert shown == {"zones": 10, "zone_recordsets": 500, "zone_records": 500,
                     "recordset_records": 20, "api_export_size": 1000}
    assert dns(api, "PATCH", f"/quotas/{project}", member, json={"zones": 1}).status_code == 403
    r = dns(api, "PATCH", f"/quotas/{project}", api.admin, json={"zones": 1},
            headers={"X-Auth-All-Projects": "true"})
    assert r.status_code == 200 and r.json()["zones"] == 1
    make_zone(api, member, "one.org.")
    before = counts(api)
    r = dns(api, "POST", "/zones", member, json={"name": "two.org.", "email": "a@b.org"})
    assert r.status_code == 413 and r.json()["type"] == "over_quota"
    assert counts(api) == before
    other = api.user_in_project("member")[2]
    assert dns(api, "GET", f"/quotas/{project}", other).status_code == 403
    r = dns(api, "DELETE", f"/quotas/{project}", api.admin,
            headers={"X-Auth-All-Projects": "true"})
    assert r.status_code == 204
    assert dns(api, "GET", f"/quotas/{project}", member).json()["zones"] == 10
    r = dns(api, "PATCH", f"/quotas/{project}", api.admin, json={"zones": -1},
            headers={"X-Auth-All-Projects": "true"})
    assert r.status_code == 400
    r = dns(api, "PATCH", "/quotas/no-such-project", api.admin, json={"zones": 5},
            headers={"X-Auth-All-Projects": "true"})
    assert r.status_code == 400 and r.json()["type"] == "invalid_project"
    assert dns(api, "PATCH", f"/quotas/{project}", api.admin, json={"zones": 5}
               ).status_code == 403  # another project's, without all projects
    assert dns(api, "GET", "/quotas", member).json() == shown


def test_only_admins_use_the_request_modifiers(api: Api) -> None:
    _, project, member = api.user_in_project("member")
    for header in ({"X-Auth-All-Projects": "true"}, {"X-Auth-Sudo-Project-ID": project},
                   {"X-Designate-Edit-Managed-Records": "true"},
                   {"X-Designate-Hard-Delete": "true"}):
        r = dns(api, "GET", "/zones", member, headers=header)
        assert r.status_code == 403 and r.json()["type"] == "forbidden", header
    assert dns(api, "GET", "/zones", member,
               headers={"X-Auth-All-Projects": "false"}).status_code == 200


def test_an_admin_acts_as_another_project_with_sudo(api: Api) -> None:
    _, project, member = api.user_in_project("member")
    sudo = {"X-Auth-Sudo-Project-ID": project}
    zone = make_zone(api, {**api.admin, **sudo})
    assert zone["project_id"] == project
    assert dns(api, "GET", f"/zones/{zone['id']}", member).status_code == 200
    listed = dns(api, "GET", "/zones", api.admin, headers=sudo).json()["zones"]
    assert [z["id"] for z in listed] == [zone["id"]]


def test_two_workers_creating_the_same_zone_at_once_make_one(api: Api, other: Api) -> None:
    token = api.user_in_project("member")[2]
    body = {"name": "race.example.org.", "email": "a@example.org"}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda worker: dns(worker, "POST", "/zones", token, json=body),
                                (api, other)))
    assert sorted(r.status_code for r in answers) == [202, 409], [r.text for r in answers]
    assert counts(api)[0] == 1
