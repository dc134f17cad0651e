"""Nova's image proxy: Glance images seen through ``/compute/v2.1/images`` before 2.36."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.conftest import Api
from tests.api.test_compute import Host, boot, host, nova  # noqa: F401  (the host fixture)

DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
DETAIL_KEYS = {"id", "name", "status", "progress", "created", "updated", "minDisk", "minRam",
               "metadata", "links", "OS-EXT-IMG-SIZE:size"}


def glance_image(api: Api, token: dict[str, str], name: str, upload: bool = True,
                 **attrs: Any) -> str:
    r = api.client.post("/image/v2/images", headers=token, json={
        "name": name, "disk_format": "raw", "container_format": "bare", **attrs})
    assert r.status_code == 201, r.text
    image_id = str(r.json()["id"])
    if upload:
        r = api.client.put(f"/image/v2/images/{image_id}/file", content=b"\0" * 1024,
                           headers={**token, "Content-Type": "application/octet-stream"})
        assert r.status_code == 204, r.text
    return image_id


def proxy(api: Api, method: str, path: str, token: dict[str, str], version: str = "2.1",
          **kwargs: Any) -> httpx.Response:
    return nova(api, method, path, token, version, **kwargs)


def test_an_image_is_shown_in_novas_shape(api: Api) -> None:
    image_id = glance_image(api, api.admin, "tiny", visibility="public", min_ram=64,
                            min_disk=1, os_distro="cirros")
    r = proxy(api, "GET", f"/images/{image_id}", api.admin)
    assert r.status_code == 200, r.text
    image = r.json()["image"]
    assert set(image) == DETAIL_KEYS
    assert (image["name"], image["status"], image["progress"]) == ("tiny", "ACTIVE", 100)
    assert (image["minRam"], image["minDisk"], image["OS-EXT-IMG-SIZE:size"]) == (64, 1, 1024)
    assert image["metadata"] == {"os_distro": "cirros"}
    assert DATE.match(image["created"]) and DATE.match(image["updated"])
    links = {link["rel"]: link for link in image["links"]}
    assert links["self"]["href"].endswith(f"/compute/v2.1/images/{image_id}")
    assert links["bookmark"]["href"].endswith(f"/compute/images/{image_id}")
    assert links["alternate"]["href"].endswith(f"/image/images/{image_id}")
    assert links["alternate"]["type"] == "application/vnd.openstack.image"


def test_an_image_without_data_is_saving_at_a_quarter(api: Api) -> None:
    image_id = glance_image(api, api.admin, "empty", upload=False)
    image = proxy(api, "GET", f"/images/{image_id}", api.admin).json()["image"]
    assert (image["status"], image["progress"], image["OS-EXT-IMG-SIZE:size"]) == (
        "SAVING", 25, None)


def test_a_server_snapshot_names_its_server_and_is_found_by_server_and_type(
        api: Api, host: Host) -> None:
    server_id = boot(api, api.admin).json()["server"]["id"]
    host.report({server_id: "running"})
    r = nova(api, "POST", f"/servers/{server_id}/action", api.admin, "2.1",
             json={"createImage": {"name": "snap ₡", "metadata": {"image_type": "test"}}})
    assert r.status_code == 202, r.text
    snap_id = r.headers["location"].rsplit("/", 1)[1]
    image = proxy(api, "GET", f"/images/{snap_id}", api.admin).json()["image"]
    assert image["name"] == "snap ₡" and image["status"] == "SAVING"
    assert image["server"]["id"] == server_id
    assert image["server"]["links"][0]["href"].endswith(f"/servers/{server_id}")
    assert image["metadata"]["instance_uuid"] == server_id
    # The caller's metadata wins over the image_type createImage sets, as in Nova (Tempest's
    # test_create_delete_image reads it back); the type filter names that property.
    assert image["metadata"]["image_type"] == "test"
    by_type = proxy(api, "GET", "/images?type=test", api.admin).json()["images"]
    assert [i["id"] for i in by_type] == [snap_id]
    assert proxy(api, "GET", "/images?type=snapshot", api.admin).json()["images"] == []
    for server in (server_id, f"http://x/compute/v2.1/servers/{server_id}"):
        found = proxy(api, "GET", f"/images/detail?server={server}", api.admin).json()
        assert [i["id"] for i in found["images"]] == [snap_id]


def test_lists_filter_and_page_like_nova(api: Api) -> None:
    _, _, member = api.user_in_project()
    small = glance_image(api, member, "small", min_ram=128)
    big = glance_image(api, member, "big", min_ram=1024, min_disk=10)
    waiting = glance_image(api, member, "waiting", upload=False)
    brief = proxy(api, "GET", "/images", member).json()["images"]
    assert {i["id"] for i in brief} == {small, big, waiting}
    assert all(set(i) == {"id", "name", "links"} for i in brief)
    detail = proxy(api, "GET", "/images/detail", member).json()["images"]
    assert all(set(i) == DETAIL_KEYS for i in detail)

    def ids(query: str) -> set[str]:
        r = proxy(api, "GET", f"/images/detail?{query}", member)
        assert r.status_code == 200, r.text
        return {i["id"] for i in r.json()["images"]}

    assert ids("name=big") == {big}
    assert ids("status=ACTIVE") == {small, big}
    assert ids("minRam=128") == {small, big}
    assert ids("minRam=512&minDisk=5") == {big}
    assert ids("changes-since=2000-01-01T00:00:00Z") == {small, big, waiting}
    assert ids("changes-since=2999-01-01T00:00:00Z") == set()
    assert ids("unknown=1") == {small, big, waiting}

    first = proxy(api, "GET", "/images?limit=2", member).json()
    assert len(first["images"]) == 2
    next_href = first["images_links"][0]["href"]
    assert first["images_links"][0]["rel"] == "next" and "marker=" in next_href
    rest = proxy(api, "GET", "/images?" + next_href.split("?", 1)[1], member).json()
    assert len(rest["images"]) == 1 and "images_links" not in rest
    assert {i["id"] for i in first["images"] + rest["images"]} == {small, big, waiting}


def test_bad_list_queries_are_400(api: Api) -> None:
    for query in ("limit=-1", "limit=x", "minRam=x", "minDisk=-2", "changes-since=yesterday",
                  "marker=00000000-0000-0000-0000-000000000000"):
        r = proxy(api, "GET", f"/images/detail?{query}", api.admin)
        assert r.status_code == 400, query
        assert "badRequest" in r.json()


def test_the_proxy_is_gone_from_2_36(api: Api) -> None:
    image_id = glance_image(api, api.admin, "tiny", visibility="public")
    for method, path in (("GET", "/images"), ("GET", "/images/detail"),
                         ("GET", f"/images/{image_id}"), ("DELETE", f"/images/{image_id}"),
                         ("GET", f"/images/{image_id}/metadata")):
        r = proxy(api, method, path, api.admin, "2.36")
        assert r.status_code == 404 and "itemNotFound" in r.json(), (method, path)
    assert proxy(api, "GET", f"/images/{image_id}", api.admin, "2.35").status_code == 200
    assert proxy(api, "GET", "/images", {}, "2.36").status_code == 401


def test_another_projects_private_image_is_not_found(api: Api) -> None:
    _, _, owner = api.user_in_project()
    _, _, stranger = api.user_in_project()
    private = glance_image(api, owner, "mine", visibility="private")
    for method, path, body in (("GET", f"/images/{private}", None),
                               ("DELETE", f"/images/{private}", None),
                               ("GET", f"/images/{private}/metadata", None),
                               ("POST", f"/images/{private}/metadata", {"metadata": {"a": "b"}}),
                               ("PUT", f"/images/{private}/metadata/a", {"meta": {"a": "b"}}),
                               ("DELETE", f"/images/{private}/metadata/a", None)):
        r = proxy(api, method, path, stranger, json=body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json() == {"itemNotFound": {"code": 404, "message": "Image not found."}}
    assert private not in {i["id"] for i in
                           proxy(api, "GET", "/images", stranger).json()["images"]}
    assert proxy(api, "GET", f"/images/{private}", owner).status_code == 200


def test_a_reader_sees_but_cannot_delete_and_the_owner_can(api: Api) -> None:
    _, project_id, member = api.user_in_project()
    project = api.request("GET", f"/projects/{project_id}", api.admin).json()["project"]["name"]
    _, _, reader = api.user_in_project("reader", project)
    image_id = glance_image(api, member, "ours", os_distro="cirros")
    assert proxy(api, "GET", f"/images/{image_id}", reader).status_code == 200
    r = proxy(api, "DELETE", f"/images/{image_id}", reader)
    assert r.status_code == 403 and "forbidden" in r.json()
    r = proxy(api, "POST", f"/images/{image_id}/metadata", reader,
              json={"metadata": {"a": "b"}})
    assert r.status_code == 403
    r = proxy(api, "DELETE", f"/images/{image_id}/metadata/os_distro", reader)
    assert r.status_code == 403
    assert proxy(api, "GET", f"/images/{image_id}/metadata", member).json() == {
        "metadata": {"os_distro": "cirros"}}
    assert proxy(api, "DELETE", f"/images/{image_id}", member).status_code == 204
    assert proxy(api, "GET", f"/images/{image_id}", member).status_code == 404
    assert api.client.get(f"/image/v2/images/{image_id}", headers=member).status_code == 404


def test_a_protected_image_cannot_be_deleted(api: Api) -> None:
    image_id = glance_image(api, api.admin, "keep", protected=True)
    assert proxy(api, "DELETE", f"/images/{image_id}", api.admin).status_code == 403
    assert proxy(api, "GET", f"/images/{image_id}", api.admin).status_code == 200


def test_metadata_merges_replaces_and_edits_one_key(api: Api) -> None:
    _, _, member = api.user_in_project()
    image_id = glance_image(api, member, "meta", os_distro="cirros", kernel="k1")
    base = f"/images/{image_id}/metadata"
    r = proxy(api, "POST", base, member, json={"metadata": {"kernel": "k2", "ramdisk": "r"}})
    assert r.status_code == 200, r.text
    assert r.json() == {"metadata": {"os_distro": "cirros", "kernel": "k2", "ramdisk": "r"}}
    r = proxy(api, "PUT", base, member, json={"metadata": {"only": "this"}})
    assert r.json() == {"metadata": {"only": "this"}}
    assert proxy(api, "GET", base, member).json() == {"metadata": {"only": "this"}}
    r = proxy(api, "PUT", f"{base}/color", member, json={"meta": {"color": "red"}})
    assert r.status_code == 200 and r.json() == {"meta": {"color": "red"}}
    assert proxy(api, "GET", f"{base}/color", member).json() == {"meta": {"color": "red"}}
    glance = api.client.get(f"/image/v2/images/{image_id}", headers=member).json()
    assert (glance["color"], glance["only"]) == ("red", "this") and "os_distro" not in glance
    assert proxy(api, "DELETE", f"{base}/color", member).status_code == 204
    assert proxy(api, "GET", f"{base}/color", member).status_code == 404
    assert proxy(api, "DELETE", f"{base}/color", member).status_code == 404
    assert proxy(api, "GET", base, member).json() == {"metadata": {"only": "this"}}


def test_bad_metadata_requests_are_refused_and_change_nothing(api: Api) -> None:
    _, _, member = api.user_in_project()
    image_id = glance_image(api, member, "meta", os_distro="cirros")
    base = f"/images/{image_id}/metadata"
    for method, path, body in (
            ("POST", base, {"meta": {"a": "b"}}),
            ("POST", base, {"metadata": {"a": 1}}),
            ("PUT", base, {"metadata": {"": "b"}}),
            ("PUT", base, {"metadata": {"name": "renamed"}}),
            ("PUT", f"{base}/a", {"meta": {"b": "c"}}),
            ("PUT", f"{base}/a", {"meta": {"a": "b", "c": "d"}}),
            ("PUT", f"{base}/a", {"meta": {}})):
        r = proxy(api, method, path, member, json=body)
        assert r.status_code == 400 and "badRequest" in r.json(), (method, path, body, r.text)
    too_many = {f"k{i}": "v" for i in range(129)}
    r = proxy(api, "POST", base, member, json={"metadata": too_many})
    assert r.status_code == 403 and "metadata" in r.json()["forbidden"]["message"]
    assert proxy(api, "GET", base, member).json() == {"metadata": {"os_distro": "cirros"}}
    image = proxy(api, "GET", f"/images/{image_id}", member).json()["image"]
    assert image["name"] == "meta"
