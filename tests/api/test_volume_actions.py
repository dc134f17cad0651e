"""Volume actions through ``POST /volumes/{id}/action``: extend (offline, and live from 3.42),
bootable and read-only flags, upload to an image, the admin actions, the status flips and the
image metadata actions — with the volume host of ``test_volumes`` reporting."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api
from tests.api.test_volumes import VolumeHost, Who, available, who


def act(caller: Who, volume_id: str, name: str, args: Any = None, version: str = "3.44"
        ) -> httpx.Response:
    return caller("POST", f"/volumes/{volume_id}/action", version=version,
                  json={name: args if args is not None else {}})


def test_extend_grows_an_available_volume_once_its_host_reports_the_size(
        api: Api, host: VolumeHost, user: Who) -> None:
    vid = available(user, host)["id"]
    r = act(user, vid, "os-extend", {"new_size": 3})
    assert r.status_code == 202 and r.content == b""
    shown = user.show(vid)
    assert (shown["status"], shown["size"]) == ("extending", 3)
    assert host.desired()[vid]["size_gb"] == 3
    host.report([{"id": vid, "size_gb": 1, "snapshots": [], "uploads_done": []}])
    assert user.show(vid)["status"] == "extending"  # not grown yet
    host.settle()
    shown = user.show(vid)
    assert (shown["status"], shown["size"]) == ("available", 3)


def test_a_failed_extend_leaves_the_volume_in_error_extending_at_its_old_size(
        api: Api, host: VolumeHost, user: Who) -> None:
    vid = available(user, host)["id"]
    act(user, vid, "os-extend", {"new_size": 2})
    host.report([{"id": vid, "size_gb": 1, "snapshots": [], "uploads_done": [],
                  "error": "no space left"}])
    shown = user.show(vid)
    assert (shown["status"], shown["size"]) == ("error_extending", 1)


@pytest.mark.parametrize("new_size", [0, 1, "abc", None, -2, True])
def test_extend_to_no_bigger_or_a_non_number_is_400(api: Api, host: VolumeHost, user: Who,
                                                    new_size: Any) -> None:
    vid = available(user, host)["id"]
    r = act(user, vid, "os-extend", {"new_size": new_size})
    assert r.status_code == 400, r.text
    assert user.show(vid)["status"] == "available"


def test_an_in_use_volume_is_extended_live_only_from_3_42(api: Api, host: VolumeHost,
                                                          user: Who, admin: Who) -> None:
    vid = available(user, host)["id"]
    act(admin, vid, "os-reset_status", {"status": "in-use", "attach_status": "attached"})
    r = act(user, vid, "os-extend", {"new_size": 2}, version="3.41")
    assert r.status_code == 400 and "must be 'available'" in r.text
    assert act(user, vid, "os-extend", {"new_size": 2}, version="3.42").status_code == 202
    host.settle()
    assert user.show(vid)["status"] == "in-use"


def test_extend_beyond_the_gigabytes_quota_is_413(api: Api, host: VolumeHost, user: Who,
                                                  admin: Who) -> None:
    vid = available(user, host, 2)["id"]
    admin("PUT", f"/os-quota-sets/{user.project_id}", json={"quota_set": {"gigabytes": 4}})
    r = act(user, vid, "os-extend", {"new_size": 5})
    assert r.status_code == 413 and "overLimit" in r.json()
    assert act(user, vid, "os-extend", {"new_size": 4}).status_code == 202


def test_bootable_and_readonly_flags_show_in_the_volume(api: Api, host: VolumeHost,
                                                       user: Who) -> None:
    vid = available(user, host)["id"]
    for flag in (True, False):
        assert act(user, vid, "os-set_bootable", {"bootable": flag}).status_code == 200
        assert user.show(vid)["bootable"] == str(flag).lower()
        assert act(user, vid, "os-update_readonly_flag",
                   {"readonly": flag}).status_code == 202
        assert user.show(vid)["metadata"]["readonly"] == str(flag)
    assert act(user, vid, "os-set_bootable", {"bootable": "maybe"}).status_code == 400
    assert act(user, vid, "os-set_bootable", {}).status_code == 400
    assert act(user, vid, "os-update_readonly_flag", {}).status_code == 400
    assert user("GET", f"/volumes/{vid}/metadata").json() == {"metadata": {}}


def test_upload_to_image_makes_a_saving_image_the_host_fills(api: Api, host: VolumeHost,
                                                              user: Who) -> None:
    vid = available(user, host, 2, name="disk")["id"]
    r = act(user, vid, "os-volume_upload_image", {"image_name": "from-volume",
                                                  "disk_format": "qcow2"})
    assert r.status_code == 202, r.text
    out = r.json()["os-volume_upload_image"]
    assert out["id"] == vid and out["status"] == "uploading" and out["size"] == 2
    assert out["image_name"] == "from-volume" and out["disk_format"] == "qcow2"
    assert out["container_format"] == "bare" and out["volume_type"]["name"] == "__DEFAULT__"
    image = api.client.get(f"/image/v2/images/{out['image_id']}", headers=user.token).json()
    assert image["status"] == "saving" and image["owner"] == user.project_id
    assert image["visibility"] == "private" and image["disk_format"] == "qcow2"
    assert user.show(vid)["status"] == "uploading"
    uploads = host.desired()[vid]["uploads"]
    assert [(u["image_id"], u["disk_format"]) for u in uploads] == [(out["image_id"], "qcow2")]
    assert uploads[0]["upload_url"].endswith(f"/internal/v1/images/{out['image_id']}/file")
    r = act(user, vid, "os-volume_upload_image", {"image_name": "again"})
    assert r.status_code == 400  # busy uploading
    host.settle()
    assert user.show(vid)["status"] == "available"
    assert host.desired()[vid]["uploads"] == []


def test_upload_refuses_other_formats_and_in_use_volumes_without_force(
        api: Api, host: VolumeHost, user: Who, admin: Who) -> None:
    vid = available(user, host)["id"]
    images_before = api.client.get("/image/v2/images", headers=user.token).json()["images"]
    r = act(user, vid, "os-volume_upload_image", {"image_name": "x", "disk_format": "vmdk"})
    assert r.status_code == 400 and "vmdk" in r.text
    assert act(user, vid, "os-volume_upload_image", {}).status_code == 400
    act(admin, vid, "os-reset_status", {"status": "in-use", "attach_status": "attached"})
    r = act(user, vid, "os-volume_upload_image", {"image_name": "x"})
    assert r.status_code == 400
    assert api.client.get("/image/v2/images",
                          headers=user.token).json()["images"] == images_before
    r = act(user, vid, "os-volume_upload_image", {"image_name": "x", "force": True})
    assert r.status_code == 202
    host.settle()
    assert user.show(vid)["status"] == "in-use"


def test_admin_actions_are_refused_to_members(api: Api, host: VolumeHost, user: Who,
                                              admin: Who) -> None:
    vid = available(user, host)["id"]
    for name, args in (("os-reset_status", {"status": "error"}), ("os-force_delete", {}),
                       ("os-force_detach", {})):
        r = act(user, vid, name, args)
        assert r.status_code == 403, (name, r.text)
    assert user.show(vid)["status"] == "available"
    assert act(admin, vid, "os-reset_status", {"status": "bogus"}).status_code == 400
    assert act(admin, vid, "os-reset_status", {"attach_status": "half"}).status_code == 400
    assert act(admin, vid, "os-reset_status", {"status": "error"}).status_code == 202
    assert user.show(vid)["status"] == "error"
    assert act(admin, vid, "os-force_delete", {}).status_code == 202
    assert user.show(vid)["status"] == "deleting"
    host.report([])
    assert user("GET", f"/volumes/{vid}").status_code == 404


def test_reserve_and_unreserve_flip_the_status(api: Api, host: VolumeHost, user: Who) -> None:
    vid = available(user, host)["id"]
    assert act(user, vid, "os-reserve").status_code == 202
    assert user.show(vid)["status"] == "attaching"
    assert act(user, vid, "os-reserve").status_code == 400
    assert act(user, vid, "os-unreserve").status_code == 202
    assert user.show(vid)["status"] == "available"
    assert act(user, str(uuid.uuid4()), "os-reserve").status_code == 404
    assert act(user, str(uuid.uuid4()), "os-unreserve").status_code == 404


def test_unknown_actions_bad_bodies_and_other_projects(api: Api, host: VolumeHost,
                                                       user: Who) -> None:
    vid = available(user, host)["id"]
    assert act(user, vid, "os-fly").status_code == 400
    r = user("POST", f"/volumes/{vid}/action", json={"os-extend": {"new_size": 2},
                                                     "os-reserve": {}})
    assert r.status_code == 400
    assert act(user, str(uuid.uuid4()), "os-extend", {"new_size": 2}).status_code == 404
    assert act(user, "None", "os-extend", {"new_size": 2}).status_code == 404
    other = who(api)
    assert act(other, vid, "os-extend", {"new_size": 2}).status_code == 404
    assert act(other, vid, "os-set_bootable", {"bootable": True}).status_code == 404
    assert user.show(vid)["size"] == 1 and user.show(vid)["bootable"] == "false"


def test_image_metadata_actions_show_set_and_unset(api: Api, host: VolumeHost,
                                                   user: Who) -> None:
    from tests.api.test_compute import image_id

    vid = user.create(1, imageRef=image_id(api))["id"]
    host.settle()
    shown = act(user, vid, "os-show_image_metadata").json()["metadata"]
    assert shown["image_name"] == "cirros"
    r = act(user, vid, "os-set_image_metadata", {"metadata": {"hw_disk_bus": "virtio"}})
    assert r.status_code == 200 and r.json()["metadata"]["hw_disk_bus"] == "virtio"
    assert user.show(vid)["volume_image_metadata"]["hw_disk_bus"] == "virtio"
    assert act(user, vid, "os-unset_image_metadata", {"key": "hw_disk_bus"}).status_code == 200
    assert "hw_disk_bus" not in user.show(vid)["volume_image_metadata"]
    assert act(user, vid, "os-unset_image_metadata", {"key": "nope"}).status_code == 404


def test_a_raw_upload_written_by_the_host_makes_the_image_active(api: Api, host: VolumeHost,
                                                                  user: Who) -> None:
    vid = available(user, host)["id"]
    out = act(user, vid, "os-volume_upload_image",
              {"image_name": "raw-copy", "disk_format": "raw"}).json()["os-volume_upload_image"]
    upload = host.desired()[vid]["uploads"][0]
    assert upload["disk_format"] == "raw"
    r = api.client.put(upload["upload_url"].removeprefix("http://127.0.0.1:8000"),
                       headers={**host.headers, "Content-Type": "application/octet-stream"},
                       content=b"\0" * 65536)
    assert r.status_code == 204, r.text
    host.settle()
    image = api.client.get(f"/image/v2/images/{out['image_id']}", headers=user.token).json()
    assert (image["status"], image["disk_format"], image["size"]) == ("active", "raw", 65536)
    assert user.show(vid)["status"] == "available"
    # Only the volume's host may write it, and only while the upload is pending.
    r = api.client.put(upload["upload_url"].removeprefix("http://127.0.0.1:8000"),
                       headers={**host.headers, "Content-Type": "application/octet-stream"},
                       content=b"\0" * 512)
    assert r.status_code in (403, 409)


def test_force_detach_ends_a_reservation_and_frees_the_volume(api: Api, host: VolumeHost,
                                                              user: Who, admin: Who) -> None:
    vid = available(user, host)["id"]
    r = user("POST", "/attachments", version="3.27",
             json={"attachment": {"volume_uuid": vid}})
    assert r.status_code == 200, r.text
    attachment_id = r.json()["attachment"]["id"]
    assert user.show(vid)["status"] == "reserved"
    assert user("DELETE", f"/volumes/{vid}").status_code == 400
    r = act(admin, vid, "os-force_detach", {"attachment_id": str(uuid.uuid4())})
    assert r.status_code == 404
    r = act(admin, vid, "os-force_detach", {"attachment_id": attachment_id})
    assert r.status_code == 202, r.text
    assert user.show(vid)["status"] == "available"
    assert user("DELETE", f"/volumes/{vid}").status_code == 202
