"""The API on several worker processes, as a user runs it: ``sausage up`` in the foreground with
``api_workers: 2``. Requests are pinned to one worker or the other by the connection they use
(which process holds a connection's socket is read from /proc), so each test proves what one
worker does is seen by the other: tokens, revocations, an agent's long-poll. A burst of logins
past the hashing lane is refused with 503 + Retry-After while validations keep answering; a
worker that dies is replaced; the console shows progress and the summary, not the access log.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import os
import pathlib
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from tests.conftest import free_port
from tests.e2e.conftest import BIN, netns, sausage

WORKERS = 2


class Foreground:
    """``sausage up`` running in the foreground, its console captured."""

    def __init__(self, state_dir: pathlib.Path, port: int, ns: str) -> None:
        self.state_dir, self.port, self.ns = state_dir, port, ns
        self.process = subprocess.Popen(
            [str(BIN / "sausage"), "up", "--state-dir", str(state_dir), "--port", str(port),
             "--netns", ns], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Sausage Cloud is up at"):
                self.ready.set()

    @property
    def console(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code

    def supervisor(self) -> int:
        return int((self.state_dir / "sausage.pid").read_text())

    def workers(self) -> list[int]:
        """The API worker processes (the supervisor's spawned children, not the agent)."""
        pid = self.supervisor()
        children = pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return sorted(int(c) for c in children if b"spawn_main" in _cmdline(int(c)))

    def admin_auth(self) -> dict[str, Any]:
        auth = yaml.safe_load((self.state_dir / "clouds.yaml").read_text())
        a = auth["clouds"]["sausage"]["auth"]
        return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": a["username"], "domain": {"name": "Default"}, "password": a["password"]}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}


def _cmdline(pid: int) -> bytes:
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class Conn:
    """One keep-alive HTTP connection, so every request on it reaches the same worker."""

    def __init__(self, port: int) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.port = port

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {**({"Content-Type": "application/json"} if data else {}), **(headers or {})}
        self.http.request(method, path, body=data, headers=hdrs)
        response = self.http.getresponse()
        raw = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, (
            json.loads(raw) if raw else None)

    def worker(self) -> int:
        """The pid of the process holding the server side of this connection."""
        if self.http.sock is None:
            self.request("GET", "/identity/v3")
        assert self.http.sock is not None
        client_port = self.http.sock.getsockname()[1]
        inode = _server_inode(self.port, client_port)
        for fd_dir in pathlib.Path("/proc").glob("[0-9]*/fd"):
            try:
                for fd in fd_dir.iterdir():
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return int(fd_dir.parent.name)
            except OSError:
                continue
        raise AssertionError("no process holds the server side of the connection")

    def close(self) -> None:
        self.http.close()


def _server_inode(server_port: int, client_port: int) -> str:
    for line in pathlib.Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if (int(local.split(":")[1], 16) == server_port
                and int(remote.split(":")[1], 16) == client_port and inode != "0"):
            return inode
    raise AssertionError(f"no accepted connection from port {client_port}")


Connect = Callable[[], Conn]


@pytest.fixture
def connect(cloud: Foreground) -> Iterator[Connect]:
    """Opens connections to the cloud; closes them all after the test."""
    opened: list[Conn] = []

    def new() -> Conn:
        opened.append(Conn(cloud.port))
        return opened[-1]

    yield new
    for conn in opened:
        conn.close()


def on_each_worker(connect: Connect) -> tuple[Conn, Conn]:
    """Two connections held by two different workers."""
    first = connect()
    for _ in range(200):
        other = connect()
        if other.worker() != first.worker():
            return first, other
        other.close()
    raise AssertionError("every connection landed on the same worker")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Foreground]:
    state_dir = tmp_path_factory.mktemp("workers") / "state"
    state_dir.mkdir()
    # A small backlog, so that a burst of a few dozen logins is past the hashing lane.
    (state_dir / "sausage.yaml").write_text(
        f"api_workers: {WORKERS}\npassword_hash_backlog: 1\nnetwork_bootstrap: false\n")
    ns = f"sswk{os.getpid() % 100000}"
    running = Foreground(state_dir, free_port(), ns)
    try:
        assert running.ready.wait(120), running.console
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()
        down = sausage("down", "--state-dir", str(state_dir), "--purge")
        assert down.returncode == 0, down.stderr
        netns("delete", ns, check=False)


def test_up_in_the_foreground_shows_progress_and_the_summary_and_logs_requests_to_a_file(
        cloud: Foreground, connect: Connect) -> None:
    conn = connect()
    status, headers, _ = conn.request("GET", "/identity/v3")
    assert status == 200
    console = cloud.console
    assert re.search(r"^\[1/5\] state dir", console, re.M), console
    assert f"[5/5] API: starting {WORKERS} worker processes" in console
    assert "Sausage Cloud is up at" in console
    # The agents' long-polls and every other request go to the log file, not the console.
    assert "sausage.access" not in console and "/internal/v1/hosts" not in console, console
    log = cloud.state_dir / "sausage.log"
    # The access log line follows the response; the agent registers and long-polls a moment
    # after the API answers.
    deadline = time.monotonic() + 60
    for line in (headers["x-openstack-request-id"], "/internal/v1/hosts/"):
        while line not in log.read_text():
            assert time.monotonic() < deadline, f"{line} is not in the log"
            time.sleep(0.2)
    assert "/internal/v1/hosts" not in cloud.console


def test_a_token_issued_by_one_worker_validates_on_the_other_and_a_revocation_reaches_both(
        cloud: Foreground, connect: Connect) -> None:
    one, other = on_each_worker(connect)
    status, headers, _ = one.request("POST", "/identity/v3/auth/tokens", cloud.admin_auth())
    assert status == 201
    token = headers["x-subject-token"]
    both = {"X-Auth-Token": token, "X-Subject-Token": token}
    assert other.request("GET", "/identity/v3/auth/tokens", headers=both)[0] == 200
    status, headers, _ = other.request("POST", "/identity/v3/auth/tokens", cloud.admin_auth())
    second = headers["x-subject-token"]
    assert one.request("DELETE", "/identity/v3/auth/tokens",
                       headers={"X-Auth-Token": second, "X-Subject-Token": token})[0] == 204
    assert other.request("GET", "/identity/v3/auth/tokens",
                         headers={"X-Auth-Token": second, "X-Subject-Token": token})[0] == 404


def test_a_change_made_through_one_worker_wakes_an_agent_long_polling_through_the_other(
        cloud: Foreground, connect: Connect) -> None:
    one, other = on_each_worker(connect)
    key = (cloud.state_dir / "agent-key").read_text().strip()
    status, _, host = one.request("POST", "/internal/v1/hosts", {
        "name": "long-poller", "vcpus": 1, "memory_mb": 512, "disk_gb": 1,
        "virt_type": "tcg"}, {"X-Sausage-Registration-Key": key})
    assert status == 201
    as_host = {"X-Sausage-Host-Token": host["token"]}
    desired = f"/internal/v1/hosts/{host['host_id']}/desired"
    revision = one.request("GET", desired, headers=as_host)[2]["revision"]
    admin = {"X-Auth-Token": one.request("POST", "/identity/v3/auth/tokens",
                                         cloud.admin_auth())[1]["x-subject-token"]}
    group = other.request("POST", "/network/v2.0/security-groups",
                          {"security_group": {"name": "wake-up"}}, admin)[2]["security_group"]

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        poll = pool.submit(one.request, "GET", f"{desired}?after={revision}&wait=30",
                           None, as_host)
        time.sleep(1)  # the long-poll is waiting in the first worker
        assert not poll.done()
        assert other.request("DELETE", f"/network/v2.0/security-groups/{group['id']}",
                             headers=admin)[0] == 204
        status, _, document = poll.result(timeout=60)
        waited = time.monotonic() - started
    assert status == 200
    assert document["revision"] > revision
    assert waited < 15, f"the long-poll answered only after {waited:.1f} s"


def test_a_burst_of_logins_past_the_hashing_lane_is_refused_with_retry_after_while_validation_answers(
        cloud: Foreground, connect: Connect) -> None:
    checker = connect()
    status, headers, _ = checker.request("POST", "/identity/v3/auth/tokens", cloud.admin_auth())
    token = headers["x-subject-token"]
    both = {"X-Auth-Token": token, "X-Subject-Token": token}
    burst_over = threading.Event()
    validated_during_burst: list[int] = []

    def login(_: int) -> tuple[int, dict[str, str], Any]:
        conn = Conn(cloud.port)
        try:
            return conn.request("POST", "/identity/v3/auth/tokens", cloud.admin_auth())
        finally:
            conn.close()

    def validate() -> None:
        while not burst_over.is_set():
            validated_during_burst.append(
                checker.request("GET", "/identity/v3/auth/tokens", headers=both)[0])

    validating = threading.Thread(target=validate)
    validating.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(48) as pool:
            answers = list(pool.map(login, range(48)))
    finally:
        burst_over.set()
        validating.join()
    statuses = sorted(status for status, _, _ in answers)
    refused = [(h, body) for status, h, body in answers if status == 503]
    assert set(statuses) <= {201, 503} and 201 in statuses and refused, statuses
    retry_after, body = refused[0][0].get("retry-after"), refused[0][1]
    assert retry_after is not None and int(retry_after) >= 1
    assert body["error"]["code"] == 503 and "retry" in body["error"]["message"]
    assert validated_during_burst and set(validated_during_burst) == {200}


def test_a_worker_that_dies_is_replaced_and_the_api_keeps_answering(
        cloud: Foreground, connect: Connect) -> None:
    before = cloud.workers()
    assert len(before) == WORKERS
    os.kill(before[0], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = cloud.workers()
        if len(now) == WORKERS and before[0] not in now:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"workers after the kill: {cloud.workers()}")
    for _ in range(10):
        assert connect().request("GET", "/identity/v3")[0] == 200
    assert "API worker (pid" in cloud.console  # the warning reaches the console


def test_a_client_polling_every_few_seconds_keeps_its_connection(connect: Connect) -> None:
    conn = connect()
    assert conn.request("GET", "/identity/v3")[0] == 200
    sock = conn.http.sock
    time.sleep(6)  # the openstack CLI's --wait polls every 5 s
    assert conn.request("GET", "/identity/v3")[0] == 200
    assert conn.http.sock is sock  # the same connection, not a new one after a reset


def test_ctrl_c_stops_the_workers_and_the_agent_and_says_so(cloud: Foreground) -> None:
    workers = cloud.workers()
    assert cloud.stop() == 0
    assert cloud.lines[-1] == "Sausage Cloud stopped.", cloud.console
    assert not any(_cmdline(pid) for pid in workers)
    assert "Traceback" not in cloud.console and "restarting it" not in cloud.console, cloud.console
