"""DNS as a user meets it: Designate's API through the unmodified ``openstack zone|recordset|ptr``
commands as ``demo``, answered by the cloud's real PowerDNS, and the names Neutron publishes for
servers. Every query goes to the authoritative server or a guest's dnsmasq inside the cloud's
namespace (dnspython run there), never anywhere else.
"""

from __future__ import annotations

import os
import pathlib
import signal
import sqlite3
import time
from typing import Any

import pytest

from tests.e2e.conftest import BIN, Cloud
from tests.e2e.test_compute_cli import eventually
from tests.e2e.test_network_cli import boot, demo, demo_json

LISTEN = ("127.0.0.1", 5354)  # the cloud's default dns_listen, inside its namespace

QUERY = """
import sys, dns.message, dns.query, dns.rcode, dns.rdatatype
q = dns.message.make_query(sys.argv[1], sys.argv[2])
r = dns.query.udp(q, sys.argv[3], port=int(sys.argv[4]), timeout=2)
if r.rcode() != dns.rcode.NOERROR:
    print(dns.rcode.to_text(r.rcode()))
for rrset in r.answer:
    for item in rrset:
        print(item.to_text())
"""


def ask(cloud: Cloud, name: str, rdtype: str = "A", server: tuple[str, int] = LISTEN) -> list[str]:
    """What the authoritative server answers for ``name`` (``["NXDOMAIN"]`` when nothing)."""
    result = cloud.outside(str(BIN / "python"), "-c", QUERY, name, rdtype, server[0],
                           str(server[1]))
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")[:-1]


def zone_status(cloud: Cloud, zone: str) -> str:
    return str(demo_json(cloud, "zone", "show", zone)["status"])


@pytest.fixture(scope="module")
def zone(cloud: Cloud) -> str:
    created = demo_json(cloud, "zone", "create", "--email", "hostmaster@example.org",
                        "example.org.")
    assert (created["status"], created["action"]) == ("PENDING", "CREATE")
    started = time.monotonic()
    eventually(lambda: zone_status(cloud, "example.org.") == "ACTIVE", timeout=30,
               what="example.org. ACTIVE")
    print(f"\nzone create → ACTIVE: {time.monotonic() - started:.2f} s")
    return "example.org."


def test_a_zone_and_its_update_are_active_once_the_server_answers_them(cloud: Cloud, zone: str) -> None:
    soa = ask(cloud, zone, "SOA")
    serial = demo_json(cloud, "zone", "show", zone)["serial"]
    assert soa and soa[0].split()[2] == str(serial)
    listed = demo_json(cloud, "zone", "list")
    assert [z["name"] for z in listed] == [zone]
    demo(cloud, "zone", "set", "--ttl", "600", "--description", "demo's own", zone)
    eventually(lambda: zone_status(cloud, zone) == "ACTIVE", timeout=10, what="the update")
    changed = demo_json(cloud, "zone", "show", zone)
    assert (changed["ttl"], changed["description"]) == (600, "demo's own")
    assert changed["serial"] > serial
    assert ask(cloud, zone, "SOA")[0].split()[2] == str(changed["serial"])
    assert cloud.json("zone", "list") == []  # admin's own project has none


def test_a_recordset_is_answered_changed_within_a_second_and_gone_after_delete(
        cloud: Cloud, zone: str) -> None:
    demo(cloud, "recordset", "create", "--type", "A", "--record", "192.0.2.10", zone, "www")
    eventually(lambda: ask(cloud, "www.example.org.") == ["192.0.2.10"], timeout=10,
               what="www answered")
    demo(cloud, "recordset", "set", "--record", "192.0.2.11", zone, "www.example.org.")
    started = time.monotonic()
    eventually(lambda: ask(cloud, "www.example.org.") == ["192.0.2.11"], timeout=10,
               what="www's new address answered")
    print(f"\nrecordset update → answered: {time.monotonic() - started:.2f} s")
    shown = demo_json(cloud, "recordset", "show", zone, "www.example.org.")
    assert shown["records"] == "192.0.2.11" or shown["records"] == ["192.0.2.11"]
    demo(cloud, "recordset", "delete", zone, "www.example.org.")
    eventually(lambda: ask(cloud, "www.example.org.") == ["NXDOMAIN"], timeout=10,
               what="www gone")


def test_bad_input_is_refused_and_writes_nothing(cloud: Cloud, zone: str) -> None:
    before = demo_json(cloud, "recordset", "list", zone)
    for args in (["--type", "A", "--record", "abc", zone, "bad"],
                 ["--type", "CNAME", "--record", "other.example.net.", zone, zone],
                 ["--type", "A", "--record", "192.0.2.1", zone, "x" * 64]):
        refused = demo(cloud, "recordset", "create", *args, check=False)
        assert refused.returncode != 0 and refused.stderr.strip(), refused.stdout
    no_dot = demo(cloud, "zone", "create", "--email", "a@b.org", "no-dot.org", check=False)
    assert no_dot.returncode != 0, no_dot.stdout
    dup = demo(cloud, "zone", "create", "--email", "a@b.org", zone, check=False)
    assert dup.returncode != 0 and "Duplicate" in dup.stderr, dup.stderr
    assert demo_json(cloud, "recordset", "list", zone) == before
    assert [z["name"] for z in demo_json(cloud, "zone", "list")] == [zone]


def test_another_project_cannot_see_or_nest_under_demo_s_zone(cloud: Cloud, zone: str) -> None:
    cloud.openstack("project", "create", "dns-other")
    cloud.openstack("user", "create", "--password", "secret-dns", "--project", "dns-other",
                    "dns-other")
    cloud.openstack("role", "add", "--user", "dns-other", "--project", "dns-other", "member")
    other = cloud.as_user("dns-other", "secret-dns", "dns-other")
    assert cloud.json("zone", "list", auth=other) == []
    sub = cloud.openstack("zone", "create", "--email", "a@b.org", "sub.example.org.",
                          auth=other, check=False)
    assert sub.returncode != 0 and sub.stderr.strip(), sub.stdout
    assert cloud.json("zone", "list", auth=other) == []


def test_powerdns_killed_is_restarted_and_records_removed_behind_its_back_come_back(
        cloud: Cloud, zone: str) -> None:
    demo(cloud, "recordset", "create", "--type", "TXT", "--record", '"kept"', zone, "kept")
    eventually(lambda: ask(cloud, "kept.example.org.", "TXT") == ['"kept"'], timeout=10,
               what="kept answered")
    pid = int((cloud.state_dir / "dns" / "pdns_server.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: pid_changed(cloud, pid) and
               ask_or_none(cloud, "kept.example.org.", "TXT") == ['"kept"'],
               timeout=30, what="a new PowerDNS answering kept")
    # Behind sausage's back: the record is deleted from PowerDNS's own database.
    assert held(cloud, "kept.example.org") == 1
    db = sqlite3.connect(cloud.state_dir / "dns" / "pdns.sqlite3")
    with db:
        db.execute("DELETE FROM records WHERE name = 'kept.example.org'")
    db.close()
    assert held(cloud, "kept.example.org") == 0
    eventually(lambda: held(cloud, "kept.example.org") == 1, timeout=60,
               what="the reconciler restoring kept in PowerDNS")
    assert ask(cloud, "kept.example.org.", "TXT") == ['"kept"']
    demo(cloud, "recordset", "delete", zone, "kept.example.org.")


def pid_changed(cloud: Cloud, old: int) -> bool:
    path = cloud.state_dir / "dns" / "pdns_server.pid"
    return path.exists() and path.read_text().strip() not in ("", str(old))


def held(cloud: Cloud, name: str) -> int:
    """How many records PowerDNS's own database holds for ``name``."""
    db = sqlite3.connect(cloud.state_dir / "dns" / "pdns.sqlite3")
    try:
        return int(db.execute("SELECT count(*) FROM records WHERE name = ?", (name,))
                   .fetchone()[0])
    finally:
        db.close()


def ask_or_none(cloud: Cloud, name: str, rdtype: str) -> list[str] | None:
    result = cloud.outside(str(BIN / "python"), "-c", QUERY, name, rdtype, LISTEN[0],
                           str(LISTEN[1]))
    return result.stdout.split("\n")[:-1] if result.returncode == 0 else None


def test_a_server_s_name_and_floating_ip_are_published_and_resolved_by_its_neighbour(
        cloud: Cloud, zone: str, tmp_path: pathlib.Path) -> None:
    key = tmp_path / "k.pem"
    key.write_text(demo(cloud, "keypair", "create", "dnskey").stdout)
    key.chmod(0o600)
    demo(cloud, "network", "set", "--dns-domain", zone, "private")
    demo(cloud, "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
         "default")
    vm1 = boot(cloud, "vm1", "private")
    listed = demo_json(cloud, "port", "list", "--server", "vm1")
    assert demo_json(cloud, "port", "show", listed[0]["ID"])["dns_name"] == "vm1"
    fip = demo_json(cloud, "floating", "ip", "create", "public")
    address = fip["floating_ip_address"]
    demo(cloud, "server", "add", "floating", "ip", "vm1", address)
    eventually(lambda: ask(cloud, "vm1.example.org.") == [address], timeout=20,
               what="vm1.example.org. → its floating IP")
    reverse = ".".join(reversed(address.split("."))) + ".in-addr.arpa."
    eventually(lambda: ask(cloud, reverse, "PTR") == ["vm1.example.org."], timeout=20,
               what="the floating IP's PTR")
    fixed = next(ip for ip in vm1_fixed(cloud) if ip != address)
    boot(cloud, "vm2", "private", "--key-name", "dnskey")
    fip2 = demo_json(cloud, "floating", "ip", "create", "public")["floating_ip_address"]
    demo(cloud, "server", "add", "floating", "ip", "vm2", fip2)

    def neighbour_resolves() -> bool:
        ssh = cloud.outside("ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o",
                            "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
                            f"root@{fip2}", "nslookup vm1", timeout=30)
        return ssh.returncode == 0 and fixed in ssh.stdout

    eventually(neighbour_resolves, timeout=120, what="vm2 resolving vm1 to its fixed IP")
    demo(cloud, "floating", "ip", "delete", address)
    eventually(lambda: ask(cloud, "vm1.example.org.") == ["NXDOMAIN"], timeout=20,
               what="vm1's record gone with its floating IP")
    assert ask(cloud, reverse, "PTR") in (["NXDOMAIN"], [])
    demo(cloud, "server", "delete", "--wait", "vm1", "vm2")
    demo(cloud, "floating", "ip", "delete", fip2)
    eventually(lambda: {r["name"] for r in demo_json(cloud, "recordset", "list", zone)} == {zone},
               timeout=20, what="only the zone's own SOA and NS left")


def vm1_fixed(cloud: Cloud) -> list[str]:
    addresses: dict[str, Any] = demo_json(cloud, "server", "show", "vm1")["addresses"]
    return [str(a) for a in next(iter(addresses.values()))]


def test_a_floating_ip_s_ptr_record_is_set_shown_and_unset(cloud: Cloud, zone: str) -> None:
    fip = demo_json(cloud, "floating", "ip", "create", "public")
    ref = f"RegionOne:{fip['id']}"
    demo(cloud, "ptr", "record", "set", ref, "mail.example.org.")
    shown = demo_json(cloud, "ptr", "record", "show", ref)
    assert shown["ptrdname"] == "mail.example.org."
    reverse = ".".join(reversed(fip["floating_ip_address"].split("."))) + ".in-addr.arpa."
    eventually(lambda: ask(cloud, reverse, "PTR") == ["mail.example.org."], timeout=20,
               what="the PTR answered")
    demo(cloud, "ptr", "record", "unset", ref)
    eventually(lambda: ask(cloud, reverse, "PTR") in (["NXDOMAIN"], []), timeout=20,
               what="the PTR gone")
    demo(cloud, "floating", "ip", "delete", fip["id"])


def test_deleting_the_zone_leaves_nothing_on_the_server(cloud: Cloud, zone: str) -> None:
    for rs in demo_json(cloud, "recordset", "list", zone):
        if rs["type"] not in ("SOA", "NS"):
            demo(cloud, "recordset", "delete", zone, rs["id"])
    demo(cloud, "zone", "delete", zone)
    eventually(lambda: demo(cloud, "zone", "show", zone, check=False).returncode != 0,
               timeout=30, what="the zone gone")
    assert ask(cloud, zone, "SOA") == ["REFUSED"]
