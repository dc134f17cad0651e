"""Block storage volumes through the Cinder v3 API: create (empty, from an image, a clone, from
a snapshot), show, list with Cinder's filters and paging, update, metadata, delete, zones and
extensions — with a volume host that speaks the agent contract over the internal API, as the
compute API tests have one. The real agent and its file backend are exercised elsewhere.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from sausage.db.models import volume as vm
from tests.api.conftest import Api
from tests.api.test_compute import image_id

DELETE_REFUSED = (
    "Invalid volume: Volume status must be available or error or error_restoring or "
    "error_extending or error_managing and must not be migrating, attached, belong to a "
    "group, have snapshots, awaiting a transfer, or be disassociated from snapshots after "
    "volume transfer.")

# Tempest's create_volume schema: exactly these keys may be in a create or update response.
CREATE_KEYS = {"migration_status", "attachments", "links", "availability_zone", "encrypted",
               "updated_at", "replication_status", "snapshot_id", "id", "size", "user_id",
               "metadata", "status", "description", "multiattach", "source_volid",
               "consistencygroup_id", "name", "bootable", "created_at", "volume_type",
               "group_id", "provider_id", "service_uuid", "shared_targets"}
SHOW_EXTRA = {"os-vol-host-attr:host", "os-vol-tenant-attr:tenant_id",
              "os-vol-mig-status-attr:migstat", "os-vol-mig-status-attr:name_id",
              "volume_image_metadata"}
REQUIRED = {"attachments", "links", "encrypted", "updated_at", "replication_status", "id",
            "size", "user_id", "availability_zone", "metadata", "status", "description",
            "multiattach", "consistencygroup_id", "name", "bootable", "created_at",
            "volume_type", "snapshot_id", "source_volid"}


class Who:
    """A caller: its token header and project, calling its own catalog URL."""

    def __init__(self, api: Api, token: dict[str, str], project_id: str) -> None:
        self.api, self.token, self.project_id = api, token, project_id

    def __call__(self, method: str, path: str, version: str = "3.44", **kwargs: Any
                 ) -> httpx.Response:
        headers = {**self.token, "OpenStack-API-Version": f"volume {version}",
                   **kwargs.pop("headers", {})}
        return self.api.client.request(method, f"/volume/v3/{self.project_id}{path}",
                                       headers=headers, **kwargs)

    def create(self, size: int | None = 1, **extra: Any) -> dict[str, Any]:
        r = self("POST", "/volumes", json={"volume": {"size": size, **extra}})
        assert r.status_code == 202, r.text
        return dict(r.json()["volume"])

    def show(self, volume_id: str) -> dict[str, Any]:
        r = self("GET", f"/volumes/{volume_id}")
        assert r.status_code == 200, r.text
        return dict(r.json()["volume"])


def who(api: Api, role: str = "member", project: str | None = None) -> Who:
    _, project_id, token = api.user_in_project(role, project)
    return Who(api, token, project_id)


class VolumeHost:
    """A host holding the `file` backend as the API sees it: registers, reads its desired
    volumes, reports what it holds."""

    def __init__(self, api: Api, name: str = "vh1", zone: str | None = None) -> None:
        self.api = api
        reg: dict[str, Any] = {"name": name, "vcpus": 4, "memory_mb": 8192, "disk_gb": 100,
                               "virt_type": "tcg", "volume_backend": "file"}
        if zone:
            reg["availability_zone"] = zone
        r = api.client.post("/internal/v1/hosts", json=reg,
                            headers={"X-Sausage-Registration-Key": api.cloud.agent_key})
        assert r.status_code == 201, r.text
        self.id = r.json()["host_id"]
        self.headers = {"X-Sausage-Host-Token": r.json()["token"]}
        self.report([])

    def desired(self) -> dict[str, dict[str, Any]]:
        r = self.api.client.get(f"/internal/v1/hosts/{self.id}/desired?after=0&wait=0",
                                headers=self.headers)
        assert r.status_code == 200, r.text
        return {d["id"]: d for d in r.json().get("volumes", [])}

    def report(self, volumes: list[dict[str, Any]]) -> None:
        r = self.api.client.post(
            f"/internal/v1/hosts/{self.id}/observed", headers=self.headers,
            json={"version": 1, "host_id": self.id, "revision_seen": 0, "vcpus": 4,
                  "memory_mb": 8192, "disk_gb": 100, "servers": [], "volumes": volumes})
        assert r.status_code == 204, r.text

    def settle(self, **errors: str) -> None:
        """Report every desired volume made as asked (``errors``: volume id → failure)."""
        held = []
        for d in self.desired().values():
            o: dict[str, Any] = {"id": d["id"], "size_gb": d["size_gb"],
                                 "snapshots": d["snapshots"],
                                 "uploads_done": [u["seq"] for u in d["uploads"]]}
            if d["id"] in errors:
                o["error"] = errors[d["id"]]
            held.append(o)
        self.report(held)


def available(user: Who, host: VolumeHost, size: int = 1, **extra: Any) -> dict[str, Any]:
    volume = user.create(size, **extra)
    host.settle()
    shown = user.show(volume["id"])
    assert shown["status"] == "available", shown
    return shown


def insert_snapshot(api: Api, volume: dict[str, Any], project_id: str,
                    status: str = "available") -> str:
    """A snapshot row as the snapshot service leaves it once its host reported it."""
    with api.cloud.db.transaction() as s:
        row = vm.VolumeSnapshot(id=str(uuid.uuid4()), volume_id=volume["id"],
                                project_id=project_id, user_id="u", size=volume["size"],
                                status=status)
        s.add(row)
        return row.id


# --- create and show ------------------------------------------------------------------------------


def test_a_volume_is_made_on_a_volume_host_and_is_available_once_the_host_reports_it(
        api: Api, host: VolumeHost, user: Who, admin: Who) -> None:
    volume = user.create(2, name="data", description="my data", metadata={"Type": "work"})
    assert volume["status"] == "creating" and volume["size"] == 2
    assert REQUIRED <= set(volume) <= CREATE_KEYS
    assert volume["bootable"] == "false" and volume["volume_type"] == "__DEFAULT__"
    assert volume["metadata"] == {"Type": "work"}
    wanted = host.desired()[volume["id"]]
    assert wanted["size_gb"] == 2 and wanted["source"] == {"type": "blank"}
    host.settle()
    shown = user.show(volume["id"])
    assert shown["status"] == "available"
    assert REQUIRED <= set(shown) <= CREATE_KEYS | SHOW_EXTRA
    assert shown["os-vol-tenant-attr:tenant_id"] == user.project_id
    assert "os-vol-host-attr:host" not in shown
    assert shown["metadata"] == {"Type": "work", "readonly": "False"}
    assert admin.show(volume["id"])["os-vol-host-attr:host"] == "vh1@file#file"


def test_without_a_volume_host_the_volume_is_in_error_and_can_be_deleted_at_once(
        api: Api, user: Who) -> None:
    volume = user.create(1)
    assert volume["status"] == "error"
    assert user("DELETE", f"/volumes/{volume['id']}").status_code == 202
    assert user("GET", f"/volumes/{volume['id']}").status_code == 404


def test_the_least_used_volume_host_of_the_asked_zone_gets_the_volume(api: Api, user: Who
                                                                       ) -> None:
    a, b = VolumeHost(api, "vh-a", zone="az1"), VolumeHost(api, "vh-b", zone="az2")
    first = user.create(5, availability_zone="az1")
    assert first["availability_zone"] == "az1" and first["id"] in a.desired()
    second = user.create(1)
    assert second["id"] in b.desired() and second["availability_zone"] == "az2"
    r = user("POST", "/volumes", json={"volume": {"size": 1, "availability_zone": "mars"}})
    assert r.status_code == 400
    assert r.json() == {"badRequest": {"code": 400,
                                       "message": "Availability zone 'mars' is invalid."}}
    r = user("GET", "/os-availability-zone")
    assert r.json() == {"availabilityZoneInfo": [
        {"zoneName": "az1", "zoneState": {"available": True}},
        {"zoneName": "az2", "zoneState": {"available": True}}]}


@pytest.mark.parametrize("size", ["", "#$%", "0", "-1", 0, -1, 1.5, True, None, [1]])
def test_bad_sizes_are_400_and_make_nothing(api: Api, host: VolumeHost, user: Who,
                                            size: Any) -> None:
    r = user("POST", "/volumes", json={"volume": {"size": size}})
    assert r.status_code == 400, r.text
    assert "badRequest" in r.json()
    assert user("GET", "/volumes").json() == {"volumes": []}
    assert host.desired() == {}


def test_a_missing_body_or_unknown_references_are_refused(api: Api, host: VolumeHost,
                                                          user: Who) -> None:
    assert user("POST", "/volumes", json={"size": 1}).status_code == 400
    assert user("POST", "/volumes", content=b"{nope").status_code == 400
    for ref in ("volume_type", "snapshot_id", "source_volid"):
        r = user("POST", "/volumes", json={"volume": {"size": 1, ref: str(uuid.uuid4())}})
        assert r.status_code == 404, r.text
        assert "itemNotFound" in r.json()
    r = user("POST", "/volumes", json={"volume": {"size": 1, "multiattach": True}})
    assert r.status_code == 400
    r = user("POST", "/volumes", json={"volume": {"size": 1, "imageRef": str(uuid.uuid4())}})
    assert r.status_code == 400
    assert user("GET", "/volumes").json() == {"volumes": []}


def test_a_volume_from_an_image_is_bootable_and_shows_the_images_metadata(
        api: Api, host: VolumeHost, user: Who) -> None:
    image = image_id(api)
    volume = user.create(1, imageRef=image)
    assert volume["bootable"] == "true" and "volume_image_metadata" not in volume
    source = host.desired()[volume["id"]]["source"]
    assert source["type"] == "image" and source["image"]["id"] == image
    host.settle()
    shown = user.show(volume["id"])
    meta = shown["volume_image_metadata"]
    assert meta["image_id"] == image and meta["image_name"] == "cirros"
    assert meta["disk_format"] == "raw" and meta["container_format"] == "bare"
    assert meta["size"] == "4096" and meta["min_disk"] == "0"


def test_an_image_needing_a_bigger_disk_or_not_active_is_refused(api: Api, host: VolumeHost,
                                                                  user: Who) -> None:
    r = api.client.post("/image/v2/images", headers=api.admin, json={
        "name": "big", "disk_format": "raw", "container_format": "bare",
        "visibility": "public", "min_disk": 3})
    big = r.json()["id"]
    r = user("POST", "/volumes", json={"volume": {"size": 1, "imageRef": big}})
    assert r.status_code == 400 and "not active" in r.text
    api.client.put(f"/image/v2/images/{big}/file", headers={
        **api.admin, "Content-Type": "application/octet-stream"}, content=b"\0" * 512)
    r = user("POST", "/volumes", json={"volume": {"size": 1, "imageRef": big}})
    assert r.status_code == 400
    assert "cannot be smaller than the image minDisk size 3GB" in r.json()["badRequest"][
        "message"]
    assert user.create(3, imageRef=big)["status"] == "creating"


def test_a_clone_is_made_on_its_sources_host_and_is_never_smaller(
        api: Api, host: VolumeHost, user: Who) -> None:
    source = available(user, host, 2, name="src")
    VolumeHost(api, "vh2")  # emptier, but a clone stays with its source
    r = user("POST", "/volumes", json={"volume": {"size": 1, "source_volid": source["id"]}})
    assert r.status_code == 400
    clone = user.create(None, source_volid=source["id"])
    assert clone["size"] == 2 and clone["source_volid"] == source["id"]
    assert host.desired()[clone["id"]]["source"] == {"type": "volume", "id": source["id"]}


def test_a_volume_from_a_snapshot_takes_its_size_and_host(api: Api, host: VolumeHost,
                                                          user: Who) -> None:
    parent = available(user, host, 2)
    snap = insert_snapshot(api, parent, user.project_id)
    r = user("POST", "/volumes", json={"volume": {"size": 1, "snapshot_id": snap}})
    assert r.status_code == 400
    volume = user.create(None, snapshot_id=snap)
    assert volume["size"] == 2 and volume["snapshot_id"] == snap
    assert host.desired()[volume["id"]]["source"] == {"type": "snapshot", "id": snap}


def test_quota_exceeded_is_413_and_makes_nothing(api: Api, host: VolumeHost, user: Who,
                                                 admin: Who) -> None:
    r = admin("PUT", f"/os-quota-sets/{user.project_id}",
              json={"quota_set": {"volumes": 1, "gigabytes": 5}})
    assert r.status_code == 200, r.text
    r = user("POST", "/volumes", json={"volume": {"size": 6}})
    assert r.status_code == 413 and "overLimit" in r.json()
    user.create(1)
    r = user("POST", "/volumes", json={"volume": {"size": 1}})
    assert r.status_code == 413
    assert len(user("GET", "/volumes").json()["volumes"]) == 1


# --- visibility and policy ------------------------------------------------------------------------


def test_another_projects_volume_is_not_found_and_readers_cannot_write(
        api: Api, host: VolumeHost, user: Who, admin: Who) -> None:
    volume = available(user, host)
    other = who(api)
    for method, path in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/metadata")):
        kwargs: dict[str, Any] = {"json": {"volume": {"name": "x"}}} if method == "PUT" else {}
        r = other(method, f"/volumes/{volume['id']}{path}", **kwargs)
        assert r.status_code == 404, r.text
        assert r.json()["itemNotFound"]["message"] == f"Volume {volume['id']} could not be found."
    assert other("GET", "/volumes").json() == {"volumes": []}
    reader = who(api, "reader", project=api_project_name(api, user.project_id))
    assert reader.show(volume["id"])["id"] == volume["id"]
    assert reader("POST", "/volumes", json={"volume": {"size": 1}}).status_code == 403
    assert reader("PUT", f"/volumes/{volume['id']}",
                  json={"volume": {"name": "x"}}).status_code == 403
    assert reader("DELETE", f"/volumes/{volume['id']}").status_code == 403
    assert reader("POST", f"/volumes/{volume['id']}/metadata",
                  json={"metadata": {"a": "b"}}).status_code == 403
    # An admin lists its own project unless it asks for all of them.
    assert admin("GET", "/volumes").json()["volumes"] == []
    everyone = admin("GET", "/volumes?all_tenants=1").json()["volumes"]
    assert [v["id"] for v in everyone] == [volume["id"]]
    mine = admin("GET", f"/volumes?all_tenants=1&project_id={user.project_id}").json()
    assert [v["id"] for v in mine["volumes"]] == [volume["id"]]


def api_project_name(api: Api, project_id: str) -> str:
    r = api.request("GET", f"/projects/{project_id}", api.admin)
    return str(r.json()["project"]["name"])


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_no_volume_id_or_a_bad_one_is_404(api: Api, user: Who, method: str) -> None:
    kwargs: dict[str, Any] = {"json": {"volume": {"name": "n"}}} if method == "PUT" else {}
    for path in ("/volumes/", f"/volumes/{uuid.uuid4()}", "/volumes/invalid-id"):
        r = user(method, path, **kwargs)
        assert r.status_code == 404, (path, r.text)


# --- list -----------------------------------------------------------------------------------------


def test_lists_filter_by_name_status_metadata_zone_and_bootable(api: Api, host: VolumeHost,
                                                                user: Who) -> None:
    work = [available(user, host, name=f"w{i}", metadata={"Type": "work"}) for i in range(3)]
    user.create(1, name="fresh")  # still creating
    brief = user("GET", "/volumes?name=w1").json()["volumes"]
    assert brief == [{"id": work[1]["id"], "name": "w1", "links": brief[0]["links"]}]
    detail = user("GET", "/volumes/detail?name=w1&status=available").json()["volumes"]
    assert [v["id"] for v in detail] == [work[1]["id"]]
    assert detail[0] == user.show(work[1]["id"])
    ids = {v["id"] for v in user("GET", "/volumes?status=available").json()["volumes"]}
    assert ids == {v["id"] for v in work}
    assert user("GET", "/volumes?status=null").json() == {"volumes": []}
    assert user("GET", "/volumes/detail?name=nothing").json() == {"volumes": []}
    by_meta = user("GET", "/volumes/detail", params={"metadata": str({"Type": "work"})})
    assert {v["id"] for v in by_meta.json()["volumes"]} == ids
    by_json = user("GET", '/volumes?metadata={"Type": "play"}').json()["volumes"]
    assert by_json == []
    assert len(user("GET", "/volumes?availability_zone=nova").json()["volumes"]) == 4
    assert len(user("GET", "/volumes?bootable=false").json()["volumes"]) == 4
    assert user("GET", "/volumes?bootable=true").json()["volumes"] == []


def test_paging_follows_next_links_until_a_page_is_short(api: Api, host: VolumeHost,
                                                         user: Who) -> None:
    made = {user.create(1, name=f"p{i}")["id"] for i in range(3)}
    seen: list[str] = []
    url = "/volumes/detail?limit=1"
    pages = 0
    while url:
        r = user("GET", url)
        assert r.status_code == 200, r.text
        body = r.json()
        pages += 1
        seen += [v["id"] for v in body["volumes"]]
        links = [link["href"] for link in body.get("volumes_links", []) if link["rel"] == "next"]
        if links:
            prefix = f"http://127.0.0.1:8000/volume/v3/{user.project_id}"
            assert links[0].startswith(prefix + "/volumes/detail?")
            url = links[0][len(prefix):]
        else:
            url = ""
    assert pages == 4 and len(seen) == 3 and set(seen) == made
    everything = user("GET", "/volumes").json()
    assert "volumes_links" not in everything and len(everything["volumes"]) == 3


def test_sorting_with_a_limit_and_a_marker(api: Api, host: VolumeHost, user: Who) -> None:
    ids = sorted(user.create(1, name=f"s{i}")["id"] for i in range(4))
    asc = user("GET", "/volumes/detail?limit=2&sort_key=id&sort_dir=asc").json()["volumes"]
    assert [v["id"] for v in asc] == ids[:2]
    desc = user("GET", "/volumes/detail?limit=2&sort_key=id&sort_dir=desc").json()["volumes"]
    assert [v["id"] for v in desc] == ids[::-1][:2]
    after = user("GET", f"/volumes?sort=id:asc&marker={ids[1]}").json()["volumes"]
    assert [v["id"] for v in after] == ids[2:]
    names = user("GET", "/volumes?sort=name:desc").json()["volumes"]
    assert [v["name"] for v in names] == ["s3", "s2", "s1", "s0"]
    newest_first = user("GET", "/volumes").json()["volumes"]
    assert [v["name"] for v in newest_first] == ["s3", "s2", "s1", "s0"]
    assert user("GET", "/volumes?sort=color:asc").status_code == 400
    assert user("GET", "/volumes?limit=x").status_code == 400
    assert user("GET", f"/volumes?marker={uuid.uuid4()}").status_code == 404


def test_the_summary_counts_volumes_and_their_gigabytes(api: Api, host: VolumeHost,
                                                        user: Who) -> None:
    user.create(2, metadata={"k": "a"})
    user.create(3, metadata={"k": "b"})
    r = user("GET", "/volumes/summary", version="3.36")
    assert r.json() == {"volume-summary": {"total_size": 5, "total_count": 2,
                                           "metadata": {"k": ["a", "b"]}}}
    assert user("GET", "/volumes/summary", version="3.11").status_code == 404


# --- update and metadata --------------------------------------------------------------------------


def test_update_changes_name_description_and_metadata(api: Api, host: VolumeHost,
                                                      user: Who) -> None:
    volume = available(user, host, name="old", metadata={"a": "1"})
    r = user("PUT", f"/volumes/{volume['id']}",
             json={"volume": {"name": "new", "description": "desc"}})
    assert r.status_code == 200, r.text
    assert r.json()["volume"]["name"] == "new"
    assert REQUIRED <= set(r.json()["volume"]) <= CREATE_KEYS
    r = user("PUT", f"/volumes/{volume['id']}",
             json={"volume": {"display_name": "newer", "metadata": {"b": "2"}}})
    shown = user.show(volume["id"])
    assert (shown["name"], shown["description"]) == ("newer", "desc")
    assert user("GET", f"/volumes/{volume['id']}/metadata").json() == {"metadata": {"b": "2"}}
    r = user("PUT", f"/volumes/{volume['id']}", json={"volume": {"size": 5}})
    assert r.status_code == 400
    r = user("PUT", f"/volumes/{volume['id']}", json={"volume": {"name": 5}})
    assert r.status_code == 400
    assert user.show(volume["id"])["size"] == 1


def test_metadata_is_created_replaced_shown_and_deleted_item_by_item(
        api: Api, host: VolumeHost, user: Who) -> None:
    vid = available(user, host)["id"]
    path = f"/volumes/{vid}/metadata"
    r = user("POST", path, json={"metadata": {"key1": "value1", "key2": "<value&special>"}})
    assert r.status_code == 200 and r.json()["metadata"] == {"key1": "value1",
                                                             "key2": "<value&special>"}
    r = user("POST", path, json={"metadata": {"key3": "value3"}})
    assert set(r.json()["metadata"]) == {"key1", "key2", "key3"}
    r = user("PUT", path, json={"metadata": {"key4": "value4", "key1": "v1"}})
    assert r.json() == {"metadata": {"key4": "value4", "key1": "v1"}}
    assert user("GET", path).json() == {"metadata": {"key1": "v1", "key4": "value4"}}
    r = user("PUT", f"{path}/key4", json={"meta": {"key4": "changed"}})
    assert r.status_code == 200 and r.json() == {"meta": {"key4": "changed"}}
    assert user("GET", f"{path}/key4").json() == {"meta": {"key4": "changed"}}
    assert user("PUT", f"{path}/key4", json={"meta": {"other": "x"}}).status_code == 400
    assert user("PUT", f"{path}/key4",
                json={"meta": {"key4": "x", "other": "y"}}).status_code == 400
    assert user("DELETE", f"{path}/key1").status_code == 200
    assert user("GET", f"{path}/key1").status_code == 404
    assert user("DELETE", f"{path}/key1").status_code == 404
    assert user("GET", path).json() == {"metadata": {"key4": "changed"}}
    assert user("POST", path, json={"metadata": {"": "x"}}).status_code == 400
    assert user("POST", path, json={"metadata": {"k": "x" * 256}}).status_code == 400
    assert user("POST", path, json={"metadata": {"k": 1}}).status_code == 400
    assert user("POST", path, json={"meta": {"k": "v"}}).status_code == 400
    assert user("GET", path).json() == {"metadata": {"key4": "changed"}}


# --- delete ---------------------------------------------------------------------------------------


def test_delete_waits_for_the_host_to_remove_the_data(api: Api, host: VolumeHost,
                                                      user: Who) -> None:
    vid = available(user, host)["id"]
    r = user("DELETE", f"/volumes/{vid}")
    assert r.status_code == 202 and r.content == b""
    assert user.show(vid)["status"] == "deleting"
    assert vid not in host.desired()
    host.report([{"id": vid, "size_gb": 1, "snapshots": [], "uploads_done": []}])
    assert user.show(vid)["status"] == "deleting"  # the data is still there
    host.report([])
    assert user("GET", f"/volumes/{vid}").status_code == 404


def test_an_attached_busy_or_snapshotted_volume_is_not_deleted(api: Api, host: VolumeHost,
                                                               user: Who, admin: Who) -> None:
    creating = user.create(1)
    r = user("DELETE", f"/volumes/{creating['id']}")
    assert r.status_code == 400
    assert r.json() == {"badRequest": {"code": 400, "message": DELETE_REFUSED}}
    host.settle()
    vid = creating["id"]
    r = admin("POST", f"/volumes/{vid}/action",
              json={"os-reset_status": {"status": "in-use", "attach_status": "attached"}})
    assert r.status_code == 202, r.text
    assert user("DELETE", f"/volumes/{vid}").json()["badRequest"]["message"] == DELETE_REFUSED
    admin("POST", f"/volumes/{vid}/action",
          json={"os-reset_status": {"status": "available", "attach_status": "detached"}})
    snap = insert_snapshot(api, user.show(vid), user.project_id)
    assert user("DELETE", f"/volumes/{vid}").json()["badRequest"]["message"] == DELETE_REFUSED
    assert user.show(vid)["status"] == "available"
    assert user("DELETE", f"/volumes/{vid}?cascade=true").status_code == 202
    assert vid not in host.desired()
    host.report([])
    assert user("GET", f"/volumes/{vid}").status_code == 404
    with api.cloud.db.transaction() as s:
        assert s.get(vm.VolumeSnapshot, snap) is None


# --- zones and extensions -------------------------------------------------------------------------


def test_zones_default_to_nova_and_extensions_are_listed(api: Api, user: Who) -> None:
    assert user("GET", "/os-availability-zone").json() == {"availabilityZoneInfo": [
        {"zoneName": "nova", "zoneState": {"available": True}}]}
    extensions = user("GET", "/extensions").json()["extensions"]
    aliases = {e["alias"] for e in extensions}
    assert {"os-vol-tenant-attr", "os-volume-actions", "os-availability-zone"} <= aliases
    assert all(set(e) == {"name", "alias", "description", "links", "updated"}
               for e in extensions)
    assert api.client.get(f"/volume/v3/{user.project_id}/extensions").status_code == 401
