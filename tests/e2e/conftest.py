"""The e2e tier: ``sausage up --detach --netns`` on a free loopback port, driven with the real CLI.

The cloud's data plane lives in a namespace the fixture creates (``HOST_NS`` plus a suffix): it
is the all-in-one host *and* "the outside" of the public network (its external bridge holds the
public gateway address), so tests reach floating IPs with ``cloud.outside(...)``. An underlay
veth ``ul0`` (172.31.255.1/24) is there for a second host's VXLAN tunnels.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REPO, free_port

BIN = REPO / ".venv" / "bin"


UNDERLAY = "172.31.255.{}/24"


def netns(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", "netns", *args], capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, f"ip netns {' '.join(args)}: {result.stderr}"
    return result


def namespaces() -> list[str]:
    return [line.split()[0] for line in netns("list").stdout.splitlines() if line.strip()]


@dataclasses.dataclass
class Cloud:
    state_dir: pathlib.Path
    port: int
    ns: str = ""

    def outside(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a command in the host namespace: "the outside" of the public network."""
        return subprocess.run(["ip", "netns", "exec", self.ns, *args], capture_output=True,
                              text=True, timeout=timeout)

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/identity/v3"

    def env(self, cloud: str = "sausage") -> dict[str, str]:
        return {**os.environ, "OS_CLIENT_CONFIG_FILE": str(self.state_dir / "clouds.yaml"),
                "OS_CLOUD": cloud}

    def openstack(self, *args: str, cloud: str = "sausage", check: bool = True,
                  auth: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        env = self.env(cloud)
        if auth is not None:
            env.pop("OS_CLOUD")
        result = subprocess.run([str(BIN / "openstack"), *(auth or []), *args], env=env,
                                capture_output=True, text=True, timeout=120)
        if check:
            assert result.returncode == 0, f"openstack {' '.join(args)}:\n{result.stderr}"
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.openstack(*args, "-f", "json", **kwargs).stdout)

    def as_user(self, user: str, password: str, project: str) -> list[str]:
        return ["--os-auth-url", self.auth_url, "--os-username", user, "--os-password", password,
                "--os-project-name", project, "--os-user-domain-name", "Default",
                "--os-project-domain-name", "Default", "--os-identity-api-version", "3"]


def sausage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "sausage"), *args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    state_dir = tmp_path_factory.mktemp("e2e") / "state"
    port = free_port()
    image_dir = REPO / ".cache" / "testimage"
    build = subprocess.run([str(REPO / "tools" / "testimage" / "build"), "--out", str(image_dir)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    ns = f"sse2e{os.getpid() % 100000}"
    netns("add", ns)
    netns("exec", ns, "ip", "link", "set", "lo", "up")
    state_dir.mkdir(parents=True)
    (state_dir / "sausage.yaml").write_text(f"tunnel_ip: {UNDERLAY.format(1).split('/')[0]}\n")
    try:
        up = sausage("up", "--state-dir", str(state_dir), "--port", str(port), "--detach",
                     "--netns", ns, "--test-image", str(image_dir / "disk.qcow2"))
        assert up.returncode == 0, up.stdout + up.stderr
        try:
            yield Cloud(state_dir, port, ns)
        finally:
            down = sausage("down", "--state-dir", str(state_dir), "--purge")
            assert down.returncode == 0, down.stderr
        left = [n for n in namespaces() if n.startswith(f"{ns}-")]
        assert left == [], f"namespaces left behind: {left}"
    finally:
        netns("delete", ns, check=False)
