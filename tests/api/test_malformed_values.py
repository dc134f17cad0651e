"""Well-formed JSON with values a service cannot use — a number past its column, a wrong JSON
type, a filter that is no time, a limit past 64 bits — is the service's own 400 before any
parser or query sees it; nothing is written, and what was stored still reads.

Two of these once stored the value and then broke every later read: a flavor whose rxtx_factor
was 1e999, and a volume image-metadata value holding a lone surrogate.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_malformed_bodies import fault_of
from tests.api.test_volume_actions import act
from tests.api.test_volumes import VolumeHost, Who

JSON = {"Content-Type": "application/json"}


def flavors(api: Api) -> Any:
    r = api.client.get("/compute/v2.1/flavors/detail", headers=api.admin)
    assert r.status_code == 200, r.text
    return r.json()["flavors"]


@pytest.mark.parametrize("rxtx", [b"1e999", b"-1e999", b"NaN", b'"1e999"', b'"abc"', b"3.5e38",
                                  b'"' + b"9" * 400 + b'"', b"0", b'"0"', b"[]", b"true"])
def test_a_flavor_with_an_unstorable_rxtx_factor_is_refused_and_flavors_still_list(
        api: Api, rxtx: bytes) -> None:
    before = flavors(api)
    r = api.client.post("/compute/v2.1/flavors", headers={**api.admin, **JSON},
                        content=b'{"flavor": {"name": "fast", "ram": 64, "vcpus": 1, "disk": 1, '
                                b'"rxtx_factor": ' + rxtx + b"}}")
    assert "rxtx_factor" in fault_of("compute", 400, r) or "1e999" in r.text or "NaN" in r.text
    assert flavors(api) == before


def test_a_flavor_with_a_good_rxtx_factor_given_as_a_string_is_stored_as_a_number(
        api: Api) -> None:
    r = api.client.post("/compute/v2.1/flavors", headers=api.admin, json={"flavor": {
        "name": "fast", "ram": 64, "vcpus": 1, "disk": 1, "rxtx_factor": "2.5"}})
    assert r.status_code == 200, r.text
    assert r.json()["flavor"]["rxtx_factor"] == 2.5


@pytest.mark.parametrize(("field", "value"), [
    ("ram", 2 ** 31), ("ram", str(2 ** 31)), ("vcpus", "0"), ("disk", 2 ** 63 - 1),
    ("disk", "9" * 30), ("swap", 2 ** 40), ("OS-FLV-EXT-DATA:ephemeral", str(2 ** 32)),
])
def test_a_flavor_size_past_novas_integer_column_is_a_400_naming_it(
        api: Api, field: str, value: Any) -> None:
    before = flavors(api)
    body = {"name": "huge", "ram": 64, "vcpus": 1, "disk": 1, field: value}
    r = api.client.post("/compute/v2.1/flavors", headers=api.admin, json={"flavor": body})
    assert field in fault_of("compute", 400, r)
    assert flavors(api) == before


@pytest.mark.parametrize("access", [True, "tenant", None, [], {"tenant": 1}, {"tenant": ""}, {}])
def test_flavor_access_given_as_anything_but_a_tenant_object_is_a_400(
        api: Api, access: Any) -> None:
    r = api.client.post("/compute/v2.1/flavors/1/action", headers=api.admin,
                        json={"addTenantAccess": access})
    assert "addTenantAccess" in fault_of("compute", 400, r)


def test_volume_image_metadata_with_a_lone_surrogate_is_refused_and_volume_lists_still_answer(
        api: Api, host: VolumeHost, user: Who, admin: Who) -> None:
    vid = user.create(1)["id"]
    host.settle()
    r = user("POST", f"/volumes/{vid}/action", headers=JSON,
             content=b'{"os-set_image_metadata": {"metadata": {"hw_disk_bus": "\\ud800"}}}')
    assert "surrogate" in fault_of("volume", 400, r)
    r = user("POST", f"/volumes/{vid}/action", headers=JSON,
             content=b'{"os-set_image_metadata": {"metadata": {"\\udc80": "virtio"}}}')
    fault_of("volume", 400, r)
    assert "volume_image_metadata" not in user.show(vid) or user.show(vid)[
        "volume_image_metadata"] == {}
    assert user("GET", "/volumes/detail").status_code == 200
    assert admin("GET", "/volumes/detail?all_tenants=1").status_code == 200
    assert act(user, vid, "os-set_image_metadata",
               {"metadata": {"hw_disk_bus": "virtio"}}).status_code == 200


def test_a_region_whose_parent_is_the_empty_string_is_a_404_and_is_not_created(
        api: Api) -> None:
    r = api.request("POST", "/regions", api.admin, json={"region": {
        "id": "orphan", "parent_region_id": ""}})
    assert "Could not find region" in fault_of("identity", 404, r)
    assert api.request("GET", "/regions/orphan", api.admin).status_code == 404
    r = api.request("PATCH", "/regions/RegionOne", api.admin, json={"region": {
        "parent_region_id": ""}})
    fault_of("identity", 404, r)


@pytest.mark.parametrize("kind", ["user", "project", "domain"])
@pytest.mark.parametrize("field", ["name", "enabled"])
def test_patching_a_name_or_flag_with_null_is_a_400_and_changes_nothing(
        api: Api, kind: str, field: str) -> None:
    r = api.request("POST", f"/{kind}s", api.admin, json={kind: {"name": f"n-{kind}"}})
    assert r.status_code == 201, r.text
    shown = r.json()[kind]
    r = api.request("PATCH", f"/{kind}s/{shown['id']}", api.admin, json={kind: {field: None}})
    assert f"'{field}' may not be null" in fault_of("identity", 400, r)
    after = api.request("GET", f"/{kind}s/{shown['id']}", api.admin).json()[kind]
    assert (after["name"], after["enabled"]) == (shown["name"], shown["enabled"])


@pytest.mark.parametrize("kind", ["user", "project", "domain"])
def test_patching_a_description_with_null_clears_it(api: Api, kind: str) -> None:
    r = api.request("POST", f"/{kind}s", api.admin, json={kind: {"name": f"d-{kind}",
                                                                  "description": "old"}})
    r = api.request("PATCH", f"/{kind}s/{r.json()[kind]['id']}", api.admin,
                    json={kind: {"description": None}})
    assert r.status_code == 200, r.text
    assert not r.json()[kind].get("description")


def test_a_token_request_whose_user_name_is_a_huge_integer_is_a_400(api: Api) -> None:
    r = api.client.post("/identity/v3/auth/tokens", headers=JSON, content=(
        b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": '
        + str(2 ** 64).encode() + b', "domain": {"name": "Default"}, "password": "x"}}}}}'))
    assert "64-bit" in fault_of("identity", 400, r)


@pytest.mark.parametrize(("where", "value"), [
    (("identity", "password", "user", "name"), ["admin"]),
    (("identity", "password", "user", "id"), {"a": "b"}),
    (("identity", "password", "user", "domain", "id"), {"a": "b"}),
    (("identity", "password", "user", "domain", "name"), ["Default"]),
    (("identity", "methods"), "password"),
    (("scope", "project", "name"), {"a": "b"}),
    (("scope", "project", "domain", "name"), []),
    (("scope", "project", "id"), 7),
])
def test_a_token_request_with_a_wrong_json_type_anywhere_is_a_400(
        api: Api, where: tuple[str, ...], value: Any) -> None:
    from tests.api.conftest import ADMIN_PASSWORD, password_auth

    body = password_auth("admin", ADMIN_PASSWORD, "admin")
    inner = body["auth"]
    for key in where[:-1]:
        inner = inner[key]
    inner[where[-1]] = value
    r = api.client.post("/identity/v3/auth/tokens", json=body)
    assert "Invalid input for field" in fault_of("identity", 400, r)


# --- network: filters and shapes --------------------------------------------------------------

NETWORK_COLLECTIONS = ["networks", "subnets", "ports", "routers", "floatingips",
                       "security-groups", "security-group-rules", "subnetpools"]


@pytest.mark.parametrize("collection", NETWORK_COLLECTIONS)
def test_a_time_filter_that_is_no_time_is_a_400_on_every_network_collection(
        api: Api, collection: str) -> None:
    for query in ("created_at=gt:notadate", "updated_at=2026-13-45", "created_at="):
        r = api.client.get(f"/network/v2.0/{collection}?{query}", headers=api.admin)
        assert "ISO 8601" in fault_of("network", 400, r), query
    r = api.client.get(f"/network/v2.0/{collection}?created_at=2026-01-01T00:00:00Z",
                       headers=api.admin)
    assert r.status_code == 200, r.text


def test_an_integer_filter_past_its_column_is_a_400_on_networks(api: Api) -> None:
    for value in (2 ** 64, 2 ** 31):  # mtu is a 32-bit column
        r = api.client.get(f"/network/v2.0/networks?mtu={value}", headers=api.admin)
        assert "out of range" in fault_of("network", 400, r)


@pytest.mark.parametrize(("field", "value"), [
    ("allocation_pools", ["x"]), ("allocation_pools", [{"start": "10.9.0.5"}]),
    ("allocation_pools", [{"start": 1, "end": 2}]), ("allocation_pools", "x"),
    ("host_routes", ["x"]), ("host_routes", [{"destination": "10.0.0.0/8", "nexthop": 5}]),
    ("dns_nameservers", [1]), ("dns_nameservers", [{"a": "b"}]),
])
def test_a_subnet_list_attribute_of_the_wrong_shape_is_a_400_and_makes_no_subnet(
        api: Api, field: str, value: Any) -> None:
    r = api.client.post("/network/v2.0/networks", headers=api.admin,
                        json={"network": {"name": "n"}})
    network = r.json()["network"]["id"]
    r = api.client.post("/network/v2.0/subnets", headers=api.admin, json={"subnet": {
        "network_id": network, "cidr": "10.9.0.0/24", "ip_version": 4, field: value}})
    fault_of("network", 400, r)
    r = api.client.get(f"/network/v2.0/subnets?network_id={network}", headers=api.admin)
    assert r.json()["subnets"] == []


# --- limits and integer filters in every service -----------------------------------------------

def test_a_limit_past_64_bits_is_clamped_in_every_service(api: Api) -> None:
    project = api.id_of("project", "admin")
    huge = str(2 ** 64)
    for path in ("/compute/v2.1/servers", "/compute/v2.1/flavors", "/network/v2.0/networks",
                 f"/volume/v3/{project}/volumes", f"/volume/v3/{project}/snapshots",
                 "/image/v2/images"):
        r = api.client.get(f"{path}?limit={huge}", headers=api.admin)
        assert r.status_code == 200, (path, r.text)


@pytest.mark.parametrize(("path", "service"), [
    ("/compute/v2.1/flavors?minRam={n}", "compute"),
    ("/compute/v2.1/flavors?minRam=2147483648", "compute"),
    ("/compute/v2.1/flavors?minDisk={n}", "compute"),
    ("/volume/v3/{project}/volumes?size={n}", "volume"),
    ("/volume/v3/{project}/volumes?offset={n}", "volume"),
    ("/volume/v3/{project}/snapshots?offset={n}", "volume"),
    ("/image/v2/images?size_min={n}", "image"),
    ("/image/v2/images?size_max={n}", "image"),
])
def test_an_integer_filter_past_its_column_is_a_400(api: Api, path: str, service: str) -> None:
    url = path.format(n=2 ** 64, project=api.id_of("project", "admin"))
    fault_of(service, 400, api.client.get(url, headers=api.admin))


def test_a_lone_surrogate_stored_before_the_decoder_refused_them_still_lists(
        api: Api, host: VolumeHost, user: Who, admin: Who) -> None:
    from sausage.db.models import volume as vm

    vid = user.create(1)["id"]
    host.settle()
    with api.cloud.db.transaction() as s:  # as an older release could have stored it
        s.get(vm.Volume, vid).image_metadata = {"hw_disk_bus": "\ud800"}
    r = user("GET", "/volumes/detail")
    assert r.status_code == 200, r.text
    assert "\\ud800" in r.text
    assert admin("GET", "/volumes/detail?all_tenants=1").status_code == 200


@pytest.mark.parametrize("reason", [[], ["x"], {"a": "b"}, 7, "x" * 256])
def test_a_lock_reason_that_is_not_a_short_string_is_a_400(api: Api, reason: Any) -> None:
    from tests.api.test_compute import Host, boot, nova

    host = Host(api)
    server = boot(api, api.admin).json()["server"]["id"]
    host.report({server: "running"})
    r = nova(api, "POST", f"/servers/{server}/action", api.admin, json={
        "lock": {"locked_reason": reason}})
    fault_of("compute", 400, r)
    shown = nova(api, "GET", f"/servers/{server}", api.admin, version="2.9").json()["server"]
    assert shown["locked"] is False


@pytest.mark.parametrize("owner", [[], ["x"], {"a": "b"}, 7, "o" * 256])
def test_an_image_owner_that_is_not_a_short_string_is_a_400_on_create_and_on_patch(
        api: Api, owner: Any) -> None:
    images = api.client.get("/image/v2/images", headers=api.admin).json()["images"]
    r = api.client.post("/image/v2/images", headers=api.admin, json={"name": "o", "owner": owner})
    assert "owner" in fault_of("image", 400, r)
    assert api.client.get("/image/v2/images", headers=api.admin).json()["images"] == images
    image = api.client.post("/image/v2/images", headers=api.admin, json={"name": "o"}).json()
    r = api.client.patch(f"/image/v2/images/{image['id']}", headers={
        **api.admin, "Content-Type": "application/openstack-images-v2.1-json-patch"},
        json=[{"op": "replace", "path": "/owner", "value": owner}])
    assert "owner" in fault_of("image", 400, r)
    shown = api.client.get(f"/image/v2/images/{image['id']}", headers=api.admin).json()
    assert shown["owner"] == image["owner"]
