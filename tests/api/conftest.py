"""The API tier: the whole ASGI app in-process, on SQLite and on a real PostgreSQL server.

``api`` gives an ``Api`` helper bound to a fresh cloud (bootstrapped like ``sausage up``) with
ready-made admin and demo tokens and small builders for users in projects with roles.
"""

from __future__ import annotations

import dataclasses
import pathlib
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.testclient import TestClient

from sausage import config
from sausage.api import app as app_module
from sausage.services.runtime import Cloud
from tests.api.revisions import RevisionWatch

if TYPE_CHECKING:
    from tests.api.test_volumes import VolumeHost, Who

ADMIN_PASSWORD = "admin-secret"
DEMO_PASSWORD = "demo-secret"


def password_auth(name: str, password: str, project: str | None = None,
                  domain: str = "Default") -> dict[str, Any]:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": name, "domain": {"name": domain}, "password": password}}}}}
    if project is not None:
        body["auth"]["scope"] = {"project": {"name": project, "domain": {"name": domain}}}
    return body


@dataclasses.dataclass
class Api:
    client: TestClient
    cloud: Cloud

    def token(self, name: str, password: str, project: str | None = None) -> str:
        r = self.client.post("/identity/v3/auth/tokens", json=password_auth(name, password, project))
        assert r.status_code == 201, r.text
        return str(r.headers["x-subject-token"])

    @property
    def admin(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token("admin", ADMIN_PASSWORD, "admin")}

    def request(self, method: str, path: str, token: dict[str, str] | None = None,
                **kwargs: Any) -> httpx.Response:
        headers = {**(token or {}), **kwargs.pop("headers", {})}
        return self.client.request(method, "/identity/v3" + path, headers=headers, **kwargs)

    def id_of(self, kind: str, name: str) -> str:
        r = self.request("GET", f"/{kind}s?name={name}", self.admin)
        assert r.status_code == 200, r.text
        return str(r.json()[f"{kind}s"][0]["id"])

    def user_in_project(self, role: str = "member", project: str | None = None
                        ) -> tuple[str, str, dict[str, str]]:
        """A new user with ``role`` on a (new) project: (user id, project id, its token header)."""
        admin = self.admin
        project = project or f"p-{uuid.uuid4().hex[:8]}"
        r = self.request("POST", "/projects", admin, json={"project": {"name": project}})
        assert r.status_code in (201, 409), r.text
        project_id = self.id_of("project", project)
        name = f"u-{uuid.uuid4().hex[:8]}"
        r = self.request("POST", "/users", admin, json={"user": {"name": name, "password": "pw"}})
        assert r.status_code == 201, r.text
        user_id = r.json()["user"]["id"]
        role_id = self.id_of("role", role)
        r = self.request("PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id}", admin)
        assert r.status_code == 204, r.text
        return user_id, project_id, {"X-Auth-Token": self.token(name, "pw", project)}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[Api]:
    url = ""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres").new_database()
    # An empty cloud: tests that want the bootstrap networks run services.network.bootstrap.
    settings = config.load(tmp_path, database_url=url, network_bootstrap=False)
    cloud = Cloud(settings)
    cloud.prepare(admin_password=ADMIN_PASSWORD, demo_password=DEMO_PASSWORD,
                  catalog=app_module.catalog(settings.public_url))
    with TestClient(app_module.build(cloud), base_url="http://127.0.0.1:8000") as client:
        RevisionWatch(cloud).install(client)
        yield Api(client, cloud)
    cloud.close()


# The Cinder tests' callers, shared by the volume test modules (a module that defines its own
# ``host``/``user``/``admin`` fixture keeps it). Imported late: test_volumes imports this module.
@pytest.fixture
def host(api: Api) -> VolumeHost:
    """A volume host speaking the agent contract over the internal API."""
    from tests.api.test_volumes import VolumeHost
    return VolumeHost(api)


@pytest.fixture
def user(api: Api) -> Who:
    """A member of a new project, calling the Cinder API."""
    from tests.api.test_volumes import who
    return who(api)


@pytest.fixture
def admin(api: Api) -> Who:
    """The cloud admin in the admin project, calling the Cinder API."""
    from tests.api.test_volumes import Who
    return Who(api, api.admin, api.id_of("project", "admin"))


@pytest.fixture
def other(api: Api) -> Iterator[Api]:
    """A second API worker: its own Cloud and app on the same settings (state dir, database)."""
    cloud = Cloud(api.cloud.settings)
    with TestClient(app_module.build(cloud), base_url="http://127.0.0.1:8000") as client:
        yield Api(client, cloud)
    cloud.close()
