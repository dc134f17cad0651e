"""Designate zone transfers through the API: a project offers its zone, another accepts it
with the key and the zone (with its recordsets) becomes that project's; a wrong key, a used
request or a full quota changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from tests.api.conftest import Api
from tests.api.test_dns_tlds import dns, fault, ok


def zone(api: Api, token: dict[str, str]) -> str:
    """A new zone of the caller's project with one A recordset: its id."""
    name = f"z{uuid.uuid4().hex[:8]}.example.org."
    made = ok(dns(api, "POST", "/zones", token, json={"name": name, "email": "a@example.org"}),
              202)
    ok(dns(api, "POST", f"/zones/{made['id']}/recordsets", token, json={
        "name": f"www.{name}", "type": "A", "records": ["192.0.2.1"]}), 202)
    return str(made["id"])


def state(api: Api, token: dict[str, str], zone_id: str
          ) -> tuple[str, str, int, set[str], str | None]:
    """(project, status, serial, projects of its recordsets, transferred_at) of the zone, as
    the caller sees it."""
    doc = ok(dns(api, "GET", f"/zones/{zone_id}", token))
    sets = ok(dns(api, "GET", f"/zones/{zone_id}/recordsets", token))["recordsets"]
    return (doc["project_id"], doc["status"], doc["serial"], {r["project_id"] for r in sets},
            doc["transferred_at"])


def sees(api: Api, token: dict[str, str], zone_id: str) -> bool:
    r = dns(api, "GET", f"/zones/{zone_id}", token)
    if r.status_code == 404:
        assert r.json()["type"] == "zone_not_found", r.text
        return False
    return bool(ok(r)["id"] == zone_id)


def offer(api: Api, token: dict[str, str], zone_id: str, **values: Any) -> dict[str, Any]:
    return dict(ok(dns(api, "POST", f"/zones/{zone_id}/tasks/transfer_requests", token,
                       json=values), 201))


def accept(api: Api, token: dict[str, str], request: dict[str, Any], key: str | None = None
           ) -> Any:
    return dns(api, "POST", "/zones/tasks/transfer_accepts", token, json={
        "key": request["key"] if key is None else key,
        "zone_transfer_request_id": request["id"]})


def test_a_transfer_moves_the_zone_and_its_recordsets_to_the_accepting_project(api: Api) -> None:
    _, owner, owner_token = api.user_in_project()
    _, taker, taker_token = api.user_in_project()
    zone_id = zone(api, owner_token)
    assert sees(api, owner_token, zone_id) and not sees(api, taker_token, zone_id)
    request = offer(api, owner_token, zone_id, description="yours",
                    target_project_id=taker)
    assert (request["status"], request["project_id"], request["target_project_id"],
            request["description"], request["zone_id"]) == \
        ("ACTIVE", owner, taker, "yours", zone_id)
    assert len(request["key"]) == 8
    serial_before = state(api, owner_token, zone_id)[2]
    r = accept(api, taker_token, request)
    accepted = ok(r, 201)
    assert r.headers["location"] == accepted["links"]["self"]
    assert (accepted["status"], accepted["zone_id"], accepted["project_id"],
            accepted["zone_transfer_request_id"]) == ("COMPLETE", zone_id, taker, request["id"])
    assert accepted["links"]["zone"].endswith(f"/dns/v2/zones/{zone_id}")
    project, status, serial, owners, transferred = state(api, taker_token, zone_id)
    # The zone changed hands: PENDING with a newer serial, so it is published again.
    assert (project, status, owners) == (taker, "PENDING", {taker})
    assert transferred is not None
    assert serial > serial_before
    assert sees(api, taker_token, zone_id) and not sees(api, owner_token, zone_id)
    done = ok(dns(api, "GET", f"/zones/tasks/transfer_requests/{request['id']}", owner_token))
    assert done["status"] == "COMPLETE"
    assert ok(dns(api, "GET", f"/zones/tasks/transfer_accepts/{accepted['id']}",
                  taker_token))["status"] == "COMPLETE"
    # A used request is spent.
    fault(accept(api, taker_token, request), 400, "invalid_zone_transfer_request")


def test_a_wrong_key_is_refused_and_nothing_changes(api: Api) -> None:
    _, owner, owner_token = api.user_in_project()
    _, _, taker_token = api.user_in_project()
    zone_id = zone(api, owner_token)
    request = offer(api, owner_token, zone_id)
    before = state(api, owner_token, zone_id)
    fault(accept(api, taker_token, request, key="WRONGKEY"), 403, "invalid_key")
    assert state(api, owner_token, zone_id) == before
    assert not sees(api, taker_token, zone_id)
    assert ok(dns(api, "GET", f"/zones/tasks/transfer_requests/{request['id']}",
                  owner_token))["status"] == "ACTIVE"
    assert ok(dns(api, "GET", "/zones/tasks/transfer_accepts", api.admin,
                  headers={"X-Auth-All-Projects": "true"}))["transfer_accepts"] == []


def test_a_targeted_request_is_for_its_target_alone(api: Api) -> None:
    _, owner, owner_token = api.user_in_project()
    _, taker, taker_token = api.user_in_project()
    _, _, third_token = api.user_in_project()
    zone_id = zone(api, owner_token)
    request = offer(api, owner_token, zone_id, target_project_id=taker)
    # The target sees it, without the key, the projects or the dates.
    seen = ok(dns(api, "GET", f"/zones/tasks/transfer_requests/{request['id']}", taker_token))
    assert sorted(seen) == ["description", "id", "links", "status", "zone_id", "zone_name"]
    listed = ok(dns(api, "GET", "/zones/tasks/transfer_requests", taker_token))
    assert [x["id"] for x in listed["transfer_requests"]] == [request["id"]]
    assert listed["metadata"] == {"total_count": 1}
    # Anyone else is refused, even holding the key.
    fault(dns(api, "GET", f"/zones/tasks/transfer_requests/{request['id']}", third_token),
          403, "forbidden")
    assert ok(dns(api, "GET", "/zones/tasks/transfer_requests",
                  third_token))["transfer_requests"] == []
    fault(accept(api, third_token, request), 403, "forbidden")
    # The target may not change or withdraw it; the owner may.
    fault(dns(api, "PATCH", f"/zones/tasks/transfer_requests/{request['id']}", taker_token,
              json={"description": "mine"}), 403, "forbidden")
    fault(dns(api, "DELETE", f"/zones/tasks/transfer_requests/{request['id']}", taker_token),
          403, "forbidden")
    changed = ok(dns(api, "PATCH", f"/zones/tasks/transfer_requests/{request['id']}",
                     owner_token, json={"description": "renamed"}))
    assert (changed["description"], changed["key"]) == ("renamed", request["key"])
    for fixed in ({"target_project_id": owner}, {"key": "OTHERKEY"}, {"status": "COMPLETE"},
                  {"zone_id": str(uuid.uuid4())}, {"unknown": 1}):
        fault(dns(api, "PATCH", f"/zones/tasks/transfer_requests/{request['id']}",
                  owner_token, json=fixed), 400, "invalid_object")
    # Read-only fields sent back unchanged are fine (a client may send the whole document).
    ok(dns(api, "PATCH", f"/zones/tasks/transfer_requests/{request['id']}", owner_token,
           json={"key": request["key"], "status": "ACTIVE", "description": "renamed"}))
    ok(dns(api, "DELETE", f"/zones/tasks/transfer_requests/{request['id']}", owner_token), 204)
    fault(dns(api, "GET", f"/zones/tasks/transfer_requests/{request['id']}", owner_token),
          404, "zone_transfer_request_not_found")
    fault(accept(api, taker_token, request), 404, "zone_transfer_request_not_found")
    assert state(api, owner_token, zone_id)[0] == owner


def test_a_zone_is_offered_with_no_body_or_a_null_one(api: Api) -> None:
    _, _, token = api.user_in_project()
    for body in (None, b"null"):
        zone_id = zone(api, token)
        r = api.client.post(f"/dns/v2/zones/{zone_id}/tasks/transfer_requests", content=body,
                            headers={**token, "Content-Type": "application/json"})
        made = ok(r, 201)
        assert (made["zone_id"], made["status"], made["description"]) == \
            (zone_id, "ACTIVE", None)
    fault(api.client.post(f"/dns/v2/zones/{zone(api, token)}/tasks/transfer_requests",
                          content=b"[1]", headers={**token, "Content-Type": "application/json"}),
          400, "bad_request")


def test_one_active_request_per_zone_and_only_for_the_zones_project(api: Api) -> None:
    _, owner, owner_token = api.user_in_project()
    _, _, reader_token = api.user_in_project("reader", project=None)
    zone_id = zone(api, owner_token)
    offer(api, owner_token, zone_id)
    fault(dns(api, "POST", f"/zones/{zone_id}/tasks/transfer_requests", owner_token, json={}),
          409, "duplicate_zone_transfer_request")
    fault(dns(api, "POST", f"/zones/{zone_id}/tasks/transfer_requests", reader_token,
              json={}), 404, "zone_not_found")
    fault(dns(api, "POST", f"/zones/{uuid.uuid4()}/tasks/transfer_requests", owner_token,
              json={}), 404, "zone_not_found")
    fault(dns(api, "GET", "/zones/tasks/transfer_requests/foo", owner_token), 400,
          "invalid_uuid")


def test_a_project_reader_reads_its_offer_but_cannot_make_one(api: Api) -> None:
    _, owner, owner_token = api.user_in_project()
    name = api.request("GET", f"/projects/{owner}", api.admin).json()["project"]["name"]
    _, _, reader_token = api.user_in_project("reader", project=name)
    zone_id = zone(api, owner_token)
    fault(dns(api, "POST", f"/zones/{zone_id}/tasks/transfer_requests", reader_token,
              json={}), 403, "forbidden")
    request = offer(api, owner_token, zone_id)
    assert ok(dns(api, "GET", f"/zones/tasks/transfer_requests/{request['id']}",
                  reader_token))["key"] == request["key"]


def test_an_untargeted_request_may_be_taken_by_any_project_with_the_key(api: Api) -> None:
    _, owner, owner_token = api.user_in_project()
    _, taker, taker_token = api.user_in_project()
    zone_id = zone(api, owner_token)
    request = offer(api, owner_token, zone_id)
    assert request["target_project_id"] is None
    seen = ok(dns(api, "GET", f"/zones/tasks/transfer_requests/{request['id']}", taker_token))
    assert "key" not in seen
    ok(accept(api, taker_token, request), 201)
    assert state(api, taker_token, zone_id)[0] == taker


def test_an_untargeted_request_may_be_given_a_target_later(api: Api) -> None:
    _, owner, owner_token = api.user_in_project()
    _, taker, taker_token = api.user_in_project()
    _, _, third_token = api.user_in_project()
    zone_id = zone(api, owner_token)
    request = offer(api, owner_token, zone_id)
    named = ok(dns(api, "PATCH", f"/zones/tasks/transfer_requests/{request['id']}",
                   owner_token, json={"target_project_id": taker}))
    assert named["target_project_id"] == taker
    fault(accept(api, third_token, request), 403, "forbidden")
    ok(accept(api, taker_token, request), 201)
    assert state(api, taker_token, zone_id)[0] == taker


def test_the_accepting_projects_zones_quota_is_respected(api: Api) -> None:
    _, owner, owner_token = api.user_in_project()
    _, taker, taker_token = api.user_in_project()
    zone_id = zone(api, owner_token)
    ok(dns(api, "PATCH", f"/quotas/{taker}", api.admin, json={"zones": 1},
           headers={"X-Auth-All-Projects": "true"}))
    zone(api, taker_token)
    request = offer(api, owner_token, zone_id)
    fault(accept(api, taker_token, request), 413, "over_quota")
    assert state(api, owner_token, zone_id)[0] == owner
    assert ok(dns(api, "GET", f"/zones/tasks/transfer_requests/{request['id']}",
                  owner_token))["status"] == "ACTIVE"


def test_only_admins_list_accepts_and_all_projects_needs_admin(api: Api) -> None:
    _, owner, owner_token = api.user_in_project()
    _, _, taker_token = api.user_in_project()
    request = offer(api, owner_token, zone(api, owner_token))
    accepted = ok(accept(api, taker_token, request), 201)
    fault(dns(api, "GET", "/zones/tasks/transfer_accepts", taker_token), 403, "forbidden")
    assert ok(dns(api, "GET", "/zones/tasks/transfer_accepts",
                  api.admin))["transfer_accepts"] == []
    every = ok(dns(api, "GET", "/zones/tasks/transfer_accepts?status=COMPLETE", api.admin,
                   headers={"X-Auth-All-Projects": "True"}))
    assert [a["id"] for a in every["transfer_accepts"]] == [accepted["id"]]
    fault(dns(api, "GET", f"/zones/tasks/transfer_accepts/{accepted['id']}", owner_token), 404,
          "zone_transfer_accept_not_found")
    fault(dns(api, "GET", "/zones/tasks/transfer_requests", owner_token,
              headers={"X-Auth-All-Projects": "true"}), 403, "forbidden")
    assert ok(dns(api, "GET", "/zones/tasks/transfer_requests", api.admin))[
        "transfer_requests"] == []
    assert [x["id"] for x in ok(dns(api, "GET", "/zones/tasks/transfer_requests", api.admin,
                                    headers={"X-Auth-All-Projects": "true"}))[
        "transfer_requests"]] == [request["id"]]
