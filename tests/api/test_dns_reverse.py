"""Designate floating IP PTRs through the API: a project sets, shows and unsets the PTR of its
own floating IP; the cloud makes the reverse zone (managed, the admin project's) and bumps
its serial with each change; another project's floating IP is 404."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from sausage.db.models import dns as m
from sausage.services.dns import state
from tests.api.conftest import Api
from tests.api.test_dns_tlds import dns, fault, ok, tld
from tests.api.test_network_floatingips import allocate
from tests.api.test_network_routers import external

REGION = "RegionOne"


def floating_ip(api: Api, token: dict[str, str], public: str) -> dict[str, Any]:
    return dict(ok(allocate(api, token, public), 201)["floatingip"])


def reverse_zone(api: Api, name: str) -> tuple[str, bool, int, str] | None:
    """(project, managed, serial, status) of the zone called ``name``, if there is one."""
    with api.cloud.db.transaction() as s:
        row = s.scalars(select(m.DnsZone).where(m.DnsZone.name == name)).one_or_none()
        return None if row is None else (row.project_id, row.managed, row.serial, row.status)


def ptr_records(api: Api, fip_id: str) -> list[tuple[str, str]]:
    """(recordset name, data) of the managed PTR records naming the floating IP."""
    with api.cloud.db.transaction() as s:
        return [(rs.name, r.data) for r, rs in s.execute(
            select(m.DnsRecord, m.DnsRecordset).join(
                m.DnsRecordset, m.DnsRecordset.id == m.DnsRecord.recordset_id).where(
                m.DnsRecord.managed_resource_type == "ptr:floatingip",
                m.DnsRecord.managed_resource_id == fip_id)).tuples()]


def test_a_project_sets_shows_and_unsets_its_floating_ips_ptr(api: Api) -> None:
    public, _ = external(api)
    _, project, token = api.user_in_project()
    fip = floating_ip(api, token, public)
    address = fip["floating_ip_address"]
    a, b, c, d = address.split(".")
    key = f"{REGION}:{fip['id']}"
    unset = ok(dns(api, "GET", f"/reverse/floatingips/{key}", token))
    assert unset == {"id": key, "ptrdname": None, "description": None, "ttl": None,
                     "address": address, "status": "INACTIVE", "action": "NONE",
                     "links": {"self": f"http://127.0.0.1:8000/dns/v2/reverse/floatingips/{key}"}}
    r = dns(api, "PATCH", f"/reverse/floatingips/{key}", token,
            json={"ptrdname": "www.example.org.", "description": "web", "ttl": 600})
    made = ok(r, 202)
    assert (made["ptrdname"], made["description"], made["ttl"], made["address"],
            made["status"], made["action"]) == \
        ("www.example.org.", "web", 600, address, "PENDING", "CREATE")
    zone_name = f"{c}.{b}.{a}.in-addr.arpa."
    admin_project = api.id_of("project", "admin")
    zone = reverse_zone(api, zone_name)
    assert zone is not None and zone[:2] == (admin_project, True) and zone[3] == "PENDING"
    assert ptr_records(api, fip["id"]) == [(f"{d}.{zone_name}", "www.example.org.")]
    shown = ok(dns(api, "GET", f"/reverse/floatingips/{key}", token))
    assert shown == made
    listed = ok(dns(api, "GET", "/reverse/floatingips", token))["floatingips"]
    assert listed == [made]
    # Changing it keeps one record and moves the zone's serial again.
    again = ok(dns(api, "PATCH", f"/reverse/floatingips/{key}", token,
                   json={"ptrdname": "web.example.org."}), 202)
    assert (again["ptrdname"], again["ttl"], again["description"]) == \
        ("web.example.org.", 3600, None)
    assert ptr_records(api, fip["id"]) == [(f"{d}.{zone_name}", "web.example.org.")]
    serial = reverse_zone(api, zone_name)
    assert serial is not None and serial[2] > zone[2]
    r = dns(api, "PATCH", f"/reverse/floatingips/{key}", token, json={"ptrdname": None})
    assert (r.status_code, r.content) == (202, b"")
    assert ptr_records(api, fip["id"]) == []
    assert ok(dns(api, "GET", f"/reverse/floatingips/{key}", token)) == unset
    after = reverse_zone(api, zone_name)
    assert after is not None and after[2] > serial[2]
    fault(dns(api, "PATCH", f"/reverse/floatingips/{key}", token, json={"ptrdname": None}),
          404, "not_found")
    assert project != admin_project


def ptr_recordsets(api: Api, zone_name: str) -> list[tuple[str, str]]:
    """(status, action) of the PTR recordsets of the zone, deleted ones included."""
    with api.cloud.db.transaction() as s:
        return [(rs.status, rs.action) for rs in s.scalars(
            select(m.DnsRecordset).join(m.DnsZone, m.DnsZone.id == m.DnsRecordset.zone_id)
            .where(m.DnsZone.name == zone_name, m.DnsRecordset.type == "PTR"))]


def publish(api: Api, zone_name: str) -> None:
    """What the publisher does once the server answers the zone's serial."""
    with api.cloud.db.transaction() as s:
        zone = s.scalars(select(m.DnsZone).where(m.DnsZone.name == zone_name)).one()
        assert state.mark_published(s, zone.id, zone.serial)
        state.finish_deletes(s, zone.id)


def test_a_ptr_is_active_once_published_and_an_unset_one_goes_with_the_next_publish(
        api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    fip = floating_ip(api, token, public)
    a, b, c, _ = fip["floating_ip_address"].split(".")
    zone_name = f"{c}.{b}.{a}.in-addr.arpa."
    key = f"{REGION}:{fip['id']}"
    ok(dns(api, "PATCH", f"/reverse/floatingips/{key}", token,
           json={"ptrdname": "www.example.org."}), 202)
    publish(api, zone_name)
    shown = ok(dns(api, "GET", f"/reverse/floatingips/{key}", token))
    assert (shown["status"], shown["action"]) == ("ACTIVE", "NONE")
    # The reverse zone is the admin project's, seen through the zones API.
    zones = ok(dns(api, "GET", f"/zones?name={zone_name}", api.admin))["zones"]
    assert [(z["name"], z["status"]) for z in zones] == [(zone_name, "ACTIVE")]
    ptrs = f"/zones/{zones[0]['id']}/recordsets?type=PTR"
    ok(dns(api, "PATCH", f"/reverse/floatingips/{key}", token, json={"ptrdname": None}), 202)
    assert ok(dns(api, "GET", ptrs, api.admin))["recordsets"] == []
    # Until the server drops it, the recordset stays as a pending delete.
    assert ptr_recordsets(api, zone_name) == [("PENDING", "DELETE")]
    publish(api, zone_name)
    assert ptr_recordsets(api, zone_name) == []
    again = ok(dns(api, "PATCH", f"/reverse/floatingips/{key}", token,
                   json={"ptrdname": "again.example.org."}), 202)
    assert (again["status"], again["action"]) == ("PENDING", "CREATE")


def test_another_projects_floating_ip_ptr_is_not_found(api: Api) -> None:
    public, _ = external(api)
    _, _, owner = api.user_in_project()
    _, other_project, other = api.user_in_project()
    fip = floating_ip(api, owner, public)
    key = f"{REGION}:{fip['id']}"
    ok(dns(api, "PATCH", f"/reverse/floatingips/{key}", owner,
           json={"ptrdname": "mine.example.org."}), 202)
    fault(dns(api, "GET", f"/reverse/floatingips/{key}", other), 404, "not_found")
    fault(dns(api, "PATCH", f"/reverse/floatingips/{key}", other,
              json={"ptrdname": "theirs.example.org."}), 404, "not_found")
    fault(dns(api, "PATCH", f"/reverse/floatingips/{key}", other, json={"ptrdname": None}),
          404, "not_found")
    assert ok(dns(api, "GET", "/reverse/floatingips", other))["floatingips"] == []
    # Admin too sees only its own project's, unless it acts as the owner.
    fault(dns(api, "GET", f"/reverse/floatingips/{key}", api.admin), 404, "not_found")
    owner_project = next(iter(ok(dns(api, "GET", "/reverse/floatingips", owner))[
        "floatingips"]))
    assert owner_project["ptrdname"] == "mine.example.org."
    project_of_fip = fip["project_id"]
    shown = ok(dns(api, "GET", f"/reverse/floatingips/{key}", api.admin,
                   headers={"X-Auth-Sudo-Project-ID": project_of_fip}))
    assert shown["ptrdname"] == "mine.example.org."
    fault(dns(api, "GET", f"/reverse/floatingips/{key}", other,
              headers={"X-Auth-Sudo-Project-ID": project_of_fip}), 403, "forbidden")
    assert other_project != project_of_fip


def test_unknown_floating_ips_regions_and_keys_are_refused(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    fip = floating_ip(api, token, public)
    fault(dns(api, "GET", f"/reverse/floatingips/{REGION}:{uuid.uuid4()}", token), 404,
          "not_found")
    fault(dns(api, "GET", f"/reverse/floatingips/RegionTwo:{fip['id']}", token), 404,
          "not_found")
    fault(dns(api, "GET", f"/reverse/floatingips/{fip['id']}", token), 400, "bad_request")
    key = f"{REGION}:{fip['id']}"
    for body in ({"ptrdname": "no-dot.example.org"}, {"ptrdname": ""},
                 {"ptrdname": 4564}, {"ptrdname": "a.example.", "ttl": -10},
                 {"ptrdname": "a.example.", "description": "x" * 161},
                 {"ptrdname": "a.example.", "address": "192.0.2.1"}):
        fault(dns(api, "PATCH", f"/reverse/floatingips/{key}", token, json=body), 400,
              "invalid_object")
    assert ptr_records(api, fip["id"]) == []


def test_a_reader_reads_ptrs_but_does_not_set_them(api: Api) -> None:
    public, _ = external(api)
    _, project, member = api.user_in_project()
    name = api.request("GET", f"/projects/{project}", api.admin).json()["project"]["name"]
    _, _, reader = api.user_in_project("reader", project=name)
    fip = floating_ip(api, member, public)
    key = f"{REGION}:{fip['id']}"
    assert ok(dns(api, "GET", f"/reverse/floatingips/{key}", reader))["ptrdname"] is None
    fault(dns(api, "PATCH", f"/reverse/floatingips/{key}", reader,
              json={"ptrdname": "r.example.org."}), 403, "forbidden")


def test_the_reverse_zone_obeys_the_tld_list(api: Api) -> None:
    public, _ = external(api)
    _, _, token = api.user_in_project()
    fip = floating_ip(api, token, public)
    key = f"{REGION}:{fip['id']}"
    tld(api, "org")
    fault(dns(api, "PATCH", f"/reverse/floatingips/{key}", token,
              json={"ptrdname": "www.example.org."}), 400, "invalid_zone_name")
    assert ptr_records(api, fip["id"]) == []
    tld(api, "arpa")
    ok(dns(api, "PATCH", f"/reverse/floatingips/{key}", token,
           json={"ptrdname": "www.example.org."}), 202)
