"""Upstream's own yardstick in the suite: Tempest's interop tests against ``sausage up``.

Runs tools/tempest/run (Tempest 47 in its own virtualenv) with tools/tempest/interop-tests.txt,
validation on: Tempest boots the test guest, logs in over SSH with its keypair through a floating
IP (it runs inside the cloud's namespace, where floating IPs are reachable) and checks vCPUs,
hostname, disks and reboots from inside. Every test of the list passes, in every service,
DNS (designate-tempest-plugin against the cloud's PowerDNS) included: none fails, none skips.
"""

from __future__ import annotations

import collections
import re
import subprocess

from tests.conftest import REPO
from tests.e2e.conftest import Cloud

TEMPEST = REPO / "tools" / "tempest"


def listed_per_service() -> collections.Counter[str]:
    """How many tests of the interop list belong to each service (as the harness names them)."""
    counts: collections.Counter[str] = collections.Counter()
    for line in (TEMPEST / "interop-tests.txt").read_text().splitlines():
        test = line.strip()
        if not test or test.startswith("#"):
            continue
        parts = test.split(".")
        counts["dns" if parts[0] == "designate_tempest_plugin" else parts[2]] += 1
    return counts


def test_every_interop_test_of_the_built_services_passes_with_validation(cloud: Cloud) -> None:
    run = subprocess.run([str(TEMPEST / "run"), "--state-dir", str(cloud.state_dir),
                          "--concurrency", "2"], capture_output=True, text=True, timeout=1800)
    counts = {m[1]: (int(m[2]), int(m[3]), int(m[4])) for m in re.finditer(
        r"^(\w+)\s+(\d+)\s+(\d+)\s+(\d+)$", run.stdout, re.MULTILINE)}
    summary = run.stdout[-3000:] + run.stderr[-2000:]
    print(run.stdout[run.stdout.rfind("\nservice "):])  # the per-service table, in -rA reports
    assert run.returncode == 0, summary
    assert "(validation on)" in run.stderr, summary
    assert f"namespace {cloud.ns}: tempest runs there" in run.stderr, summary
    listed = listed_per_service()
    assert set(counts) == set(listed), summary
    for service, total in listed.items():
        passed, failed, skipped = counts[service]
        assert (passed, failed, skipped) == (total, 0, 0), f"{service}\n{summary}"
