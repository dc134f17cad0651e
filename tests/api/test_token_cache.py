"""Validated tokens are remembered per worker, and forgotten at once when identity changes.

Two workers (two ``Cloud``s and apps on one database, as two API processes): a token is first
validated on both, so each holds it in its cache; then one of them makes a change, and the token
must stop working on both at the very next request — whichever worker made the change.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from sausage.services.identity import tokens as tokens_module
from tests.api.conftest import Api


def works(worker: Api, token: str, project_id: str) -> bool:
    """Whether ``token`` is accepted both as the caller's own and as a validated subject."""
    header = {"X-Auth-Token": token}
    own = worker.request("GET", f"/projects/{project_id}", header).status_code
    subject = worker.request("GET", "/auth/tokens",
                             headers={**header, "X-Subject-Token": token}).status_code
    assert own in (200, 401) and subject in (200, 401, 404)
    assert (own == 200) == (subject == 200), (own, subject)
    return own == 200


def ok(r: Any) -> None:
    assert r.status_code in (200, 201, 204), r.text


def _name() -> str:
    return uuid.uuid4().hex[:8]


def setup_change(api: Api, change: str) -> tuple[str, str, Callable[[Api], None]]:
    """A token, its project, and a change that must kill it, made through a given worker."""
    admin = api.admin
    if change == "delete-role":
        role = f"r-{_name()}"
        ok(api.request("POST", "/roles", admin, json={"role": {"name": role}}))
        user_id, project_id, header = api.user_in_project(role=role)
        role_id = api.id_of("role", role)
        return header["X-Auth-Token"], project_id, lambda w: ok(
            w.request("DELETE", f"/roles/{role_id}", w.admin))
    if change == "leave-group":
        project = f"p-{_name()}"
        ok(api.request("POST", "/projects", admin, json={"project": {"name": project}}))
        project_id = api.id_of("project", project)
        name = f"u-{_name()}"
        r = api.request("POST", "/users", admin, json={"user": {"name": name, "password": "pw"}})
        ok(r)
        user_id = r.json()["user"]["id"]
        r = api.request("POST", "/groups", admin, json={"group": {"name": f"g-{_name()}"}})
        ok(r)
        group_id = r.json()["group"]["id"]
        role_id = api.id_of("role", "member")
        ok(api.request("PUT", f"/projects/{project_id}/groups/{group_id}/roles/{role_id}", admin))
        ok(api.request("PUT", f"/groups/{group_id}/users/{user_id}", admin))
        return api.token(name, "pw", project), project_id, lambda w: ok(
            w.request("DELETE", f"/groups/{group_id}/users/{user_id}", w.admin))
    user_id, project_id, header = api.user_in_project()
    token = header["X-Auth-Token"]
    if change == "delete-app-cred":
        path = f"/users/{user_id}/application_credentials"
        r = api.request("POST", path, header, json={"application_credential": {"name": "ci"}})
        ok(r)
        cred = r.json()["application_credential"]
        r = api.client.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}})
        ok(r)
        return r.headers["x-subject-token"], project_id, lambda w: ok(
            w.request("DELETE", f"{path}/{cred['id']}", header))
    changes: dict[str, Callable[[Api], None]] = {
        "revoke": lambda w: ok(w.request("DELETE", "/auth/tokens", w.admin,
                                         headers={"X-Subject-Token": token})),
        "delete-user": lambda w: ok(w.request("DELETE", f"/users/{user_id}", w.admin)),
        "disable-user": lambda w: ok(w.request("PATCH", f"/users/{user_id}", w.admin,
                                               json={"user": {"enabled": False}})),
        "password": lambda w: ok(w.request(
            "POST", f"/users/{user_id}/password",
            json={"user": {"original_password": "pw", "password": "new"}})),
        "disable-project": lambda w: ok(w.request("PATCH", f"/projects/{project_id}", w.admin,
                                                  json={"project": {"enabled": False}})),
        "unassign": lambda w: ok(w.request(
            "DELETE", f"/projects/{project_id}/users/{user_id}/roles/"
            f"{w.id_of('role', 'member')}", w.admin)),
    }
    return token, project_id, changes[change]


CHANGES = ["revoke", "delete-user", "disable-user", "password", "disable-project", "unassign",
           "delete-role", "delete-app-cred", "leave-group"]


@pytest.mark.parametrize("by", ["this worker", "the other worker"])
@pytest.mark.parametrize("change", CHANGES)
def test_a_cached_token_stops_working_on_every_worker_at_once_after_a_change(
        api: Api, other: Api, change: str, by: str) -> None:
    token, project_id, make_change = setup_change(api, change)
    for worker in (api, other, api, other):  # the second round is answered from the caches
        assert works(worker, token, project_id), change
    assert any(key[0] == token for key in api.cloud.tokens.cache._entries)
    make_change(api if by == "this worker" else other)
    assert not works(api, token, project_id), change
    assert not works(other, token, project_id), change


def test_a_validation_is_rebuilt_only_after_an_identity_write(
        api: Api, other: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[str] = []
    build = tokens_module.TokenProvider._build

    def counting(self: Any, s: Any, token_id: str, *args: Any) -> Any:
        builds.append(token_id)
        return build(self, s, token_id, *args)

    monkeypatch.setattr(tokens_module.TokenProvider, "_build", counting)
    _, project_id, header = api.user_in_project()
    builds.clear()
    for _ in range(3):
        assert works(api, header["X-Auth-Token"], project_id)
    assert len(builds) == 2  # once without the catalog, once with it; then from the cache
    # A new project elsewhere changes nothing about this token, but the cache cannot know that.
    ok(other.request("POST", "/projects", other.admin, json={"project": {"name": _name()}}))
    builds.clear()
    assert works(api, header["X-Auth-Token"], project_id)
    assert len(builds) == 2


def test_a_cached_token_still_expires_and_what_a_hit_returns_matches_a_fresh_validation(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    _, project_id, header = api.user_in_project()
    subject = {**header, "X-Subject-Token": header["X-Auth-Token"]}
    first = api.request("GET", "/auth/tokens", headers=subject)
    assert first.status_code == 200
    again = api.request("GET", "/auth/tokens", headers=subject)
    assert again.json() == first.json()
    assert api.request("GET", "/auth/tokens?nocatalog", headers=subject).json()["token"][
        "catalog"] == []
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)
    monkeypatch.setattr(tokens_module, "utcnow", lambda: later)
    assert api.request("GET", f"/projects/{project_id}", header).status_code == 401
    assert api.request("GET", "/auth/tokens", headers=subject).status_code == 401
