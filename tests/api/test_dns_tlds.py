"""Designate TLDs through the API: admin-only, validated, unique, and enforced on the zones
the cloud makes (a floating IP's reverse zone must end in a TLD once any is defined)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.conftest import Api


def dns(api: Api, method: str, path: str, token: dict[str, str], **kwargs: Any
        ) -> httpx.Response:
    headers = {**token, **kwargs.pop("headers", {})}
    return api.client.request(method, "/dns/v2" + path, headers=headers, **kwargs)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def fault(r: httpx.Response, status: int, kind: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert (body["code"], body["type"]) == (status, kind), body
    return str(body["message"])


def tld(api: Api, name: str, **values: Any) -> dict[str, Any]:
    return dict(ok(dns(api, "POST", "/tlds", api.admin, json={"name": name, **values}), 201))


def test_an_admin_creates_lists_renames_and_deletes_a_tld(api: Api) -> None:
    r = dns(api, "POST", "/tlds", api.admin, json={"name": "Example", "description": "ours"})
    made = ok(r, 201)
    assert (made["name"], made["description"], made["updated_at"]) == ("example", "ours", None)
    assert r.headers["location"] == made["links"]["self"]
    assert made["links"]["self"].endswith(f"/dns/v2/tlds/{made['id']}")
    assert ok(dns(api, "GET", f"/tlds/{made['id']}", api.admin)) == made
    tld(api, "org")
    listed = ok(dns(api, "GET", "/tlds?sort_key=name", api.admin))
    assert [t["name"] for t in listed["tlds"]] == ["example", "org"]
    assert listed["metadata"] == {"total_count": 2}
    assert [t["name"] for t in ok(dns(api, "GET", "/tlds?name=or*", api.admin))["tlds"]] == \
        ["org"]
    changed = ok(dns(api, "PATCH", f"/tlds/{made['id']}", api.admin,
                     json={"name": "net", "description": None}))
    assert (changed["name"], changed["description"]) == ("net", None)
    assert changed["updated_at"] is not None
    ok(dns(api, "DELETE", f"/tlds/{made['id']}", api.admin), 204)
    assert fault(dns(api, "GET", f"/tlds/{made['id']}", api.admin), 404,
                 "tld_not_found") == "Could not find Tld"


def test_only_admins_touch_tlds(api: Api) -> None:
    made = tld(api, "com")
    _, _, member = api.user_in_project()
    fault(dns(api, "POST", "/tlds", member, json={"name": "net"}), 403, "forbidden")
    fault(dns(api, "GET", "/tlds", member), 403, "forbidden")
    fault(dns(api, "GET", f"/tlds/{made['id']}", member), 403, "forbidden")
    fault(dns(api, "PATCH", f"/tlds/{made['id']}", member, json={"name": "net"}), 403,
          "forbidden")
    fault(dns(api, "DELETE", f"/tlds/{made['id']}", member), 403, "forbidden")
    assert [t["name"] for t in ok(dns(api, "GET", "/tlds", api.admin))["tlds"]] == ["com"]


def test_a_tld_name_is_a_valid_name_without_a_trailing_dot_and_unique(api: Api) -> None:
    made = tld(api, "co.uk")
    for bad in ("com.", "-com", "co..uk", "", "a" * 64, 42, None):
        fault(dns(api, "POST", "/tlds", api.admin, json={"name": bad}), 400, "invalid_object")
    fault(dns(api, "POST", "/tlds", api.admin, json={"name": "org", "description": "x" * 161}),
          400, "invalid_object")
    fault(dns(api, "POST", "/tlds", api.admin, json={"name": "CO.UK"}), 409, "duplicate_tld")
    other = tld(api, "org")
    fault(dns(api, "PATCH", f"/tlds/{other['id']}", api.admin, json={"name": "co.uk"}), 409,
          "duplicate_tld")
    fault(dns(api, "PATCH", f"/tlds/{made['id']}", api.admin, json={"id": str(uuid.uuid4())}),
          400, "invalid_object")
    fault(dns(api, "GET", "/tlds/foo", api.admin), 400, "invalid_uuid")
    fault(dns(api, "DELETE", f"/tlds/{uuid.uuid4()}", api.admin), 404, "tld_not_found")


def test_tlds_page_with_a_limit_and_a_next_link(api: Api) -> None:
    names = ["a1", "a2", "a3"]
    for name in names:
        tld(api, name)
    first = ok(dns(api, "GET", "/tlds?limit=2&sort_key=name", api.admin))
    assert [t["name"] for t in first["tlds"]] == names[:2]
    assert first["metadata"] == {"total_count": 3}
    following = first["links"]["next"].split("/dns/v2", 1)[1]
    assert [t["name"] for t in ok(dns(api, "GET", following, api.admin))["tlds"]] == ["a3"]
    fault(dns(api, "GET", "/tlds?limit=0", api.admin), 400, "invalid_limit")
    fault(dns(api, "GET", "/tlds?sort_key=description", api.admin), 400, "invalid_sort_key")


def test_tlds_made_through_the_api_decide_which_zones_may_be_made(api: Api) -> None:
    _, _, member = api.user_in_project()

    def make(name: str) -> httpx.Response:
        return dns(api, "POST", "/zones", member, json={"name": name, "email": "a@example.org"})

    org = tld(api, "org")
    tld(api, "co.uk")
    assert make("example.org.").status_code == 202
    assert make("shop.example.co.uk.").status_code == 202
    fault(make("example.net."), 400, "invalid_zone_name")
    fault(make("co.uk."), 400, "invalid_zone_name")
    # Renaming or deleting a TLD changes what is allowed from then on.
    ok(dns(api, "PATCH", f"/tlds/{org['id']}", api.admin, json={"name": "net"}))
    assert make("example.net.").status_code == 202
    fault(make("other.org."), 400, "invalid_zone_name")
    ok(dns(api, "DELETE", f"/tlds/{org['id']}", api.admin), 204)
    fault(make("again.net."), 400, "invalid_zone_name")
    for every in ok(dns(api, "GET", "/tlds", api.admin))["tlds"]:
        ok(dns(api, "DELETE", f"/tlds/{every['id']}", api.admin), 204)
    assert make("anything.example.").status_code == 202
