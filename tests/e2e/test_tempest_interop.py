"""Upstream's own yardstick in the suite: Tempest's interop tests against ``sausage up``.

Runs tools/tempest/run (Tempest 47 in its own virtualenv) with tools/tempest/interop-tests.txt and
checks, per service, that nothing fails and that the tests this cloud can run all pass. Tests
that need a service not built yet (dns) are skipped by Tempest itself.
"""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO
from tests.e2e.conftest import Cloud

# Passing counts seen when this test was written; a drop is a compatibility regression.
AT_LEAST = {"identity": 7, "image": 20, "compute": 70, "network": 61, "volume": 54}


def test_the_interop_tests_of_the_built_services_pass(cloud: Cloud) -> None:
    run = subprocess.run([str(REPO / "tools" / "tempest" / "run"), "--state-dir",
                          str(cloud.state_dir), "--concurrency", "2"],
                         capture_output=True, text=True, timeout=1800)
    counts = {m[1]: (int(m[2]), int(m[3]), int(m[4])) for m in re.finditer(
        r"^(\w+)\s+(\d+)\s+(\d+)\s+(\d+)$", run.stdout, re.MULTILINE)}
    summary = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 0, summary
    for service, (passed, failed, _skipped) in counts.items():
        assert failed == 0, f"{service}: {failed} failed\n{summary}"
    for service, least in AT_LEAST.items():
        assert counts.get(service, (0, 0, 0))[0] >= least, summary
