"""The nameserver's planner: desired zones + what PowerDNS holds → actions (no I/O)."""

from __future__ import annotations

import dataclasses

from sausage.nameserver.plan import CreateZone, DeleteZone, Plan, UpdateZone, converge
from sausage.nameserver.published import ACCOUNT, HeldZone, RRset, Zone, rname

WWW = RRset("www.example.org.", "A", 300, ("192.0.2.1",))
MX = RRset("example.org.", "MX", 300, ("10 mail.example.org.",))
TXT = RRset("example.org.", "TXT", 300, ('"v=spf1 -all"',))


def zone(*rrsets: RRset, serial: int = 1, name: str = "example.org.") -> Zone:
    return Zone(name, serial, 3600, "hostmaster@example.org", "ns1.sausage.test.",
                ("ns1.sausage.test.", "ns2.sausage.test."), rrsets)


def held(z: Zone, account: str = ACCOUNT) -> HeldZone:
    """What PowerDNS holds once ``z`` was published."""
    return HeldZone(z.name, account, z.published())


def test_a_new_zone_is_created_with_all_its_record_sets() -> None:
    z = zone(WWW, MX)
    assert converge([z], []) == Plan((CreateZone(z),))


def test_a_zone_publishes_a_designate_like_soa_and_its_apex_nameservers() -> None:
    z = zone(WWW, serial=1700000000)
    assert z.published()[0] == RRset(
        "example.org.", "SOA", 3600,
        ("ns1.sausage.test. hostmaster.example.org. 1700000000 3500 600 86400 3600",))
    assert z.published()[1] == RRset("example.org.", "NS", 3600,
                                      ("ns1.sausage.test.", "ns2.sausage.test."))


def test_a_contact_with_a_dot_before_the_at_is_escaped_in_the_soa() -> None:
    assert rname("first.last@example.org") == "first\\.last.example.org."
    assert rname("hostmaster.example.org.") == "hostmaster.example.org."


def test_a_published_zone_needs_nothing() -> None:
    z = zone(WWW, MX, TXT)
    assert converge([z], [held(z)]) == Plan(())


def test_what_powerdns_rewrites_is_not_a_change() -> None:
    z = zone(RRset("www.example.org.", "AAAA", 300, ("2001:DB8:0::1",)),
             RRset("example.org.", "MX", 300, ("10  Mail.Example.org.",)),
             RRset("Alias.example.org.", "CNAME", 300, ("WWW.example.org.",)))
    rewritten = HeldZone("example.org.", ACCOUNT, (
        *zone().published(),
        RRset("www.example.org.", "AAAA", 300, ("2001:db8::1",)),
        RRset("example.org.", "MX", 300, ("10 mail.example.org.",)),
        RRset("alias.example.org.", "CNAME", 300, ("www.example.org.",))))
    assert converge([z], [rewritten]) == Plan(())


def test_a_changed_record_replaces_only_its_record_set() -> None:
    old = zone(WWW, MX, serial=1)
    new_www = dataclasses.replace(WWW, records=("192.0.2.7",))
    new = zone(new_www, MX, serial=2)
    (action,) = converge([new], [held(old)]).actions
    assert isinstance(action, UpdateZone)
    assert set(action.replace) == {new.soa, new_www}
    assert action.delete == ()


def test_a_changed_ttl_is_a_change() -> None:
    old = zone(WWW)
    new = zone(dataclasses.replace(WWW, ttl=60))
    (action,) = converge([new], [held(old)]).actions
    assert isinstance(action, UpdateZone) and action.replace == (new.rrsets[0],)


def test_text_records_keep_their_case_and_spacing() -> None:
    old = zone(RRset("example.org.", "TXT", 300, ('"Hello  World"',)))
    new = zone(RRset("example.org.", "TXT", 300, ('"hello world"',)))
    (action,) = converge([new], [held(old)]).actions
    assert isinstance(action, UpdateZone) and action.replace == new.rrsets


def test_a_removed_record_set_is_deleted() -> None:
    old = zone(WWW, MX, serial=1)
    new = zone(WWW, serial=2)
    (action,) = converge([new], [held(old)]).actions
    assert action == UpdateZone("example.org.", (new.soa,), (("example.org.", "MX"),))


def test_a_record_set_emptied_of_records_is_deleted() -> None:
    old = zone(WWW, MX)
    new = zone(WWW, dataclasses.replace(MX, records=()))
    (action,) = converge([new], [held(old)]).actions
    assert action == UpdateZone("example.org.", (), (("example.org.", "MX"),))


def test_a_zone_no_longer_wanted_is_deleted() -> None:
    gone, kept = zone(WWW, name="old.example."), zone(WWW)
    assert converge([kept], [held(gone), held(kept)]) == Plan((DeleteZone("old.example."),))


def test_an_operators_own_zones_are_left_alone() -> None:
    theirs = HeldZone("operator.example.", "", None)
    also_theirs = HeldZone("other.example.", "someone", None)
    assert converge([], [theirs, also_theirs]) == Plan(())


def test_a_wanted_zone_held_for_someone_else_is_a_conflict_not_a_takeover() -> None:
    z = zone(WWW)
    plan = converge([z], [HeldZone("example.org.", "operator", None)])
    assert plan.actions == ()
    assert [name for name, _ in plan.conflicts] == ["example.org."]


def test_a_record_deleted_behind_our_back_is_put_back() -> None:
    z = zone(WWW, MX)
    drifted = HeldZone(z.name, ACCOUNT, tuple(r for r in z.published() if r.type != "MX"))
    assert converge([z], [drifted]) == Plan((UpdateZone(z.name, (MX,), ()),))


def test_a_record_changed_or_added_behind_our_back_is_undone() -> None:
    z = zone(WWW)
    intruder = RRset("evil.example.org.", "A", 300, ("198.51.100.1",))
    drifted = HeldZone(z.name, ACCOUNT, (
        *z.published()[:2], dataclasses.replace(WWW, records=("198.51.100.2",)), intruder))
    assert converge([z], [drifted]) == Plan(
        (UpdateZone(z.name, (WWW,), (("evil.example.org.", "A"),)),))


def test_a_disabled_record_is_not_a_published_one() -> None:
    z = zone(WWW)
    disabled = HeldZone(z.name, ACCOUNT, (
        *z.published()[:2], dataclasses.replace(WWW, records=("192.0.2.1 ;disabled",))))
    assert converge([z], [disabled]).actions == (UpdateZone(z.name, (WWW,), ()),)


def test_a_different_serial_republishes_the_soa() -> None:
    z = zone(WWW, serial=5)
    older = held(zone(WWW, serial=4))
    assert converge([z], [older]) == Plan((UpdateZone(z.name, (z.soa,), ()),))


def test_a_server_that_lost_all_its_data_gets_every_zone_back() -> None:
    zones = [zone(WWW), zone(MX, name="example.net.")]
    assert converge(zones, []) == Plan(tuple(CreateZone(z) for z in zones))


def test_a_zone_of_ours_whose_records_are_unknown_is_published_whole() -> None:
    z = zone(WWW, MX)
    assert converge([z], [HeldZone(z.name, ACCOUNT, None)]) == Plan(
        (UpdateZone(z.name, z.published(), ()),))


def test_zone_names_match_whatever_their_case() -> None:
    z = zone(WWW, name="Example.ORG.")
    assert converge([z], [held(zone(WWW))]) == Plan(())
