"""Per-project default volume types (Cinder's ``/default-types``, microversion 3.62): an admin
sets one, the project's new volumes get it and ``/types/default`` names it; other projects
keep the cloud's default; unset, the cloud's default is back. Through the Cinder API.
"""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.test_volume_microversions import type_made
from tests.api.test_volumes import VolumeHost, Who, who


def set_default(admin: Who, project_id: str, volume_type: str,
                version: str = "3.62") -> Any:
    return admin("PUT", f"/default-types/{project_id}", version,
                 json={"default_type": {"volume_type": volume_type}})


def test_default_types_are_not_there_before_3_62(admin: Who, user: Who) -> None:
    type_made(admin, "gold", {})
    assert set_default(admin, user.project_id, "gold", "3.61").status_code == 404
    assert admin("GET", "/default-types", "3.61").status_code == 404


def test_a_projects_default_type_is_what_its_new_volumes_get(
        api: Api, host: VolumeHost, admin: Who, user: Who) -> None:
    gold = type_made(admin, "gold", {})
    r = set_default(admin, user.project_id, "gold")
    assert r.status_code == 200, r.text
    assert r.json() == {"default_type": {"project_id": user.project_id,
                                         "volume_type_id": gold["id"]}}
    shown = admin("GET", f"/default-types/{user.project_id}", "3.62")
    assert shown.json()["default_type"]["volume_type_id"] == gold["id"]
    listed = admin("GET", "/default-types", "3.62").json()["default_types"]
    assert listed == [{"project_id": user.project_id, "volume_type_id": gold["id"]}]

    made = user("POST", "/volumes", "3.63", json={"volume": {"size": 1}}).json()["volume"]
    assert made["volume_type"] == "gold" and made["volume_type_id"] == gold["id"]
    assert user("GET", "/types/default").json()["volume_type"]["name"] == "gold"
    # Another project keeps the cloud's default.
    other = who(api)
    theirs = other("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]
    assert theirs["volume_type"] == "__DEFAULT__"

    # Set by id, it is replaced; unset, the cloud's default is back.
    silver = type_made(admin, "silver", {})
    assert set_default(admin, user.project_id, silver["id"]).json()["default_type"][
        "volume_type_id"] == silver["id"]
    assert admin("DELETE", f"/default-types/{user.project_id}", "3.62").status_code == 204
    gone = admin("GET", f"/default-types/{user.project_id}", "3.62")
    assert gone.status_code == 404
    assert gone.json()["itemNotFound"]["message"] == (
        f"Default type for project {user.project_id} not found.")
    again = user("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]
    assert again["volume_type"] == "__DEFAULT__"


def test_a_type_that_is_a_projects_default_cannot_be_deleted(admin: Who, user: Who) -> None:
    gold = type_made(admin, "gold", {})
    set_default(admin, user.project_id, "gold")
    r = admin("DELETE", f"/types/{gold['id']}")
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == (
        f"The volume type {gold['id']} is a default volume type and cannot be deleted.")
    admin("DELETE", f"/default-types/{user.project_id}", "3.62")
    assert admin("DELETE", f"/types/{gold['id']}").status_code == 202


def test_bad_default_type_requests_are_refused_and_nothing_is_set(
        admin: Who, user: Who) -> None:
    type_made(admin, "gold", {})
    assert set_default(admin, user.project_id, "no-such-type").status_code == 400
    assert set_default(admin, "0" * 32, "gold").status_code == 404
    body: dict[str, Any]
    for body in ({}, {"default_type": {}}, {"default_type": {"volume_type": ""}},
                 {"default_type": {"volume_type": "gold", "extra": 1}}):
        r = admin("PUT", f"/default-types/{user.project_id}", "3.62", json=body)
        assert r.status_code == 400, (body, r.text)
    assert admin("GET", "/default-types", "3.62").json() == {"default_types": []}


def test_only_admins_manage_default_types(admin: Who, user: Who) -> None:
    type_made(admin, "gold", {})
    assert set_default(user, user.project_id, "gold").status_code == 403
    assert user("GET", f"/default-types/{user.project_id}", "3.62").status_code == 403
    assert user("GET", "/default-types", "3.62").status_code == 403
    assert user("DELETE", f"/default-types/{user.project_id}", "3.62").status_code == 403
    assert admin("GET", "/default-types", "3.62").json() == {"default_types": []}
