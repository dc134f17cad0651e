"""Images with the unmodified openstack CLI: upload, share, download byte for byte."""

from __future__ import annotations

import hashlib
import pathlib
import subprocess

from tests.e2e.conftest import Cloud


def test_up_registered_the_test_guest_as_a_public_image(cloud: Cloud) -> None:
    image = cloud.json("image", "show", "sausage-test")
    assert (image["status"], image["visibility"], image["disk_format"]) == (
        "active", "public", "qcow2")
    demo = cloud.json("image", "list", cloud="sausage-demo")
    assert "sausage-test" in [i["Name"] for i in demo]


def test_image_lifecycle_and_sharing(cloud: Cloud, tmp_path: pathlib.Path) -> None:
    disk = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "32M"], check=True)
    image = cloud.json("image", "create", "--file", str(disk), "--disk-format", "qcow2", "img1")
    assert image["status"] == "active"
    assert image["checksum"] == hashlib.md5(disk.read_bytes()).hexdigest()
    assert "img1" in [i["Name"] for i in cloud.json("image", "list")]
    cloud.openstack("image", "set", "--property", "k=v", "--tag", "t", "--public", "img1")
    shown = cloud.json("image", "show", "img1")
    assert shown["visibility"] == "public" and shown["tags"] == ["t"]
    assert shown["properties"]["k"] == "v"
    cloud.openstack("image", "set", "--private", "img1")
    cloud.openstack("image", "set", "--shared", "img1")
    out = tmp_path / "out"
    cloud.openstack("image", "save", "--file", str(out), "img1")
    assert out.read_bytes() == disk.read_bytes()

    for n in ("2", "3"):
        cloud.openstack("project", "create", f"ip{n}")
        cloud.openstack("user", "create", "--password", "pw", f"iu{n}")
        cloud.openstack("role", "add", "--project", f"ip{n}", "--user", f"iu{n}", "member")
    p2, p3 = cloud.as_user("iu2", "pw", "ip2"), cloud.as_user("iu3", "pw", "ip3")
    cloud.openstack("image", "add", "project", "img1", "ip2")
    cloud.openstack("image", "set", "--accept", image["id"], auth=p2)
    assert "img1" in [i["Name"] for i in cloud.json("image", "list", auth=p2)]
    assert "img1" not in [i["Name"] for i in cloud.json("image", "list", auth=p3)]
    hidden = cloud.openstack("image", "show", image["id"], auth=p3, check=False)
    assert hidden.returncode != 0

    cloud.openstack("image", "delete", "img1")
    assert "img1" not in [i["Name"] for i in cloud.json("image", "list")]
    assert not (cloud.state_dir / "images" / image["id"]).exists()


def test_bad_image_input_is_refused_with_glances_statuses(cloud: Cloud,
                                                          tmp_path: pathlib.Path) -> None:
    disk = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "8M"], check=True)
    as_raw = cloud.openstack("image", "create", "--file", str(disk), "--disk-format", "raw",
                             "liar", check=False)
    assert as_raw.returncode != 0 and "400" in as_raw.stderr
    cloud.openstack("image", "create", "--disk-format", "raw", "--protected", "keep")
    refused = cloud.openstack("image", "delete", "keep", check=False)
    assert refused.returncode != 0
    cloud.openstack("image", "set", "--unprotected", "keep")
    cloud.openstack("image", "delete", "keep")
