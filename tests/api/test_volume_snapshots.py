"""Block storage: volume snapshots through the Cinder v3 API, made and removed by a volume
host whose reports are folded through the internal API. Requests ask for 3.0, as Tempest's do
(its schemas reject the keys later microversions add)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from sausage.db.models import volume as vm
from sausage.services.volume import types
from tests.api.conftest import DEMO_PASSWORD, Api
from tests.api.test_volume_types_quotas import Who


class VolumeHost:
    """A host with the file backend as the API sees it: registers, reads its desired
    volumes, reports what its backend holds."""

    def __init__(self, api: Api, name: str = "vh1") -> None:
        self.api = api
        r = api.client.post("/internal/v1/hosts", json={
            "name": name, "vcpus": 4, "memory_mb": 8192, "disk_gb": 100, "virt_type": "tcg",
            "volume_backend": "file"},
            headers={"X-Sausage-Registration-Key": api.cloud.agent_key})
        assert r.status_code == 201, r.text
        self.id = r.json()["host_id"]
        self.headers = {"X-Sausage-Host-Token": r.json()["token"]}

    def desired(self) -> dict[str, Any]:
        r = self.api.client.get(f"/internal/v1/hosts/{self.id}/desired?after=0&wait=0",
                                headers=self.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def revision(self) -> int:
        return int(self.desired()["revision"])

    def wanted_snapshots(self) -> dict[str, list[str]]:
        return {v["id"]: v["snapshots"] for v in self.desired().get("volumes", [])}

    def report(self, volumes: list[dict[str, Any]]) -> None:
        r = self.api.client.post(f"/internal/v1/hosts/{self.id}/observed", headers=self.headers,
                                 json={"version": 1, "host_id": self.id, "revision_seen": 0,
                                       "vcpus": 4, "memory_mb": 8192, "disk_gb": 100,
                                       "servers": [], "volumes": volumes})
        assert r.status_code == 204, r.text

    def holds(self, volume_id: str, size: int, snapshots: list[str],
              **extra: Any) -> None:
        """Report ``volume_id`` with exactly ``snapshots`` on the backend."""
        self.report([{"id": volume_id, "size_gb": size, "snapshots": snapshots,
                      "uploads_done": [], **extra}])

    def converge(self) -> None:
        """Make what the desired state asks for, as the agent would, and report it."""
        self.report([{"id": v["id"], "size_gb": v["size_gb"], "snapshots": v["snapshots"],
                      "uploads_done": []} for v in self.desired().get("volumes", [])])


@pytest.fixture
def vhost(api: Api) -> VolumeHost:
    return VolumeHost(api)


@pytest.fixture
def demo(api: Api) -> Who:
    return Who(api, {"X-Auth-Token": api.token("demo", DEMO_PASSWORD, "demo")},
               api.id_of("project", "demo"), version="3.0")


@pytest.fixture
def admin(api: Api) -> Who:
    return Who(api, api.admin, api.id_of("project", "admin"), version="3.0")


def volume_on(api: Api, host: VolumeHost | None, project_id: str, size: int = 1,
              status: str = "available") -> str:
    """A volume its host already made (the volume API's job, not these tests')."""
    with api.cloud.db.transaction() as s:
        row = vm.Volume(id=str(uuid.uuid4()), project_id=project_id, user_id="u", size=size,
                        status=status, volume_type_id=types.default_type(s).id,
                        host_id=host.id if host else None,
                        attach_status="attached" if status == "in-use" else "detached")
        s.add(row)
        return row.id


def snapshot(who: Who, volume_id: str, **extra: Any) -> httpx.Response:
    return who("POST", "/snapshots", json={"snapshot": {"volume_id": volume_id, **extra}})


def made(who: Who, host: VolumeHost, volume_id: str, **extra: Any) -> dict[str, Any]:
    """A snapshot the host has made: available."""
    r = snapshot(who, volume_id, **extra)
    assert r.status_code == 202, r.text
    host.converge()
    body = who("GET", f"/snapshots/{r.json()['snapshot']['id']}").json()["snapshot"]
    assert body["status"] == "available"
    return dict(body)


SUMMARY_KEYS = {"id", "name", "description", "status", "size", "volume_id", "metadata",
                "created_at", "updated_at"}
DETAIL_KEYS = SUMMARY_KEYS | {"os-extended-snapshot-attributes:project_id",
                              "os-extended-snapshot-attributes:progress"}


# --- lifecycle ------------------------------------------------------------------------------

def test_a_snapshot_is_made_by_the_volumes_host_and_removed_by_it(
        api: Api, vhost: VolumeHost, demo: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id, size=2)
    before = vhost.revision()
    r = snapshot(demo, vid, name="snap1", description="first", metadata={"k": "v"})
    assert r.status_code == 202, r.text
    body = r.json()["snapshot"]
    assert set(body) == SUMMARY_KEYS
    assert (body["status"], body["size"], body["name"], body["metadata"]) == (
        "creating", 2, "snap1", {"k": "v"})
    sid = body["id"]
    assert vhost.revision() > before
    assert vhost.wanted_snapshots() == {vid: [sid]}
    shown = demo("GET", f"/snapshots/{sid}").json()["snapshot"]
    assert set(shown) == DETAIL_KEYS
    assert shown["os-extended-snapshot-attributes:progress"] == "0%"
    assert shown["os-extended-snapshot-attributes:project_id"] == demo.project_id

    vhost.holds(vid, 2, [sid])
    shown = demo("GET", f"/snapshots/{sid}").json()["snapshot"]
    assert shown["status"] == "available"
    assert shown["os-extended-snapshot-attributes:progress"] == "100%"

    assert demo("DELETE", f"/snapshots/{sid}").status_code == 202
    assert demo("GET", f"/snapshots/{sid}").json()["snapshot"]["status"] == "deleting"
    assert vhost.wanted_snapshots() == {vid: []}
    vhost.holds(vid, 2, [sid])  # the agent is still removing it
    assert demo("GET", f"/snapshots/{sid}").status_code == 200
    vhost.holds(vid, 2, [])
    r = demo("GET", f"/snapshots/{sid}")
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["message"] == f"Snapshot {sid} could not be found."


def test_a_snapshot_the_host_cannot_make_goes_to_error_and_deletes_at_once(
        api: Api, vhost: VolumeHost, demo: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id)
    sid = snapshot(demo, vid).json()["snapshot"]["id"]
    vhost.holds(vid, 1, [], snapshot_errors={sid: "qemu-img: disk full"})
    assert demo("GET", f"/snapshots/{sid}").json()["snapshot"]["status"] == "error"
    assert vhost.wanted_snapshots() == {vid: []}
    assert demo("DELETE", f"/snapshots/{sid}").status_code == 202
    assert demo("GET", f"/snapshots/{sid}").status_code == 404


def test_an_in_use_volume_needs_force(api: Api, vhost: VolumeHost, demo: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id, status="in-use")
    r = snapshot(demo, vid)
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == (
        f"Invalid volume: Volume {vid} status must be available, but current status is: "
        "in-use.")
    assert snapshot(demo, vid, force=False).status_code == 400
    r = snapshot(demo, vid, force=True)
    assert r.status_code == 202, r.text
    assert snapshot(demo, vid, force="yes").status_code == 202


def test_a_busy_volume_cannot_be_snapshotted(api: Api, vhost: VolumeHost, demo: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id, status="creating")
    r = snapshot(demo, vid, force=True)
    assert r.status_code == 400
    assert "status must be available, in-use, but current status is: creating" in (
        r.json()["badRequest"]["message"])
    assert demo("GET", "/snapshots").json()["snapshots"] == []


def test_only_available_or_error_snapshots_are_deleted(
        api: Api, vhost: VolumeHost, demo: Who, admin: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id)
    sid = snapshot(demo, vid).json()["snapshot"]["id"]
    r = demo("DELETE", f"/snapshots/{sid}")
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == (
        "Invalid snapshot: Snapshot status must be available or error and must not be part "
        "of a group.")
    assert demo("POST", f"/snapshots/{sid}/action", json={"os-force_delete": {}}
                ).status_code == 403
    assert admin("POST", f"/snapshots/{sid}/action", json={"os-force_delete": {}}
                 ).status_code == 202
    assert demo("GET", f"/snapshots/{sid}").json()["snapshot"]["status"] == "deleting"
    vhost.converge()
    assert demo("GET", f"/snapshots/{sid}").status_code == 404


def test_a_snapshot_being_copied_into_a_new_volume_is_kept(
        api: Api, vhost: VolumeHost, demo: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id)
    sid = made(demo, vhost, vid)["id"]
    with api.cloud.db.transaction() as s:
        s.add(vm.Volume(id=str(uuid.uuid4()), project_id=demo.project_id, user_id="u", size=1,
                        status="creating", volume_type_id=types.default_type(s).id,
                        host_id=vhost.id, snapshot_id=sid))
    r = demo("DELETE", f"/snapshots/{sid}")
    assert r.status_code == 400
    assert "is being copied into volume" in r.json()["badRequest"]["message"]


def test_name_and_description_are_updated(api: Api, vhost: VolumeHost, demo: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id)
    sid = made(demo, vhost, vid, name="old")["id"]
    r = demo("PUT", f"/snapshots/{sid}", json={"snapshot": {"name": "new",
                                                           "description": "described"}})
    assert r.status_code == 200, r.text
    assert set(r.json()["snapshot"]) == SUMMARY_KEYS
    shown = demo("GET", f"/snapshots/{sid}").json()["snapshot"]
    assert (shown["name"], shown["description"]) == ("new", "described")
    r = demo("PUT", f"/snapshots/{sid}", json={"snapshot": {"display_description": "again"}})
    assert r.json()["snapshot"]["description"] == "again"
    assert demo("PUT", f"/snapshots/{sid}", json={"snapshot": {}}).status_code == 400
    assert demo("PUT", f"/snapshots/{sid}", json={"snapshot": {"size": 4}}).status_code == 400


def test_newer_microversions_add_user_and_group_snapshot_ids(
        api: Api, vhost: VolumeHost, demo: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id)
    sid = made(demo, vhost, vid)["id"]
    old = demo("GET", f"/snapshots/{sid}", version="3.0").json()["snapshot"]
    assert "user_id" not in old and "group_snapshot_id" not in old
    new = demo("GET", f"/snapshots/{sid}", version="3.41").json()["snapshot"]
    assert new["group_snapshot_id"] is None and new["user_id"]


# --- bad input, other projects, readers, quota ----------------------------------------------

@pytest.mark.parametrize("body,message", [
    ({"snapshot": {"name": "x"}}, "'volume_id' is a required property"),
    ({"snapshot": {"volume_id": 7}}, "volume_id"),
    ({"snapshot": {"volume_id": "V", "colour": "red"}}, "Additional properties"),
    ({"snapshot": {"volume_id": "V", "force": "perhaps"}}, "force"),
    ({"snapshot": {"volume_id": "V", "metadata": {"k": 1}}}, "metadata"),
    ({"snapshot": {"volume_id": "V", "name": "n" * 256}}, "name"),
    ({"snap": {}}, "Missing required element 'snapshot'"),
])
def test_bad_snapshot_bodies_are_refused_and_nothing_is_made(
        api: Api, vhost: VolumeHost, demo: Who, body: dict[str, Any], message: str) -> None:
    vid = volume_on(api, vhost, demo.project_id)
    for value in body.values():
        if value.get("volume_id") == "V":
            value["volume_id"] = vid
    r = demo("POST", "/snapshots", json=body)
    assert r.status_code == 400, r.text
    assert message in r.json()["badRequest"]["message"]
    assert demo("GET", "/snapshots").json()["snapshots"] == []


def test_a_missing_or_invisible_volume_is_not_found(api: Api, vhost: VolumeHost, demo: Who,
                                                    admin: Who) -> None:
    missing = str(uuid.uuid4())
    r = snapshot(demo, missing)
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["message"] == f"Volume {missing} could not be found."
    theirs = volume_on(api, vhost, admin.project_id)
    assert snapshot(demo, theirs).status_code == 404
    null = demo("POST", "/snapshots", json={"snapshot": {"volume_id": None, "name": "x"}})
    assert null.status_code == 404, null.text


def test_another_projects_snapshots_are_invisible(api: Api, vhost: VolumeHost, demo: Who,
                                                  admin: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id)
    sid = made(demo, vhost, vid, metadata={"a": "b"})["id"]
    _, other_project, other_token = api.user_in_project("member")
    other = Who(api, other_token, other_project, version="3.0")
    assert other("GET", "/snapshots").json()["snapshots"] == []
    for method, path in [("GET", f"/snapshots/{sid}"), ("DELETE", f"/snapshots/{sid}"),
                         ("GET", f"/snapshots/{sid}/metadata"),
                         ("DELETE", f"/snapshots/{sid}/metadata/a")]:
        assert other(method, path).status_code == 404, (method, path)
    assert other("PUT", f"/snapshots/{sid}", json={"snapshot": {"name": "x"}}
                 ).status_code == 404
    # An admin lists them with all_tenants only.
    assert admin("GET", "/snapshots").json()["snapshots"] == []
    listed = admin("GET", "/snapshots?all_tenants=1").json()["snapshots"]
    assert [s["id"] for s in listed] == [sid]
    assert admin("GET", f"/snapshots/{sid}").status_code == 200


def test_readers_see_but_cannot_write(api: Api, vhost: VolumeHost, demo: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id)
    sid = made(demo, vhost, vid)["id"]
    _, _, token = api.user_in_project("reader", project="demo")
    reader = Who(api, token, demo.project_id, version="3.0")
    assert reader("GET", f"/snapshots/{sid}").status_code == 200
    assert snapshot(reader, vid).status_code == 403
    assert reader("DELETE", f"/snapshots/{sid}").status_code == 403
    assert reader("POST", f"/snapshots/{sid}/metadata",
                  json={"metadata": {"a": "b"}}).status_code == 403
    assert len(demo("GET", "/snapshots").json()["snapshots"]) == 1


def test_the_snapshot_quota_is_cinders_413(api: Api, vhost: VolumeHost, demo: Who,
                                           admin: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id, size=2)
    r = admin("PUT", f"/os-quota-sets/{demo.project_id}", json={"quota_set": {"snapshots": 1}})
    assert r.status_code == 200, r.text
    assert snapshot(demo, vid).status_code == 202
    r = snapshot(demo, vid)
    assert r.status_code == 413
    assert r.json()["overLimit"]["message"] == (
        "Maximum number of snapshots allowed (1) exceeded")
    admin("PUT", f"/os-quota-sets/{demo.project_id}",
          json={"quota_set": {"snapshots": 5, "gigabytes": 5}})
    r = snapshot(demo, vid)
    assert r.status_code == 413
    assert r.json()["overLimit"]["message"] == (
        "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 2G, quota is "
        "5G and 4G has been consumed.")
    assert len(demo("GET", "/snapshots").json()["snapshots"]) == 1
    usage = demo("GET", "/limits").json()["limits"]["absolute"]
    assert (usage["totalSnapshotsUsed"], usage["totalGigabytesUsed"]) == (1, 4)


# --- listing --------------------------------------------------------------------------------

@pytest.fixture
def three(api: Api, vhost: VolumeHost, demo: Who) -> list[dict[str, Any]]:
    """Three available snapshots of one volume, and one of another volume in creating."""
    vid = volume_on(api, vhost, demo.project_id)
    snaps = [made(demo, vhost, vid, name=name) for name in ("b-snap", "a-snap", "c-snap")]
    other = volume_on(api, vhost, demo.project_id)
    snapshot(demo, other, name="pending")
    return snaps


def test_snapshots_are_listed_newest_first_and_filtered(demo: Who,
                                                        three: list[dict[str, Any]]) -> None:
    listed = demo("GET", "/snapshots").json()["snapshots"]
    assert [s["name"] for s in listed] == ["pending", "c-snap", "a-snap", "b-snap"]
    assert all(set(s) == SUMMARY_KEYS for s in listed)
    detail = demo("GET", "/snapshots/detail?status=available").json()["snapshots"]
    assert [s["name"] for s in detail] == ["c-snap", "a-snap", "b-snap"]
    assert all(set(s) == DETAIL_KEYS for s in detail)
    r = demo("GET", "/snapshots?name=a-snap&status=available").json()["snapshots"]
    assert [s["id"] for s in r] == [three[1]["id"]]
    r = demo("GET", f"/snapshots?volume_id={three[0]['volume_id']}").json()["snapshots"]
    assert len(r) == 3
    assert demo("GET", "/snapshots?unknown_filter=1").status_code == 200


def test_from_3_22_snapshots_are_filtered_by_metadata(api: Api, vhost: VolumeHost,
                                                     demo: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id)
    tagged = made(demo, vhost, vid, metadata={"tier": "gold", "x": "1"})["id"]
    made(demo, vhost, vid, metadata={"tier": "silver"})
    query = "/snapshots?metadata={'tier': 'gold'}"
    assert [s["id"] for s in demo("GET", query, version="3.22").json()["snapshots"]] == [tagged]
    assert len(demo("GET", query, version="3.21").json()["snapshots"]) == 2
    r = demo("GET", "/snapshots?metadata=[1", version="3.22")
    assert r.status_code == 400


def test_snapshots_are_sorted_and_paged(demo: Who, three: list[dict[str, Any]]) -> None:
    def names(query: str) -> list[str]:
        r = demo("GET", f"/snapshots{query}")
        assert r.status_code == 200, r.text
        return [s["name"] for s in r.json()["snapshots"]]

    assert names("?sort_key=display_name&sort_dir=asc") == ["a-snap", "b-snap", "c-snap",
                                                            "pending"]
    assert names("?sort=name:desc") == ["pending", "c-snap", "b-snap", "a-snap"]
    ids = sorted(s["id"] for s in demo("GET", "/snapshots").json()["snapshots"])
    assert [s["id"] for s in demo("GET", "/snapshots?sort=id:asc").json()["snapshots"]] == ids
    assert names("?limit=0") == []
    assert names("?limit=100000") == ["pending", "c-snap", "a-snap", "b-snap"]
    assert names("?offset=2&limit=3") == ["a-snap", "b-snap"]
    first = demo("GET", "/snapshots?limit=2").json()
    assert [s["name"] for s in first["snapshots"]] == ["pending", "c-snap"]
    next_href = first["snapshots_links"][0]["href"]
    assert first["snapshots_links"][0]["rel"] == "next"
    assert next_href.startswith(f"http://127.0.0.1:8000/volume/v3/{demo.project_id}/snapshots?")
    marker = first["snapshots"][-1]["id"]
    assert names(f"?limit=2&marker={marker}") == ["a-snap", "b-snap"]
    assert "snapshots_links" not in demo("GET", f"/snapshots?limit=2&marker={three[1]['id']}"
                                         ).json()
    assert names(f"?sort=name:asc&marker={three[0]['id']}") == ["c-snap", "pending"]


@pytest.mark.parametrize("query,status", [
    ("?limit=x", 400), ("?limit=-1", 400), ("?offset=x", 400), ("?sort=colour:asc", 400),
    ("?sort=name:sideways", 400), (f"?marker={uuid.uuid4()}", 404),
])
def test_bad_list_parameters_are_refused(demo: Who, query: str, status: int) -> None:
    assert demo("GET", f"/snapshots{query}").status_code == status


# --- metadata and actions -------------------------------------------------------------------

def test_snapshot_metadata_is_created_replaced_shown_and_removed(
        api: Api, vhost: VolumeHost, demo: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id)
    sid = made(demo, vhost, vid)["id"]
    base = f"/snapshots/{sid}/metadata"
    r = demo("POST", base, json={"metadata": {"key1": "value1", "key2": "value2",
                                              "key3": "value3"}})
    assert r.status_code == 200
    assert r.json() == {"metadata": {"key1": "value1", "key2": "value2", "key3": "value3"}}
    r = demo("PUT", base, json={"metadata": {"key3": "value3_update", "key4": "value4"}})
    assert r.json() == {"metadata": {"key3": "value3_update", "key4": "value4"}}
    assert demo("GET", base).json() == {"metadata": {"key3": "value3_update",
                                                     "key4": "value4"}}
    r = demo("PUT", f"{base}/key3", json={"meta": {"key3": "again"}})
    assert r.status_code == 200 and r.json() == {"meta": {"key3": "again"}}
    assert demo("GET", f"{base}/key3").json() == {"meta": {"key3": "again"}}
    assert demo("PUT", f"{base}/key3", json={"meta": {"key5": "x"}}).status_code == 400
    assert demo("PUT", f"{base}/key3", json={"meta": {"key3": "x", "k": "y"}}
                ).status_code == 400
    r = demo("DELETE", f"{base}/key3")
    assert r.status_code == 200
    assert demo("GET", base).json() == {"metadata": {"key4": "value4"}}
    r = demo("GET", f"{base}/key3")
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["message"] == f"Snapshot {sid} has no metadata with key key3."
    assert demo("POST", base, json={"metadata": {"": "x"}}).status_code == 400
    assert demo("POST", base, json={"metadata": {"k": "v" * 256}}).status_code == 400
    assert demo("PUT", base, json={"metadata": {}}).json() == {"metadata": {}}
    assert demo("GET", f"/snapshots/{sid}").json()["snapshot"]["metadata"] == {}


def test_admins_reset_a_snapshots_status(api: Api, vhost: VolumeHost, demo: Who,
                                         admin: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id)
    sid = made(demo, vhost, vid)["id"]
    action = f"/snapshots/{sid}/action"
    assert demo("POST", action, json={"os-reset_status": {"status": "error"}}
                ).status_code == 403
    assert admin("POST", action, json={"os-reset_status": {"status": "error"}}
                 ).status_code == 202
    assert demo("GET", f"/snapshots/{sid}").json()["snapshot"]["status"] == "error"
    # The data is still wanted: a reset never makes the host remove it.
    assert vhost.wanted_snapshots() == {vid: [sid]}
    assert admin("POST", action, json={"os-reset_status": {"status": "bogus"}}
                 ).status_code == 400
    assert admin("POST", action, json={"os-jump": {}}).status_code == 400


def test_members_move_a_creating_snapshot_along(api: Api, vhost: VolumeHost,
                                                demo: Who) -> None:
    vid = volume_on(api, vhost, demo.project_id)
    sid = snapshot(demo, vid).json()["snapshot"]["id"]
    action = f"/snapshots/{sid}/action"
    r = demo("POST", action, json={"os-update_snapshot_status": {"status": "deleting"}})
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == (
        "Provided snapshot status deleting not allowed for snapshot with status creating.")
    r = demo("POST", action, json={"os-update_snapshot_status": {"status": "available",
                                                                   "progress": "100%"}})
    assert r.status_code == 202, r.text
    assert demo("GET", f"/snapshots/{sid}").json()["snapshot"]["status"] == "available"
    r = demo("POST", action, json={"os-update_snapshot_status": {"status": "error"}})
    assert r.status_code == 400
