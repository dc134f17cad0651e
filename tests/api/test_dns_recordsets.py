"""DNS recordsets (Designate v2): created PENDING with the zone's serial moved, validated per
type, placed as Designate places them, deduplicated, listed in a zone or across zones,
updated, deleted; managed SOA and NS changed only by admins who say so."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sausage.services.dns import state
from tests.api.conftest import Api
from tests.api.test_dns_zones import counts, dns, make_zone


@pytest.fixture
def member(api: Api) -> dict[str, str]:
    return api.user_in_project("member")[2]


@pytest.fixture
def zone(api: Api, member: dict[str, str]) -> dict[str, Any]:
    return make_zone(api, member)


def add(api: Api, token: dict[str, str], zone: dict[str, Any], **values: Any
        ) -> httpx.Response:
    return dns(api, "POST", f"/zones/{zone['id']}/recordsets", token, json=values)


def test_a_recordset_is_created_pending_and_moves_the_zone_serial(
        api: Api, member: dict[str, str], zone: dict[str, Any]) -> None:
    with api.cloud.db.transaction() as s:
        state.mark_published(s, zone["id"], zone["serial"])
    r = add(api, member, zone, name="www.example.org.", type="A",
            records=["192.0.2.1", "192.0.2.2", "192.0.2.1"], ttl=60, description="web")
    assert r.status_code == 202, r.text
    rs = r.json()
    assert rs["records"] == ["192.0.2.1", "192.0.2.2"]  # deduplicated
    assert (rs["status"], rs["action"]) == ("PENDING", "CREATE")
    assert rs["zone_name"] == "example.org." and rs["ttl"] == 60
    assert rs["links"]["self"].endswith(f"/dns/v2/zones/{zone['id']}/recordsets/{rs['id']}")
    after = dns(api, "GET", f"/zones/{zone['id']}", member).json()
    assert (after["status"], after["action"]) == ("PENDING", "UPDATE")
    assert after["serial"] > zone["serial"]
    soa = dns(api, "GET", f"/zones/{zone['id']}/recordsets?type=SOA", member).json()
    assert f" {after['serial']} " in soa["recordsets"][0]["records"][0]
    with api.cloud.db.transaction() as s:
        assert state.mark_published(s, zone["id"], after["serial"])
    shown = dns(api, "GET", f"/zones/{zone['id']}/recordsets/{rs['id']}", member).json()
    assert (shown["status"], shown["action"]) == ("ACTIVE", "NONE")


@pytest.mark.parametrize("rtype, records", [
    ("A", ["abc"]), ("A", ["192.0.2.300"]), ("AAAA", ["192.0.2.1"]),
    ("CNAME", ["no-dot.example.org"]), ("MX", ["mail.example.org."]), ("MX", ["-1 mx.org."]),
    ("TXT", ["testtext\\"]), ("TXT", ["two words"]), ("SRV", ["10 0 5060"]),
    ("SSHFP", ["-1 1 0123456789abcdef0123"]), ("CAA", ["0 nonsense x"]),
    ("PTR", ["1.2.3.4"]), ("NS", ["*.example.org."]), ("BOGUS", ["x"]), ("A", "192.0.2.1"),
])
def test_records_that_do_not_fit_their_type_are_400_and_nothing_is_written(
        api: Api, member: dict[str, str], zone: dict[str, Any], rtype: str,
        records: Any) -> None:
    before = counts(api)
    name = "_sip._tcp.example.org." if rtype == "SRV" else "host.example.org."
    r = add(api, member, zone, name=name, type=rtype, records=records)
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "invalid_object"
    assert counts(api) == before


@pytest.mark.parametrize("rtype, records", [
    ("AAAA", ["2001:db8::1"]), ("CNAME", ["target.example.net."]),
    ("MX", ["10 mail.example.org."]), ("TXT", ['"v=spf1 -all"']), ("TXT", ["plain"]),
    ("SSHFP", ["1 1 0123456789abcdef0123456789abcdef01234567"]),
    ("CAA", ["0 issue letsencrypt.org"]), ("PTR", ["host.example.org."]),
    ("NS", ["ns2.example.net."]),
])
def test_valid_records_of_each_type_are_accepted(api: Api, member: dict[str, str],
                                                 zone: dict[str, Any], rtype: str,
                                                 records: list[str]) -> None:
    r = add(api, member, zone, name="host.example.org.", type=rtype, records=records)
    assert r.status_code == 202, r.text
    assert r.json()["records"] == records


def test_an_srv_recordset_is_named_service_and_protocol(api: Api, member: dict[str, str],
                                                        zone: dict[str, Any]) -> None:
    r = add(api, member, zone, name="sip.example.org.", type="SRV", records=["1 2 3 x.org."])
    assert r.status_code == 400
    r = add(api, member, zone, name="_sip._tcp.example.org.", type="SRV",
            records=["10 0 5060 sip.example.org."])
    assert r.status_code == 202, r.text


def test_names_must_be_absolute_and_inside_the_zone(api: Api, member: dict[str, str],
                                                    zone: dict[str, Any]) -> None:
    before = counts(api)
    r = add(api, member, zone, name="www.example.org", type="A", records=["192.0.2.1"])
    assert r.status_code == 400 and r.json()["type"] == "invalid_object"
    r = add(api, member, zone, name="www.example.net.", type="A", records=["192.0.2.1"])
    assert r.status_code == 400 and r.json()["type"] == "invalid_recordset_location"
    r = add(api, member, zone, name="a" * 64 + ".example.org.", type="A", records=["192.0.2.1"])
    assert r.status_code == 400
    assert counts(api) == before


def test_a_cname_at_the_apex_or_beside_other_data_is_refused(
        api: Api, member: dict[str, str], zone: dict[str, Any]) -> None:
    assert add(api, member, zone, name="www.example.org.", type="A",
               records=["192.0.2.1"]).status_code == 202
    before = counts(api)
    r = add(api, member, zone, name="example.org.", type="CNAME", records=["x.example.net."])
    assert r.status_code == 400 and r.json()["type"] == "invalid_recordset_location"
    r = add(api, member, zone, name="www.example.org.", type="CNAME", records=["x.example.net."])
    assert r.status_code == 400 and r.json()["type"] == "invalid_recordset_location"
    assert add(api, member, zone, name="alias.example.org.", type="CNAME",
               records=["x.example.net."]).status_code == 202
    after_cname = counts(api)
    r = add(api, member, zone, name="alias.example.org.", type="TXT", records=["t"])
    assert r.status_code == 400 and r.json()["type"] == "invalid_recordset_location"
    r = add(api, member, zone, name="two.example.org.", type="CNAME",
            records=["a.example.net.", "b.example.net."])
    assert r.status_code == 400 and r.json()["type"] == "bad_request"
    assert counts(api) == after_cname != before


def test_a_duplicate_recordset_is_a_409_and_nothing_is_written(
        api: Api, member: dict[str, str], zone: dict[str, Any]) -> None:
    assert add(api, member, zone, name="www.example.org.", type="A",
               records=["192.0.2.1"]).status_code == 202
    before = counts(api)
    r = add(api, member, zone, name="WWW.example.org.", type="A", records=["192.0.2.9"])
    assert r.status_code == 409 and r.json()["type"] == "duplicate_recordset"
    r = add(api, member, zone, name="alias.example.org.", type="CNAME", records=["a.org."])
    assert r.status_code == 202
    r = add(api, member, zone, name="alias.example.org.", type="CNAME", records=["b.org."])
    assert r.status_code == 409
    assert counts(api)[1] == before[1] + 1


def test_a_recordset_inside_a_subzone_belongs_there(api: Api, member: dict[str, str],
                                                    zone: dict[str, Any]) -> None:
    make_zone(api, member, "sub.example.org.")
    r = add(api, member, zone, name="www.sub.example.org.", type="A", records=["192.0.2.1"])
    assert r.status_code == 400 and r.json()["type"] == "invalid_recordset_location"


def test_a_recordset_is_updated_with_put_and_deleted(api: Api, member: dict[str, str],
                                                     zone: dict[str, Any]) -> None:
    rs = add(api, member, zone, name="www.example.org.", type="A", records=["192.0.2.1"]).json()
    path = f"/zones/{zone['id']}/recordsets/{rs['id']}"
    r = dns(api, "PUT", path, member, json={"records": ["192.0.2.7", "192.0.2.8"], "ttl": 30,
                                            "description": "changed"})
    assert r.status_code == 202, r.text
    assert r.json()["records"] == ["192.0.2.7", "192.0.2.8"] and r.json()["ttl"] == 30
    assert (r.json()["status"], r.json()["action"]) == ("PENDING", "UPDATE")
    assert dns(api, "PUT", path, member, json={"records": ["abc"]}).status_code == 400
    assert dns(api, "PUT", path, member, json={"type": "AAAA"}).status_code == 400
    same = dns(api, "PUT", path, member, json={"name": "www.example.org.", "type": "A",
                                               "records": ["192.0.2.7", "192.0.2.8"]})
    assert same.status_code == 202, same.text
    assert dns(api, "GET", path, member).json()["records"] == ["192.0.2.7", "192.0.2.8"]
    serial = dns(api, "GET", f"/zones/{zone['id']}", member).json()["serial"]
    r = dns(api, "DELETE", path, member)
    assert r.status_code == 202
    assert (r.json()["status"], r.json()["action"]) == ("PENDING", "DELETE")
    assert dns(api, "GET", path, member).status_code == 404
    assert dns(api, "GET", f"/zones/{zone['id']}", member).json()["serial"] > serial
    # The name is free again at once; the old row goes when the publisher is done.
    assert add(api, member, zone, name="www.example.org.", type="A",
               records=["192.0.2.1"]).status_code == 202
    with api.cloud.db.transaction() as s:
        state.finish_deletes(s, zone["id"])
    assert counts(api)[1:] == (3, 3)  # SOA, NS and the new www, one record each


def test_managed_soa_and_ns_change_only_for_admins_who_say_so(
        api: Api, member: dict[str, str], zone: dict[str, Any]) -> None:
    sets = dns(api, "GET", f"/zones/{zone['id']}/recordsets", member).json()["recordsets"]
    ns = next(rs for rs in sets if rs["type"] == "NS")
    soa = next(rs for rs in sets if rs["type"] == "SOA")
    path = f"/zones/{zone['id']}/recordsets/{ns['id']}"
    r = dns(api, "PUT", path, member, json={"records": ["ns9.example.net."]})
    assert r.status_code == 400 and r.json()["type"] == "bad_request"
    assert dns(api, "DELETE", path, member).status_code == 400
    r = dns(api, "PUT", path, member, json={"records": ["ns9.example.net."]},
            headers={"X-Designate-Edit-Managed-Records": "true"})
    assert r.status_code == 403
    admin = {**api.admin, "X-Auth-All-Projects": "true"}
    r = dns(api, "PUT", f"/zones/{zone['id']}/recordsets/{soa['id']}", admin,
            json={"records": ["x"]}, headers={"X-Designate-Edit-Managed-Records": "true"})
    assert r.status_code == 400 and r.json()["type"] == "bad_request"
    r = dns(api, "PUT", path, admin, json=[{"hostname": "ns0.example.net.", "priority": 1}],
            headers={"X-Designate-Edit-Managed-Records": "true"})
    assert r.status_code == 400 and r.json()["type"] == "bad_request"
    r = dns(api, "PUT", path, admin, json={"ttl": 120, "records": ["ns2.example.net."]},
            headers={"X-Designate-Edit-Managed-Records": "true"})
    assert r.status_code == 202, r.text
    assert r.json()["records"] == ["ns2.example.net."]
    r = dns(api, "PUT", path, member, json={"ttl": 60})  # still managed
    assert r.status_code == 400 and r.json()["type"] == "bad_request"


def test_recordsets_across_zones_are_listed_paged_and_filtered(
        api: Api, member: dict[str, str], zone: dict[str, Any]) -> None:
    other_zone = make_zone(api, member, "example.net.")
    for i in range(3):
        add(api, member, zone, name=f"h{i}.example.org.", type="A", records=[f"192.0.2.{i}"])
    add(api, member, other_zone, name="h.example.net.", type="TXT", records=["hello"])
    everything = dns(api, "GET", "/recordsets", member).json()
    assert everything["metadata"]["total_count"] == 8  # 2 zones x (SOA, NS) + 4
    page = dns(api, "GET", "/recordsets?type=A&limit=2&sort_key=name", member).json()
    assert [rs["name"] for rs in page["recordsets"]] == ["h0.example.org.", "h1.example.org."]
    rest = api.client.get(page["links"]["next"], headers=member).json()
    assert [rs["name"] for rs in rest["recordsets"]] == ["h2.example.org."]
    found = dns(api, "GET", "/recordsets?data=192.0.2.1", member).json()["recordsets"]
    assert [rs["name"] for rs in found] == ["h1.example.org."]
    found = dns(api, "GET", f"/zones/{zone['id']}/recordsets?name=h*", member).json()
    assert found["metadata"]["total_count"] == 3
    one = found["recordsets"][0]
    r = dns(api, "GET", f"/recordsets/{one['id']}", member, follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == one["links"]["self"]


def test_another_projects_recordsets_are_invisible(api: Api, member: dict[str, str],
                                                   zone: dict[str, Any]) -> None:
    rs = add(api, member, zone, name="www.example.org.", type="A", records=["192.0.2.1"]).json()
    other = api.user_in_project("member")[2]
    before = counts(api)
    assert dns(api, "GET", f"/zones/{zone['id']}/recordsets", other).status_code == 404
    assert dns(api, "GET", f"/recordsets/{rs['id']}", other).status_code == 404
    r = add(api, other, zone, name="evil.example.org.", type="A", records=["192.0.2.6"])
    assert r.status_code == 404 and r.json()["type"] == "zone_not_found"
    assert dns(api, "GET", "/recordsets", other).json()["recordsets"] == []
    assert counts(api) == before
    bad = dns(api, "GET", f"/zones/{zone['id']}/recordsets/not-a-uuid", member)
    assert bad.status_code == 400 and bad.json()["type"] == "invalid_uuid"
    missing = dns(api, "GET", f"/zones/{zone['id']}/recordsets/{zone['id']}", member)
    assert missing.status_code == 404 and missing.json()["type"] == "recordset_not_found"


def test_record_quotas_are_enforced(api: Api) -> None:
    _, project, member = api.user_in_project("member")
    zone = make_zone(api, member)
    admin = {**api.admin, "X-Auth-All-Projects": "true"}
    r = dns(api, "PATCH", f"/quotas/{project}", admin,
            json={"recordset_records": 2, "zone_recordsets": 3})
    assert r.status_code == 200
    before = counts(api)
    r = add(api, member, zone, name="a.example.org.", type="A",
            records=["192.0.2.1", "192.0.2.2", "192.0.2.3"])
    assert r.status_code == 413 and r.json()["type"] == "over_quota"
    assert counts(api) == before
    assert add(api, member, zone, name="a.example.org.", type="A",
               records=["192.0.2.1"]).status_code == 202
    r = add(api, member, zone, name="b.example.org.", type="A", records=["192.0.2.1"])
    assert r.status_code == 413


def test_a_deleting_zone_takes_no_new_recordsets(api: Api, member: dict[str, str],
                                                 zone: dict[str, Any]) -> None:
    dns(api, "DELETE", f"/zones/{zone['id']}", member)
    r = add(api, member, zone, name="a.example.org.", type="A", records=["192.0.2.1"])
    assert r.status_code == 400 and r.json()["type"] == "bad_request"
