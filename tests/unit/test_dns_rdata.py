"""DNS names and record data as Designate checks them (services/dns/names and rdata)."""

from __future__ import annotations

import pytest

from sausage.services.dns import names, rdata


@pytest.mark.parametrize("name", ["example.org", "a" * 64 + ".org.", "-a.org.", "a-.org.",
                                  "a..org.", ".", "*.example.org.", "ex ample.org.",
                                  ("a" * 63 + ".") * 4 + "org."])
def test_these_are_not_zone_names(name: str) -> None:
    with pytest.raises(ValueError):
        names.zone_name(name)


def test_a_zone_name_is_kept_lower_case_and_may_use_underscores() -> None:
    assert names.zone_name("Ex_Ample.ORG.") == "ex_ample.org."
    assert names.zone_name(("a" * 62 + ".") * 4) == ("a" * 62 + ".") * 4  # 252 + the dot


def test_a_host_name_may_start_with_the_wildcard_label_only() -> None:
    assert names.host_name("*.Example.org.") == "*.example.org."
    with pytest.raises(ValueError):
        names.host_name("a.*.example.org.")


@pytest.mark.parametrize("email", ["zahlabut#gmail.com", "123456", "___", "", "*&^*^%$",
                                   "a@@b.org", "a@b@c.org"])
def test_these_are_not_emails(email: str) -> None:
    with pytest.raises(ValueError):
        names.email(email)


@pytest.mark.parametrize("rtype, data, presented", [
    ("A", "192.0.2.1", "192.0.2.1"), ("AAAA", "2001:DB8::1", "2001:db8::1"),
    ("MX", "10 Mail.Example.org.", "10 mail.example.org."),
    ("SRV", "10 0 5060 sip.example.org.", "10 0 5060 sip.example.org."),
    ("TXT", '"the txts    "', '"the txts    "'), ("TXT", '"\\ "', '"\\ "'),
    ("SSHFP", "1 1 ABCDEF0123", "1 1 abcdef0123"),
    ("CAA", "0 iodef mailto:security@example.org", "0 iodef mailto:security@example.org"),
])
def test_valid_records_are_answered_in_presentation_form(rtype: str, data: str,
                                                         presented: str) -> None:
    assert rdata.check(rtype, data) == presented


@pytest.mark.parametrize("rtype, data", [
    ("A", "abc"), ("A", "01.2.3.4"), ("AAAA", "192.0.2.1"), ("MX", " 10 a.org."),
    ("MX", "-0 a.org."), ("MX", "65536 a.org."), ("TXT", "\\"), ("TXT", "testtext\\"),
    ("TXT", "a\nb"), ("TXT", '"unbalanced'), ("TXT", '"in"side"'), ("TXT", "x" * 256),
    ("SSHFP", "-1 1 abcdef0123"), ("SSHFP", "1 -0 abcdef0123"), ("SSHFP", "1 1 xyz"),
    ("CAA", "2 issue a.org"), ("CNAME", "*.a.org."), ("CAA", "0 issue a.org; bad"), ("CNAME", "a.org"),
    ("PTR", "*.a.org."), ("SRV", "1 2 3"), ("A", 42),
])
def test_invalid_records_are_refused(rtype: str, data: object) -> None:
    with pytest.raises(ValueError, match="is not a"):
        rdata.check(rtype, data)


def test_a_long_txt_record_must_be_split_into_quoted_strings() -> None:
    piece = "x" * 200
    assert rdata.check("TXT", f'"{piece}" "{piece}"') == f'"{piece}" "{piece}"'
    with pytest.raises(ValueError):
        rdata.check("TXT", piece * 2)
