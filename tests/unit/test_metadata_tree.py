"""Pure pieces of the metadata service: EC2 directory listings and EC2-style ids."""

from __future__ import annotations

from sausage.services import metadata


def test_ec2_listings_end_subtrees_with_a_slash_but_not_key_entries() -> None:
    tree = {"hostname": "h", "placement": {"availability-zone": "nova"},
            "public-keys": {"0=k1": {"openssh-key": "ssh-ed25519 A"}}}
    assert metadata._listing(tree) == "hostname\nplacement/\npublic-keys/"
    assert metadata._listing(tree["public-keys"]) == "0=k1"


def test_ec2_ids_are_eight_hex_digits_from_the_uuid() -> None:
    assert metadata._ec2_id("i", "0000002a-aaaa-4bbb-8ccc-dddddddddddd") == "i-0000002a"
    assert metadata._ec2_id("ami", None) == "ami-00000000"
    assert metadata._ec2_id("ami", "not-hex!") == "ami-00000000"
