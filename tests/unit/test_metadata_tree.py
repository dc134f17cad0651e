"""Pure pieces of the metadata service: EC2 directory listings and EC2-style ids."""

from __future__ import annotations

from sausage.services.metadata import tree


def test_ec2_listings_are_sorted_and_end_subtrees_with_a_slash_but_not_key_entries() -> None:
    listing = {"placement": {"availability-zone": "nova"}, "hostname": "h",
               "public-keys": {"0=k1": {"openssh-key": "ssh-ed25519 A"}}}
    assert tree._listing(listing) == "hostname\nplacement/\npublic-keys/"
    assert tree._listing(listing["public-keys"]) == "0=k1"


def test_ec2_ids_are_eight_hex_digits_from_the_uuid() -> None:
    assert tree._ec2_id("i", "0000002a-aaaa-4bbb-8ccc-dddddddddddd") == "i-0000002a"
    assert tree._ec2_id("ami", None) == "ami-00000000"
    assert tree._ec2_id("ami", "not-hex!") == "ami-00000000"
