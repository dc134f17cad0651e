"""Tokens: issue, validate, check, revoke, and every way a token stops working."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from sausage.services.identity import tokens as tokens_module
from sausage.services.runtime import Cloud
from tests.api.conftest import ADMIN_PASSWORD, Api, password_auth


def issue(api: Api, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    r = api.client.post("/identity/v3/auth/tokens", json=body)
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"], r.json()["token"]


def validate(api: Api, subject: str, caller: dict[str, str] | None = None) -> Any:
    return api.client.get("/identity/v3/auth/tokens",
                          headers={**(caller or api.admin), "X-Subject-Token": subject})


def test_project_scoped_token_has_roles_catalog_and_expiry(api: Api) -> None:
    subject, token = issue(api, password_auth("admin", ADMIN_PASSWORD, "admin"))
    assert token["methods"] == ["password"]
    assert token["project"]["name"] == "admin"
    assert token["project"]["domain"] == {"id": "default", "name": "Default"}
    assert {"admin", "member", "reader"} <= {r["name"] for r in token["roles"]}
    (identity,) = [s for s in token["catalog"] if s["type"] == "identity"]
    assert {e["interface"] for e in identity["endpoints"]} == {"public", "internal", "admin"}
    assert all(e["region"] == "RegionOne" for e in identity["endpoints"])
    assert token["expires_at"].endswith("Z") and token["expires_at"] > token["issued_at"]


def test_validating_a_token_returns_exactly_what_issuing_it_returned(api: Api) -> None:
    subject, token = issue(api, password_auth("admin", ADMIN_PASSWORD, "admin"))
    r = validate(api, subject)
    assert r.status_code == 200
    assert r.json()["token"] == token
    assert r.headers["x-subject-token"] == subject


def test_unscoped_token_by_user_id_has_no_roles_or_catalog(api: Api) -> None:
    user_id, _, _ = api.user_in_project()
    body = {"auth": {"identity": {"methods": ["password"],
                                  "password": {"user": {"id": user_id, "password": "pw"}}}}}
    _, token = issue(api, body)
    assert token["user"]["id"] == user_id
    assert "roles" not in token and "catalog" not in token


def test_domain_scoped_token_needs_a_role_on_the_domain(api: Api) -> None:
    body = password_auth("admin", ADMIN_PASSWORD)
    body["auth"]["scope"] = {"domain": {"id": "default"}}
    assert api.client.post("/identity/v3/auth/tokens", json=body).status_code == 401
    admin = api.admin
    admin_id, role_id = api.id_of("user", "admin"), api.id_of("role", "admin")
    api.request("PUT", f"/domains/default/users/{admin_id}/roles/{role_id}", admin)
    _, token = issue(api, body)
    assert token["domain"] == {"id": "default", "name": "Default"}


def test_a_token_can_be_rescoped_with_the_token_method(api: Api) -> None:
    _, project_id, header = api.user_in_project()
    unscoped = api.client.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["token"], "token": {"id": header["X-Auth-Token"]}},
        "scope": {"project": {"id": project_id}}}})
    assert unscoped.status_code == 201
    assert unscoped.json()["token"]["project"]["id"] == project_id


def test_head_checks_a_token_and_delete_revokes_only_that_token(api: Api) -> None:
    user_id, _, own = api.user_in_project()
    body = {"auth": {"identity": {"methods": ["password"],
                                  "password": {"user": {"id": user_id, "password": "pw"}}}}}
    subject, _ = issue(api, body)
    headers = {**own, "X-Subject-Token": subject}
    r = api.client.head("/identity/v3/auth/tokens", headers=headers)
    assert r.status_code == 200 and r.content == b""
    assert api.client.delete("/identity/v3/auth/tokens", headers=headers).status_code == 204
    assert api.client.head("/identity/v3/auth/tokens", headers=headers).status_code == 404
    assert validate(api, subject, own).status_code == 404
    # The user's other token is untouched.
    assert api.request("GET", f"/users/{user_id}", own).status_code == 200


def test_a_user_cannot_validate_someone_elses_token(api: Api) -> None:
    _, _, alice = api.user_in_project()
    _, _, bob = api.user_in_project()
    assert validate(api, alice["X-Auth-Token"], bob).status_code == 403


@pytest.mark.parametrize("password", ["wrong", ""])
def test_a_wrong_password_is_401_with_the_keystone_challenge(api: Api, password: str) -> None:
    r = api.client.post("/identity/v3/auth/tokens", json=password_auth("admin", password, "admin"))
    assert r.status_code == 401
    assert r.json()["error"]["title"] == "Unauthorized"
    assert r.headers["www-authenticate"] == 'Keystone uri="http://127.0.0.1:8000/identity"'


def test_an_unknown_user_looks_the_same_as_a_wrong_password(api: Api) -> None:
    r = api.client.post("/identity/v3/auth/tokens", json=password_auth("nobody", "x", "admin"))
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "The request you have made requires authentication."


@pytest.mark.parametrize("body", [
    b"{not json",
    b"{}",
    b'{"auth": {}}',
    b'{"auth": {"identity": {"methods": "password"}}}',
    b'{"auth": {"identity": {"methods": ["password"], "password": {}}}}',
    b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",'
    b' "password": "x"}}}}}',
])
def test_malformed_auth_bodies_are_400(api: Api, body: bytes) -> None:
    r = api.client.post("/identity/v3/auth/tokens", content=body,
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == 400


@pytest.mark.parametrize("token", ["garbage", "gAAAAABnotafernettoken", ""])
def test_garbage_tokens_are_401(api: Api, token: str) -> None:
    r = api.request("GET", "/projects", {"X-Auth-Token": token} if token else {})
    assert r.status_code == 401


def test_an_expired_token_is_401(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    header = api.admin
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)
    monkeypatch.setattr(tokens_module, "utcnow", lambda: later)
    assert api.request("GET", "/projects", header).status_code == 401


def test_a_token_dies_with_its_user_project_or_role_assignment(api: Api) -> None:
    admin = api.admin
    for kill in ("user", "project", "assignment", "disable-user", "password"):
        user_id, project_id, header = api.user_in_project()
        assert api.request("GET", f"/projects/{project_id}", header).status_code == 200
        if kill == "user":
            api.request("DELETE", f"/users/{user_id}", admin)
        elif kill == "project":
            api.request("DELETE", f"/projects/{project_id}", admin)
        elif kill == "assignment":
            role_id = api.id_of("role", "member")
            r = api.request("DELETE", f"/projects/{project_id}/users/{user_id}/roles/{role_id}",
                            admin)
            assert r.status_code == 204
        elif kill == "disable-user":
            api.request("PATCH", f"/users/{user_id}", admin, json={"user": {"enabled": False}})
        else:
            r = api.request("POST", f"/users/{user_id}/password",
                            json={"user": {"original_password": "pw", "password": "new"}})
            assert r.status_code == 204
        assert api.request("GET", f"/projects/{project_id}", header).status_code == 401, kill


def test_tokens_survive_a_restart_and_a_key_rotation(api: Api) -> None:
    header = api.admin
    api.cloud.keys.rotate()
    again = Cloud(api.cloud.settings)
    try:
        with again.db.transaction() as s:
            token = again.tokens.validate(s, header["X-Auth-Token"])
        assert token.project is not None and token.project.name == "admin"
    finally:
        again.close()


def test_auth_projects_lists_where_the_user_can_scope(api: Api) -> None:
    _, project_id, header = api.user_in_project()
    r = api.request("GET", "/auth/projects", header)
    assert [p["id"] for p in r.json()["projects"]] == [project_id]
