"""Projects, users, groups and domains: CRUD, bad input that writes nothing, and who may see what."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api


def test_admin_creates_shows_updates_and_deletes_a_project(api: Api) -> None:
    admin = api.admin
    r = api.request("POST", "/projects", admin, json={"project": {
        "name": "p1", "description": "first", "tags": ["a"], "color": "red"}})
    assert r.status_code == 201
    project = r.json()["project"]
    assert project["domain_id"] == "default" and project["parent_id"] == "default"
    assert project["color"] == "red"
    assert project["links"]["self"].endswith(f"/identity/v3/projects/{project['id']}")
    r = api.request("PATCH", f"/projects/{project['id']}", admin,
                    json={"project": {"description": "changed", "enabled": False}})
    assert r.json()["project"]["description"] == "changed"
    assert r.json()["project"]["enabled"] is False
    assert api.request("DELETE", f"/projects/{project['id']}", admin).status_code == 204
    assert api.request("GET", f"/projects/{project['id']}", admin).status_code == 404


def test_project_list_filters_by_name_and_domain(api: Api) -> None:
    admin = api.admin
    r = api.request("GET", "/projects?name=demo&domain_id=default", admin)
    assert [p["name"] for p in r.json()["projects"]] == ["demo"]
    assert api.request("GET", "/projects?name=none", admin).json()["projects"] == []


def test_a_duplicate_project_name_is_409_and_writes_nothing(api: Api) -> None:
    admin = api.admin
    before = len(api.request("GET", "/projects", admin).json()["projects"])
    r = api.request("POST", "/projects", admin, json={"project": {"name": "demo"}})
    assert r.status_code == 409
    assert "same name" in r.json()["error"]["message"]
    assert len(api.request("GET", "/projects", admin).json()["projects"]) == before


@pytest.mark.parametrize("body", [
    {"project": {}},
    {"project": {"name": ""}},
    {"project": {"name": "x" * 65}},
    {"project": {"name": "ok", "enabled": "yes"}},
    {"project": {"name": 5}},
    {"projects": {"name": "typo"}},
    {"project": {"name": "ok", "domain_id": "no-such-domain"}},
])
def test_invalid_project_bodies_are_rejected_and_write_nothing(api: Api, body: object) -> None:
    admin = api.admin
    before = api.request("GET", "/projects", admin).json()["projects"]
    r = api.request("POST", "/projects", admin, json=body)
    assert r.status_code in (400, 404), r.text
    assert r.json()["error"]["message"]
    assert api.request("GET", "/projects", admin).json()["projects"] == before


def test_malformed_json_is_400(api: Api) -> None:
    r = api.request("POST", "/projects", api.admin, content=b'{"project": ',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["error"]["message"]


def test_users_are_created_with_a_hashed_password_and_can_log_in(api: Api) -> None:
    admin = api.admin
    r = api.request("POST", "/users", admin, json={"user": {
        "name": "carol", "password": "s3cret", "email": "c@example.org"}})
    assert r.status_code == 201
    user = r.json()["user"]
    assert "password" not in user and user["email"] == "c@example.org"
    from sausage.db.models import identity as m

    with api.cloud.db.transaction() as s:
        row = s.get(m.User, user["id"])
        assert row is not None and row.password_hash and "s3cret" not in row.password_hash
        assert row.password_hash.startswith("$argon2id$")


def test_a_duplicate_user_name_in_a_domain_is_409(api: Api) -> None:
    r = api.request("POST", "/users", api.admin, json={"user": {"name": "demo"}})
    assert r.status_code == 409


def test_a_user_changes_their_own_password_with_the_old_one(api: Api) -> None:
    user_id, _, _ = api.user_in_project(project="demo")
    wrong = api.request("POST", f"/users/{user_id}/password",
                        json={"user": {"original_password": "nope", "password": "new"}})
    assert wrong.status_code == 401
    ok = api.request("POST", f"/users/{user_id}/password",
                     json={"user": {"original_password": "pw", "password": "new"}})
    assert ok.status_code == 204
    r = api.client.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"id": user_id, "password": "new"}}}}})
    assert r.status_code == 201


def test_a_member_cannot_list_users_or_see_another_project(api: Api) -> None:
    _, own_project, member = api.user_in_project()
    admin_project = api.id_of("project", "admin")
    assert api.request("GET", "/users", member).status_code == 403
    assert api.request("GET", "/projects", member).status_code == 403
    assert api.request("GET", f"/projects/{admin_project}", member).status_code == 403
    assert api.request("GET", f"/projects/{own_project}", member).status_code == 200


def test_a_member_sees_only_their_own_user_and_projects(api: Api) -> None:
    user_id, project_id, member = api.user_in_project()
    demo_id = api.id_of("user", "demo")
    assert api.request("GET", f"/users/{user_id}", member).status_code == 200
    assert api.request("GET", f"/users/{demo_id}", member).status_code == 403
    r = api.request("GET", f"/users/{user_id}/projects", member)
    assert [p["id"] for p in r.json()["projects"]] == [project_id]
    assert api.request("GET", f"/users/{demo_id}/projects", member).status_code == 403


@pytest.mark.parametrize("path,body", [
    ("/projects", {"project": {"name": "r-p"}}),
    ("/users", {"user": {"name": "r-u"}}),
    ("/roles", {"role": {"name": "r-r"}}),
    ("/groups", {"group": {"name": "r-g"}}),
    ("/domains", {"domain": {"name": "r-d"}}),
    ("/regions", {"region": {"id": "r-region"}}),
])
def test_a_reader_creates_nothing(api: Api, path: str, body: object) -> None:
    user_id, _, reader = api.user_in_project(role="reader")
    r = api.request("POST", path, reader, json=body)
    assert r.status_code == 403
    assert r.json()["error"]["message"].startswith("You are not authorized")
    key = path.strip("/")
    listing = api.request("GET", path, api.admin).json()[key]
    assert not any(x.get("name", x.get("id", "")).startswith("r-") for x in listing)
    r = api.request("POST", f"/users/{user_id}/application_credentials", reader,
                    json={"application_credential": {"name": "ac"}})
    assert r.status_code == 403


def test_groups_give_their_members_roles(api: Api) -> None:
    admin = api.admin
    group = api.request("POST", "/groups", admin, json={"group": {"name": "devs"}}).json()["group"]
    user = api.request("POST", "/users", admin,
                       json={"user": {"name": "gina", "password": "pw"}}).json()["user"]
    demo, member = api.id_of("project", "demo"), api.id_of("role", "member")
    assert api.request("PUT", f"/groups/{group['id']}/users/{user['id']}", admin).status_code == 204
    assert api.request("HEAD", f"/groups/{group['id']}/users/{user['id']}", admin).status_code == 204
    api.request("PUT", f"/projects/{demo}/groups/{group['id']}/roles/{member}", admin)
    token = api.token("gina", "pw", "demo")
    assert api.request("GET", f"/projects/{demo}", {"X-Auth-Token": token}).status_code == 200
    r = api.request("GET", f"/role_assignments?user.id={user['id']}&effective", admin)
    (a,) = r.json()["role_assignments"]
    assert a["user"]["id"] == user["id"] and "membership" in a["links"]
    assert api.request("DELETE", f"/groups/{group['id']}/users/{user['id']}",
                       admin).status_code == 204
    assert api.request("GET", f"/projects/{demo}", {"X-Auth-Token": token}).status_code == 401


def test_a_domain_must_be_disabled_before_it_is_deleted(api: Api) -> None:
    admin = api.admin
    domain = api.request("POST", "/domains", admin,
                         json={"domain": {"name": "d2"}}).json()["domain"]
    assert api.request("DELETE", f"/domains/{domain['id']}", admin).status_code == 403
    api.request("PATCH", f"/domains/{domain['id']}", admin, json={"domain": {"enabled": False}})
    assert api.request("DELETE", f"/domains/{domain['id']}", admin).status_code == 204
    r = api.request("GET", "/domains?name=Default", admin)
    assert [d["id"] for d in r.json()["domains"]] == ["default"]
