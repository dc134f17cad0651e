"""Images: records, data in and out, formats checked, sharing, and what others may not do."""

from __future__ import annotations

import hashlib
import pathlib
import subprocess
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {"Content-Type": "application/octet-stream"}


def img(api: Api, method: str, path: str, token: dict[str, str], **kwargs: Any
        ) -> httpx.Response:
    headers = {**token, **kwargs.pop("headers", {})}
    return api.client.request(method, "/image/v2" + path, headers=headers, **kwargs)


def create(api: Api, token: dict[str, str], **values: Any) -> dict[str, Any]:
    r = img(api, "POST", "/images", token, json={"disk_format": "raw",
                                                  "container_format": "bare", **values})
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture
def qcow2(tmp_path: pathlib.Path) -> bytes:
    path = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True)
    return path.read_bytes()


def test_the_image_root_lists_v2_versions(api: Api) -> None:
    r = api.client.get("/image")
    assert r.status_code == 300
    assert r.json()["versions"][0]["id"].startswith("v2.")


def test_an_image_is_created_queued_with_glances_fields(api: Api) -> None:
    image = create(api, api.admin, name="img1", tags=["a"], color="blue")
    assert image["status"] == "queued" and image["visibility"] == "shared"
    assert image["color"] == "blue" and image["tags"] == ["a"]
    assert image["self"] == f"/v2/images/{image['id']}" and image["size"] is None
    assert image["created_at"].endswith("Z")


def test_upload_and_download_round_trip_with_checksums_and_virtual_size(
        api: Api, qcow2: bytes) -> None:
    admin = api.admin
    image = create(api, admin, name="disk", disk_format="qcow2")
    r = img(api, "PUT", f"/images/{image['id']}/file", admin, content=qcow2, headers=OCTETS)
    assert r.status_code == 204, r.text
    shown = img(api, "GET", f"/images/{image['id']}", admin).json()
    assert shown["status"] == "active"
    assert shown["size"] == len(qcow2) and shown["virtual_size"] == 16 << 20
    assert shown["checksum"] == hashlib.md5(qcow2).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(qcow2).hexdigest()
    r = img(api, "GET", f"/images/{image['id']}/file", admin)
    assert r.status_code == 200 and r.content == qcow2
    assert r.headers["content-md5"] == shown["checksum"]


def test_a_second_upload_to_an_active_image_is_409(api: Api) -> None:
    admin = api.admin
    image = create(api, admin)
    path = f"/images/{image['id']}/file"
    assert img(api, "PUT", path, admin, content=b"x" * 100, headers=OCTETS).status_code == 204
    r = img(api, "PUT", path, admin, content=b"y" * 100, headers=OCTETS)
    assert r.status_code == 409
    assert img(api, "GET", path, admin).content == b"x" * 100


def test_downloading_before_upload_is_204_no_content(api: Api) -> None:
    image = create(api, api.admin)
    r = img(api, "GET", f"/images/{image['id']}/file", api.admin)
    assert r.status_code == 204 and r.content == b""


def test_a_qcow2_uploaded_as_raw_is_refused_and_leaves_the_image_queued(
        api: Api, qcow2: bytes) -> None:
    admin = api.admin
    image = create(api, admin)
    r = img(api, "PUT", f"/images/{image['id']}/file", admin, content=qcow2, headers=OCTETS)
    assert r.status_code == 400
    assert "qcow2" in r.json()["message"]
    assert img(api, "GET", f"/images/{image['id']}", admin).json()["status"] == "queued"
    assert list(api.cloud.images.root.iterdir()) == []


def test_random_bytes_claimed_as_qcow2_are_refused(api: Api) -> None:
    image = create(api, api.admin, disk_format="qcow2")
    r = img(api, "PUT", f"/images/{image['id']}/file", api.admin, content=b"\x00" * 4096,
            headers=OCTETS)
    assert r.status_code == 400


@pytest.mark.parametrize("values,status", [
    ({"disk_format": "floppy"}, 400),
    ({"container_format": "crate"}, 400),
    ({"visibility": "everyone"}, 400),
    ({"min_ram": -1}, 400),
    ({"protected": "yes"}, 400),
    ({"status": "active"}, 403),
    ({"checksum": "abc"}, 403),
    ({"id": "not-a-uuid"}, 400),
    ({"os_glance_import": "x"}, 403),
])
def test_bad_image_attributes_are_refused_and_nothing_is_created(
        api: Api, values: dict[str, Any], status: int) -> None:
    admin = api.admin
    r = img(api, "POST", "/images", admin, json={"name": "bad", **values})
    assert r.status_code == status, r.text
    assert img(api, "GET", "/images?name=bad", admin).json()["images"] == []


def test_json_patch_adds_replaces_and_removes_but_never_read_only_attributes(api: Api) -> None:
    admin = api.admin
    image = create(api, admin, name="before")
    path = f"/images/{image['id']}"
    r = img(api, "PATCH", path, admin, headers=PATCH, json=[
        {"op": "replace", "path": "/name", "value": "after"},
        {"op": "add", "path": "/os_distro", "value": "debian"},
        {"op": "add", "path": "/tags", "value": ["x", "y"]},
    ])
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["os_distro"], r.json()["tags"]) == (
        "after", "debian", ["x", "y"])
    r = img(api, "PATCH", path, admin, headers=PATCH,
            json=[{"op": "remove", "path": "/os_distro"}])
    assert "os_distro" not in r.json()
    r = img(api, "PATCH", path, admin, headers=PATCH, json=[
        {"op": "replace", "path": "/name", "value": "sneaky"},
        {"op": "replace", "path": "/size", "value": 5}])
    assert r.status_code == 403
    assert img(api, "GET", path, admin).json()["name"] == "after"
    assert img(api, "DELETE", "/images/", admin).status_code == 404
    draft = img(api, "PATCH", path, admin, headers=PATCH, json=[{"replace": "/name",
                                                                  "value": "drafted"}])
    assert draft.json()["name"] == "drafted"
    wrong_type = img(api, "PATCH", path, admin, json=[{"op": "remove", "path": "/name"}])
    assert wrong_type.status_code == 415


def test_a_protected_image_cannot_be_deleted_until_unprotected(api: Api) -> None:
    admin = api.admin
    image = create(api, admin, protected=True)
    path = f"/images/{image['id']}"
    assert img(api, "DELETE", path, admin).status_code == 403
    img(api, "PATCH", path, admin, headers=PATCH,
        json=[{"op": "replace", "path": "/protected", "value": False}])
    assert img(api, "DELETE", path, admin).status_code == 204
    assert img(api, "GET", path, admin).status_code == 404
    assert img(api, "DELETE", path, admin).status_code == 404


def test_deleting_an_image_removes_its_file(api: Api) -> None:
    admin = api.admin
    image = create(api, admin)
    img(api, "PUT", f"/images/{image['id']}/file", admin, content=b"data", headers=OCTETS)
    assert api.cloud.images.exists(image["id"])
    img(api, "DELETE", f"/images/{image['id']}", admin)
    assert not api.cloud.images.exists(image["id"])


def test_tags_are_added_and_removed_one_by_one(api: Api) -> None:
    admin = api.admin
    image = create(api, admin)
    path = f"/images/{image['id']}/tags"
    assert img(api, "PUT", f"{path}/blue", admin).status_code == 204
    assert img(api, "GET", f"/images/{image['id']}", admin).json()["tags"] == ["blue"]
    assert img(api, "DELETE", f"{path}/blue", admin).status_code == 204
    assert img(api, "DELETE", f"{path}/blue", admin).status_code == 404
    assert img(api, "PUT", f"/images/{'0' * 8}-0000-0000-0000-{'0' * 12}/tags/x",
               admin).status_code == 404


def test_lists_filter_sort_and_page(api: Api) -> None:
    admin = api.admin
    ids = []
    for i, size in enumerate((300, 100, 200)):
        image = create(api, admin, name=f"page-{i}", tags=["page"], os_distro="debian")
        img(api, "PUT", f"/images/{image['id']}/file", admin, content=b"z" * size,
            headers=OCTETS)
        ids.append(image["id"])
    listed = img(api, "GET", "/images?tag=page&sort=size:asc", admin).json()["images"]
    assert [i["size"] for i in listed] == [100, 200, 300]
    assert [i["size"] for i in img(api, "GET", "/images?tag=page&size_min=150&size_max=250",
                                   admin).json()["images"]] == [200]
    assert len(img(api, "GET", "/images?os_distro=debian", admin).json()["images"]) == 3
    seen, url = [], "/images?tag=page&limit=2&sort_key=name&sort_dir=asc"
    while url:
        body = img(api, "GET", url, admin).json()
        seen += [i["name"] for i in body["images"]]
        url = body.get("next", "").removeprefix("/v2")
    assert seen == ["page-0", "page-1", "page-2"]
    assert img(api, "GET", "/images?sort_key=secret", admin).status_code == 400


def test_private_images_are_invisible_to_other_projects(api: Api) -> None:
    _, _, alice = api.user_in_project()
    _, _, bob = api.user_in_project()
    image = create(api, alice, name="mine", visibility="private")
    assert img(api, "GET", f"/images/{image['id']}", bob).status_code == 404
    assert img(api, "GET", "/images?name=mine", bob).json()["images"] == []
    assert img(api, "DELETE", f"/images/{image['id']}", bob).status_code == 404


def test_only_admin_publicizes_and_everyone_sees_public_images(api: Api) -> None:
    _, _, alice = api.user_in_project()
    r = img(api, "POST", "/images", alice, json={"name": "pub", "visibility": "public"})
    assert r.status_code == 403
    public = create(api, api.admin, name="pub", visibility="public")
    assert img(api, "GET", f"/images/{public['id']}", alice).status_code == 200
    assert img(api, "DELETE", f"/images/{public['id']}", alice).status_code == 403


def test_sharing_with_a_project_that_accepts(api: Api) -> None:
    _, _, owner = api.user_in_project()
    _, p2, member = api.user_in_project()
    _, _, stranger = api.user_in_project()
    image = create(api, owner, name="shared-img")
    path = f"/images/{image['id']}/members"
    r = img(api, "POST", path, owner, json={"member": p2})
    assert r.status_code == 200 and r.json()["status"] == "pending"
    assert img(api, "POST", path, owner, json={"member": p2}).status_code == 409
    assert img(api, "GET", "/images?name=shared-img", member).json()["images"] == []
    assert img(api, "GET", f"/images/{image['id']}", member).status_code == 200
    assert img(api, "PUT", f"{path}/{p2}", owner, json={"status": "accepted"}).status_code == 403
    r = img(api, "PUT", f"{path}/{p2}", member, json={"status": "accepted"})
    assert r.json()["status"] == "accepted"
    assert len(img(api, "GET", "/images?name=shared-img", member).json()["images"]) == 1
    assert img(api, "GET", f"/images/{image['id']}", stranger).status_code == 404
    assert [m["member_id"] for m in img(api, "GET", path, member).json()["members"]] == [p2]
    assert img(api, "DELETE", f"{path}/{p2}", owner).status_code == 204
    assert img(api, "GET", f"/images/{image['id']}", member).status_code == 404


def test_a_reader_sees_project_images_but_changes_nothing(api: Api) -> None:
    _, project, member = api.user_in_project()
    reader_id, _, reader = api.user_in_project(role="reader", project=api_project_name(api,
                                                                                      project))
    image = create(api, member, name="team")
    assert img(api, "GET", f"/images/{image['id']}", reader).status_code == 200
    assert img(api, "POST", "/images", reader, json={"name": "r"}).status_code == 403
    assert img(api, "DELETE", f"/images/{image['id']}", reader).status_code == 403
    assert reader_id


def api_project_name(api: Api, project_id: str) -> str:
    r = api.client.get(f"/identity/v3/projects/{project_id}", headers=api.admin)
    return str(r.json()["project"]["name"])


def test_the_image_count_quota_is_enforced(api: Api) -> None:
    object.__setattr__(api.cloud.settings, "image_quota_count", 1)
    _, _, member = api.user_in_project()
    create(api, member)
    r = img(api, "POST", "/images", member, json={"name": "two"})
    assert r.status_code == 413
    assert img(api, "GET", "/images?name=two", member).json()["images"] == []


def test_schemas_are_published(api: Api) -> None:
    for name in ("image", "images", "member", "members"):
        assert img(api, "GET", f"/schemas/{name}", api.admin).json()["name"] == name


def test_an_owner_deactivates_an_image_and_then_only_admin_can_download_it(api: Api) -> None:
    _, _, owner = api.user_in_project()
    image = create(api, owner)
    img(api, "PUT", f"/images/{image['id']}/file", owner, content=b"d" * 10, headers=OCTETS)
    base = f"/images/{image['id']}"
    assert img(api, "POST", f"{base}/actions/deactivate", owner).status_code == 204
    assert img(api, "GET", base, owner).json()["status"] == "deactivated"
    assert img(api, "GET", f"{base}/file", owner).status_code == 403
    assert img(api, "POST", f"{base}/actions/reactivate", owner).status_code == 204
    assert img(api, "GET", f"{base}/file", owner).content == b"d" * 10
