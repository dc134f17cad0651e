"""The fuzz tier's properties (see ``tests/fuzz/__init__``): hostile writes, hostile lists and
reads, hostile headers, then the server's health after all of them.

``FUZZ_REQUESTS`` (default 16,000) is split between the three attacks; hypothesis is
derandomized, so a run is repeatable (``FUZZ_SEED`` picks another repeatable run).
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.fuzz import examples, hostile, server
from tests.fuzz.harness import Harness, Request, rss_kib
from tests.fuzz.routes import Endpoint

BUDGET = int(os.environ.get("FUZZ_REQUESTS", "16000"))
# Callers, weighted toward those whose requests get past policy to the parsers.
CALLERS = st.sampled_from(["admin", "admin", "admin", "member", "member", "reader", "none"])
MICROVERSIONS = {
    "compute": ["", "compute 2.1", "compute 2.19", "compute 2.26", "compute 2.37", "compute latest"],
    "volume": ["", "volume 3.0", "volume 3.27", "volume 3.44", "volume 3.62", "volume 3.65",
               "volume latest"],
}


# Unset: hypothesis derandomized (the same requests every run). FUZZ_SEED=n explores elsewhere,
# repeatably for the same n.
SEED = os.environ.get("FUZZ_SEED") or None


def _settings(share: float) -> Callable[[Callable[..., None]], Callable[..., None]]:
    chosen = settings(max_examples=max(1, int(BUDGET * share)), derandomize=SEED is None,
                      database=None, deadline=None, phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))

    def apply(test: Callable[..., None]) -> Callable[..., None]:
        test = chosen(test)
        return test if SEED is None else seed(int(SEED))(test)
    return apply


def _key(ep: Endpoint) -> str:
    return f"{ep.method} {ep.pattern}"


def _path(fuzz: Harness, data: st.DataObject, ep: Endpoint, role: str, rng: random.Random,
          hostile_share: int = 2) -> str:
    """The endpoint's pattern with every parameter filled: mostly real ids the cloud holds,
    sometimes an unknown UUID or a hostile segment."""
    chosen: dict[str, str] = {}
    for name, before in ep.params():
        # Draw the same things whatever the cloud holds: hypothesis replays draws.
        roll = data.draw(st.integers(0, 9), label=f"{name} kind")
        bad = data.draw(hostile.path_segment(), label=name)
        real = fuzz.path_value(ep, name, before, role, rng, chosen)
        if real is not None and roll >= hostile_share:
            chosen[name] = real
        elif roll % 2:
            chosen[name] = str(uuid.UUID(int=rng.getrandbits(128)))
        else:
            chosen[name] = bad
    path = ep.pattern
    for name, value in chosen.items():
        path = path.replace("{" + name + "}", value, 1)
    return path


def _example(fuzz: Harness, ep: Endpoint, role: str, rng: random.Random, data: st.DataObject
             ) -> Any:
    found = examples.EXAMPLES.get(_key(ep))
    if not found:
        return None
    return fuzz.resolve(found[data.draw(st.integers(0, len(found) - 1))], rng, role)


def _microversion(ep: Endpoint, data: st.DataObject) -> str:
    return data.draw(st.sampled_from(MICROVERSIONS.get(ep.service, [""])), label="microversion")


def test_every_write_endpoint_has_an_example_body_or_is_declared_bodiless(fuzz: Harness) -> None:
    missing = [_key(ep) for ep in fuzz.endpoints
               if ep.method in ("POST", "PUT", "PATCH") and _key(ep) not in examples.EXAMPLES
               and _key(ep) not in examples.BODILESS]
    assert not missing, "add a valid example body to tests/fuzz/examples.py for: " + ", ".join(
        missing)
    stale = ({*examples.EXAMPLES, *examples.BODILESS, *examples.CONTENT_TYPE}
             - {_key(ep) for ep in fuzz.endpoints})
    assert not stale, f"examples for endpoints the app does not have: {sorted(stale)}"


def test_hostile_writes_answer_4xx_in_the_service_fault_format_and_change_nothing(
        fuzz: Harness) -> None:
    # Endpoints with a body to mutate come up three times as often as the others.
    writes = [ep for ep in fuzz.endpoints if ep.is_write
              for _ in range(3 if _key(ep) in examples.EXAMPLES else 1)]

    @_settings(0.5)
    @given(st.data())
    def attack(data: st.DataObject) -> None:
        ep = data.draw(st.sampled_from(writes), label="endpoint")
        role = data.draw(CALLERS, label="role")
        rng = random.Random(data.draw(st.integers(0, 2 ** 32), label="seed"))
        path = _path(fuzz, data, ep, role, rng)
        content_type = examples.CONTENT_TYPE.get(_key(ep), "application/json")
        if data.draw(st.integers(0, 9), label="content type") == 0:
            content_type = data.draw(st.sampled_from(hostile.CONTENT_TYPES))
        valid = _example(fuzz, ep, role, rng, data)
        body: bytes | None = None
        if ep.method != "DELETE" or data.draw(st.integers(0, 4)) == 0:
            body = data.draw(hostile.body_bytes(valid), label="body")
        query = ""
        if data.draw(st.integers(0, 9)) == 0:
            query = data.draw(hostile.query_string(examples.FILTERS.get(ep.collection, [])))
        headers = fuzz.default_headers(role, content_type, _microversion(ep, data))
        fuzz.send(Request(ep, role, path, query, headers, body), "writes")

    attack()
    report = fuzz.report("writes")
    assert not report, "hostile writes found:\n" + report


def test_hostile_list_queries_and_path_ids_never_answer_5xx(fuzz: Harness) -> None:
    reads = [ep for ep in fuzz.endpoints if ep.method == "GET"]

    @_settings(0.3)
    @given(st.data())
    def attack(data: st.DataObject) -> None:
        ep = data.draw(st.sampled_from(reads), label="endpoint")
        role = data.draw(CALLERS, label="role")
        rng = random.Random(data.draw(st.integers(0, 2 ** 32), label="seed"))
        path = _path(fuzz, data, ep, role, rng)
        query = data.draw(hostile.query_string(examples.FILTERS.get(ep.collection, [])),
                          label="query") if ep.is_list else ""
        headers = fuzz.default_headers(role, None, _microversion(ep, data))
        fuzz.send(Request(ep, role, path, query, headers), "reads")

    attack()
    report = fuzz.report("reads")
    assert not report, "hostile lists and reads found:\n" + report


def test_hostile_headers_tokens_and_content_types_never_answer_5xx(fuzz: Harness) -> None:
    every = fuzz.endpoints

    @_settings(0.2)
    @given(st.data())
    def attack(data: st.DataObject) -> None:
        ep = data.draw(st.sampled_from(every), label="endpoint")
        role = data.draw(CALLERS, label="role")
        rng = random.Random(data.draw(st.integers(0, 2 ** 32), label="seed"))
        path = _path(fuzz, data, ep, role, rng, hostile_share=1)
        headers = fuzz.default_headers(role, data.draw(st.sampled_from(hostile.CONTENT_TYPES))
                                       if ep.is_write else None, _microversion(ep, data))
        for _ in range(data.draw(st.integers(1, 3))):
            name = data.draw(st.sampled_from(hostile.HEADER_NAMES), label="header")
            value = data.draw(hostile.header_value(), label="value").strip(b" \t\x0b\x0c")
            headers = [h for h in headers if h[0].lower() != name.lower().encode()]
            headers.append((name.encode(), value))
        valid = _example(fuzz, ep, role, rng, data)
        body = hostile.encode(valid) if valid is not None and ep.method != "DELETE" else None
        fuzz.send(Request(ep, role, path, "", headers, body), "headers")

    attack()
    report = fuzz.report("headers")
    assert not report, "hostile headers found:\n" + report


def test_the_server_is_alive_and_its_memory_bounded_after_the_attacks(fuzz: Harness) -> None:
    assert fuzz.proc.poll() is None, "the API process exited"
    r = fuzz.client.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": server.ADMIN_PASSWORD}}}}})
    assert r.status_code == 201, r.text
    r = fuzz.client.get("/network/v2.0/networks",
                        headers={"X-Auth-Token": r.headers["x-subject-token"]})
    assert r.status_code == 200, r.text
    rss, peak = rss_kib(fuzz.proc.pid)
    start = fuzz.rss_start[0]
    # Bodies are capped at 1 MiB and nothing is kept per request: the process may grow by its
    # caches, not by what it was sent.
    assert rss < start + 256 * 1024, f"RSS grew from {start} kB to {rss} kB"
    assert peak < 1024 * 1024, f"peak RSS {peak} kB"
