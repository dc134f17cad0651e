"""Roles, assignments, the role_assignments report, and the catalog resources."""

from __future__ import annotations

from tests.api.conftest import Api


def test_the_bootstrap_roles_exist_and_a_duplicate_is_409(api: Api) -> None:
    admin = api.admin
    names = {r["name"] for r in api.request("GET", "/roles", admin).json()["roles"]}
    assert {"admin", "member", "reader"} <= names
    r = api.request("POST", "/roles", admin, json={"role": {"name": "member"}})
    assert r.status_code == 409
    assert api.request("POST", "/roles", admin, json={"role": {"name": "ops"}}).status_code == 201


def test_grants_can_be_put_checked_listed_and_deleted(api: Api) -> None:
    admin = api.admin
    user_id, project_id, _ = api.user_in_project()
    reader = api.id_of("role", "reader")
    path = f"/projects/{project_id}/users/{user_id}/roles"
    assert api.request("HEAD", f"{path}/{reader}", admin).status_code == 404
    assert api.request("PUT", f"{path}/{reader}", admin).status_code == 204
    assert api.request("HEAD", f"{path}/{reader}", admin).status_code == 204
    names = {r["name"] for r in api.request("GET", path, admin).json()["roles"]}
    assert names == {"member", "reader"}
    assert api.request("DELETE", f"{path}/{reader}", admin).status_code == 204
    assert api.request("DELETE", f"{path}/{reader}", admin).status_code == 404
    assert api.request("PUT", f"{path}/no-such-role", admin).status_code == 404


def test_role_assignments_filter_by_project_and_show_names(api: Api) -> None:
    admin = api.admin
    demo = api.id_of("project", "demo")
    r = api.request("GET", f"/role_assignments?scope.project.id={demo}&include_names=True", admin)
    (a,) = r.json()["role_assignments"]
    assert a["role"]["name"] == "member"
    assert a["user"]["name"] == "demo" and a["user"]["domain"]["name"] == "Default"
    assert a["scope"]["project"]["name"] == "demo"


def test_a_member_may_list_only_their_own_assignments(api: Api) -> None:
    user_id, _, member = api.user_in_project()
    assert api.request("GET", "/role_assignments", member).status_code == 403
    r = api.request("GET", f"/role_assignments?user.id={user_id}", member)
    assert len(r.json()["role_assignments"]) == 1


def test_the_catalog_lists_identity_in_the_region(api: Api) -> None:
    r = api.request("GET", "/auth/catalog", api.admin)
    (identity,) = [s for s in r.json()["catalog"] if s["type"] == "identity"]
    assert identity["type"] == "identity" and identity["name"] == "keystone"
    assert {e["url"] for e in identity["endpoints"]} == {"http://127.0.0.1:8000/identity"}


def test_regions_services_and_endpoints_are_managed_by_admin(api: Api) -> None:
    admin = api.admin
    region = api.request("POST", "/regions", admin, json={"region": {"id": "Two"}})
    assert region.status_code == 201
    assert api.request("POST", "/regions", admin,
                       json={"region": {"id": "Two"}}).status_code == 409
    svc = api.request("POST", "/services", admin,
                      json={"service": {"type": "x-thing", "name": "thing"}}).json()["service"]
    bad = api.request("POST", "/endpoints", admin, json={"endpoint": {
        "service_id": svc["id"], "interface": "sideways", "url": "http://x"}})
    assert bad.status_code == 400
    ep = api.request("POST", "/endpoints", admin, json={"endpoint": {
        "service_id": svc["id"], "interface": "public", "url": "http://x", "region_id": "Two"}})
    assert ep.status_code == 201
    types = {s["type"] for s in api.request("GET", "/auth/catalog", admin).json()["catalog"]}
    assert "x-thing" in types
    assert api.request("DELETE", f"/services/{svc['id']}", admin).status_code == 204
    assert api.request("GET", f"/endpoints/{ep.json()['endpoint']['id']}",
                       admin).status_code == 404


def test_application_credentials_authenticate_with_the_roles_they_were_given(api: Api) -> None:
    user_id, project_id, member = api.user_in_project()
    path = f"/users/{user_id}/application_credentials"
    r = api.request("POST", path, member, json={"application_credential": {"name": "ci"}})
    assert r.status_code == 201
    cred = r.json()["application_credential"]
    assert cred["secret"] and cred["project_id"] == project_id
    assert [x["name"] for x in cred["roles"]] == ["member"]
    assert "secret" not in api.request("GET", f"{path}/{cred['id']}", member).json()[
        "application_credential"]
    assert api.request("POST", path, member,
                       json={"application_credential": {"name": "ci"}}).status_code == 409
    auth = {"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}}
    r = api.client.post("/identity/v3/auth/tokens", json=auth)
    assert r.status_code == 201
    token = r.json()["token"]
    assert token["project"]["id"] == project_id
    assert token["application_credential"]["id"] == cred["id"]
    wrong = {"auth": {"identity": {"methods": ["application_credential"],
             "application_credential": {"id": cred["id"], "secret": "nope"}}}}
    assert api.client.post("/identity/v3/auth/tokens", json=wrong).status_code == 401
    cred_token = {"X-Auth-Token": r.headers["x-subject-token"]}
    assert api.request("POST", path, cred_token,
                       json={"application_credential": {"name": "x"}}).status_code == 403
    assert api.request("DELETE", f"{path}/{cred['id']}", member).status_code == 204
    assert api.request("GET", f"/users/{user_id}", cred_token).status_code == 401
    assert api.client.post("/identity/v3/auth/tokens", json=auth).status_code == 401
