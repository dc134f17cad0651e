"""The fuzz tier's side of the wire: the API process under attack, the callers (admin, member,
reader, nobody), what the cloud holds (pools of real ids to aim at), and the checks every answer
goes through. A check that fails is recorded as a finding -- the run goes on -- and the tests
list the findings at the end.

Made once per session by ``conftest.fuzz``; ``test_fuzz`` draws requests and calls ``send``.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import pathlib
import random
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx

from tests.fuzz import examples, hostile
from tests.fuzz.routes import Endpoint

__all__ = ["Harness", "Request", "ROLES", "rss_kib"]

ROLES = ("admin", "member", "reader", "none")

# The collection a path parameter points into, where it is not the segment before it.
ALIAS = {
    "os-interface": ("network", "ports"), "os-volume_attachments": ("volume", "volumes"),
    "os-quota-sets": ("identity", "projects"), "quotas": ("identity", "projects"),
    "default-types": ("identity", "projects"), "os-simple-tenant-usage": ("identity", "projects"),
    "members": ("identity", "projects"), "os-networks": ("network", "networks"),
}
WORDS = {
    "key": ["k", "hw:cpu_policy", "a"], "tag": ["a", "t"], "action": [
        "enable", "disable", "force-down", "disable-log-reason"],
    "label": ["private", "public"], "alias": ["router", "security-group", "quotas"],
    "name": ["image", "images", "member", "members"],
    "collection": ["networks", "subnets", "ports", "routers", "security-groups", "floatingips",
                   "subnetpools"],
}


@dataclasses.dataclass
class Request:
    endpoint: Endpoint
    role: str
    path: str
    query: str = ""
    headers: list[tuple[bytes, bytes]] = dataclasses.field(default_factory=list)
    body: bytes | None = None

    def describe(self) -> str:
        body = self.body if self.body is None or len(self.body) < 300 else (
            self.body[:300] + b"...(%d bytes)" % len(self.body))
        return (f"{self.endpoint.method} {self.path}{'?' + self.query if self.query else ''}"
                f" as {self.role}; headers {self.headers!r}; body {body!r}")


@dataclasses.dataclass
class Finding:
    kind: str
    request: str
    status: int
    answer: str
    server_error: str
    count: int = 1


def _kept(item: dict[str, Any]) -> dict[str, Any]:
    """What a pool keeps of a listed resource: how to name it, and whose it is."""
    kept = {k: item[k] for k in ("id", "name", "floating_ip_address") if k in item}
    owner = next((item[k] for k in ("project_id", "tenant_id", "owner",
                                    "os-vol-tenant-attr:tenant_id") if item.get(k)), None)
    if owner is not None:
        kept["project"] = owner
    return kept


def rss_kib(pid: int) -> tuple[int, int]:
    """The process's resident set and its peak (kB), from /proc."""
    fields = dict(line.split(":", 1) for line in
                  pathlib.Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def fault_problem(service: str, status: int, content: bytes) -> str:
    """Why ``content`` is not the service's own fault body for ``status`` ('' when it is)."""
    try:
        body = json.loads(content)
    except ValueError:
        return "the error body is not JSON"
    if service == "identity":
        err = body.get("error") if isinstance(body, dict) else None
        ok = (isinstance(err, dict) and err.get("code") == status
              and isinstance(err.get("title"), str) and isinstance(err.get("message"), str))
        return "" if ok else "not Keystone's {'error': {code, title, message}}"
    if service in ("compute", "volume"):
        inner = list(body.values())[0] if isinstance(body, dict) and len(body) == 1 else None
        ok = (isinstance(inner, dict) and inner.get("code") == status
              and isinstance(inner.get("message"), str))
        return "" if ok else "not Nova/Cinder's {'<faultName>': {code, message}}"
    if service == "network":
        err = body.get("NeutronError") if isinstance(body, dict) else None
        ok = isinstance(err, dict) and all(isinstance(err.get(k), str)
                                           for k in ("type", "message", "detail"))
        return "" if ok else "not Neutron's {'NeutronError': {type, message, detail}}"
    if service == "dns":
        ok = (isinstance(body, dict) and body.get("code") == status
              and all(isinstance(body.get(k), str) for k in ("type", "message", "request_id")))
        return "" if ok else "not Designate's {code, type, message, request_id}"
    ok = (isinstance(body, dict) and str(body.get("code", "")).startswith(str(status))
          and isinstance(body.get("message"), str))
    return "" if ok else "not Glance's {code: '<status> <title>', title, message}"


class Harness:
    def __init__(self, state_dir: pathlib.Path, port: int, endpoints: list[Endpoint]) -> None:
        self.state_dir = state_dir
        self.base = f"http://127.0.0.1:{port}"
        self.endpoints = endpoints
        self.log_path = state_dir / "server.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz.server", str(state_dir), str(port)],
            stdout=self._log, stderr=subprocess.STDOUT,
            cwd=pathlib.Path(__file__).resolve().parents[2])
        self.client = httpx.Client(base_url=self.base, timeout=60)
        self.db = sqlite3.connect(f"file:{state_dir / 'sausage.db'}?mode=ro", uri=True)
        self.tokens: dict[str, str] = {}
        self.projects: dict[str, str] = {}
        self.users: dict[str, str] = {}
        self.pools: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
        self.made: set[str] = set()  # ids the fuzzer's own creates returned: fair game to delete
        self.protected: set[str] = set()  # what the callers stand on: never a write's target
        self.status = collections.Counter[int]()
        self.sent = 0  # fuzz requests
        self.overhead = 0  # setup and discovery requests
        self.findings: dict[tuple[str, ...], Finding] = {}
        self.started = time.monotonic()
        self.rss_start = (0, 0)
        self._log_offset = 0
        self._unique = 0
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise

    # -- the process -------------------------------------------------------------------------

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the API exited: {self.log_path.read_text()[-2000:]}")
            try:
                if self.client.get("/identity/v3").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the API did not answer within 30 s")

    def stop(self) -> None:
        self.client.close()
        self.db.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def data_version(self) -> int:
        """Changes whenever another connection (the server) commits to the database."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def _server_error(self) -> str:
        """The last exception the server logged since the previous call, in one line."""
        self._log.flush()
        with self.log_path.open("rb") as f:
            f.seek(self._log_offset)
            text = f.read().decode("utf-8", "replace")
            self._log_offset = f.tell()
        frames = re.findall(r'File "([^"]*sausage/[^"]*)", line (\d+), in (\w+)', text)
        errors = re.findall(r"^(\w[\w.]*(?:Error|Exception|Exit)\b.*)$", text, re.M)
        where = f" at {frames[-1][0].split('sausage/', 1)[-1]}:{frames[-1][1]} in {frames[-1][2]}" \
            if frames else ""
        return (errors[-1][:200] if errors else "") + where

    # -- the callers -------------------------------------------------------------------------

    def _admin(self, method: str, path: str, body: Any = None, token: str | None = None
               ) -> httpx.Response:
        self.overhead += 1
        headers = {"X-Auth-Token": token or self.tokens["admin"]}
        return self.client.request(method, path, headers=headers,
                                   json=body if body is not None else None)

    def _token(self, user: str, password: str, project: str) -> tuple[str, str]:
        r = self.client.post("/identity/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}})
        self.overhead += 1
        assert r.status_code == 201, r.text
        return r.headers["x-subject-token"], r.json()["token"]["project"]["id"]

    def setup(self, admin_password: str) -> None:
        """The callers, a target user and project, and one of everything to aim at."""
        self.tokens["admin"], self.projects["admin"] = self._token("admin", admin_password, "admin")
        roles = {r["name"]: r["id"] for r in self._admin("GET", "/identity/v3/roles").json()["roles"]}
        for project in ("fuzz", "fuzz-target"):
            self._admin("POST", "/identity/v3/projects", {"project": {"name": project}})
        projects = {p["name"]: p["id"]
                    for p in self._admin("GET", "/identity/v3/projects").json()["projects"]}
        for user, role, project in (("fuzz-member", "member", "fuzz"),
                                    ("fuzz-reader", "reader", "fuzz"),
                                    ("fuzz-target", "member", "fuzz-target")):
            r = self._admin("POST", "/identity/v3/users",
                            {"user": {"name": user, "password": "target-pw"}})
            user_id = r.json()["user"]["id"]
            self._admin("PUT", f"/identity/v3/projects/{projects[project]}/users/{user_id}"
                               f"/roles/{roles[role]}")
            if project == "fuzz":
                self.protected.add(user_id)
                self.users[role] = user_id
                self.tokens[role], self.projects[role] = self._token(user, "target-pw", "fuzz")
        self.projects["none"] = self.projects["member"]
        admin_user = self._admin("GET", "/identity/v3/users?name=admin").json()["users"][0]["id"]
        self.users["admin"] = self.users["none"] = admin_user
        self.protected |= {admin_user, projects["admin"], projects["fuzz"], "default",
                           roles["admin"], roles["member"], roles["reader"]}
        self.register_host()
        self.discover()
        # One of everything: each create's valid example, as a member and as the admin, twice
        # (a port needs the network the first round made).
        for _ in range(2):
            for ep in self.endpoints:
                key = f"{ep.method} {ep.pattern}"
                if ep.method != "POST" or ep.is_list or key not in examples.EXAMPLES:
                    continue
                if ep.pattern.endswith("/auth/tokens") or "{" in ep.pattern.replace(
                        "{project_id}", ""):
                    continue
                for role in ("member", "admin"):
                    for example in examples.EXAMPLES[key][:2]:
                        body = self.resolve(example, random.Random(0))
                        path = ep.pattern.replace("{project_id}", self.projects[role])
                        self.overhead += 1
                        r = self.client.post(path, headers={
                            "X-Auth-Token": self.tokens[role],
                            "OpenStack-API-Version": "volume 3.65",
                            "Content-Type": examples.CONTENT_TYPE.get(key, "application/json")},
                            content=hostile.encode(body))
                        self._remember(ep, r)
                        if ep.service == "image" and r.status_code == 201:
                            # An active image, so that servers and volumes can use it.
                            self.overhead += 1
                            self.client.put(f"/image/v2/images/{r.json()['id']}/file",
                                            content=b"\0" * 1024, headers={
                                                "X-Auth-Token": self.tokens[role],
                                                "Content-Type": "application/octet-stream"})
            self.settle()
            self.discover()
        self.rss_start = rss_kib(self.proc.pid)
        self.started = time.monotonic()

    def register_host(self) -> None:
        """One compute and volume host, as an agent registers over the internal API, so that
        servers go ACTIVE and volumes available and their actions reach past the 'not ready'
        checks. ``settle`` stands in for the agent's reports; nothing runs."""
        key = (self.state_dir / "agent-key").read_text().strip()
        r = self.client.post("/internal/v1/hosts", headers={"X-Sausage-Registration-Key": key},
                             json={"name": "fuzz-host", "vcpus": 256, "memory_mb": 1 << 20,
                                   "disk_gb": 100_000, "virt_type": "tcg",
                                   "volume_backend": "file"})
        self.overhead += 1
        assert r.status_code == 201, r.text
        self.host_id = r.json()["host_id"]
        self.host_headers = {"X-Sausage-Host-Token": r.json()["token"]}
        self.settle()

    def settle(self) -> None:
        """Report every server the host should run as running (or off, as asked) with every
        counter applied, and every volume it should hold as held."""
        self.overhead += 2
        r = self.client.get(f"/internal/v1/hosts/{self.host_id}/desired?after=0&wait=0",
                            headers=self.host_headers)
        assert r.status_code == 200, r.text
        doc = r.json()
        servers = [{"id": d["id"], "state": d["power"],
                    **{k: d[k] for k in ("power_seq", "reboot_seq", "rebuild_seq", "resize_seq")},
                    # A snapshot never uploads: it fails, so the image it made goes away.
                    "snapshots_done": [x["seq"] for x in d["snapshots"]],
                    "snapshot_errors": {str(x["seq"]): "not in the fuzz tier"
                                        for x in d["snapshots"]}}
                   for d in doc.get("servers", [])]
        volumes = [{"id": d["id"], "size_gb": d["size_gb"], "snapshots": d["snapshots"],
                    "uploads_done": [u["seq"] for u in d["uploads"]]}
                   for d in doc.get("volumes", [])]
        r = self.client.post(f"/internal/v1/hosts/{self.host_id}/observed",
                             headers=self.host_headers,
                             json={"version": 1, "host_id": self.host_id, "revision_seen": 0,
                                   "vcpus": 256, "memory_mb": 1 << 20, "disk_gb": 100_000,
                                   "servers": servers, "volumes": volumes})
        assert r.status_code == 204, r.text

    def discover(self) -> None:
        """Fill the pools from every collection the admin can list."""
        for ep in self.endpoints:
            if not ep.is_list or any(name != "project_id" for name, _ in ep.params()):
                continue
            path = ep.pattern.replace("{project_id}", self.projects["admin"])
            for query in ("", "?all_tenants=1&all_projects=1"):
                r = self._admin("GET", path + query)
                if r.status_code == 200:
                    self._add_items(ep.service, ep.collection, r.json())

    def _add_items(self, service: str, collection: str, body: Any) -> None:
        if not isinstance(body, dict):
            return
        items = next((v for v in body.values() if isinstance(v, list)), [])
        for item in items:
            if isinstance(item, dict) and len(item) == 1 and isinstance(
                    next(iter(item.values())), dict):
                item = next(iter(item.values()))  # os-keypairs wraps each one
            if isinstance(item, dict):
                self._add(service, collection, item)

    def _add(self, service: str, collection: str, item: dict[str, Any]) -> None:
        """One resource into its pool, merged with what the pool knew of it."""
        kept = _kept(item)
        key = kept.get("id", kept.get("name"))
        pool = self.pools[service, collection]
        for known in pool:
            if known.get("id", known.get("name")) == key:
                known.update(kept)
                return
        pool.append(kept)

    def _remember(self, ep: Endpoint, r: httpx.Response, path: str = "") -> None:
        """A create that was accepted feeds its resource into the pools; a delete takes it out."""
        if ep.method == "DELETE" and r.status_code < 300 and "{" in ep.pattern:
            gone = path.rstrip("/").rsplit("/", 1)[-1]
            for pool in self.pools.values():
                pool[:] = [i for i in pool if i.get("id") != gone]
            return
        if ep.method != "POST" or r.status_code not in (200, 201, 202) or not ep.is_write:
            return
        try:
            body = r.json()
        except ValueError:
            return
        item = body
        if isinstance(body, dict) and len(body) == 1 and isinstance(next(iter(body.values())), dict):
            item = next(iter(body.values()))
        if isinstance(item, dict) and isinstance(item.get("id"), str) and (
                ep.pattern.endswith("/" + ep.collection)):
            self.made.add(item["id"])
            self._add(ep.service, ep.collection, item)

    # -- drawing -----------------------------------------------------------------------------

    def unique(self, prefix: str) -> str:
        self._unique += 1
        return f"fuzz-{prefix}-{self._unique}"

    def _choose(self, items: list[dict[str, Any]], role: str, rng: random.Random
                ) -> dict[str, Any] | None:
        """One of ``items``, most often one in the caller's own project."""
        if not items:
            return None
        own = [i for i in items if i.get("project") == self.projects[role]]
        return rng.choice(own if own and rng.random() < 0.8 else items)

    def resolve(self, value: Any, rng: random.Random, role: str = "admin") -> Any:
        """``value`` with each ``Ref`` replaced by a real id and each ``Unique`` by a new name."""
        if isinstance(value, examples.Ref):
            pool = [i for i in self.pools[value.service, value.collection]
                    if (value.name is None or i.get("name") == value.name)
                    and i.get(value.field) is not None]
            item = self._choose(pool, role, rng)
            return item[value.field] if item else str(uuid.UUID(int=rng.getrandbits(128)))
        if isinstance(value, examples.Unique):
            return self.unique(value.prefix)
        if isinstance(value, dict):
            return {k: self.resolve(v, rng, role) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, rng, role) for v in value]
        return value

    def path_value(self, ep: Endpoint, name: str, before: str, role: str, rng: random.Random,
                   chosen: dict[str, str]) -> str | None:
        """A real value for one path parameter (None: the caller should draw a hostile one)."""
        if name == "project_id" and before == "v3":
            return self.projects[role]
        if name == "resource_id" and "collection" in chosen:
            service, collection = "network", chosen["collection"]
        elif name in WORDS:
            return rng.choice(WORDS[name])
        else:
            service, collection = ALIAS.get(before, (ep.service, before))
        field = "name" if collection == "os-keypairs" else "id"
        if collection == "users" and rng.random() < 0.5 and (
                ep.method == "GET" or ep.pattern.endswith("application_credentials")):
            return self.users[role]  # what a user may do to itself, and no more
        pool = [i for i in self.pools[service, collection] if field in i]
        if ep.method == "DELETE":
            pool = [i for i in pool if i[field] in self.made]
        elif ep.is_write:
            pool = [i for i in pool if i[field] not in self.protected]
        item = self._choose(pool, role, rng)
        return str(item[field]) if item else None

    def default_headers(self, role: str, content_type: str | None, microversion: str = ""
                        ) -> list[tuple[bytes, bytes]]:
        headers = []
        if microversion:
            headers.append((b"OpenStack-API-Version", microversion.encode()))
        if role != "none":
            headers.append((b"X-Auth-Token", self.tokens[role].encode()))
        if content_type is not None:
            headers.append((b"Content-Type", content_type.encode("utf-8", "surrogatepass")))
        return headers

    # -- sending and checking ----------------------------------------------------------------

    def send(self, req: Request, test: str) -> httpx.Response | None:
        before = self.data_version() if req.endpoint.is_write else 0
        url = self.base + req.path + (f"?{req.query}" if req.query else "")
        try:
            r = self.client.request(req.endpoint.method, url, headers=req.headers,
                                    content=req.body)
        except (httpx.LocalProtocolError, httpx.InvalidURL):
            return None  # the client refuses to send it: nothing reached the server
        except httpx.TransportError as e:
            self.sent += 1
            alive = self.proc.poll() is None
            self._find(test, "no answer" + ("" if alive else " (the server died)"), req, 0,
                       repr(e))
            if not alive:
                raise RuntimeError(f"the API died: {self._server_error()}") from e
            return None
        self.sent += 1
        self.status[r.status_code] += 1
        if self.sent % 1000 == 0:
            print(f"fuzz: {self.sent} requests, {self.histogram()}", flush=True)
        if r.status_code >= 500:
            self._find(test, f"{r.status_code}", req, r.status_code, r.text)
        elif r.status_code >= 400:
            # The client folds '..' segments: judge the body by the service actually asked.
            asked = r.request.url.path.lstrip("/").split("/", 1)[0]
            problem = fault_problem(req.endpoint.service, r.status_code, r.content) \
                if asked == req.endpoint.service else ""
            if problem:
                self._find(test, f"fault body {problem}", req, r.status_code, r.text)
            if req.endpoint.is_write and self.data_version() != before:
                self._find(test, "a rejected write changed the database", req, r.status_code,
                           r.text)
        else:
            self._remember(req.endpoint, r, req.path)
        if self.sent % 200 == 0:
            self.settle()  # after the checks: what was made since is ready for its next action
        return r

    def _find(self, test: str, kind: str, req: Request, status: int, answer: str) -> None:
        error = self._server_error() if status >= 500 or status == 0 else ""
        key = (test, kind, str(req.endpoint), error.split(" at ")[0][:60])
        if key in self.findings:
            self.findings[key].count += 1
            return
        self.findings[key] = Finding(kind, req.describe()[:1500], status, answer[:400], error)

    def report(self, test: str) -> str:
        lines = []
        for (t, kind, endpoint, _), f in sorted(self.findings.items()):
            if t == test:
                lines.append(f"- {kind} x{f.count}: {endpoint}\n    request: {f.request}\n"
                             f"    answer: {f.status} {f.answer}\n"
                             + (f"    server: {f.server_error}\n" if f.server_error else ""))
        return "\n".join(lines)

    def histogram(self) -> str:
        return ", ".join(f"{s}: {n}" for s, n in sorted(self.status.items()))
