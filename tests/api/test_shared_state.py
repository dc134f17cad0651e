"""Two API workers on one state dir and one database, in-process: what one does, the other sees.

Each worker is its own ``Cloud`` and app, as each worker process builds them. The supervisor
rotates the token keys in between; a worker that has not looked at the key dir yet still accepts
what the other signs with the new keys, and signs with them itself soon after. A login that
finds the hashing lane full is answered 503 with Retry-After at once.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from starlette.testclient import TestClient

from sausage import errors
from sausage.api import hashing
from sausage.services.identity import tokens as tokens_module
from tests.api.conftest import ADMIN_PASSWORD, Api, password_auth

ADMIN = password_auth("admin", ADMIN_PASSWORD, "admin")


def issue(client: TestClient) -> str:
    r = client.post("/identity/v3/auth/tokens", json=ADMIN)
    assert r.status_code == 201, r.text
    return str(r.headers["x-subject-token"])


def validates(client: TestClient, token: str) -> bool:
    r = client.get("/identity/v3/auth/tokens",
                   headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert r.status_code in (200, 401, 404), r.text
    return r.status_code == 200


def test_tokens_signed_after_a_rotation_validate_on_a_worker_that_loaded_the_old_keys(
        api: Api, other: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Workers look at the key dir only after an hour here: the first worker keeps the keys it
    # loaded; the other is told to reload after each rotation, as if its hour had passed.
    monkeypatch.setattr(tokens_module, "KEY_CHECK_SECONDS", 3600.0)
    first = api.client
    before = issue(first)
    api.cloud.keys.rotate()  # the supervisor's housekeeping
    other.cloud.tokens.reload_keys()
    signed_with_the_staged_key = issue(other.client)
    assert validates(first, signed_with_the_staged_key)
    api.cloud.keys.rotate()  # a primary made after the first worker loaded its keys
    other.cloud.tokens.reload_keys()
    signed_with_an_unseen_key = issue(other.client)
    assert validates(first, signed_with_an_unseen_key)  # it reloads: the token is new to it
    assert validates(other.client, issue(first))
    # Two rotations retire the key the first token was signed with, on every worker.
    assert not validates(first, before) and not validates(other.client, before)


def test_a_revocation_through_one_worker_holds_on_the_other(api: Api, other: Api) -> None:
    token, caller = issue(api.client), issue(api.client)
    assert validates(other.client, token)
    r = api.client.delete("/identity/v3/auth/tokens",
                          headers={"X-Auth-Token": caller, "X-Subject-Token": token})
    assert r.status_code == 204
    assert not validates(other.client, token)


def test_the_hashing_lane_refuses_work_past_its_backlog_at_once_with_a_retry_after() -> None:
    lane = hashing.Lane(slots=1, backlog=1)
    release = threading.Event()

    async def scenario() -> tuple[list[str], errors.ServiceUnavailable]:
        running = [asyncio.ensure_future(lane.run(lambda: release.wait(10) and "done"))
                   for _ in range(2)]  # one hashes, one waits for the slot
        await asyncio.sleep(0.05)
        with pytest.raises(errors.ServiceUnavailable) as refused:
            await lane.run(lambda: "never")
        release.set()
        return list(await asyncio.gather(*running)), refused.value

    try:
        done, refused = asyncio.run(scenario())
    finally:
        lane.close()
    assert done == ["done", "done"]
    assert refused.status == 503 and refused.retry_after >= 1
    assert lane.admitted == 0


def test_the_hashing_lane_refuses_a_login_that_would_wait_too_long_even_with_room_to_queue(
        ) -> None:
    lane = hashing.Lane(slots=1, backlog=100, max_wait=0.0)
    release = threading.Event()

    async def scenario() -> errors.ServiceUnavailable:
        running = asyncio.ensure_future(lane.run(lambda: release.wait(10)))
        await asyncio.sleep(0.05)
        with pytest.raises(errors.ServiceUnavailable) as refused:
            await lane.run(lambda: True)  # it would wait for the running one: too long
        release.set()
        await running
        return refused.value

    try:
        refused = asyncio.run(scenario())
    finally:
        lane.close()
    assert refused.retry_after >= 1


def test_a_busy_login_is_answered_503_with_retry_after_in_keystones_fault_format(
        api: Api) -> None:
    lane: hashing.Lane = api.client.app.state.hashing  # type: ignore[attr-defined]
    lane.backlog = -lane.slots  # nothing is admitted: as when the lane is full
    r = api.client.post("/identity/v3/auth/tokens", json=ADMIN)
    assert r.status_code == 503
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == 503
    # A login that hashes nothing (a token for a token) and validation do not use the lane.
    lane.backlog = 16
    token = issue(api.client)
    lane.backlog = -lane.slots
    r = api.client.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["token"], "token": {"id": token}}}})
    assert r.status_code == 201, r.text
    assert validates(api.client, token)
