"""Version discovery and what every response carries."""

from __future__ import annotations

from tests.api.conftest import Api


def test_identity_root_lists_v3_with_multiple_choices(api: Api) -> None:
    r = api.client.get("/identity")
    assert r.status_code == 300
    (version,) = r.json()["versions"]["values"]
    assert version["id"].startswith("v3.")
    assert version["links"][0]["href"] == "http://127.0.0.1:8000/identity/v3/"


def test_v3_document_has_the_media_type_and_a_stable_status(api: Api) -> None:
    r = api.client.get("/identity/v3")
    assert r.status_code == 200
    version = r.json()["version"]
    assert {"id", "links", "media-types", "status", "updated"} <= set(version)
    assert version["status"] == "stable"
    assert {"base": "application/json",
            "type": "application/vnd.openstack.identity-v3+json"} in version["media-types"]


def test_every_response_carries_a_request_id_even_errors(api: Api) -> None:
    for path in ("/identity/v3", "/identity/v3/projects", "/identity/v3/nothing-here"):
        r = api.client.get(path)
        assert r.headers["x-openstack-request-id"].startswith("req-")
    assert len({api.client.get("/identity/v3").headers["x-openstack-request-id"]
                for _ in range(3)}) == 3


def test_unknown_path_gets_keystones_not_found_body(api: Api) -> None:
    r = api.client.get("/identity/v3/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == 404
    assert r.headers["content-type"] == "application/json"


def test_wrong_method_gets_405_in_keystones_shape(api: Api) -> None:
    r = api.client.put("/identity/v3/role_assignments", headers=api.admin)
    assert r.status_code == 405
    assert r.json()["error"]["code"] == 405
