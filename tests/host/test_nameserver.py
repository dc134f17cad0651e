"""The controller's nameserver for real: PowerDNS in a throwaway namespace, zones published
into it by the reconciler, answers checked over DNS through sockets made in that namespace.

Network rule: PowerDNS listens on the loopback of the namespace `sg-<random>` the test made;
every query and API call goes there. The namespace, the process and the temp dir are removed
at the end, also when a test failed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator

import dns.message
import dns.rcode
import pytest

from sausage.nameserver import probe
from sausage.nameserver.published import RRset, Zone
from sausage.nameserver.plan import converge
from sausage.nameserver.reconciler import Reconciler, ZoneResult
from sausage.nameserver.server import Nameserver, PowerDNSServer
from tests.host.conftest import Netns, netns_list, processes_mentioning, require_host

NS = ("ns1.sausage.test.",)


def example(serial: int, *rrsets: RRset) -> Zone:
    return Zone("example.org.", serial, 3600, "hostmaster@example.org", NS[0], NS, rrsets)


A = RRset("www.example.org.", "A", 300, ("192.0.2.10", "192.0.2.11"))
AAAA = RRset("www.example.org.", "AAAA", 300, ("2001:db8::10",))
MX = RRset("example.org.", "MX", 300, ("10 mail.example.org.",))
TXT = RRset("example.org.", "TXT", 300, ('"v=spf1 -all"', '"hello world"'))
CNAME = RRset("alias.example.org.", "CNAME", 300, ("www.example.org.",))
PTR = RRset("10.2.0.192.in-addr.arpa.", "PTR", 300, ("www.example.org.",))
EXAMPLE = example(1, A, AAAA, MX, TXT, CNAME)
REVERSE = Zone("2.0.192.in-addr.arpa.", 1, 3600, "hostmaster@example.org", NS[0], NS, (PTR,))

FIGURES: list[str] = []


class Cloud:
    """What the controller would do: desired zones handed to a running ``Nameserver``, and
    every step's report kept, numbered by the step that made it."""

    def __init__(self, netns: str, state: pathlib.Path) -> None:
        self.desired: list[Zone] = []
        self.steps = 0
        self.reports: list[tuple[int, dict[str, ZoneResult]]] = []
        self.changed = threading.Condition()
        self.server = PowerDNSServer(state / "dns", "127.0.0.1:5354", 8081, netns)
        self.nameserver = Nameserver(self.server, self._get, self._report, interval=60)

    def _get(self) -> list[Zone]:
        with self.changed:
            self.steps += 1
            self._step = self.steps
            return list(self.desired)

    def _report(self, results: dict[str, ZoneResult]) -> None:
        with self.changed:
            self.reports.append((self._step, results))
            self.changed.notify_all()

    def publish(self, *zones: Zone, timeout: float = 20) -> float:
        """Hand over ``zones`` and wait for a step that began afterwards to report each one
        answering its serial; seconds it took."""
        with self.changed:
            self.desired = list(zones)
            after = self.steps
        return self.next_step(after, timeout)

    def next_step(self, after: int | None = None, timeout: float = 20) -> float:
        started = time.monotonic()
        with self.changed:
            after = self.steps if after is None else after
        self.nameserver.wake()
        want = {z.name: z.serial for z in self.desired}

        def done() -> bool:
            return any(step > after and all(
                results.get(name) == ZoneResult(serial) for name, serial in want.items())
                for step, results in self.reports)

        with self.changed:
            if not self.changed.wait_for(done, timeout):
                raise AssertionError(f"not published within {timeout} s: {self.reports[-3:]}"
                                     f"\n{self.server.log_tail()}")
        return time.monotonic() - started

    def ask(self, name: str, rdtype: str) -> dns.message.Message:
        return probe.query(self.server.host, self.server.port, name, rdtype,
                           self.server.factory)

    def answers(self, name: str, rdtype: str) -> set[str]:
        reply = self.ask(name, rdtype)
        assert reply.rcode() == dns.rcode.NOERROR, f"{name} {rdtype}: {reply}"
        return {rdata.to_text() for rrset in reply.answer if rrset.rdtype.name == rdtype
                for rdata in rrset}


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    require_host()
    if shutil.which("pdns_server") is None:
        pytest.fail("pdns_server is missing: run `make install` (tools/install)")
    netns = Netns()
    state = pathlib.Path(tempfile.mkdtemp(prefix="sausage-dns-"))
    c: Cloud | None = None
    try:
        netns.create()
        c = Cloud(netns.name, state)
        c.nameserver.start()
        assert c.nameserver.started.wait(30), c.server.log_tail()
        yield c
    finally:
        if c is not None:
            c.nameserver.stop()
        netns.delete()
        leftovers = processes_mentioning(str(state))
        for line in leftovers:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(line.split(":")[0]), signal.SIGKILL)
        shutil.rmtree(state, ignore_errors=True)
        assert not leftovers, f"processes left behind: {leftovers}"
        assert netns.name not in netns_list()
        for figure in FIGURES:
            print(figure)


def every_record_answers(c: Cloud, zones: tuple[Zone, ...] = (EXAMPLE, REVERSE)) -> None:
    for zone in zones:
        for rrset in zone.rrsets:
            assert c.answers(rrset.name, rrset.type) == set(rrset.records), rrset


def wait_until(predicate: Callable[[], bool], timeout: float) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.05)
    return time.monotonic() - started


def test_published_zones_answer_every_record_over_dns(cloud: Cloud) -> None:
    seconds = cloud.publish(EXAMPLE, REVERSE)
    FIGURES.append(f"two new zones (6 record sets) answering their serial: {seconds:.3f} s")
    every_record_answers(cloud)
    soa = cloud.answers("example.org.", "SOA")
    assert soa == {"ns1.sausage.test. hostmaster.example.org. 1 3500 600 86400 3600"}
    assert cloud.answers("example.org.", "NS") == {"ns1.sausage.test."}


def test_a_converged_server_is_left_as_it_is(cloud: Cloud) -> None:
    cloud.publish(EXAMPLE, REVERSE)
    # the loop's own reconciler steps in its thread: time a step of a second one
    other = Reconciler(cloud.server.client(), cloud.server.host, cloud.server.port,
                       cloud.server.factory)
    try:
        started = time.monotonic()
        results = other.step([EXAMPLE, REVERSE])
        FIGURES.append(f"a step with nothing to do (2 zones, API read + SOA probes): "
                       f"{time.monotonic() - started:.3f} s")
        assert results == {"example.org.": ZoneResult(1), "2.0.192.in-addr.arpa.": ZoneResult(1)}
        assert converge([EXAMPLE, REVERSE], other.api.held()).actions == ()
    finally:
        other.close()


def test_a_changed_record_is_answered_with_its_new_data(cloud: Cloud) -> None:
    cloud.publish(EXAMPLE, REVERSE)
    changed = dataclasses.replace(A, records=("192.0.2.20",))
    seconds = cloud.publish(example(2, changed, AAAA, MX, TXT, CNAME), REVERSE)
    FIGURES.append(f"a changed record answering the zone's new serial: {seconds:.3f} s")
    assert cloud.answers("www.example.org.", "A") == {"192.0.2.20"}
    assert cloud.answers("example.org.", "SOA") == {
        "ns1.sausage.test. hostmaster.example.org. 2 3500 600 86400 3600"}


def test_a_deleted_record_is_nxdomain(cloud: Cloud) -> None:
    cloud.publish(EXAMPLE, REVERSE)
    cloud.publish(example(3, A, AAAA, MX, TXT), REVERSE)
    assert cloud.ask("alias.example.org.", "CNAME").rcode() == dns.rcode.NXDOMAIN
    assert cloud.answers("www.example.org.", "A") == set(A.records)


def test_a_deleted_zone_is_no_longer_served(cloud: Cloud) -> None:
    cloud.publish(EXAMPLE, REVERSE)
    cloud.publish(EXAMPLE)
    assert cloud.ask("10.2.0.192.in-addr.arpa.", "PTR").rcode() == dns.rcode.REFUSED
    assert [z["name"] for z in cloud.server.client().zones()] == ["example.org."]


def test_an_operators_own_zone_is_left_alone(cloud: Cloud) -> None:
    api = cloud.server.client()
    try:
        api.request("POST", "/zones", {"name": "operator.test.", "kind": "Native",
                                       "nameservers": ["ns.operator.test."]})
        cloud.publish(EXAMPLE)
        cloud.next_step()
        assert cloud.ask("operator.test.", "SOA").rcode() == dns.rcode.NOERROR
        api.delete_zone("operator.test.")
    finally:
        api.close()


def test_a_record_deleted_behind_the_reconcilers_back_is_restored(cloud: Cloud) -> None:
    cloud.publish(EXAMPLE, REVERSE)
    api = cloud.server.client()
    try:
        api.update_zone("example.org.", [], [("www.example.org.", "A")])
        api.update_zone("example.org.", [dataclasses.replace(MX, records=("5 evil.test.",))])
    finally:
        api.close()
    assert cloud.ask("www.example.org.", "A").rcode() == dns.rcode.NOERROR  # AAAA is left
    assert cloud.answers("www.example.org.", "A") == set()
    cloud.next_step()
    every_record_answers(cloud)


def test_a_killed_server_is_restarted_and_answers_every_record(cloud: Cloud) -> None:
    cloud.publish(EXAMPLE, REVERSE)
    process = cloud.server.process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    seconds = wait_until(lambda: cloud.server.process is not process and
                         probe.serial(cloud.server.host, cloud.server.port, "example.org.",
                                      cloud.server.factory, timeout=0.2) == 1, 30)
    FIGURES.append(f"kill -9 pdns_server → answering again: {seconds:.2f} s")
    every_record_answers(cloud)


def test_a_server_that_lost_its_database_gets_everything_back(cloud: Cloud) -> None:
    cloud.publish(EXAMPLE, REVERSE)
    process = cloud.server.process
    assert process is not None
    cloud.server.database.unlink()
    os.kill(process.pid, signal.SIGKILL)
    seconds = wait_until(lambda: cloud.server.process is not process and all(
        probe.serial(cloud.server.host, cloud.server.port, z.name, cloud.server.factory,
                     timeout=0.2) == 1 for z in (EXAMPLE, REVERSE)), 30)
    FIGURES.append(f"database deleted + kill -9 → every zone republished: {seconds:.2f} s")
    assert cloud.server.database.exists()
    every_record_answers(cloud)
