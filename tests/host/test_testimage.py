"""The test guest image (tools/testimage/build, DESIGN.md §8) boots under plain QEMU/TCG in both
forms — a BIOS-bootable qcow2 disk and kernel + ramdisk — takes its address, MTU and routes from
DHCP, reads the metadata service, runs its user_data, and answers HTTP, ping and SSH.

Each form is booted once, in its own throwaway namespace (see conftest.GuestEnv); the disk boot
carries the network checks. Time-to-READY is printed in the summary, not asserted.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.host.conftest import TESTIMAGE_BUILD, GuestEnv, netns_list, require_host, run

USER_DATA = """#!/bin/sh
echo "USERDATA-MARKER host=$(hostname) disks=$(ls /sys/block | tr '\\n' ' ')"
"""


@pytest.fixture(scope="module")
def disk_guest(testimage: pathlib.Path) -> Iterator[GuestEnv]:
    guest = GuestEnv(testimage, "disk", user_data=USER_DATA)
    guest.boot()
    try:
        yield guest
    finally:
        guest.close()


@pytest.fixture(scope="module")
def kernel_guest(testimage: pathlib.Path) -> Iterator[GuestEnv]:
    guest = GuestEnv(testimage, "kernel", user_data=USER_DATA, data_disk_mib=16)
    guest.boot()
    try:
        yield guest
    finally:
        guest.close()


# -- the build ----------------------------------------------------------------------------------------

def test_the_build_makes_a_kernel_a_ramdisk_and_a_small_bootable_qcow2_disk(
        testimage: pathlib.Path) -> None:
    for name in ("vmlinuz", "initrd.img", "disk.qcow2", "image.json"):
        assert (testimage / name).stat().st_size > 0, name
    info = json.loads(run(["qemu-img", "info", "--output=json",
                           str(testimage / "disk.qcow2")]).stdout)
    assert info["format"] == "qcow2"
    assert info["virtual-size"] == 64 * 1024 * 1024
    meta = json.loads((testimage / "image.json").read_text())
    assert meta["kernel_cmdline"] == "console=ttyS0"
    assert meta["kernel_version"].endswith("-cloud-amd64")


def test_a_second_build_with_the_same_inputs_does_nothing(testimage: pathlib.Path) -> None:
    before = (testimage / "disk.qcow2").stat().st_mtime_ns
    result = run([str(TESTIMAGE_BUILD), "--out", str(testimage)], timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout
    assert (testimage / "disk.qcow2").stat().st_mtime_ns == before


def test_the_build_rejects_an_unknown_option_with_a_clear_message() -> None:
    result = run([str(TESTIMAGE_BUILD), "--no-such-option"], check=False)
    assert result.returncode != 0
    assert "unknown argument: --no-such-option" in result.stderr


# -- the disk form: BIOS boot from the root disk, and the network checks --------------------------

def test_the_disk_image_boots_from_bios_to_ready(disk_guest: GuestEnv) -> None:
    markers = disk_guest.markers()
    assert any(m.startswith("SAUSAGE-BOOTED") for m in markers), disk_guest.tail()
    assert any(m.startswith("SAUSAGE-READY") for m in markers), disk_guest.tail()
    assert "SYSLINUX" in disk_guest.console(), "the boot loader on the disk did not run"


def test_the_guest_takes_the_address_dnsmasq_gives_it(disk_guest: GuestEnv) -> None:
    assert f"SAUSAGE-DHCP {GuestEnv.VM_IP}" in disk_guest.markers(), disk_guest.tail()


def test_the_guest_names_itself_from_the_metadata_service(disk_guest: GuestEnv) -> None:
    assert "SAUSAGE-METADATA vm-test" in disk_guest.markers(), disk_guest.tail()
    assert "GET /openstack/latest/meta_data.json" in disk_guest.log("metadata")


def test_the_guest_runs_its_user_data_script_before_ready(disk_guest: GuestEnv) -> None:
    markers = disk_guest.markers()
    user = [i for i, m in enumerate(markers) if m.startswith("USERDATA-MARKER host=vm-test")]
    ready = [i for i, m in enumerate(markers) if m.startswith("SAUSAGE-READY")]
    assert user and ready and user[0] < ready[0], disk_guest.tail()
    assert "SAUSAGE-USERDATA-END rc=0" in markers


def test_the_guest_lists_its_disks_on_the_console(disk_guest: GuestEnv) -> None:
    assert "SAUSAGE-DISKS: vda" in disk_guest.markers(), disk_guest.tail()


def test_the_guest_serves_its_hostname_over_http(disk_guest: GuestEnv) -> None:
    result = disk_guest.ns.run("curl", "-sS", "--max-time", "10", f"http://{GuestEnv.VM_IP}/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello from vm-test"


def test_the_guest_answers_ping(disk_guest: GuestEnv) -> None:
    result = disk_guest.ns.run("ping", "-c", "2", "-i", "0.2", "-W", "3", GuestEnv.VM_IP)
    assert result.returncode == 0, result.stdout + result.stderr


def test_root_logs_in_over_ssh_with_the_key_from_the_metadata_service(
        disk_guest: GuestEnv) -> None:
    result = disk_guest.ssh("hostname")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "vm-test"


def test_the_guest_applies_the_mtu_and_classless_static_routes_from_dhcp(
        disk_guest: GuestEnv) -> None:
    result = disk_guest.ssh("cat /sys/class/net/eth0/mtu; ip -4 route")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == str(GuestEnv.MTU)
    routes = "\n".join(lines[1:])
    assert f"169.254.169.254 via {GuestEnv.SUBNET_GW} dev eth0" in routes
    assert f"default via {GuestEnv.SUBNET_GW} dev eth0" in routes


# -- what Tempest's remote client runs in the guest (validation on) ----------------------------------

# Tempest 47's [validation] ssh_shell_prologue, put before every command it runs over SSH.
PROLOGUE = "set -eu -o pipefail; PATH=$PATH:/sbin:/usr/sbin;"


def tempest_command(guest: GuestEnv, command: str) -> str:
    result = guest.ssh(f"{PROLOGUE} {command}")
    assert result.returncode == 0, f"{command}: {result.stderr}"
    return result.stdout


def test_lsblk_lists_the_disks_in_the_columns_tempest_reads(disk_guest: GuestEnv) -> None:
    # Tempest counts disks as the lines with "disk" exactly under the TYPE header.
    lines = tempest_command(disk_guest, "lsblk -lb --nodeps").splitlines()
    column = lines[0].index("TYPE")
    disks = [line.split() for line in lines[1:] if line[column:column + 4] == "disk"]
    assert [(d[0], d[3]) for d in disks] == [("vda", str(64 * 1024 * 1024))], lines
    # Without --nodeps the partition on the boot disk shows too.
    assert "vda1" in tempest_command(disk_guest, "lsblk")


def test_the_guest_answers_tempests_vcpu_hostname_and_uptime_questions(
        disk_guest: GuestEnv) -> None:
    assert tempest_command(disk_guest, "grep -c ^processor /proc/cpuinfo").strip() == "1"
    assert tempest_command(disk_guest, "hostname").strip() == "vm-test"
    assert int(tempest_command(disk_guest, "cut -f1 -d. /proc/uptime")) > 0
    tempest_command(disk_guest, "sync")


def test_sudo_runs_the_command_as_root_and_refuses_other_users(disk_guest: GuestEnv) -> None:
    assert tempest_command(disk_guest, "sudo id -u").strip() == "0"
    assert tempest_command(disk_guest, "sudo -n -u root sh -c 'echo $((6 * 7))'").strip() == "42"
    refused = disk_guest.ssh("sudo -u nobody true")
    assert refused.returncode != 0 and "unknown user" in refused.stderr
    # A failing command keeps its exit status through sudo and the prologue.
    assert disk_guest.ssh(f"{PROLOGUE} sudo false").returncode != 0


def test_the_guest_has_the_tools_tempest_checks_the_network_with(disk_guest: GuestEnv) -> None:
    out = tempest_command(disk_guest, "ping -c1 -w1 -s56 " + GuestEnv.SUBNET_GW)
    assert "1 packets received" in out
    mac = tempest_command(disk_guest, "ip addr | awk '/ether/ {print $2}'").strip().lower()
    assert mac == GuestEnv.VM_MAC
    nic = tempest_command(disk_guest, f"ip -o link | awk '/{mac}/ {{print $2}}'").strip()
    assert nic.strip(":") == "eth0"
    tempest_command(disk_guest, "dmesg | tail -n 1")


# -- the kernel + ramdisk form ----------------------------------------------------------------------

def test_the_kernel_and_ramdisk_boot_to_ready_with_network_metadata_and_user_data(
        kernel_guest: GuestEnv) -> None:
    markers = kernel_guest.markers()
    assert f"SAUSAGE-DHCP {GuestEnv.VM_IP}" in markers, kernel_guest.tail()
    assert "SAUSAGE-METADATA vm-test" in markers, kernel_guest.tail()
    assert any(m.startswith("USERDATA-MARKER host=vm-test") for m in markers), kernel_guest.tail()
    assert any(m.startswith("SAUSAGE-READY") for m in markers), kernel_guest.tail()


def test_a_user_data_script_can_find_the_attached_disk(kernel_guest: GuestEnv) -> None:
    markers = kernel_guest.markers()
    assert "SAUSAGE-DISKS: vda" in markers, kernel_guest.tail()
    assert any(m.startswith("USERDATA-MARKER") and "vda" in m for m in markers)


# -- cleanup ------------------------------------------------------------------------------------------

def test_stopping_the_guests_leaves_no_namespace_process_or_file_behind(
        disk_guest: GuestEnv, kernel_guest: GuestEnv) -> None:
    for guest in (disk_guest, kernel_guest):
        guest.close()
    deadline = time.monotonic() + 10
    while True:
        leftovers = disk_guest.leftovers() + kernel_guest.leftovers()
        if not leftovers or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert leftovers == []
    names = netns_list()
    assert disk_guest.ns.name not in names and kernel_guest.ns.name not in names


def test_a_failed_start_still_cleans_up() -> None:
    # A missing image makes QEMU fail after the namespace, dnsmasq and metadata server exist.
    require_host()
    broken = GuestEnv(pathlib.Path("/nonexistent/sausage-testimage"), "kernel")
    with pytest.raises((AssertionError, subprocess.CalledProcessError)):
        broken.boot()
    assert broken.closed
    assert broken.leftovers() == []
