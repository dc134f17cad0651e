"""Block Storage microversions 3.45–3.65: each thing a version adds is absent one version
before it and there from it on — counts on lists, Nova instance-snapshot images (3.46), the
3.48 / 3.61 / 3.63 / 3.65 volume keys, 3.53's strict bodies, 3.60's time filters, 3.65's
consumes_quota filter, 3.52's type filter — and what we refuse whatever the version
(multiattach types). Through the Cinder API with a volume host that speaks the agent contract
over the internal API (``test_volumes.VolumeHost``).
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_volumes import VolumeHost, Who, available


def show(caller: Who, volume_id: str, version: str) -> dict[str, Any]:
    r = caller("GET", f"/volumes/{volume_id}", version)
    assert r.status_code == 200, r.text
    return dict(r.json()["volume"])


def listed(caller: Who, path: str, version: str, **query: str) -> dict[str, Any]:
    r = caller("GET", path, version, params=query)
    assert r.status_code == 200, r.text
    return dict(r.json())


def snapshot_of(caller: Who, host: VolumeHost, volume_id: str) -> dict[str, Any]:
    r = caller("POST", "/snapshots", json={"snapshot": {"volume_id": volume_id}})
    assert r.status_code == 202, r.text
    host.settle()
    return dict(r.json()["snapshot"])


def type_made(admin: Who, name: str, specs: dict[str, str]) -> dict[str, Any]:
    r = admin("POST", "/types", json={"volume_type": {"name": name, "extra_specs": specs}})
    assert r.status_code == 200, r.text
    return dict(r.json()["volume_type"])


# --- the service's range ----------------------------------------------------------------------


def test_the_volume_service_speaks_up_to_3_65(api: Api, user: Who) -> None:
    document = api.client.get("/volume/v3/").json()["versions"][0]
    assert document["version"] == "3.65" and document["min_version"] == "3.0"
    r = user("GET", "/volumes", "3.65")
    assert r.status_code == 200 and r.headers["OpenStack-API-Version"] == "volume 3.65"
    assert user("GET", "/volumes", "3.66").status_code == 406
    latest = user("GET", "/volumes", "latest")
    assert latest.headers["OpenStack-API-Version"] == "volume 3.65"


# --- volume bodies ----------------------------------------------------------------------------


def test_from_3_48_volumes_say_their_targets_are_not_shared_and_which_service_holds_them(
        host: VolumeHost, user: Who) -> None:
    volume = available(user, host)
    before = show(user, volume["id"], "3.47")
    assert "shared_targets" not in before and "service_uuid" not in before
    after = show(user, volume["id"], "3.48")
    assert after["shared_targets"] is False and after["service_uuid"] == host.id
    made = user("POST", "/volumes", "3.48", json={"volume": {"size": 1}}).json()["volume"]
    assert made["shared_targets"] is False and made["service_uuid"] == host.id
    detail = listed(user, "/volumes/detail", "3.48")["volumes"]
    assert all("shared_targets" in v and "service_uuid" in v for v in detail)


def test_from_3_61_admins_see_a_volumes_cluster_name_and_users_never(
        host: VolumeHost, user: Who, admin: Who) -> None:
    volume = available(user, host)
    assert "cluster_name" not in show(admin, volume["id"], "3.60")
    assert show(admin, volume["id"], "3.61")["cluster_name"] is None
    assert "cluster_name" not in show(user, volume["id"], "3.65")


def test_from_3_63_volumes_carry_their_type_id_next_to_its_name(
        host: VolumeHost, user: Who) -> None:
    default = user("GET", "/types/default").json()["volume_type"]
    volume = available(user, host)
    before = show(user, volume["id"], "3.62")
    assert "volume_type_id" not in before and before["volume_type"] == default["name"]
    after = show(user, volume["id"], "3.63")
    assert after["volume_type_id"] == default["id"] and after["volume_type"] == default["name"]
    detail = listed(user, "/volumes/detail", "3.63")["volumes"]
    assert [v["volume_type_id"] for v in detail] == [default["id"]]


def test_at_3_64_an_unencrypted_volume_shows_no_encryption_key(
        host: VolumeHost, user: Who) -> None:
    volume = available(user, host)
    body = show(user, volume["id"], "3.64")
    assert body["encrypted"] is False and "encryption_key_id" not in body


def test_from_3_65_volumes_and_snapshots_say_they_consume_quota(
        host: VolumeHost, user: Who) -> None:
    volume = available(user, host)
    assert "consumes_quota" not in show(user, volume["id"], "3.64")
    assert show(user, volume["id"], "3.65")["consumes_quota"] is True
    snap = snapshot_of(user, host, volume["id"])
    old = user("GET", f"/snapshots/{snap['id']}", "3.64").json()["snapshot"]
    new = user("GET", f"/snapshots/{snap['id']}", "3.65").json()["snapshot"]
    assert "consumes_quota" not in old and new["consumes_quota"] is True
    # The plain snapshot list carries none of the versioned keys, as Cinder's summary view.
    plain = listed(user, "/snapshots", "3.65")["snapshots"][0]
    assert not {"consumes_quota", "user_id", "group_snapshot_id"} & set(plain)
    assert listed(user, "/snapshots/detail", "3.65")["snapshots"][0]["consumes_quota"] is True


def test_from_3_65_lists_filter_on_consuming_quota(host: VolumeHost, user: Who) -> None:
    volume = available(user, host)
    snapshot_of(user, host, volume["id"])
    for path, key in (("/volumes", "volumes"), ("/snapshots", "snapshots")):
        assert len(listed(user, path, "3.65", consumes_quota="true")[key]) == 1
        assert listed(user, path, "3.65", consumes_quota="false")[key] == []
        # Before 3.65 the filter is not one: it is dropped, as Cinder drops it.
        assert len(listed(user, path, "3.64", consumes_quota="false")[key]) == 1
    r = user("GET", "/volumes", "3.65", params={"consumes_quota": "perhaps"})
    assert r.status_code == 400


# --- counts -------------------------------------------------------------------------------------


def test_from_3_45_lists_count_every_match_whatever_the_page(
        host: VolumeHost, user: Who) -> None:
    volumes = [available(user, host, name=f"v{i}") for i in range(3)]
    for v in volumes:
        snapshot_of(user, host, v["id"])
    for path, key in (("/volumes", "volumes"), ("/volumes/detail", "volumes"),
                      ("/snapshots", "snapshots"), ("/snapshots/detail", "snapshots")):
        assert "count" not in listed(user, path, "3.44", with_count="true")
        assert "count" not in listed(user, path, "3.45")
        body = listed(user, path, "3.45", with_count="true", limit="1")
        assert len(body[key]) == 1 and body["count"] == 3
    named = listed(user, "/volumes", "3.45", with_count="true", name="v1")
    assert named["count"] == 1
    bad = user("GET", "/volumes", "3.45", params={"with_count": "often"})
    assert bad.status_code == 400
    assert "with_count" in bad.json()["badRequest"]["message"]


# --- 3.53: bodies checked against Cinder's schemas ---------------------------------------------


def test_from_3_53_an_unknown_key_in_a_new_volume_is_refused_and_nothing_is_made(
        host: VolumeHost, user: Who) -> None:
    loose = user("POST", "/volumes", "3.52", json={"volume": {"size": 1, "status": "in-use"}})
    assert loose.status_code == 202 and loose.json()["volume"]["status"] == "creating"
    strict = user("POST", "/volumes", "3.53",
                  json={"volume": {"size": 1, "name": "strict", "status": "in-use"}})
    assert strict.status_code == 400
    assert "'status' was unexpected" in strict.json()["badRequest"]["message"]
    assert listed(user, "/volumes", "3.53", name="strict")["volumes"] == []
    # Keys of later versions are unknown before them.
    early = user("POST", "/volumes", "3.53", json={"volume": {"size": 1, "backup_id": None}})
    assert early.status_code == 202


def test_from_3_53_an_update_must_change_something(host: VolumeHost, user: Who) -> None:
    volume = available(user, host)
    assert user("PUT", f"/volumes/{volume['id']}", "3.52",
                json={"volume": {}}).status_code == 200
    empty = user("PUT", f"/volumes/{volume['id']}", "3.53", json={"volume": {}})
    assert empty.status_code == 400
    renamed = user("PUT", f"/volumes/{volume['id']}", "3.53", json={"volume": {"name": "n"}})
    assert renamed.status_code == 200 and renamed.json()["volume"]["name"] == "n"


# --- 3.60: time comparison filters ---------------------------------------------------------------


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_from_3_60_volume_lists_filter_on_creation_and_update_times(
        host: VolumeHost, user: Who) -> None:
    first = available(user, host, name="first")
    time.sleep(0.05)
    middle = datetime.datetime.now(datetime.timezone.utc)
    time.sleep(0.05)
    second = available(user, host, name="second")
    later = {"created_at": f"gt:{_stamp(middle)}"}
    assert [v["name"] for v in listed(user, "/volumes", "3.60", **later)["volumes"]] == [
        "second"]
    earlier = {"created_at": f"lte:{_stamp(middle)}"}
    assert [v["name"] for v in listed(user, "/volumes/detail", "3.60", **earlier)["volumes"]
            ] == ["first"]
    window = {"created_at": f"gte:{first['created_at']},lt:{_stamp(middle)}"}
    assert [v["id"] for v in listed(user, "/volumes", "3.60", **window)["volumes"]] == [
        first["id"]]
    assert listed(user, "/volumes", "3.60", updated_at=f"gt:{_stamp(middle)}")["volumes"][0][
        "id"] == second["id"]
    summary = listed(user, "/volumes/summary", "3.60", **later)["volume-summary"]
    assert summary["total_count"] == 1
    # Before 3.60 the filter is not one.
    assert len(listed(user, "/volumes", "3.59", **later)["volumes"]) == 2


@pytest.mark.parametrize("value,message", [
    ("after:2026-01-01T00:00:00", "Invalid after operator"),
    ("gt:yesterday", "Invalid yesterday value"),
])
def test_a_bad_time_filter_is_a_400(user: Who, value: str, message: str) -> None:
    r = user("GET", "/volumes", "3.60", params={"created_at": value})
    assert r.status_code == 400 and r.json()["badRequest"]["message"] == message


# --- volume types: 3.50 multiattach, 3.52 filters and zones -------------------------------------


def test_a_multiattach_volume_type_is_refused_with_a_clear_400(
        host: VolumeHost, user: Who, admin: Who) -> None:
    type_made(admin, "shared", {"multiattach": "<is> True"})
    r = user("POST", "/volumes", "3.50", json={"volume": {"size": 1, "volume_type": "shared"}})
    assert r.status_code == 400
    assert "multiattach" in r.json()["badRequest"]["message"]
    asked = user("POST", "/volumes", "3.50", json={"volume": {"size": 1, "multiattach": True}})
    assert asked.status_code == 400
    assert listed(user, "/volumes", "3.50")["volumes"] == []


def test_from_3_52_users_filter_volume_types_on_their_visible_extra_specs(
        user: Who, admin: Who) -> None:
    type_made(admin, "zoned", {"RESKEY:availability_zones": "nova"})
    type_made(admin, "fast", {"volume_backend_name": "fast"})
    zoned = {"extra_specs": '{"RESKEY:availability_zones": "nova"}'}
    names = [t["name"] for t in listed(user, "/types", "3.52", **zoned)["volume_types"]]
    assert names == ["zoned"]
    everything = [t["name"] for t in listed(user, "/types", "3.51", **zoned)["volume_types"]]
    assert set(everything) == {"__DEFAULT__", "zoned", "fast"}
    # A user filtering on a spec users may not read finds nothing; an admin finds it.
    secret = {"extra_specs": "{'volume_backend_name': 'fast'}"}
    assert listed(user, "/types", "3.52", **secret)["volume_types"] == []
    assert [t["name"] for t in listed(admin, "/types", "3.52", **secret)["volume_types"]
            ] == ["fast"]


def test_a_type_limited_to_zones_places_its_volumes_there_and_refuses_others(
        api: Api, user: Who, admin: Who) -> None:
    VolumeHost(api, "vh-nova")
    VolumeHost(api, "vh-east", zone="east")
    type_made(admin, "eastern", {"RESKEY:availability_zones": "east"})
    made = user("POST", "/volumes", "3.52",
                json={"volume": {"size": 1, "volume_type": "eastern"}})
    assert made.status_code == 202 and made.json()["volume"]["availability_zone"] == "east"
    refused = user("POST", "/volumes", "3.52", json={"volume": {
        "size": 1, "volume_type": "eastern", "availability_zone": "nova"}})
    assert refused.status_code == 400
    assert refused.json()["badRequest"]["message"] == (
        "Invalid input received: Volume type is only supported in these availability "
        "zones: east")


# --- snapshot actions at the SDK's microversion -------------------------------------------------


def test_snapshot_actions_work_at_3_65_as_openstacksdk_sends_them(
        host: VolumeHost, user: Who, admin: Who) -> None:
    volume = available(user, host)
    snap = snapshot_of(user, host, volume["id"])
    reset = admin("POST", f"/snapshots/{snap['id']}/action", "3.65",
                  json={"os-reset_status": {"status": "error"}})
    assert reset.status_code == 202, reset.text
    assert user("GET", f"/snapshots/{snap['id']}", "3.65").json()["snapshot"]["status"] == (
        "error")
    forced = admin("POST", f"/snapshots/{snap['id']}/action", "3.65",
                   json={"os-force_delete": {}})
    assert forced.status_code == 202, forced.text
    host.settle()
    assert user("GET", f"/snapshots/{snap['id']}", "3.65").status_code == 404


# --- 3.46: Nova instance-snapshot images ----------------------------------------------------


def test_from_3_46_a_nova_instance_snapshot_image_makes_the_volume_from_its_snapshot(
        api: Api, host: VolumeHost, user: Who) -> None:
    volume = available(user, host, size=2)
    snap = snapshot_of(user, host, volume["id"])

    def nova_image(snapshot_id: str) -> str:
        bdm = [{"source_type": "snapshot", "destination_type": "volume", "boot_index": 0,
                "snapshot_id": snapshot_id, "volume_size": 2, "delete_on_termination": False}]
        r = api.client.post("/image/v2/images", headers=user.token, json={
            "name": "server-snapshot", "disk_format": "raw", "container_format": "bare",
            "block_device_mapping": json.dumps(bdm), "root_device_name": "/dev/vda"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    image = nova_image(snap["id"])
    # Before 3.46 it is an ordinary image, and this one holds no data.
    old = user("POST", "/volumes", "3.45", json={"volume": {"size": 2, "imageRef": image}})
    assert old.status_code == 400, old.text
    new = user("POST", "/volumes", "3.46", json={"volume": {"size": 2, "imageRef": image}})
    assert new.status_code == 202, new.text
    made = new.json()["volume"]
    assert made["snapshot_id"] == snap["id"]
    assert host.desired()[made["id"]]["source"]["type"] == "snapshot"
    missing = user("POST", "/volumes", "3.46", json={"volume": {
        "size": 2, "imageRef": nova_image(str(uuid.uuid4()))}})
    assert missing.status_code == 404
    assert "Nova specific image is found" in missing.json()["itemNotFound"]["message"]


# --- 3.54: the attachment's mode ----------------------------------------------------------------


def test_from_3_54_an_attachment_is_made_read_only_on_request(
        host: VolumeHost, user: Who) -> None:
    volume = available(user, host)
    body = {"attachment": {"volume_uuid": volume["id"], "mode": "ro"}}
    early = user("POST", "/attachments", "3.53", json=body)
    assert early.status_code == 400 and "'mode'" in early.json()["badRequest"]["message"]
    assert show(user, volume["id"], "3.53")["status"] == "available"
    made = user("POST", "/attachments", "3.54", json=body)
    assert made.status_code == 200, made.text
    assert made.json()["attachment"]["attach_mode"] == "ro"
    bad = user("POST", "/attachments", "3.54", json={"attachment": {
        "volume_uuid": volume["id"], "mode": "rwx"}})
    assert bad.status_code == 400
