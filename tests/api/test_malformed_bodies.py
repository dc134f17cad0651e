"""Malformed request bodies and headers, in every service: each is refused with that service's
own 4xx fault, and nothing is written (the collection is the same before and after).

The bodies are the classes a generated-request run once answered with 500: JSON nested 10,000
deep, a lone surrogate, non-finite numbers, integers past signed 64 bits, bytes that are not
UTF-8, Content-Types a service does not read as JSON, and header bytes that are not UTF-8.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest

from sausage.api import faults, wire
from tests.api.conftest import Api


@dataclasses.dataclass(frozen=True)
class Endpoint:
    service: str
    collection: str  # a path under the service, {project} for the caller's project
    member: str  # the body's wrapper key
    fields: dict[str, Any]  # a valid body's fields, which the poison joins

    def path(self, project: str) -> str:
        return self.collection.format(project=project)

    def body(self, poison: bytes) -> bytes:
        valid = json.dumps(self.fields).encode()
        inner = valid[:-1] + (b", " if self.fields else b"") + b'"poison": ' + poison + b"}"
        return b'{"' + self.member.encode() + b'": ' + inner + b"}" if self.member else inner


ENDPOINTS = [
    Endpoint("identity", "/identity/v3/projects", "project", {"name": "poisoned"}),
    Endpoint("compute", "/compute/v2.1/os-keypairs", "keypair", {"name": "poisoned"}),
    Endpoint("network", "/network/v2.0/networks", "network", {"name": "poisoned"}),
    Endpoint("volume", "/volume/v3/{project}/volumes", "volume", {"size": 1}),
    Endpoint("image", "/image/v2/images", "", {"name": "poisoned"}),
    Endpoint("dns", "/dns/v2/zones", "", {"name": "poisoned.org.", "email": "a@b.org"}),
]

POISONS = {
    "nested 10,000 deep": b"[" * 10_000 + b"]" * 10_000,
    "nested one level too deep": b"[" * wire.MAX_DEPTH + b"]" * wire.MAX_DEPTH,
    "a lone surrogate, escaped": b'"\\ud800"',
    "a lone surrogate as UTF-8 bytes": b'"\xed\xa0\x80"',
    "a NUL character": b'"a\\u0000b"',
    "a lone surrogate as a key": b'{"\\udfff": 1}',
    "a byte that is not UTF-8": b'"\xff"',
    "1e999": b"1e999",
    "-1e999": b"-1e999",
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "-Infinity": b"-Infinity",
    "2**63": str(2 ** 63).encode(),
    "-2**63 - 1": str(-2 ** 63 - 1).encode(),
    "a 5000-digit integer": b"9" * 5000,
}


def fault_of(service: str, status: int, response: Any) -> str:
    """The fault's message, after checking the body has the service's own shape."""
    assert response.status_code == status, response.text
    body = response.json()
    if service == "identity":
        assert body["error"]["code"] == status
        return str(body["error"]["message"])
    if service in ("compute", "volume"):
        (name, inner), = body.items()
        assert inner["code"] == status and name not in ("computeFault",), body
        return str(inner["message"])
    if service == "network":
        assert set(body["NeutronError"]) == {"type", "message", "detail"}
        return str(body["NeutronError"]["message"])
    if service == "dns":
        assert body["code"] == status and set(body) == {"code", "type", "message",
                                                        "request_id"}, body
        return str(body["message"])
    assert body["code"].startswith(f"{status} "), body
    return str(body["message"])


def listed(api: Api, endpoint: Endpoint, token: dict[str, str], project: str) -> Any:
    r = api.client.get(endpoint.path(project), headers=token)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.service)
def test_a_poisoned_body_is_a_400_in_the_services_own_fault_and_writes_nothing(
        api: Api, endpoint: Endpoint) -> None:
    token = api.admin
    project = api.id_of("project", "admin")
    before = listed(api, endpoint, token, project)
    for name, poison in POISONS.items():
        r = api.client.post(endpoint.path(project), content=endpoint.body(poison),
                            headers={**token, "Content-Type": "application/json"})
        message = fault_of(endpoint.service, 400, r)
        assert "alformed" in message, (name, message)
    assert listed(api, endpoint, token, project) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.service)
def test_the_reason_a_body_is_refused_is_told_in_words(api: Api, endpoint: Endpoint) -> None:
    token = {**api.admin, "Content-Type": "application/json"}
    path = endpoint.path(api.id_of("project", "admin"))
    reasons = {b"1e999": "too large", b"NaN": "not a JSON number",
               str(2 ** 63).encode(): "64-bit", b'"\\ud800"': "surrogate",
               b"[" * 40 + b"]" * 40: "deeper than 32", b'"\xff"': "not valid UTF-8"}
    for poison, reason in reasons.items():
        r = api.client.post(path, content=endpoint.body(poison), headers=token)
        assert reason in fault_of(endpoint.service, 400, r)


def test_a_body_at_the_depth_limit_is_still_read(api: Api) -> None:
    nested = b"[" * (wire.MAX_DEPTH - 2) + b"]" * (wire.MAX_DEPTH - 2)
    r = api.client.post("/image/v2/images", headers={**api.admin, "Content-Type":
                                                     "application/json"},
                        content=b'{"name": "deep", "x": ' + nested + b"}")
    # Read, then refused by Glance's own rule for extra properties (strings only).
    assert "extra properties are strings" in fault_of("image", 400, r)


# --- Content-Type, as each upstream service reads it ---------------------------------------

@pytest.mark.parametrize(("service", "media", "status"), [
    # Keystone parses application/json and application/*+json; any other type is a 400.
    ("identity", "text/plain", 400), ("identity", "multipart/form-data; boundary=x", 400),
    ("identity", "application/merge-patch+json", 201),
    # Nova reads text/plain as "none given"; other types are 415 "Unsupported Content-Type".
    ("compute", "text/plain", 200), ("compute", "multipart/form-data", 415),
    ("compute", "application/vnd.openstack.compute+json", 200),
    # Cinder: only its two JSON types; text/plain too is 415.
    ("volume", "text/plain", 415), ("volume", "multipart/form-data", 415),
    ("volume", "application/vnd.openstack.volume+json", 202),
    # Neutron and Glance read any body as JSON.
    ("network", "text/plain", 201), ("image", "text/plain", 201),
    # Designate reads application/json only.
    ("dns", "text/plain", 415), ("dns", "application/json-patch+json", 202),
])
def test_each_service_reads_the_content_types_its_upstream_reads(
        api: Api, service: str, media: str, status: int) -> None:
    token = api.admin
    project = api.id_of("project", "admin")
    endpoint = next(e for e in ENDPOINTS if e.service == service)
    before = listed(api, endpoint, token, project)
    r = api.client.post(endpoint.path(project), headers={**token, "Content-Type": media},
                        content=json.dumps({endpoint.member: {**endpoint.fields, "name": "ct"}}
                                           if endpoint.member else {**endpoint.fields, "name":
                                           "ct.org." if service == "dns" else "ct"}).encode())
    if status >= 400:
        message = fault_of(service, status, r)
        assert ("Unsupported Content-Type" if status == 415 and service != "dns"
                else "application/json") in message
        assert listed(api, endpoint, token, project) == before
    else:
        assert r.status_code == status, r.text


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.service)
def test_a_json_body_without_a_content_type_is_read_as_json(api: Api, endpoint: Endpoint
                                                            ) -> None:
    project = api.id_of("project", "admin")
    body = {endpoint.member: {**endpoint.fields, "name": "no-ct"}} if endpoint.member else {
        **endpoint.fields, "name": "no-ct.org." if endpoint.service == "dns" else "no-ct"}
    r = api.client.post(endpoint.path(project), headers=api.admin,
                        content=json.dumps(body).encode())
    assert r.status_code in (200, 201, 202), r.text


def test_glance_refuses_a_patch_that_is_not_json_patch_and_names_the_types_it_accepts(
        api: Api) -> None:
    r = api.client.post("/image/v2/images", headers=api.admin, json={"name": "p"})
    image = r.json()["id"]
    r = api.client.patch(f"/image/v2/images/{image}", headers=api.admin,
                         json=[{"op": "replace", "path": "/name", "value": "q"}])
    fault_of("image", 415, r)
    assert "application/openstack-images-v2.1-json-patch" in r.headers["accept-patch"]
    r = api.client.get(f"/image/v2/images/{image}", headers=api.admin)
    assert r.json()["name"] == "p"


# --- headers that are not UTF-8 -------------------------------------------------------------

def raw_request(api: Api, method: str, path: str, headers: list[tuple[bytes, bytes]]
                ) -> tuple[int, Any]:
    """One request straight into the ASGI app, header bytes exactly as given (an HTTP client
    would re-encode them)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": [(b"host", b"127.0.0.1:8000"),
                                                              *headers],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000)}
    asyncio.run(api.client.app(scope, receive, send))  # type: ignore[arg-type]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.service)
@pytest.mark.parametrize("header", [b"x-auth-token", b"openstack-api-version", b"x-anything",
                                    b"x-openstack-nova-api-version", b"content-type"])
def test_a_header_byte_that_is_not_utf8_is_never_a_500(
        api: Api, endpoint: Endpoint, header: bytes) -> None:
    token = api.admin["X-Auth-Token"].encode()
    headers = [(b"x-auth-token", token)] if header != b"x-auth-token" else []
    status, body = raw_request(api, "GET", endpoint.path(api.id_of("project", "admin")),
                               [*headers, (header, b"\xff\xfe")])
    assert status < 500, body
    if header == b"x-auth-token":
        assert status == 401, body


def test_the_fault_renderer_writes_a_message_holding_a_lone_surrogate() -> None:
    for service in ("identity", "compute", "network", "volume", "image", "dns", "other"):
        response = faults.render(f"/{service}/x", 400, "Bad Request", "bad \ud800 \x00 \xff")
        assert "\\ud800" in response.body.decode("utf-8")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.service)
def test_a_nul_character_in_a_url_is_a_400_in_every_service(api: Api, endpoint: Endpoint
                                                             ) -> None:
    path = endpoint.path(api.id_of("project", "admin"))
    for url in (f"{path}?name=a%00b", f"{path}?marker=%00", f"{path}/a%00b"):
        r = api.client.get(url, headers=api.admin)
        assert "NUL" in fault_of(endpoint.service, 400, r), url


def test_a_subject_token_that_is_not_utf8_is_a_404_not_a_500(api: Api) -> None:
    token = api.admin["X-Auth-Token"].encode()
    status, body = raw_request(api, "GET", "/identity/v3/auth/tokens",
                               [(b"x-auth-token", token), (b"x-subject-token", b"\xff\x80")])
    assert status == 404 and body["error"]["code"] == 404


def test_hypervisor_paging_with_a_limit_that_is_no_integer_is_a_400(api: Api) -> None:
    r = api.client.get("/compute/v2.1/os-hypervisors/detail?limit=x",
                       headers={**api.admin, "OpenStack-API-Version": "compute 2.33"})
    fault_of("compute", 400, r)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.service)
def test_a_body_past_the_size_limit_is_a_413_and_writes_nothing(api: Api, endpoint: Endpoint
                                                                ) -> None:
    token = api.admin
    project = api.id_of("project", "admin")
    before = listed(api, endpoint, token, project)
    padding = b'"' + b"x" * wire.MAX_BODY + b'"'
    r = api.client.post(endpoint.path(project), content=endpoint.body(padding),
                        headers={**token, "Content-Type": "application/json"})
    fault_of(endpoint.service, 413, r)
    assert listed(api, endpoint, token, project) == before


@pytest.mark.parametrize("service", ["compute", "volume"])
def test_a_microversion_with_thousands_of_digits_is_a_400(api: Api, service: str) -> None:
    endpoint = next(e for e in ENDPOINTS if e.service == service)
    r = api.client.get(endpoint.path(api.id_of("project", "admin")), headers={
        **api.admin, "OpenStack-API-Version": f"{service} 2.{'9' * 5000}"})
    assert "Invalid API version request" in fault_of(service, 400, r)
