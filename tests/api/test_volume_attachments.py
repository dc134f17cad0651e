"""Volumes on servers through the API: Nova's os-volume_attachments (attach, list, show,
detach) and Cinder's attachments API, with a host that holds the `file` backend and plays its
agent over the internal API (it reports what it was asked to hold and plug)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Api
from tests.api.test_compute import boot, nova, show


class VolumeHost:
    """A compute host with the `file` volume backend, as the API sees its agent: it registers,
    reads its desired state and reports it done (``converge``), or reports what it is told."""

    def __init__(self, api: Api, name: str = "cn1", memory_mb: int = 8192) -> None:
        self.api = api
        self.capacity = {"vcpus": 4, "memory_mb": memory_mb, "disk_gb": 100}
        r = api.client.post("/internal/v1/hosts", json={
            "name": name, **self.capacity, "virt_type": "tcg", "volume_backend": "file"},
            headers={"X-Sausage-Registration-Key": api.cloud.agent_key})
        assert r.status_code == 201, r.text
        self.id, self.name = r.json()["host_id"], name
        self.headers = {"X-Sausage-Host-Token": r.json()["token"]}
        self.report([], [])

    def desired(self) -> dict[str, Any]:
        r = self.api.client.get(f"/internal/v1/hosts/{self.id}/desired?after=0&wait=0",
                                headers=self.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def report(self, servers: list[dict[str, Any]], volumes: list[dict[str, Any]]) -> None:
        r = self.api.client.post(f"/internal/v1/hosts/{self.id}/observed", headers=self.headers,
                                 json={"version": 1, "host_id": self.id, "revision_seen": 0,
                                       **self.capacity, "servers": servers, "volumes": volumes})
        assert r.status_code == 204, r.text

    def converge(self, volume_errors: dict[str, dict[str, str]] | None = None,
                 unplugged: set[str] = frozenset(),  # type: ignore[assignment]
                 ) -> dict[str, Any]:
        """Do what the desired state says (every server running with its volumes, every
        volume made) and report it, until nothing changes; returns the last desired state.
        ``volume_errors``: server id → {volume id: message} that failed to (un)plug."""
        errors = volume_errors or {}
        last: dict[str, Any] = {}
        for _ in range(6):
            desired = self.desired()
            if desired == last:
                break
            last = desired
            volumes = [{"id": v["id"], "size_gb": v["size_gb"], "snapshots": v["snapshots"],
                        "uploads_done": []} for v in desired.get("volumes", [])]
            servers = []
            for srv in desired["servers"]:
                failed = errors.get(srv["id"], {})
                plugged = [v["volume_id"] for v in srv.get("volumes", [])
                           if v["volume_id"] not in failed and v["volume_id"] not in unplugged]
                servers.append({
                    "id": srv["id"], "state": "running", "power_seq": srv["power_seq"],
                    "reboot_seq": srv["reboot_seq"], "rebuild_seq": srv["rebuild_seq"],
                    "resize_seq": srv["resize_seq"], "snapshots_done": [], "volumes": plugged,
                    **({"volume_errors": failed} if failed else {})})
            self.report(servers, volumes)
        return last


def cinder(api: Api, method: str, path: str, token: dict[str, str], project: str,
           version: str = "3.0", **kwargs: Any) -> httpx.Response:
    headers = {**token, "OpenStack-API-Version": f"volume {version}"}
    return api.client.request(method, f"/volume/v3/{project}{path}", headers=headers, **kwargs)


class Tenant:
    """A member of a new project, with its volumes and servers."""

    def __init__(self, api: Api, role: str = "member") -> None:
        self.api = api
        _, self.project, self.token = api.user_in_project(role)

    def volume(self, host: VolumeHost, size: int = 1, **extra: Any) -> str:
        r = cinder(self.api, "POST", "/volumes", self.token, self.project,
                   json={"volume": {"size": size, **extra}})
        assert r.status_code == 202, r.text
        host.converge()
        return str(r.json()["volume"]["id"])

    def show_volume(self, volume_id: str) -> dict[str, Any]:
        r = cinder(self.api, "GET", f"/volumes/{volume_id}", self.token, self.project)
        assert r.status_code == 200, r.text
        return dict(r.json()["volume"])

    def server(self, host: VolumeHost, name: str = "s1") -> str:
        r = boot(self.api, self.token, name)
        assert r.status_code == 202, r.text
        host.converge()
        return str(r.json()["server"]["id"])

    def attach(self, server_id: str, volume_id: str, version: str = "2.26",
               **extra: Any) -> httpx.Response:
        return nova(self.api, "POST", f"/servers/{server_id}/os-volume_attachments",
                    self.token, version, json={"volumeAttachment": {"volumeId": volume_id,
                                                                    **extra}})

    def detach(self, server_id: str, volume_id: str) -> httpx.Response:
        return nova(self.api, "DELETE", f"/servers/{server_id}/os-volume_attachments/{volume_id}",
                    self.token)

    def attachments(self, server_id: str) -> list[dict[str, Any]]:
        r = nova(self.api, "GET", f"/servers/{server_id}/os-volume_attachments", self.token)
        assert r.status_code == 200, r.text
        return list(r.json()["volumeAttachments"])


@pytest.fixture
def host(api: Api) -> VolumeHost:
    return VolumeHost(api)


@pytest.fixture
def tenant(api: Api) -> Tenant:
    return Tenant(api)


def test_attach_hot_plugs_the_volume_and_the_report_makes_it_in_use(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    server_id = tenant.server(host)
    volume_id = tenant.volume(host)
    assert tenant.show_volume(volume_id)["status"] == "available"

    r = tenant.attach(server_id, volume_id)
    assert r.status_code == 200, r.text
    assert r.json() == {"volumeAttachment": {"id": volume_id, "serverId": server_id,
                                             "volumeId": volume_id, "device": "/dev/vdb"}}
    assert tenant.show_volume(volume_id)["status"] == "attaching"
    [plugged] = [s for s in host.desired()["servers"] if s["id"] == server_id][0]["volumes"]
    assert plugged == {"volume_id": volume_id, "backend": "file", "connection": {},
                       "serial": volume_id[:20], "read_only": False, "boot_index": None}

    host.converge()
    volume = tenant.show_volume(volume_id)
    assert (volume["status"], volume["attachments"][0]["server_id"],
            volume["attachments"][0]["device"]) == ("in-use", server_id, "/dev/vdb")
    # As in Cinder, only an admin is told which compute host has it.
    assert volume["attachments"][0]["host_name"] is None
    as_admin = cinder(api, "GET", f"/volumes/{volume_id}", api.admin, tenant.project).json()
    assert as_admin["volume"]["attachments"][0]["host_name"] == host.name
    assert tenant.attachments(server_id) == [r.json()["volumeAttachment"]]
    shown = nova(api, "GET", f"/servers/{server_id}/os-volume_attachments/{volume_id}",
                 tenant.token)
    assert shown.json()["volumeAttachment"]["serverId"] == server_id
    assert show(api, tenant.token, server_id, "2.3")["os-extended-volumes:volumes_attached"] \
        == [{"id": volume_id, "delete_on_termination": False}]
    assert show(api, tenant.token, server_id, "2.1")["os-extended-volumes:volumes_attached"] \
        == [{"id": volume_id}]


def test_detach_unplugs_the_volume_and_it_is_available_again(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    server_id, volume_id = tenant.server(host), tenant.volume(host)
    tenant.attach(server_id, volume_id)
    host.converge()

    assert tenant.detach(server_id, volume_id).status_code == 202
    assert tenant.show_volume(volume_id)["status"] == "detaching"
    assert [s["volumes"] for s in host.desired()["servers"]] == [[]]
    assert tenant.attachments(server_id)  # still listed until the host unplugged it

    host.converge()
    volume = tenant.show_volume(volume_id)
    assert (volume["status"], volume["attachments"]) == ("available", [])
    assert tenant.attachments(server_id) == []
    assert tenant.detach(server_id, volume_id).status_code == 404

    # and it attaches again
    assert tenant.attach(server_id, volume_id).status_code == 200
    host.converge()
    assert tenant.show_volume(volume_id)["status"] == "in-use"


def test_devices_follow_the_attach_order_and_a_taken_device_is_refused(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    server_id = tenant.server(host)
    first, second, third = (tenant.volume(host) for _ in range(3))
    assert tenant.attach(server_id, first).json()["volumeAttachment"]["device"] == "/dev/vdb"
    assert tenant.attach(server_id, second, device="/dev/vdd").json()[
        "volumeAttachment"]["device"] == "/dev/vdd"
    taken = tenant.attach(server_id, third, device="/dev/vdb")
    assert taken.status_code == 409, taken.text
    assert "in use" in taken.json()["conflictingRequest"]["message"]
    assert tenant.attach(server_id, third).json()["volumeAttachment"]["device"] == "/dev/vdc"
    host.converge()
    assert [a["volumeId"] for a in tenant.attachments(server_id)] == [first, second, third]


def test_an_attached_volume_cannot_be_attached_again_elsewhere(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    first, second = tenant.server(host, "a"), tenant.server(host, "b")
    volume_id = tenant.volume(host)
    tenant.attach(first, volume_id)
    host.converge()
    r = tenant.attach(second, volume_id)
    assert r.status_code == 400, r.text
    assert "status must be 'available'" in r.json()["badRequest"]["message"]
    again = tenant.attach(first, volume_id)
    assert again.status_code == 400, again.text
    assert len(tenant.attachments(first)) == 1 and tenant.attachments(second) == []


def test_a_failed_hot_plug_gives_the_volume_back_and_says_why(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    server_id, volume_id = tenant.server(host), tenant.volume(host)
    tenant.attach(server_id, volume_id)
    host.converge(volume_errors={server_id: {volume_id: "device_add failed: no free slot"}})
    assert tenant.show_volume(volume_id)["status"] == "available"
    assert tenant.attachments(server_id) == []
    actions = nova(api, "GET", f"/servers/{server_id}/os-instance-actions", tenant.token)
    attach = [a for a in actions.json()["instanceActions"] if a["action"] == "attach_volume"]
    assert attach and attach[0]["message"] == "Error"


def test_a_failed_unplug_keeps_the_volume_in_use(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    server_id, volume_id = tenant.server(host), tenant.volume(host)
    tenant.attach(server_id, volume_id)
    host.converge()
    tenant.detach(server_id, volume_id)
    host.converge(volume_errors={server_id: {volume_id: "device_del timed out"}},
                  unplugged=set())
    assert tenant.show_volume(volume_id)["status"] == "in-use"
    assert [a["volumeId"] for a in tenant.attachments(server_id)] == [volume_id]


def test_other_projects_volumes_and_servers_are_invisible(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    other = Tenant(api)
    mine, theirs = tenant.server(host), other.server(host, "theirs")
    their_volume, my_volume = other.volume(host), tenant.volume(host)
    r = tenant.attach(mine, their_volume)
    assert r.status_code == 404, r.text
    assert tenant.attach(theirs, my_volume).status_code == 404
    assert nova(api, "GET", f"/servers/{theirs}/os-volume_attachments",
                tenant.token).status_code == 404
    assert other.show_volume(their_volume)["status"] == "available"


def test_readers_cannot_attach_or_detach(api: Api, host: VolumeHost, tenant: Tenant) -> None:
    server_id, volume_id = tenant.server(host), tenant.volume(host)
    _, _, reader = api.user_in_project("reader", project=api_project(api, tenant))
    r = nova(api, "POST", f"/servers/{server_id}/os-volume_attachments", reader,
             json={"volumeAttachment": {"volumeId": volume_id}})
    assert r.status_code == 403, r.text
    assert tenant.show_volume(volume_id)["status"] == "available"


def api_project(api: Api, tenant: Tenant) -> str:
    r = api.request("GET", f"/projects/{tenant.project}", api.admin)
    return str(r.json()["project"]["name"])


def test_bad_attach_requests_are_400_and_change_nothing(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    server_id, volume_id = tenant.server(host), tenant.volume(host)
    body: dict[str, Any]
    for body in ({"volumeAttachment": {}}, {"volumeAttachment": {"volumeId": "nope"}},
                 {"volumeAttachment": {"volumeId": volume_id, "device": "sdb 1"}},
                 {"volumeAttachment": {"volumeId": volume_id, "tag": "data"}}, {}):
        r = nova(api, "POST", f"/servers/{server_id}/os-volume_attachments", tenant.token,
                 "2.37", json=body)
        assert r.status_code == 400, (body, r.text)
    unknown = tenant.attach(server_id, "0c9b6b1e-5d3e-4a44-9a8e-3f3f0f3d1a11")
    assert unknown.status_code == 404
    swap = nova(api, "PUT", f"/servers/{server_id}/os-volume_attachments/{volume_id}",
                api.admin, json={"volumeAttachment": {"volumeId": volume_id}})
    assert swap.status_code == 400
    assert tenant.attachments(server_id) == []
    assert tenant.show_volume(volume_id)["status"] == "available"


def test_a_server_that_is_building_cannot_take_a_volume(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    r = boot(api, tenant.token)
    volume_id = tenant.volume(host)  # converges: the server is running now
    building = boot(api, tenant.token, "b").json()["server"]["id"]
    r = tenant.attach(building, volume_id)
    assert r.status_code == 409, r.text


def test_a_file_volume_attaches_only_to_servers_on_its_host(api: Api, tenant: Tenant) -> None:
    one = VolumeHost(api, "cn1")
    server_id = tenant.server(one)
    tenant.volume(one)
    two = VolumeHost(api, "cn2")
    volume_id = tenant.volume(two)  # cn2 holds fewer GiB: the volume lands there
    volume = cinder(api, "GET", f"/volumes/{volume_id}", api.admin, tenant.project).json()
    assert volume["volume"]["os-vol-host-attr:host"].startswith("cn2")
    r = tenant.attach(server_id, volume_id)
    assert r.status_code == 409, r.text
    assert "file" in r.json()["conflictingRequest"]["message"]


def test_cinder_attachments_api_exists_from_3_27(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    volume_id = tenant.volume(host)
    assert cinder(api, "GET", "/attachments", tenant.token, tenant.project,
                  "3.0").status_code == 404
    r = cinder(api, "POST", "/attachments", tenant.token, tenant.project, "3.27",
               json={"attachment": {"volume_uuid": volume_id}})
    assert r.status_code == 200, r.text
    reserved = r.json()["attachment"]
    assert (reserved["status"], reserved["volume_id"], reserved["instance"]) == (
        "reserved", volume_id, None)
    assert set(reserved) == {"id", "status", "instance", "volume_id", "attached_at",
                             "detached_at", "attach_mode", "connection_info"}
    assert tenant.show_volume(volume_id)["status"] == "reserved"

    attachment_id = reserved["id"]
    r = cinder(api, "PUT", f"/attachments/{attachment_id}", tenant.token, tenant.project,
               "3.27", json={"attachment": {"connector": {"host": "somewhere"}}})
    assert r.status_code == 200, r.text
    assert r.json()["attachment"]["status"] == "attaching"
    assert r.json()["attachment"]["connection_info"]["driver_volume_type"] == "file"
    early = cinder(api, "POST", f"/attachments/{attachment_id}/action", tenant.token,
                   tenant.project, "3.27", json={"os-complete": {}})
    assert early.status_code == 400
    done = cinder(api, "POST", f"/attachments/{attachment_id}/action", tenant.token,
                  tenant.project, "3.44", json={"os-complete": {}})
    assert done.status_code == 204, done.text
    assert tenant.show_volume(volume_id)["status"] == "in-use"

    listed = cinder(api, "GET", "/attachments", tenant.token, tenant.project, "3.27").json()
    assert listed == {"attachments": [{"id": attachment_id, "status": "attached",
                                       "instance": None, "volume_id": volume_id}]}
    detail = cinder(api, "GET", "/attachments/detail", tenant.token, tenant.project, "3.27")
    assert detail.json()["attachments"][0]["attached_at"]
    other = Tenant(api)
    assert cinder(api, "GET", f"/attachments/{attachment_id}", other.token, other.project,
                  "3.27").status_code == 404

    gone = cinder(api, "DELETE", f"/attachments/{attachment_id}", tenant.token,
                  tenant.project, "3.27")
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"attachments": []}
    assert tenant.show_volume(volume_id)["status"] == "available"


def test_cinder_attachment_for_a_server_is_plugged_by_its_host(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    server_id, volume_id = tenant.server(host), tenant.volume(host)
    r = cinder(api, "POST", "/attachments", tenant.token, tenant.project, "3.27",
               json={"attachment": {"volume_uuid": volume_id, "instance_uuid": server_id,
                                    "connector": {"host": host.name}}})
    assert r.status_code == 200, r.text
    host.converge()
    assert tenant.show_volume(volume_id)["status"] == "in-use"
    assert [a["volumeId"] for a in tenant.attachments(server_id)] == [volume_id]


def test_admin_force_detach_drops_the_attachment_at_once(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    server_id, volume_id = tenant.server(host), tenant.volume(host)
    tenant.attach(server_id, volume_id)
    host.converge()
    r = cinder(api, "POST", f"/volumes/{volume_id}/action", api.admin, tenant.project,
               json={"os-force_detach": {}})
    assert r.status_code == 202, r.text
    assert tenant.show_volume(volume_id)["status"] == "available"
    assert tenant.attachments(server_id) == []
    assert [s["volumes"] for s in host.desired()["servers"]] == [[]]


def test_concurrent_attaches_of_one_volume_let_only_one_server_have_it(
        api: Api, host: VolumeHost, tenant: Tenant) -> None:
    import threading

    from sausage import errors
    from sausage.db.models import compute as cm
    from sausage.services.context import Context
    from sausage.services.volume import attachments

    servers = [tenant.server(host, f"s{i}") for i in range(4)]
    volume_id = tenant.volume(host)
    ctx = Context(user_id="u", project_id=tenant.project, roles=frozenset({"member"}))
    outcomes: list[str] = []
    barrier = threading.Barrier(len(servers))

    def attach(server_id: str) -> None:
        barrier.wait()
        try:
            with api.cloud.db.transaction() as s:
                server = s.get(cm.Server, server_id)
                assert server is not None
                attachments.attach(s, ctx, server, volume_id, None)
            outcomes.append("attached")
        except errors.BadRequest:
            outcomes.append("refused")

    threads = [threading.Thread(target=attach, args=(i,)) for i in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["attached"] + ["refused"] * 3
    host.converge()
    assert sum(len(tenant.attachments(i)) for i in servers) == 1
    assert tenant.show_volume(volume_id)["status"] == "in-use"
