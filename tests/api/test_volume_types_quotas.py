"""Block storage: volume types (default, admin CRUD, extra specs, private access), quota sets
and absolute limits, through the Cinder v3 API as the openstack CLI uses it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from sausage import errors
from sausage.db.models import volume as vm
from sausage.services.volume import quotas, types
from tests.api.conftest import DEMO_PASSWORD, Api


def cinder(api: Api, method: str, path: str, token: dict[str, str], project_id: str,
           version: str = "3.44", **kwargs: Any) -> httpx.Response:
    headers = {**token, "OpenStack-API-Version": f"volume {version}",
               **kwargs.pop("headers", {})}
    return api.client.request(method, f"/volume/v3/{project_id}{path}", headers=headers,
                              **kwargs)


class Who:
    """A caller: its token header and project, with a ``call`` bound to its catalog URL."""

    def __init__(self, api: Api, token: dict[str, str], project_id: str,
                 version: str = "3.44") -> None:
        self.api, self.token, self.project_id = api, token, project_id
        self.version = version

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("version", self.version)
        return cinder(self.api, method, path, self.token, self.project_id, **kwargs)


@pytest.fixture
def admin(api: Api) -> Who:
    return Who(api, api.admin, api.id_of("project", "admin"))


@pytest.fixture
def demo(api: Api) -> Who:
    return Who(api, {"X-Auth-Token": api.token("demo", DEMO_PASSWORD, "demo")},
               api.id_of("project", "demo"))


def insert_volume(api: Api, project_id: str, size: int = 1, type_id: str | None = None) -> str:
    """A volume row as the volume service leaves it once its host reported it available."""
    with api.cloud.db.transaction() as s:
        type_id = type_id or types.default_type(s).id
        row = vm.Volume(id=str(uuid.uuid4()), project_id=project_id, user_id="u", size=size,
                        status="available", volume_type_id=type_id)
        s.add(row)
        return row.id


def make_type(admin: Who, name: str, **extra: Any) -> dict[str, Any]:
    r = admin("POST", "/types", json={"volume_type": {"name": name, **extra}})
    assert r.status_code == 200, r.text
    return dict(r.json()["volume_type"])


# --- volume types ---------------------------------------------------------------------------

def test_everyone_sees_the_default_type_by_id_and_as_default(demo: Who) -> None:
    r = demo("GET", "/types")
    assert r.status_code == 200, r.text
    listed = r.json()["volume_types"]
    assert [t["name"] for t in listed] == ["__DEFAULT__"]
    default = listed[0]
    assert default["description"] == "Default Volume Type"
    assert default["is_public"] is True and default["os-volume-type-access:is_public"] is True
    assert "qos_specs_id" not in default  # only admins see it
    assert demo("GET", f"/types/{default['id']}").json()["volume_type"]["id"] == default["id"]
    assert demo("GET", "/types/default").json()["volume_type"]["id"] == default["id"]


def test_an_admin_creates_updates_and_deletes_a_type(admin: Who) -> None:
    made = make_type(admin, "fast", description="SSD", extra_specs={"speed": "high"})
    assert made["extra_specs"] == {"speed": "high"} and made["description"] == "SSD"
    assert made["os-volume-type-access:is_public"] is True
    r = admin("PUT", f"/types/{made['id']}", json={"volume_type": {"name": "faster",
                                                                  "description": "NVMe"}})
    assert r.status_code == 200, r.text
    assert r.json()["volume_type"]["name"] == "faster"
    assert set(r.json()["volume_type"]) == {"id", "name", "is_public", "description",
                                            "extra_specs"}
    shown = admin("GET", f"/types/{made['id']}").json()["volume_type"]
    assert shown["description"] == "NVMe" and shown["qos_specs_id"] is None
    assert admin("DELETE", f"/types/{made['id']}").status_code == 202
    r = admin("GET", f"/types/{made['id']}")
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["message"] == f"Volume type {made['id']} could not be found."


def test_members_may_not_manage_types(admin: Who, demo: Who) -> None:
    made = make_type(admin, "gold")
    r = demo("POST", "/types", json={"volume_type": {"name": "mine"}})
    assert r.status_code == 403
    assert "badRequest" not in r.json() and r.json()["forbidden"]["code"] == 403
    assert demo("PUT", f"/types/{made['id']}",
                json={"volume_type": {"name": "x"}}).status_code == 403
    assert demo("DELETE", f"/types/{made['id']}").status_code == 403
    assert demo("POST", f"/types/{made['id']}/extra_specs",
                json={"extra_specs": {"a": "b"}}).status_code == 403
    assert [t["name"] for t in admin("GET", "/types").json()["volume_types"]] == [
        "__DEFAULT__", "gold"]


@pytest.mark.parametrize("body", [
    {"volume_type": {}},
    {"volume_type": {"name": ""}},
    {"volume_type": {"name": "x" * 256}},
    {"volume_type": {"name": "ok", "colour": "red"}},
    {"volume_type": {"name": "ok", "os-volume-type-access:is_public": "maybe"}},
    {"volume_type": {"name": "ok", "extra_specs": {"bad key": "v"}}},
    {"volume": {"name": "ok"}},
])
def test_bad_type_bodies_are_refused_and_nothing_is_made(admin: Who, body: Any) -> None:
    r = admin("POST", "/types", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["badRequest"]["message"]
    assert len(admin("GET", "/types").json()["volume_types"]) == 1


def test_a_type_name_is_unique(admin: Who) -> None:
    make_type(admin, "silver")
    r = admin("POST", "/types", json={"volume_type": {"name": "silver"}})
    assert r.status_code == 409
    assert r.json()["conflictingRequest"]["message"] == "Volume Type silver already exists."


def test_a_type_in_use_or_the_default_cannot_be_deleted(api: Api, admin: Who, demo: Who) -> None:
    made = make_type(admin, "busy")
    insert_volume(api, demo.project_id, type_id=made["id"])
    r = admin("DELETE", f"/types/{made['id']}")
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Target volume type is still in use."
    r = admin("POST", f"/types/{made['id']}/extra_specs", json={"extra_specs": {"a": "b"}})
    assert r.status_code == 400
    default = admin("GET", "/types/default").json()["volume_type"]["id"]
    r = admin("DELETE", f"/types/{default}")
    assert r.status_code == 400
    assert "is a default volume type and cannot be deleted" in r.json()["badRequest"]["message"]


def test_extra_specs_are_listed_shown_set_and_removed(admin: Who) -> None:
    made = make_type(admin, "specs")
    base = f"/types/{made['id']}/extra_specs"
    r = admin("POST", base, json={"extra_specs": {"k1": "v1", "k2": "v2"}})
    assert r.status_code == 200 and r.json() == {"extra_specs": {"k1": "v1", "k2": "v2"}}
    assert admin("GET", f"{base}/k1").json() == {"k1": "v1"}
    r = admin("PUT", f"{base}/k1", json={"k1": "changed"})
    assert r.status_code == 200 and r.json() == {"k1": "changed"}
    assert admin("PUT", f"{base}/k1", json={"k2": "x"}).status_code == 400
    assert admin("DELETE", f"{base}/k2").status_code == 202
    assert admin("GET", base).json() == {"extra_specs": {"k1": "changed"}}
    r = admin("GET", f"{base}/k2")
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["message"] == (
        f"Volume Type {made['id']} has no extra specs with key k2.")
    assert admin("DELETE", f"{base}/k2").status_code == 404


def test_members_see_only_user_visible_extra_specs(admin: Who, demo: Who) -> None:
    made = make_type(admin, "multi", extra_specs={"multiattach": "<is> True",
                                                  "volume_backend_name": "file"})
    shown = demo("GET", f"/types/{made['id']}").json()["volume_type"]
    assert shown["extra_specs"] == {"multiattach": "<is> True"}


def test_a_private_type_is_seen_only_by_projects_given_access(admin: Who, demo: Who) -> None:
    made = make_type(admin, "secret", **{"os-volume-type-access:is_public": False})
    assert made["is_public"] is False
    assert demo("GET", f"/types/{made['id']}").status_code == 404
    assert [t["name"] for t in demo("GET", "/types").json()["volume_types"]] == ["__DEFAULT__"]
    r = admin("POST", f"/types/{made['id']}/action",
              json={"addProjectAccess": {"project": demo.project_id}})
    assert r.status_code == 202, r.text
    r = admin("POST", f"/types/{made['id']}/action",
              json={"addProjectAccess": {"project": demo.project_id}})
    assert r.status_code == 409
    r = admin("GET", f"/types/{made['id']}/os-volume-type-access")
    assert r.json() == {"volume_type_access": [{"volume_type_id": made["id"],
                                                "project_id": demo.project_id}]}
    assert demo("GET", f"/types/{made['id']}").status_code == 200
    assert "secret" in [t["name"] for t in demo("GET", "/types").json()["volume_types"]]
    assert demo("GET", f"/types/{made['id']}/os-volume-type-access").status_code == 403
    r = admin("POST", f"/types/{made['id']}/action",
              json={"removeProjectAccess": {"project": demo.project_id}})
    assert r.status_code == 202
    assert demo("GET", f"/types/{made['id']}").status_code == 404


def test_admins_filter_types_by_is_public(admin: Who) -> None:
    make_type(admin, "hidden", **{"os-volume-type-access:is_public": False})
    def names(query: str) -> list[str]:
        return [t["name"] for t in admin("GET", f"/types{query}").json()["volume_types"]]

    assert names("?is_public=false") == ["hidden"]
    assert names("?is_public=true") == ["__DEFAULT__"]
    assert names("?is_public=None") == ["__DEFAULT__", "hidden"]


def test_access_actions_on_a_public_type_are_refused(admin: Who, demo: Who) -> None:
    made = make_type(admin, "open")
    r = admin("POST", f"/types/{made['id']}/action",
              json={"addProjectAccess": {"project": demo.project_id}})
    assert r.status_code == 400
    assert admin("POST", f"/types/{made['id']}/action",
                 json={"grantEverything": {}}).status_code == 400


def test_resolve_finds_types_by_name_or_id_and_names_missing_ones(api: Api, admin: Who
                                                                 ) -> None:
    made = make_type(admin, "resolvable")
    from sausage.services.context import Context
    ctx = Context(user_id="u", project_id="p", roles=frozenset({"member"}))
    with api.cloud.db.transaction() as s:
        assert types.resolve(s, ctx, None).name == types.DEFAULT_TYPE
        assert types.resolve(s, ctx, "resolvable").id == made["id"]
        assert types.resolve(s, ctx, made["id"]).name == "resolvable"
        with pytest.raises(errors.NotFound, match="Volume type with name nope could not"):
            types.resolve(s, ctx, "nope")
        missing = str(uuid.uuid4())
        with pytest.raises(errors.NotFound, match=f"Volume type {missing} could not"):
            types.resolve(s, ctx, missing)


# --- quotas and limits ----------------------------------------------------------------------

QUOTA_KEYS = {"id", "volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes",
              "groups", "per_volume_gigabytes", "volumes___DEFAULT__",
              "gigabytes___DEFAULT__", "snapshots___DEFAULT__"}


def test_a_project_reads_its_quotas_with_defaults_and_per_type_keys(demo: Who) -> None:
    r = demo("GET", f"/os-quota-sets/{demo.project_id}")
    assert r.status_code == 200, r.text
    body = r.json()["quota_set"]
    assert set(body) == QUOTA_KEYS
    assert (body["volumes"], body["snapshots"], body["gigabytes"]) == (10, 10, 1000)
    assert body["per_volume_gigabytes"] == -1 and body["volumes___DEFAULT__"] == -1
    r = demo("GET", f"/os-quota-sets/{demo.project_id}/defaults")
    assert r.json()["quota_set"]["id"] == demo.project_id


def test_quota_usage_counts_volumes_and_snapshot_gigabytes(api: Api, demo: Who) -> None:
    vid = insert_volume(api, demo.project_id, size=3)
    insert_volume(api, demo.project_id, size=2)
    with api.cloud.db.transaction() as s:
        s.add(vm.VolumeSnapshot(id=str(uuid.uuid4()), volume_id=vid, project_id=demo.project_id,
                                user_id="u", size=3, status="available"))
    body = demo("GET", f"/os-quota-sets/{demo.project_id}?usage=true").json()["quota_set"]
    assert body["volumes"] == {"limit": 10, "in_use": 2, "reserved": 0, "allocated": 0}
    assert body["gigabytes"]["in_use"] == 8 and body["snapshots"]["in_use"] == 1
    assert body["gigabytes___DEFAULT__"]["in_use"] == 8
    absolute = demo("GET", "/limits").json()["limits"]["absolute"]
    assert absolute == {"maxTotalVolumes": 10, "maxTotalSnapshots": 10,
                        "maxTotalVolumeGigabytes": 1000, "maxTotalBackups": 10,
                        "maxTotalBackupGigabytes": 1000, "totalVolumesUsed": 2,
                        "totalGigabytesUsed": 8, "totalSnapshotsUsed": 1,
                        "totalBackupsUsed": 0, "totalBackupGigabytesUsed": 0}


def test_from_3_39_admins_read_another_projects_limits(api: Api, admin: Who, demo: Who
                                                        ) -> None:
    insert_volume(api, demo.project_id, size=4)
    query = f"/limits?project_id={demo.project_id}"
    absolute = admin("GET", query, version="3.39").json()["limits"]["absolute"]
    assert absolute["totalGigabytesUsed"] == 4
    absolute = admin("GET", query, version="3.38").json()["limits"]["absolute"]
    assert absolute["totalGigabytesUsed"] == 0
    own = demo("GET", f"/limits?project_id={admin.project_id}", version="3.39").json()
    assert own["limits"]["absolute"]["totalGigabytesUsed"] == 4


def test_only_admins_change_quotas_and_others_quotas_are_not_readable(
        admin: Who, demo: Who) -> None:
    r = demo("PUT", f"/os-quota-sets/{demo.project_id}", json={"quota_set": {"volumes": 50}})
    assert r.status_code == 403
    assert demo("GET", f"/os-quota-sets/{admin.project_id}").status_code == 403
    assert demo("DELETE", f"/os-quota-sets/{demo.project_id}").status_code == 403


def test_an_admin_sets_and_resets_a_projects_quotas(admin: Who, demo: Who) -> None:
    r = admin("PUT", f"/os-quota-sets/{demo.project_id}",
              json={"quota_set": {"volumes": 5, "gigabytes": "20", "volumes___DEFAULT__": 4,
                                  "id": demo.project_id}})
    assert r.status_code == 200, r.text
    body = r.json()["quota_set"]
    assert (body["volumes"], body["gigabytes"], body["volumes___DEFAULT__"]) == (5, 20, 4)
    assert "id" not in body
    assert demo("GET", "/limits").json()["limits"]["absolute"]["maxTotalVolumes"] == 5
    r = admin("DELETE", f"/os-quota-sets/{demo.project_id}")
    assert r.status_code == 200
    assert demo("GET", f"/os-quota-sets/{demo.project_id}").json()["quota_set"]["volumes"] == 10


@pytest.mark.parametrize("values,message", [
    ({"volumes": -2}, "volumes must be >= -1"),
    ({"volumes": "many"}, "volumes must be an integer."),
    ({"instances": 3}, "Bad key(s) in quota set: instances"),
    ({}, "quota_set"),
])
def test_bad_quota_values_are_refused_and_nothing_changes(
        admin: Who, demo: Who, values: dict[str, Any], message: str) -> None:
    r = admin("PUT", f"/os-quota-sets/{demo.project_id}",
              json={"quota_set": {**values}})
    assert r.status_code == 400, r.text
    assert message in r.json()["badRequest"]["message"]
    assert demo("GET", f"/os-quota-sets/{demo.project_id}").json()["quota_set"]["volumes"] == 10


def test_a_limit_below_current_usage_is_refused(api: Api, admin: Who, demo: Who) -> None:
    insert_volume(api, demo.project_id, size=5)
    insert_volume(api, demo.project_id, size=5)
    r = admin("PUT", f"/os-quota-sets/{demo.project_id}", json={"quota_set": {"volumes": 1}})
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == (
        "Quota volumes limit must be equal or greater than existing resources. Current usage "
        "is 2 and the requested limit is 1.")
    r = admin("PUT", f"/os-quota-sets/{demo.project_id}",
              json={"quota_set": {"gigabytes": -1, "volumes": 2}})
    assert r.status_code == 200


def test_quota_checks_raise_cinders_over_limit_messages(api: Api, admin: Who, demo: Who) -> None:
    admin("PUT", f"/os-quota-sets/{demo.project_id}",
          json={"quota_set": {"volumes": 1, "gigabytes": 3, "per_volume_gigabytes": 2}})
    insert_volume(api, demo.project_id, size=1)
    with api.cloud.db.transaction() as s:
        with pytest.raises(errors.PayloadTooLarge) as e:
            quotas.check(s, demo.project_id, volumes=1, gigabytes=1)
        assert e.value.message == ("Maximum number of volumes allowed (1) exceeded for quota "
                                   "'volumes'.")
        with pytest.raises(errors.PayloadTooLarge) as e:
            quotas.check(s, demo.project_id, snapshots=1, gigabytes=3)
        assert e.value.message == (
            "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota "
            "is 3G and 1G has been consumed.")
        with pytest.raises(errors.PayloadTooLarge) as e:
            quotas.check(s, demo.project_id, volumes=1, gigabytes=5)
        assert e.value.message == ("Requested volume size 5G is larger than maximum allowed "
                                   "limit 2G.")
        quotas.check(s, demo.project_id, snapshots=1, gigabytes=2)


def test_per_type_limits_apply_to_that_types_volumes(api: Api, admin: Who, demo: Who) -> None:
    admin("PUT", f"/os-quota-sets/{demo.project_id}",
          json={"quota_set": {"volumes___DEFAULT__": 1}})
    insert_volume(api, demo.project_id)
    with api.cloud.db.transaction() as s:
        default = types.default_type(s).id
        quotas.check(s, demo.project_id, volumes=1, gigabytes=1)
        with pytest.raises(errors.PayloadTooLarge, match="quota 'volumes___DEFAULT__'"):
            quotas.check(s, demo.project_id, volumes=1, gigabytes=1, volume_type_id=default)


def test_renaming_a_type_keeps_its_per_type_quota(admin: Who, demo: Who) -> None:
    made = make_type(admin, "bronze")
    admin("PUT", f"/os-quota-sets/{demo.project_id}", json={"quota_set": {"volumes_bronze": 3}})
    admin("PUT", f"/types/{made['id']}", json={"volume_type": {"name": "copper"}})
    body = demo("GET", f"/os-quota-sets/{demo.project_id}").json()["quota_set"]
    assert body["volumes_copper"] == 3 and "volumes_bronze" not in body
