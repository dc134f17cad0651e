"""A user's first session with the unmodified openstack CLI against ``sausage up``."""

from __future__ import annotations

import pathlib
import stat
import subprocess

from tests.e2e.conftest import Cloud, sausage


def alive(pid: int) -> bool:
    """Running and not a zombie (PID 1 here may reap orphans a little late)."""
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_up_printed_credentials_that_only_root_can_read(cloud: Cloud) -> None:
    clouds = cloud.state_dir / "clouds.yaml"
    assert stat.S_IMODE(clouds.stat().st_mode) == 0o600
    text = clouds.read_text()
    assert "sausage:" in text and "sausage-demo:" in text


def test_admin_issues_a_token_and_lists_the_catalog(cloud: Cloud) -> None:
    token = cloud.json("token", "issue")
    assert token["id"] and token["project_id"]
    catalog = cloud.json("catalog", "list")
    assert sorted(c["Type"] for c in catalog) == ["block-storage", "compute", "dns",
                                                  "identity", "image", "network"]
    # The volume endpoint names the token's project, as Keystone substitutes $(project_id)s.
    volume = next(c for c in catalog if c["Type"] == "block-storage")
    assert all(e["url"].endswith(f"/volume/v3/{token['project_id']}")
               for e in volume["Endpoints"]), volume


def test_the_acceptance_walk_through(cloud: Cloud) -> None:
    cloud.openstack("project", "create", "p1")
    cloud.openstack("user", "create", "--project", "p1", "--password", "pw-u1", "u1")
    cloud.openstack("role", "add", "--project", "p1", "--user", "u1", "member")
    rows = cloud.json("role", "assignment", "list", "--project", "p1", "--names")
    assert [(r["Role"], r["User"], r["Project"]) for r in rows] == [
        ("member", "u1@Default", "p1@Default")]
    u1 = cloud.as_user("u1", "pw-u1", "p1")
    token = cloud.json("token", "issue", auth=u1)
    cloud.openstack("token", "revoke", token["id"])
    revoked = cloud.openstack("--os-auth-type", "token", "--os-token", token["id"],
                              "--os-auth-url", cloud.auth_url, "--os-project-name", "p1",
                              "--os-project-domain-name", "Default", "project", "list",
                              auth=[], check=False)
    assert revoked.returncode != 0 and "401" in revoked.stderr
    cred = cloud.json("application", "credential", "create", "ac1", auth=u1)
    by_cred = cloud.json(
        "token", "issue", auth=[
            "--os-auth-type", "v3applicationcredential", "--os-auth-url", cloud.auth_url,
            "--os-application-credential-id", cred["ID"],
            # One with '=': a secret (urlsafe base64, as Keystone makes them) can start with '-'.
            f"--os-application-credential-secret={cred['Secret']}"])
    assert by_cred["project_id"] == cloud.json("project", "show", "p1")["id"]


def test_a_member_is_refused_other_peoples_things(cloud: Cloud) -> None:
    cloud.openstack("project", "create", "p2")
    cloud.openstack("user", "create", "--project", "p2", "--password", "pw-m", "m2")
    cloud.openstack("role", "add", "--project", "p2", "--user", "m2", "member")
    m2 = cloud.as_user("m2", "pw-m", "p2")
    users = cloud.openstack("user", "list", auth=m2, check=False)
    assert users.returncode != 0 and "403" in users.stderr
    admin_project = cloud.json("project", "show", "admin")["id"]
    other = cloud.openstack("project", "show", admin_project, auth=m2, check=False)
    assert other.returncode != 0 and "403" in other.stderr


def test_a_reader_creates_nothing(cloud: Cloud) -> None:
    cloud.openstack("user", "create", "--password", "pw-r", "r1")
    cloud.openstack("role", "add", "--project", "demo", "--user", "r1", "reader")
    r1 = cloud.as_user("r1", "pw-r", "demo")
    for args in (["project", "create", "nope"], ["application", "credential", "create", "x"]):
        result = cloud.openstack(*args, auth=r1, check=False)
        assert result.returncode != 0 and "403" in result.stderr


def test_a_second_up_finds_the_running_cloud_and_down_up_resumes_the_data(cloud: Cloud) -> None:
    again = sausage("up", "--state-dir", str(cloud.state_dir), "--detach")
    assert again.returncode == 0 and "already running" in again.stdout
    cloud.openstack("project", "create", "kept")
    pid = int((cloud.state_dir / "sausage.pid").read_text())
    assert sausage("down", "--state-dir", str(cloud.state_dir)).returncode == 0
    assert not (cloud.state_dir / "sausage.pid").exists()
    assert not alive(pid), f"pid {pid} still runs after down"
    agents = subprocess.run(["pgrep", "-f", f"sausage.cli agent --state-dir {cloud.state_dir}$"],
                            capture_output=True, text=True).stdout
    assert agents == "", "the agent outlived down"
    up = sausage("up", "--state-dir", str(cloud.state_dir), "--detach")
    assert up.returncode == 0, up.stderr
    assert cloud.json("project", "show", "kept")["name"] == "kept"
    assert cloud.json("token", "issue")["id"]


def test_down_purge_leaves_nothing_behind(tmp_path: object) -> None:
    import pathlib

    from tests.conftest import free_port

    state = pathlib.Path(str(tmp_path)) / "purge"
    assert sausage("up", "--state-dir", str(state), "--port", str(free_port()),
                   "--detach").returncode == 0
    pid = int((state / "sausage.pid").read_text())
    assert sausage("down", "--state-dir", str(state), "--purge").returncode == 0
    assert not state.exists()
    assert not alive(pid)
    agents = subprocess.run(["pgrep", "-f", f"sausage.cli agent --state-dir {state}"],
                            capture_output=True, text=True).stdout
    assert agents == "", "the agent outlived down --purge"
    nameservers = subprocess.run(["pgrep", "-f", f"pdns_server --config-dir={state}/dns"],
                                 capture_output=True, text=True).stdout
    assert nameservers == "", "PowerDNS outlived down --purge"
