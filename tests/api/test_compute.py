"""Compute through the API, with a host that speaks the agent contract over the internal API.

These tests drive the control plane: what users see as agents report. The real agent and QEMU
are exercised in tests/host and tests/e2e.
"""

from __future__ import annotations

import base64
import subprocess
import pathlib
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api
from tests.api.test_images import api_project_name

V = {"OpenStack-API-Version": "compute 2.26"}


def nova(api: Api, method: str, path: str, token: dict[str, str], version: str = "2.26",
         **kwargs: Any) -> httpx.Response:
    headers = {**token, "OpenStack-API-Version": f"compute {version}",
               **kwargs.pop("headers", {})}
    return api.client.request(method, "/compute/v2.1" + path, headers=headers, **kwargs)


class Host:
    """A host as the API sees it: registers, long-polls its desired state, reports."""

    def __init__(self, api: Api, name: str = "cn1", vcpus: int = 4, memory_mb: int = 8192
                 ) -> None:
        self.api = api
        self.capacity = {"vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": 100}
        r = api.client.post("/internal/v1/hosts", json={
            "name": name, "vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": 100,
            "virt_type": "tcg"}, headers={"X-Sausage-Registration-Key": api.cloud.agent_key})
        assert r.status_code == 201, r.text
        self.id, self.token = r.json()["host_id"], r.json()["token"]
        self.headers = {"X-Sausage-Host-Token": self.token}
        self.applied: dict[str, dict[str, Any]] = {}
        self.report({})

    def desired(self, after: int = 0) -> dict[str, Any]:
        r = self.api.client.get(f"/internal/v1/hosts/{self.id}/desired?after={after}&wait=0",
                                headers=self.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def report(self, states: dict[str, str], **extra: Any) -> None:
        """Report each server in ``states`` as that state, with every counter applied."""
        servers = []
        desired = {d["id"]: d for d in self.desired()["servers"]} if states else {}
        for server_id, state in states.items():
            d = desired.get(server_id, {})
            servers.append({"id": server_id, "state": state,
                            "power_seq": d.get("power_seq", 0),
                            "reboot_seq": d.get("reboot_seq", 0),
                            "rebuild_seq": d.get("rebuild_seq", 0),
                            "resize_seq": d.get("resize_seq", 0),
                            "snapshots_done": [], **extra.get(server_id, {})})
        r = self.api.client.post(f"/internal/v1/hosts/{self.id}/observed", headers=self.headers,
                                 json={"version": 1, "host_id": self.id, "revision_seen": 0,
                                       **self.capacity, "servers": servers})
        assert r.status_code == 204, r.text


def image_id(api: Api) -> str:
    r = api.client.get("/image/v2/images?name=cirros", headers=api.admin)
    if r.json()["images"]:
        return str(r.json()["images"][0]["id"])
    r = api.client.post("/image/v2/images", headers=api.admin, json={
        "name": "cirros", "disk_format": "raw", "container_format": "bare",
        "visibility": "public"})
    iid = r.json()["id"]
    api.client.put(f"/image/v2/images/{iid}/file", headers={
        **api.admin, "Content-Type": "application/octet-stream"}, content=b"\0" * 4096)
    return str(iid)


def boot(api: Api, token: dict[str, str], name: str = "s1", flavor: str = "1",
         **extra: Any) -> httpx.Response:
    return nova(api, "POST", "/servers", token, json={"server": {
        "name": name, "imageRef": image_id(api), "flavorRef": flavor, "networks": "none",
        **extra}})


def show(api: Api, token: dict[str, str], server_id: str, version: str = "2.26"
         ) -> dict[str, Any]:
    r = nova(api, "GET", f"/servers/{server_id}", token, version)
    assert r.status_code == 200, r.text
    return dict(r.json()["server"])


@pytest.fixture
def host(api: Api) -> Host:
    return Host(api)


def test_the_compute_root_lists_versions_with_the_documented_maximum(api: Api) -> None:
    r = api.client.get("/compute/")
    versions = r.json()["versions"]
    assert versions[0]["id"] == "v2.0"
    assert (versions[1]["min_version"], versions[1]["version"]) == ("2.1", "2.37")


@pytest.mark.parametrize("asked,status", [("compute 2.26", 200), ("compute 2.37", 200),
                                          ("compute latest", 200),
                                          ("compute 2.99", 406), ("compute two", 400)])
def test_microversions_are_negotiated_and_echoed(api: Api, asked: str, status: int) -> None:
    r = api.client.get("/compute/v2.1/flavors",
                       headers={**api.admin, "OpenStack-API-Version": asked})
    assert r.status_code == status
    if status == 200:
        expected = "2.26" if asked.endswith("2.26") else "2.37"
        assert r.headers["openstack-api-version"] == f"compute {expected}"
        assert r.headers["x-openstack-nova-api-version"] == expected


def test_default_flavors_exist_and_only_admin_manages_flavors(api: Api) -> None:
    names = [f["name"] for f in nova(api, "GET", "/flavors/detail", api.admin).json()["flavors"]]
    assert {"m1.tiny", "m1.small"} <= set(names)
    _, _, member = api.user_in_project()
    body = {"flavor": {"name": "big", "ram": 1024, "vcpus": 2, "disk": 5}}
    assert nova(api, "POST", "/flavors", member, json=body).status_code == 403
    r = nova(api, "POST", "/flavors", api.admin, json=body)
    assert r.status_code == 200 and r.json()["flavor"]["ram"] == 1024
    assert nova(api, "POST", "/flavors", api.admin, json=body).status_code == 409
    flavor_id = r.json()["flavor"]["id"]
    assert nova(api, "DELETE", f"/flavors/{flavor_id}", api.admin).status_code == 202
    assert nova(api, "GET", f"/flavors/{flavor_id}", api.admin).status_code == 404


def test_keypairs_are_generated_or_imported_with_types_from_2_2(
        api: Api, tmp_path: pathlib.Path) -> None:
    _, _, member = api.user_in_project()
    r = nova(api, "POST", "/os-keypairs", member, json={"keypair": {"name": "gen"}})
    assert r.status_code == 201
    assert r.json()["keypair"]["private_key"].startswith("-----BEGIN")
    assert r.json()["keypair"]["type"] == "ssh"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")],
                   check=True)
    public = (tmp_path / "k.pub").read_text()
    r = nova(api, "POST", "/os-keypairs", member, json={"keypair": {"name": "imp",
                                                                    "public_key": public}})
    assert r.status_code == 201 and "private_key" not in r.json()["keypair"]
    old = nova(api, "POST", "/os-keypairs", member, "2.1", json={"keypair": {"name": "old"}})
    assert old.status_code == 200 and "type" not in old.json()["keypair"]
    assert nova(api, "POST", "/os-keypairs", member, json={
        "keypair": {"name": "imp"}}).status_code == 409
    assert nova(api, "POST", "/os-keypairs", member, json={
        "keypair": {"name": "bad", "public_key": "ssh-rsa not-a-key"}}).status_code == 400
    listed = nova(api, "GET", "/os-keypairs", member).json()["keypairs"]
    assert sorted(k["keypair"]["name"] for k in listed) == ["gen", "imp", "old"]
    assert nova(api, "DELETE", "/os-keypairs/gen", member).status_code == 204


def test_a_server_builds_goes_active_and_its_host_gets_it_as_desired_state(
        api: Api, host: Host) -> None:
    _, project, member = api.user_in_project()
    r = boot(api, member, metadata={"k": "v"}, tags=["t1"],
             user_data=base64.b64encode(b"#!/bin/sh\necho hi\n").decode())
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    assert r.headers["x-openstack-request-id"].startswith("req-")
    assert show(api, member, server_id)["status"] == "BUILD"
    (doc,) = host.desired()["servers"]
    assert (doc["id"], doc["power"], doc["vcpus"], doc["memory_mb"]) == (
        server_id, "running", 1, 512)
    assert doc["image"]["url"].endswith(f"/internal/v1/images/{doc['image']['id']}/file")
    host.report({server_id: "running"})
    shown = show(api, member, server_id)
    assert shown["status"] == "ACTIVE" and shown["metadata"] == {"k": "v"}
    assert shown["tags"] == ["t1"] and shown["OS-EXT-STS:power_state"] == 1
    assert shown["tenant_id"] == project and shown["OS-SRV-USG:launched_at"]
    assert "OS-EXT-SRV-ATTR:host" not in shown
    assert show(api, api.admin, server_id)["OS-EXT-SRV-ATTR:host"] == "cn1"
    actions = nova(api, "GET", f"/servers/{server_id}/os-instance-actions", member).json()
    assert [a["action"] for a in actions["instanceActions"]] == ["create"]


def test_the_server_body_has_exactly_the_keys_of_its_microversion(api: Api, host: Host) -> None:
    server_id = boot(api, api.admin).json()["server"]["id"]
    old, new = show(api, api.admin, server_id, "2.1"), show(api, api.admin, server_id, "2.26")
    assert not {"locked", "description", "tags", "host_status"} & set(old)
    assert "OS-EXT-SRV-ATTR:hostname" not in old
    assert {"locked", "description", "tags", "host_status", "OS-EXT-SRV-ATTR:hostname"} <= set(new)


def test_power_actions_follow_novas_state_machine(api: Api, host: Host) -> None:
    _, _, member = api.user_in_project()
    server_id = boot(api, member).json()["server"]["id"]
    host.report({server_id: "running"})
    act = f"/servers/{server_id}/action"
    assert nova(api, "POST", act, member, json={"os-start": None}).status_code == 409
    assert nova(api, "POST", act, member, json={"os-stop": None}).status_code == 202
    (doc,) = host.desired()["servers"]
    assert (doc["power"], doc["power_seq"]) == ("stopped", 2)
    assert show(api, member, server_id)["OS-EXT-STS:task_state"] == "powering-off"
    host.report({server_id: "stopped"})
    assert show(api, member, server_id)["status"] == "SHUTOFF"
    assert nova(api, "POST", act, member, json={"os-start": None}).status_code == 202
    host.report({server_id: "running"})
    assert show(api, member, server_id)["status"] == "ACTIVE"
    assert nova(api, "POST", act, member, json={"reboot": {"type": "HARD"}}).status_code == 202
    assert show(api, member, server_id)["status"] == "HARD_REBOOT"
    assert host.desired()["servers"][0]["reboot_kind"] == "hard"
    host.report({server_id: "running"})
    assert show(api, member, server_id)["status"] == "ACTIVE"
    assert nova(api, "POST", act, member, json={"reboot": {"type": "SIDEWAYS"}}).status_code == 400


def test_a_vm_that_dies_by_itself_turns_shutoff_and_stays_off(api: Api, host: Host) -> None:
    server_id = boot(api, api.admin).json()["server"]["id"]
    host.report({server_id: "running"})
    host.report({server_id: "stopped"})
    assert show(api, api.admin, server_id)["status"] == "SHUTOFF"
    (doc,) = host.desired()["servers"]
    assert doc["power"] == "stopped" and doc["power_seq"] == 1


def test_resize_to_a_bigger_flavor_waits_for_confirmation(api: Api, host: Host) -> None:
    server_id = boot(api, api.admin).json()["server"]["id"]
    host.report({server_id: "running"})
    act = f"/servers/{server_id}/action"
    assert nova(api, "POST", act, api.admin, json={"resize": {"flavorRef": "2"}}).status_code == 202
    assert show(api, api.admin, server_id)["status"] == "RESIZE"
    assert host.desired()["servers"][0]["memory_mb"] == 2048
    host.report({server_id: "running"})
    assert show(api, api.admin, server_id)["status"] == "VERIFY_RESIZE"
    assert nova(api, "POST", act, api.admin, json={"confirmResize": None}).status_code == 204
    shown = show(api, api.admin, server_id)
    assert shown["status"] == "ACTIVE" and shown["flavor"]["id"] == "2"


def test_no_host_means_error_with_novas_fault(api: Api) -> None:
    server_id = boot(api, api.admin).json()["server"]["id"]
    shown = show(api, api.admin, server_id)
    assert shown["status"] == "ERROR"
    assert shown["fault"]["message"].startswith("No valid host was found")


def test_a_disabled_host_is_avoided_by_the_scheduler(api: Api, host: Host) -> None:
    r = nova(api, "PUT", "/os-services/disable", api.admin, "2.1",
             json={"host": "cn1", "binary": "nova-compute"})
    assert r.status_code == 200 and r.json()["service"]["status"] == "disabled"
    server_id = boot(api, api.admin).json()["server"]["id"]
    assert show(api, api.admin, server_id)["status"] == "ERROR"


def test_a_full_host_is_never_overcommitted(api: Api) -> None:
    Host(api, "small", vcpus=1, memory_mb=1024)
    ids = [boot(api, api.admin, name=f"c{i}").json()["server"]["id"] for i in range(3)]
    states = [show(api, api.admin, i)["status"] for i in ids]
    assert states.count("BUILD") == 2 and states.count("ERROR") == 1


def test_concurrent_claims_take_the_last_slot_only_once(api: Api) -> None:
    import threading

    from sausage.services.compute import scheduler

    host = Host(api, "tight", vcpus=1, memory_mb=2048)
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        with api.cloud.db.transaction() as s:
            wins.append(scheduler.claim(s, host.id, 1, 512, 0))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 4


def test_quota_exceeded_is_403_and_creates_nothing(api: Api, host: Host) -> None:
    _, project, member = api.user_in_project()
    r = nova(api, "PUT", f"/os-quota-sets/{project}", api.admin, json={
        "quota_set": {"instances": 1}})
    assert r.status_code == 200 and r.json()["quota_set"]["instances"] == 1
    assert boot(api, member).status_code == 202
    refused = boot(api, member, name="two")
    assert refused.status_code == 403
    assert "Quota exceeded for instances" in refused.json()["forbidden"]["message"]
    assert len(nova(api, "GET", "/servers", member).json()["servers"]) == 1
    big = boot(api, member, name="big", flavor="5")
    assert big.status_code == 403


def test_projects_see_only_their_servers_and_admin_sees_all(api: Api, host: Host) -> None:
    _, _, alice = api.user_in_project()
    _, _, bob = api.user_in_project()
    a = boot(api, alice, name="alice-vm").json()["server"]["id"]
    boot(api, bob, name="bob-vm")
    assert [s["name"] for s in nova(api, "GET", "/servers", alice).json()["servers"]] == [
        "alice-vm"]
    assert nova(api, "GET", f"/servers/{a}", bob).status_code == 404
    assert nova(api, "DELETE", f"/servers/{a}", bob).status_code == 404
    everyone = nova(api, "GET", "/servers?all_tenants=1", api.admin).json()["servers"]
    assert {"alice-vm", "bob-vm"} <= {s["name"] for s in everyone}


def test_list_filters_and_paging(api: Api, host: Host) -> None:
    ids = [boot(api, api.admin, name=f"web-{i}").json()["server"]["id"] for i in range(3)]
    boot(api, api.admin, name="db-1")
    names = [s["name"] for s in nova(api, "GET", "/servers?name=^web", api.admin)
             .json()["servers"]]
    assert sorted(names) == ["web-0", "web-1", "web-2"]
    page = nova(api, "GET", "/servers?limit=2", api.admin).json()
    assert len(page["servers"]) == 2 and "servers_links" in page
    rest = nova(api, "GET", f"/servers?limit=10&marker={page['servers'][-1]['id']}",
                api.admin).json()["servers"]
    assert len(rest) == 2
    host.report({ids[0]: "running"})
    active = nova(api, "GET", "/servers/detail?status=ACTIVE", api.admin).json()["servers"]
    assert [s["id"] for s in active] == [ids[0]]


def test_delete_hides_the_server_and_removes_it_from_the_hosts_desired_state(
        api: Api, host: Host) -> None:
    server_id = boot(api, api.admin).json()["server"]["id"]
    assert nova(api, "DELETE", f"/servers/{server_id}", api.admin).status_code == 204
    assert nova(api, "GET", f"/servers/{server_id}", api.admin).status_code == 404
    assert host.desired()["servers"] == []
    assert nova(api, "GET", "/limits", api.admin).json()["limits"]["absolute"][
        "totalInstancesUsed"] == 0


def test_console_output_is_the_tail_the_agent_reported(api: Api, host: Host) -> None:
    server_id = boot(api, api.admin).json()["server"]["id"]
    host.report({server_id: "running"},
                **{server_id: {"console_tail": "one\ntwo\nSAUSAGE-READY\n"}})
    r = nova(api, "POST", f"/servers/{server_id}/action", api.admin,
             json={"os-getConsoleOutput": {"length": 2}})
    assert r.json()["output"] == "two\nSAUSAGE-READY\n"


def test_create_image_makes_a_snapshot_the_host_uploads(api: Api, host: Host,
                                                         tmp_path: pathlib.Path) -> None:
    server_id = boot(api, api.admin).json()["server"]["id"]
    host.report({server_id: "running"})
    r = nova(api, "POST", f"/servers/{server_id}/action", api.admin,
             json={"createImage": {"name": "snap"}})
    assert r.status_code == 202
    image_id = r.headers["location"].rsplit("/", 1)[1]
    (doc,) = host.desired()["servers"]
    (snap,) = doc["snapshots"]
    qcow = tmp_path / "snap.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(qcow), "8M"], check=True)
    up = api.client.put(snap["upload_url"].replace("http://127.0.0.1:8000", ""),
                        headers={**host.headers, "Content-Type": "application/octet-stream"},
                        content=qcow.read_bytes())
    assert up.status_code == 204, up.text
    host.report({server_id: "running"}, **{server_id: {"snapshots_done": [snap["seq"]]}})
    image = api.client.get(f"/image/v2/images/{image_id}", headers=api.admin).json()
    assert image["status"] == "active" and image["instance_uuid"] == server_id
    assert host.desired()["servers"][0]["snapshots"] == []


def test_bad_create_requests_are_400_and_write_nothing(api: Api, host: Host) -> None:
    for server in ({"name": "x", "flavorRef": "1"},
                   {"name": "x", "imageRef": image_id(api), "flavorRef": "999"},
                   {"name": "x", "imageRef": "nope", "flavorRef": "1"},
                   {"name": "x", "imageRef": image_id(api), "flavorRef": "1",
                    "key_name": "missing"},
                   {"name": "x", "imageRef": image_id(api), "flavorRef": "1",
                    "user_data": "not base64!"},
                   {"name": "", "imageRef": image_id(api), "flavorRef": "1"},
                   {"imageRef": image_id(api), "flavorRef": "1"}):
        r = nova(api, "POST", "/servers", api.admin, json={"server": server})
        assert r.status_code == 400, (server, r.text)
        assert r.json()["badRequest"]["message"]
    assert nova(api, "GET", "/servers", api.admin).json()["servers"] == []


def test_an_update_whose_server_is_not_an_object_is_400_before_and_after_2_19(
        api: Api, host: Host) -> None:
    server = boot(api, api.admin).json()["server"]["id"]
    for version in ("2.1", "2.26"):
        for body in (-0, "x", ["description"], None):
            r = nova(api, "PUT", f"/servers/{server}", api.admin, version,
                     json={"server": body})
            assert r.status_code == 400, (version, body, r.text)
            assert r.json()["badRequest"]["message"]
    assert show(api, api.admin, server)["name"] == "s1"


def test_a_locked_server_refuses_changes_from_its_owner(api: Api, host: Host) -> None:
    _, _, member = api.user_in_project()
    server_id = boot(api, member).json()["server"]["id"]
    act = f"/servers/{server_id}/action"
    assert nova(api, "POST", act, member, json={"lock": None}).status_code == 202
    assert show(api, member, server_id)["locked"] is True
    assert nova(api, "DELETE", f"/servers/{server_id}", member).status_code == 409
    assert nova(api, "POST", act, member, json={"unlock": None}).status_code == 202
    assert nova(api, "DELETE", f"/servers/{server_id}", member).status_code == 204


def test_server_groups_keep_anti_affine_servers_apart(api: Api) -> None:
    Host(api, "a")
    Host(api, "b")
    r = nova(api, "POST", "/os-server-groups", api.admin, json={"server_group": {
        "name": "g", "policies": ["anti-affinity"]}})
    group = r.json()["server_group"]["id"]
    hints = {"os:scheduler_hints": {"group": group}}
    ids = []
    for i in range(3):
        r = nova(api, "POST", "/servers", api.admin, json={"server": {
            "name": f"g{i}", "imageRef": image_id(api), "flavorRef": "1", "networks": "none"},
            **hints})
        ids.append(r.json()["server"]["id"])
    states = [show(api, api.admin, i)["status"] for i in ids]
    assert states == ["BUILD", "BUILD", "ERROR"]
    hosts = {show(api, api.admin, i)["OS-EXT-SRV-ATTR:host"] for i in ids[:2]}
    assert hosts == {"a", "b"}


def test_admin_views_hosts_zones_and_usage(api: Api, host: Host) -> None:
    hyp = nova(api, "GET", "/os-hypervisors/detail", api.admin).json()["hypervisors"]
    assert hyp[0]["hypervisor_hostname"] == "cn1" and hyp[0]["state"] == "up"
    zones = nova(api, "GET", "/os-availability-zone", api.admin).json()["availabilityZoneInfo"]
    assert zones == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    _, _, member = api.user_in_project()
    assert nova(api, "GET", "/os-hypervisors", member).status_code == 403
    assert nova(api, "GET", "/os-simple-tenant-usage", api.admin).status_code == 200


def test_from_2_37_a_server_must_say_what_networks_it_wants(api: Api, host: Host) -> None:
    body = {"server": {"name": "n", "imageRef": image_id(api), "flavorRef": "1"}}
    assert nova(api, "POST", "/servers", api.admin, "2.37", json=body).status_code == 400
    body["server"]["networks"] = "none"
    assert nova(api, "POST", "/servers", api.admin, "2.37", json=body).status_code == 202
    assert nova(api, "GET", "/os-networks", api.admin, "2.37").status_code == 404
    quota = nova(api, "GET", "/os-quota-sets/x", api.admin, "2.37").json()["quota_set"]
    assert "floating_ips" not in quota


def test_concurrent_creates_in_one_project_never_exceed_its_quota(api: Api) -> None:
    import threading

    from sausage.services.compute import servers as server_svc
    from sausage.services.context import Context

    Host(api, "roomy", vcpus=64, memory_mb=65536)
    _, project, member = api.user_in_project()
    nova(api, "PUT", f"/os-quota-sets/{project}", api.admin, json={"quota_set": {"instances": 3}})
    image = image_id(api)
    user_id, _, _ = api.user_in_project(project=api_project_name(api, project))
    ctx = Context(user_id=user_id, project_id=project, roles=frozenset({"member", "reader"}))
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def create(i: int) -> None:
        barrier.wait()
        try:
            with api.cloud.db.transaction() as s:
                server_svc.create(s, ctx, {"name": f"q{i}", "imageRef": image,
                                           "flavorRef": "1", "networks": "none"})
            outcomes.append("created")
        except Exception as e:  # noqa: BLE001 - the quota error is the expected outcome
            outcomes.append(type(e).__name__)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("created") == 3, outcomes
    assert set(outcomes) == {"created", "QuotaExceeded"}
    assert len(nova(api, "GET", "/servers", member).json()["servers"]) == 3


def test_an_image_with_kernel_and_ramdisk_properties_boots_them_directly(
        api: Api, host: Host) -> None:
    def upload(name: str, fmt: str, data: bytes, **props: str) -> str:
        r = api.client.post("/image/v2/images", headers=api.admin, json={
            "name": name, "disk_format": fmt, "container_format": fmt if fmt in ("aki", "ari")
            else "bare", **props})
        api.client.put(f"/image/v2/images/{r.json()['id']}/file", content=data, headers={
            **api.admin, "Content-Type": "application/octet-stream"})
        return str(r.json()["id"])

    kernel, ramdisk = upload("k", "aki", b"kernel"), upload("r", "ari", b"ramdisk")
    disk = upload("kr", "raw", b"\0" * 4096, kernel_id=kernel, ramdisk_id=ramdisk,
                  os_command_line="console=ttyS0 quiet")
    r = nova(api, "POST", "/servers", api.admin, json={"server": {
        "name": "direct", "imageRef": disk, "flavorRef": "1", "networks": "none"}})
    assert r.status_code == 202, r.text
    (doc,) = host.desired()["servers"]
    assert doc["image"]["kernel"]["id"] == kernel and doc["image"]["ramdisk"]["id"] == ramdisk
    assert doc["image"]["cmdline"] == "console=ttyS0 quiet"
    assert doc["image"]["kernel"]["url"].endswith(f"/internal/v1/images/{kernel}/file")
