"""Servers that boot from a volume (block_device_mapping_v2, and the legacy mapping): the
volume is made on the server's host, becomes its root disk, and goes with it when asked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Api
from tests.api.test_compute import image_id, nova, show
from tests.api.test_volume_attachments import Tenant, VolumeHost, cinder


@pytest.fixture
def host(api: Api) -> VolumeHost:
    return VolumeHost(api)


@pytest.fixture
def tenant(api: Api) -> Tenant:
    return Tenant(api)


def create(api: Api, tenant: Tenant, mappings: list[dict[str, Any]], version: str = "2.26",
           **extra: Any) -> httpx.Response:
    return nova(api, "POST", "/servers", tenant.token, version, json={"server": {
        "name": "bfv", "flavorRef": "1", "networks": "none",
        "block_device_mapping_v2": mappings, **extra}})


def from_image(api: Api, size: int = 1, delete: bool = True) -> dict[str, Any]:
    """What `openstack server create --image … --boot-from-volume <size>` sends."""
    return {"uuid": image_id(api), "boot_index": 0, "source_type": "image",
            "destination_type": "volume", "volume_size": size, "delete_on_termination": delete}


def volumes_of(tenant: Tenant) -> list[dict[str, Any]]:
    r = cinder(tenant.api, "GET", "/volumes/detail", tenant.token, tenant.project)
    assert r.status_code == 200, r.text
    return list(r.json()["volumes"])


def servers_of(api: Api, tenant: Tenant) -> list[dict[str, Any]]:
    return list(nova(api, "GET", "/servers", tenant.token).json()["servers"])


def test_a_server_boots_from_a_volume_made_from_an_image_and_takes_it_along(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    r = create(api, tenant, [from_image(api, size=2)])
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    [volume] = volumes_of(tenant)
    assert (volume["size"], volume["status"], volume["bootable"]) == (2, "creating", "true")
    assert host.desired()["servers"] == []  # it waits for its root volume

    doc = host.converge()
    [server] = doc["servers"]
    assert (server["image"], server["root_gb"]) == (None, 0)
    assert server["volumes"] == [{"volume_id": volume["id"], "backend": "file",
                                  "connection": {}, "serial": volume["id"][:20],
                                  "read_only": False, "boot_index": 0}]
    body = show(api, tenant.token, server_id, "2.3")
    assert (body["status"], body["image"]) == ("ACTIVE", "")
    assert body["os-extended-volumes:volumes_attached"] == [
        {"id": volume["id"], "delete_on_termination": True}]
    shown = tenant.show_volume(volume["id"])
    assert (shown["status"], shown["attachments"][0]["device"]) == ("in-use", "/dev/vda")
    limits = nova(api, "GET", "/os-hypervisors/detail", api.admin).json()
    assert limits["hypervisors"][0]["local_gb_used"] == 0

    root = tenant.detach(server_id, volume["id"])
    assert root.status_code == 400, root.text
    assert "root device" in root.json()["badRequest"]["message"]
    for action in ({"createImage": {"name": "snap"}},
                   {"rebuild": {"imageRef": image_id(api)}}):
        refused = nova(api, "POST", f"/servers/{server_id}/action", tenant.token, json=action)
        assert refused.status_code == 409, refused.text

    assert nova(api, "DELETE", f"/servers/{server_id}", tenant.token).status_code == 204
    assert tenant.show_volume(volume["id"])["status"] == "detaching"  # until the VM is gone
    host.converge()
    assert cinder(api, "GET", f"/volumes/{volume['id']}", tenant.token,
                  tenant.project).status_code == 404
    assert host.desired().get("volumes") == []


def test_a_volume_kept_after_termination_is_available_again(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    server_id = create(api, tenant, [from_image(api, delete=False)]).json()["server"]["id"]
    host.converge()
    [volume] = volumes_of(tenant)
    nova(api, "DELETE", f"/servers/{server_id}", tenant.token)
    host.converge()
    assert tenant.show_volume(volume["id"])["status"] == "available"


def test_a_server_boots_from_an_existing_volume_on_the_volumes_host(
        api: Api, tenant: Tenant) -> None:
    """What `openstack server create --volume <vol>` sends."""
    one = VolumeHost(api, "cn1")
    tenant.volume(one)
    two = VolumeHost(api, "cn2")
    volume_id = tenant.volume(two, imageRef=image_id(api))  # lands on cn2 (fewer GiB)
    r = create(api, tenant, [{"uuid": volume_id, "boot_index": 0, "source_type": "volume",
                              "destination_type": "volume"}])
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    assert show(api, api.admin, server_id)["OS-EXT-SRV-ATTR:host"] == "cn2"
    two.converge()
    assert show(api, tenant.token, server_id)["status"] == "ACTIVE"
    assert tenant.show_volume(volume_id)["status"] == "in-use"
    assert show(api, tenant.token, server_id, "2.3")["os-extended-volumes:volumes_attached"] \
        == [{"id": volume_id, "delete_on_termination": False}]

    nova(api, "DELETE", f"/servers/{server_id}", tenant.token)
    two.converge()
    assert tenant.show_volume(volume_id)["status"] == "available"


def test_the_legacy_block_device_mapping_boots_from_a_volume(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    volume_id = tenant.volume(host, imageRef=image_id(api))
    r = nova(api, "POST", "/servers", tenant.token, json={"server": {
        "name": "legacy", "flavorRef": "1", "imageRef": "", "networks": "none",
        "block_device_mapping": [{"volume_id": volume_id, "device_name": "vda"}]}})
    assert r.status_code == 202, r.text
    host.converge()
    assert tenant.show_volume(volume_id)["status"] == "in-use"


def test_an_image_boot_with_the_clients_local_mapping_is_a_plain_image_boot(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    """`openstack server create --image` sends the image as a local boot_index-0 mapping."""
    image = image_id(api)
    r = create(api, tenant, [{"uuid": image, "boot_index": 0, "source_type": "image",
                              "destination_type": "local", "delete_on_termination": True}],
               imageRef=image)
    assert r.status_code == 202, r.text
    [server] = host.converge()["servers"]
    assert (server["image"]["id"], server["volumes"]) == (image, [])
    assert volumes_of(tenant) == []


def test_extra_volumes_are_attached_at_boot_after_the_root_disk(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    data = tenant.volume(host)
    r = create(api, tenant, [from_image(api), {
        "uuid": data, "source_type": "volume", "destination_type": "volume",
        "boot_index": -1}, {"source_type": "blank", "destination_type": "volume",
                            "volume_size": 1, "delete_on_termination": True}])
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    [server] = host.converge()["servers"]
    assert [v["boot_index"] for v in server["volumes"]] == [0, -1, None]
    devices = [a["device"] for a in tenant.attachments(server_id)]
    assert devices == ["/dev/vda", "/dev/vdb", "/dev/vdc"]
    assert {v["status"] for v in volumes_of(tenant)} == {"in-use"}


@pytest.mark.parametrize("mappings,message", [
    ([{"source_type": "floppy", "uuid": "x", "boot_index": 0}], "source_type"),
    ([{"source_type": "volume", "destination_type": "volume", "boot_index": 0}], "UUID"),
    ([{"source_type": "volume", "destination_type": "volume", "boot_index": 0,
       "uuid": "6f1d1c53-35a7-4c0b-9c1e-4c1e0a2b9d11"}], "failed to get volume"),
    ([{"source_type": "blank", "destination_type": "volume", "volume_size": 1,
       "boot_index": 1}], "Boot sequence"),
    ([{"source_type": "image", "destination_type": "volume", "boot_index": 0,
       "uuid": "6f1d1c53-35a7-4c0b-9c1e-4c1e0a2b9d11", "volume_size": 1}], "could not be found"),
    ([{"source_type": "volume", "destination_type": "volume", "boot_index": 0,
       "uuid": "6f1d1c53-35a7-4c0b-9c1e-4c1e0a2b9d11", "colour": "red"}], "Additional"),
])
def test_bad_mappings_are_400_and_make_nothing(
        api: Api, host: VolumeHost, tenant: Tenant, mappings: list[dict[str, Any]],
        message: str) -> None:
    r = create(api, tenant, mappings)
    assert r.status_code == 400, r.text
    assert message in r.json()["badRequest"]["message"]
    assert servers_of(api, tenant) == [] and volumes_of(tenant) == []


def test_an_in_use_or_foreign_volume_cannot_be_booted_from(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    volume_id = tenant.volume(host, imageRef=image_id(api))
    boot_it = [{"uuid": volume_id, "boot_index": 0, "source_type": "volume",
                "destination_type": "volume"}]
    assert create(api, tenant, boot_it).status_code == 202
    host.converge()
    again = create(api, tenant, boot_it)
    assert again.status_code == 400, again.text
    other = Tenant(api)
    foreign = nova(api, "POST", "/servers", other.token, json={"server": {
        "name": "x", "flavorRef": "1", "networks": "none", "block_device_mapping_v2": boot_it}})
    assert foreign.status_code == 400 and "failed to get volume" in foreign.text
    assert len(servers_of(api, tenant)) == 1 and servers_of(api, other) == []


def test_a_volume_on_a_host_that_cannot_take_the_server_is_refused_cleanly(
        api: Api, tenant: Tenant) -> None:
    small = VolumeHost(api, "cn1", memory_mb=256)
    volume_id = tenant.volume(small, imageRef=image_id(api))
    r = create(api, tenant, [{"uuid": volume_id, "boot_index": 0, "source_type": "volume",
                              "destination_type": "volume"}])
    assert r.status_code == 409, r.text
    assert "file" in r.json()["conflictingRequest"]["message"]
    assert servers_of(api, tenant) == []
    assert tenant.show_volume(volume_id)["status"] == "available"


def test_a_root_volume_that_fails_to_be_made_fails_the_build(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    server_id = create(api, tenant, [from_image(api)]).json()["server"]["id"]
    [volume] = host.desired()["volumes"]
    host.report([], [{"id": volume["id"], "size_gb": 0, "snapshots": [], "uploads_done": [],
                      "error": "qemu-img convert: No space left on device"}])
    body = show(api, tenant.token, server_id)
    assert body["status"] == "ERROR"
    assert volume["id"] in body["fault"]["message"]
    nova(api, "DELETE", f"/servers/{server_id}", tenant.token)
    host.converge()
    assert volumes_of(tenant) == []  # a failed volume goes with its server


def test_a_boot_over_the_volume_quota_is_refused_and_makes_nothing(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    r = cinder(api, "PUT", f"/os-quota-sets/{tenant.project}", api.admin, tenant.project,
               json={"quota_set": {"gigabytes": 1}})
    assert r.status_code == 200, r.text
    over = create(api, tenant, [from_image(api, size=2)])
    assert over.status_code == 413, over.text
    assert "gigabytes" in over.text
    assert servers_of(api, tenant) == [] and volumes_of(tenant) == []
