"""Settings come from sausage.yaml, then SAUSAGE_* variables, then flags."""

from __future__ import annotations

import pathlib

import pydantic
import pytest

from sausage import config


def test_file_then_environment_then_flags(tmp_path: pathlib.Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sausage.yaml").write_text("port: 9000\nregion: Lab\n")
    assert config.load(tmp_path).port == 9000
    monkeypatch.setenv("SAUSAGE_PORT", "9100")
    assert config.load(tmp_path).port == 9100
    assert config.load(tmp_path, port=9200).port == 9200
    assert config.load(tmp_path).region == "Lab"


def test_sqlite_in_the_state_dir_unless_a_database_url_is_set(tmp_path: pathlib.Path) -> None:
    assert config.load(tmp_path).db_url == f"sqlite:///{tmp_path}/sausage.db"
    url = "postgresql+psycopg://u@db/sausage"
    assert config.load(tmp_path, database_url=url).db_url == url


def test_an_unknown_setting_is_an_error(tmp_path: pathlib.Path) -> None:
    (tmp_path / "sausage.yaml").write_text("prot: 9000\n")
    with pytest.raises(pydantic.ValidationError):
        config.load(tmp_path)


def test_the_api_runs_one_worker_per_core_unless_told_and_shares_the_cores_out_for_hashing(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    default = config.load(tmp_path)
    assert (default.workers, default.password_hash_slots) == (4, 1)
    two = config.load(tmp_path, api_workers=2)
    assert (two.workers, two.password_hash_slots) == (2, 2)
    many = config.load(tmp_path, api_workers=8)
    assert (many.workers, many.password_hash_slots) == (8, 1)
    with pytest.raises(pydantic.ValidationError):
        config.load(tmp_path, api_workers=0)


def test_the_nameserver_listens_on_loopback_by_default_and_names_absolute_nameservers(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = config.load(tmp_path)
    assert (default.dns_listen, default.dns_api_port) == ("127.0.0.1:5354", 8081)
    assert (default.dns_nameservers, default.dns_resolvers) == (["ns1.sausage.test."], [])
    monkeypatch.setenv("SAUSAGE_DNS_NAMESERVERS", "ns1.example.org,ns2.example.org.")
    monkeypatch.setenv("SAUSAGE_DNS_RESOLVERS", "192.0.2.53, 2001:db8::53")
    from_env = config.load(tmp_path)
    assert from_env.dns_nameservers == ["ns1.example.org.", "ns2.example.org."]
    assert from_env.dns_resolvers == ["192.0.2.53", "2001:db8::53"]


@pytest.mark.parametrize("bad", [{"dns_listen": "localhost:53"}, {"dns_listen": "127.0.0.1"},
                                 {"dns_nameservers": []}, {"dns_resolvers": ["dns.example"]}])
def test_a_bad_dns_setting_is_an_error(tmp_path: pathlib.Path, bad: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        config.load(tmp_path, **bad)


def test_the_dns_domain_gets_its_trailing_dot_and_resolvers_may_come_as_one_string(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = config.load(tmp_path)
    assert (default.dns_domain, default.dns_resolvers) == ("openstacklocal.", [])
    assert config.load(tmp_path, dns_domain="Cloud.Example.ORG").dns_domain == \
        "cloud.example.org."
    monkeypatch.setenv("SAUSAGE_DNS_RESOLVERS", "192.0.2.53, 2001:db8::53")
    assert config.load(tmp_path).dns_resolvers == ["192.0.2.53", "2001:db8::53"]
    for bad in ({"dns_domain": "-bad.example."}, {"dns_domain": "a..b"},
                {"dns_resolvers": ["resolver.example"]}):
        with pytest.raises(pydantic.ValidationError):
            config.load(tmp_path, **bad)
