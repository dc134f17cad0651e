"""The `file` block-storage backend and the volume reconciler, with the real qemu-img.

Volumes are qcow2 files in a temp dir removed at the end; their content is written and checked
with ``qemu-io`` (``write -P`` / ``read -P`` patterns). The reconciler's image download and
volume upload go to a tiny HTTP server of the test's own on 127.0.0.1 (loopback only).
"""

from __future__ import annotations

import hashlib
import pathlib
import shutil
import struct
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sausage.agent import config as agent_config
from sausage.agent import volumes
from sausage.agent.client import Client
from sausage.agent.drivers import images, storage
from sausage.agent.drivers.errors import DriverError
from sausage.agent.drivers.storage_file import FileDriver
from sausage.contract import host as contract

MiB = 1 << 20
GiB = 1 << 30

pytestmark = pytest.mark.skipif(not (shutil.which("qemu-img") and shutil.which("qemu-io")),
                                reason="needs qemu-img and qemu-io (make install)")


def qemu_io(path: pathlib.Path, command: str) -> bool:
    """Run one qemu-io command on the qcow2 ``path``; True when it succeeded (``read -P``:
    the data matched the pattern)."""
    result = subprocess.run(["qemu-io", "-f", "qcow2", "-c", command, str(path)],
                            capture_output=True, text=True, timeout=60)
    return result.returncode == 0 and "failed" not in result.stdout + result.stderr


def virtual_size(path: pathlib.Path) -> int:
    return int(images.qemu_img_info(path, "qcow2")["virtual-size"])


@pytest.fixture
def tmp() -> Iterator[pathlib.Path]:
    with tempfile.TemporaryDirectory(prefix="sausage-volumes-") as d:
        yield pathlib.Path(d)


@pytest.fixture
def driver(tmp: pathlib.Path) -> FileDriver:
    return FileDriver(tmp / "volumes")


def make_image(tmp: pathlib.Path, size: int = 4 * MiB, pattern: int = 0xAB) -> pathlib.Path:
    """A small qcow2 image whose first MiB holds ``pattern``."""
    image = tmp / "image.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), str(size)],
                   check=True)
    assert qemu_io(image, f"write -P {pattern:#x} 0 1M")
    return image


# -- the driver -------------------------------------------------------------------------------------

def test_a_blank_volume_is_a_qcow2_file_of_its_size_named_by_the_contract(
        driver: FileDriver, tmp: pathlib.Path) -> None:
    driver.create_blank("v1", 64 * MiB)
    path = tmp / "volumes" / "volume-v1.qcow2"
    assert virtual_size(path) == 64 * MiB
    assert driver.observe() == {"v1": storage.VolumeState(64 * MiB, True)}
    assert driver.attachment("v1") == {"driver": "file", "filename": str(path),
                                       "format": "qcow2"}
    assert qemu_io(path, "read -P 0 0 1M")
    assert [p.name for p in (tmp / "volumes").iterdir()] == ["volume-v1.qcow2"]


def test_a_volume_from_an_image_holds_the_image_and_is_grown_to_its_size(
        driver: FileDriver, tmp: pathlib.Path) -> None:
    image = make_image(tmp)
    driver.create_from_image("v1", image, "qcow2", 32 * MiB)
    path = driver.volume_path("v1")
    assert virtual_size(path) == 32 * MiB
    assert qemu_io(path, "read -P 0xab 0 1M")
    assert qemu_io(path, "read -P 0 1M 1M")


def test_a_raw_image_becomes_a_qcow2_volume(driver: FileDriver, tmp: pathlib.Path) -> None:
    raw = tmp / "image.raw"
    raw.write_bytes(b"\xcd" * MiB + b"\0" * MiB)
    driver.create_from_image("v1", raw, "raw", 8 * MiB)
    info = images.qemu_img_info(driver.volume_path("v1"))
    assert info["format"] == "qcow2" and info["virtual-size"] == 8 * MiB
    assert qemu_io(driver.volume_path("v1"), "read -P 0xcd 0 1M")


def test_an_image_larger_than_the_volume_is_refused_and_leaves_nothing(
        driver: FileDriver, tmp: pathlib.Path) -> None:
    image = make_image(tmp, size=64 * MiB)
    with pytest.raises(DriverError, match="larger than the volume"):
        driver.create_from_image("v1", image, "qcow2", 16 * MiB)
    assert driver.observe() == {}


def corrupt(path: pathlib.Path) -> None:
    """Point the qcow2's first L1 entry at an unaligned L2 table: ``qemu-img info`` still reads
    the header, a copy fails when it reaches the data."""
    with open(path, "r+b") as f:
        l1 = struct.unpack(">Q", f.read(48)[40:48])[0]
        f.seek(l1)
        entry = struct.unpack(">Q", f.read(8))[0]
        f.seek(l1)
        f.write(struct.pack(">Q", entry + 0x200))


def test_a_failed_copy_leaves_no_file_that_looks_complete(driver: FileDriver) -> None:
    driver.create_blank("a", 4 * MiB)
    assert qemu_io(driver.volume_path("a"), "write -P 0x11 0 1M")
    corrupt(driver.volume_path("a"))
    with pytest.raises(DriverError, match="qemu-img convert failed"):
        driver.create_from_volume("b", "a", 4 * MiB)
    with pytest.raises(DriverError, match="qemu-img convert failed"):
        driver.snapshot("a", "s")
    assert set(driver.observe()) == {"a"} and driver.snapshots() == set()
    assert [p.name for p in driver.root.iterdir()] == ["volume-a.qcow2"]


def test_an_interrupted_creation_is_seen_as_incomplete_and_discarded(
        driver: FileDriver, tmp: pathlib.Path) -> None:
    (tmp / "volumes").mkdir()
    (tmp / "volumes" / ".volume-v1.qcow2.partial").write_bytes(b"half")
    (tmp / "volumes" / ".snapshot-s1.qcow2.partial").write_bytes(b"half")
    assert driver.observe() == {"v1": storage.VolumeState(0, False)}
    assert driver.snapshots() == set()
    driver.discard_partials()
    assert driver.observe() == {} and not any((tmp / "volumes").iterdir())


def test_clones_and_snapshots_are_independent_copies(driver: FileDriver) -> None:
    driver.create_blank("a", 16 * MiB)
    a = driver.volume_path("a")
    assert qemu_io(a, "write -P 0x11 0 1M")
    driver.snapshot("a", "s")
    assert qemu_io(a, "write -P 0x22 0 1M")  # after the snapshot
    driver.create_from_volume("b", "a", 32 * MiB)
    driver.create_from_snapshot("c", "s", 16 * MiB)
    assert driver.snapshots() == {"s"}
    assert qemu_io(driver.volume_path("b"), "read -P 0x22 0 1M")
    assert virtual_size(driver.volume_path("b")) == 32 * MiB
    assert qemu_io(driver.volume_path("c"), "read -P 0x11 0 1M")
    # no backing chains: deleting the source and the snapshot leaves the copies whole
    driver.delete_snapshot("s")
    driver.delete("a")
    assert images.qemu_img_info(driver.volume_path("c")).get("backing-filename") is None
    assert qemu_io(driver.volume_path("c"), "read -P 0x11 0 1M")
    assert qemu_io(driver.volume_path("b"), "read -P 0x22 0 1M")
    assert set(driver.observe()) == {"b", "c"} and driver.snapshots() == set()


def test_a_copy_of_a_source_that_is_not_there_fails(driver: FileDriver) -> None:
    with pytest.raises(DriverError, match="volume nope is not on this host"):
        driver.create_from_volume("b", "nope", MiB)
    with pytest.raises(DriverError, match="snapshot nope is not on this host"):
        driver.create_from_snapshot("b", "nope", MiB)


def test_extend_grows_keeps_the_data_and_never_shrinks(driver: FileDriver) -> None:
    driver.create_blank("a", 16 * MiB)
    assert qemu_io(driver.volume_path("a"), "write -P 0x33 0 1M")
    driver.extend("a", 48 * MiB)
    assert driver.observe()["a"].size_bytes == 48 * MiB
    assert qemu_io(driver.volume_path("a"), "read -P 0x33 0 1M")
    driver.extend("a", 16 * MiB)
    assert driver.observe()["a"].size_bytes == 48 * MiB


def test_deleting_a_volume_removes_its_file(driver: FileDriver, tmp: pathlib.Path) -> None:
    driver.create_blank("a", MiB)
    driver.delete("a")
    driver.delete("a")  # again: nothing there, no error
    assert driver.observe() == {} and not any((tmp / "volumes").iterdir())


def test_export_writes_the_content_as_raw_or_qcow2(driver: FileDriver,
                                                   tmp: pathlib.Path) -> None:
    driver.create_blank("a", 2 * MiB)
    assert qemu_io(driver.volume_path("a"), "write -P 0x44 0 1M")
    driver.export("a", "raw", tmp / "out.raw")
    assert (tmp / "out.raw").read_bytes() == b"\x44" * MiB + b"\0" * MiB
    driver.export("a", "qcow2", tmp / "out.qcow2")
    assert qemu_io(tmp / "out.qcow2", "read -P 0x44 0 1M")


def test_ids_that_could_escape_the_volumes_directory_are_refused(driver: FileDriver) -> None:
    for bad in ("../x", ".hidden", "a/b", ""):
        with pytest.raises(DriverError, match="Invalid"):
            driver.create_blank(bad, MiB)


# -- the reconciler, end to end ---------------------------------------------------------------------

class ImageServer:
    """The internal API's image data endpoints, on 127.0.0.1: GET serves ``files``, PUT stores
    into ``uploads``."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.uploads: dict[str, bytes] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_PUT(self) -> None:  # noqa: N802
                length = int(self.headers["Content-Length"])
                server.uploads[self.path] = self.rfile.read(length)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


class Harness:
    """A reconciler on a temp state dir, talking to an ImageServer, with a ``resize_live``
    that says whether a (pretend) running QEMU holds the volume."""

    def __init__(self, tmp: pathlib.Path, server: ImageServer) -> None:
        self.server = server
        self.cfg = agent_config.AgentConfig(state_dir=tmp / "agent", api_url=server.url,
                                            volume_backend="file")
        self.client = Client(server.url, "host-token")
        self.live: set[str] = set()
        self.resized: list[tuple[str, int]] = []
        self.done = threading.Event()
        self.reconciler = self.open()

    def open(self) -> volumes.VolumeReconciler:
        return volumes.VolumeReconciler(self.cfg, self.client,
                                        images.ImageCache(self.cfg.images_dir),
                                        self.resize_live, self.done.set)

    def resize_live(self, volume_id: str, size: int) -> bool:
        """What the loop's callback does through QMP ``block_resize`` — QEMU rewrites the
        image's header — done here with qemu-img, since no QEMU runs in these tests."""
        if volume_id not in self.live:
            return False
        self.resized.append((volume_id, size))
        path = self.cfg.volumes_dir / f"volume-{volume_id}.qcow2"
        subprocess.run(["qemu-img", "resize", "-q", str(path), str(size)], check=True)
        return True

    def converge(self, wanted: list[contract.DesiredVolume],
                 timeout: float = 60) -> dict[str, contract.ObservedVolume]:
        """Reconcile until no job runs and a pass starts none; the last report by id."""
        desired: contract.Desired = {"version": 1, "host_id": "h", "revision": 1,
                                     "servers": [], "volumes": wanted}
        for _ in range(int(timeout * 10)):
            self.done.clear()
            report = self.reconciler.reconcile(desired)
            if not self.reconciler.busy():
                again = self.reconciler.reconcile(desired)
                if not self.reconciler.busy():
                    return {o["id"]: o for o in again}
            self.done.wait(0.1)
        raise AssertionError(f"volumes did not settle: {report}")

    def close(self) -> None:
        self.reconciler.close()
        self.client.close()


@pytest.fixture
def image_data(tmp: pathlib.Path) -> bytes:
    image = make_image(tmp, size=8 * MiB, pattern=0x5A)
    data = image.read_bytes()
    image.unlink()
    return data


@pytest.fixture
def harness(tmp: pathlib.Path, image_data: bytes) -> Iterator[Harness]:
    server = ImageServer({"/internal/v1/images/img/file": image_data})
    h = Harness(tmp, server)
    try:
        yield h
    finally:
        h.close()
        server.close()


def volume(volume_id: str, size_gb: int = 1, source: contract.VolumeSource | None = None,
           snapshots: list[str] | None = None,
           uploads: list[contract.VolumeUpload] | None = None) -> contract.DesiredVolume:
    return {"id": volume_id, "backend": "file", "size_gb": size_gb,
            "source": source or {"type": "blank"}, "snapshots": snapshots or [],
            "uploads": uploads or []}


def test_the_reconciler_makes_copies_snapshots_and_uploads_then_removes_them_all(
        harness: Harness, image_data: bytes, tmp: pathlib.Path) -> None:
    image: contract.ImageRef = {"id": "img", "disk_format": "qcow2",
                                "checksum": hashlib.md5(image_data).hexdigest(),
                                "size": len(image_data), "url": "/internal/v1/images/img/file"}
    upload: contract.VolumeUpload = {"seq": 1, "image_id": "new-image", "disk_format": "qcow2",
                                     "upload_url": "/internal/v1/images/new-image/file"}
    wanted = [volume("boot", 1, {"type": "image", "image": image}, snapshots=["snap"],
                     uploads=[upload]),
              volume("clone", 2, {"type": "volume", "id": "boot"}),
              volume("restored", 1, {"type": "snapshot", "id": "snap"})]
    report = harness.converge(wanted)
    assert report["boot"] == {"id": "boot", "size_gb": 1, "snapshots": ["snap"],
                              "uploads_done": [1]}
    assert report["clone"]["size_gb"] == 2 and report["restored"]["size_gb"] == 1
    assert harness.reconciler.present() == {"boot", "clone", "restored"}
    driver = FileDriver(harness.cfg.volumes_dir)
    for v in ("boot", "clone", "restored"):
        assert qemu_io(driver.volume_path(v), "read -P 0x5a 0 1M")
    uploaded = tmp / "uploaded.qcow2"
    uploaded.write_bytes(harness.server.uploads["/internal/v1/images/new-image/file"])
    assert virtual_size(uploaded) == GiB and qemu_io(uploaded, "read -P 0x5a 0 1M")

    # the volumes go: nothing is left but the agent's small state file
    assert harness.converge([]) == {}
    assert sorted(p.name for p in harness.cfg.volumes_dir.iterdir()) == ["volumes.json"]


def test_an_agent_restart_does_not_upload_again(harness: Harness) -> None:
    upload: contract.VolumeUpload = {"seq": 3, "image_id": "new-image", "disk_format": "qcow2",
                                     "upload_url": "/internal/v1/images/new-image/file"}
    wanted = [volume("a", uploads=[upload])]
    assert harness.converge(wanted)["a"]["uploads_done"] == [3]
    harness.server.uploads.clear()
    harness.reconciler.close()
    harness.reconciler = harness.open()
    assert harness.converge(wanted)["a"]["uploads_done"] == [3]
    assert harness.server.uploads == {}
    # once the API no longer lists it, it is forgotten
    assert harness.converge([volume("a")])["a"]["uploads_done"] == []


def test_a_failed_upload_is_done_with_its_error(harness: Harness) -> None:
    upload: contract.VolumeUpload = {"seq": 1, "image_id": "x", "disk_format": "raw",
                                     "upload_url": "http://192.0.2.1/elsewhere"}
    report = harness.converge([volume("a", uploads=[upload])])["a"]
    assert report["uploads_done"] == [1]
    assert "Refusing to send the host credential" in report["upload_errors"]["1"]


def test_a_failed_creation_is_reported_once_as_the_volume_error_and_leaves_nothing(
        harness: Harness) -> None:
    image: contract.ImageRef = {"id": "missing", "disk_format": "qcow2", "checksum": None,
                                "size": None, "url": "/internal/v1/images/missing/file"}
    report = harness.converge([volume("a", 1, {"type": "image", "image": image})])
    assert set(report) == {"a"} and report["a"]["size_gb"] == 0
    assert "404" in report["a"]["error"]
    assert not any(harness.cfg.volumes_dir.glob("*volume-a*"))
    # the API stops listing it: the error is forgotten
    assert harness.converge([]) == {}


def test_a_copy_of_a_volume_on_another_host_fails_at_once(harness: Harness) -> None:
    report = harness.converge([volume("b", 1, {"type": "volume", "id": "elsewhere"})])
    assert report["b"]["error"] == "The source volume elsewhere is not on this host."


def test_extend_goes_through_the_running_qemu_when_the_volume_is_in_use(
        harness: Harness) -> None:
    harness.converge([volume("idle"), volume("used")])
    harness.live.add("used")
    report = harness.converge([volume("idle", 2), volume("used", 3)])
    assert report["idle"]["size_gb"] == 2
    assert harness.resized == [("used", 3 * GiB)]  # only the one in use, once
    assert report["used"]["size_gb"] == 3


def test_a_failed_extend_is_reported_until_the_api_takes_the_size_back(
        harness: Harness) -> None:
    harness.converge([volume("a")])

    def broken(volume_id: str, size: int) -> bool:
        raise DriverError("block_resize failed: the device is gone")

    harness.reconciler.resize_live = broken
    report = harness.converge([volume("a", 2)])
    assert report["a"]["error"] == "block_resize failed: the device is gone"
    assert report["a"]["size_gb"] == 1
    assert "error" not in harness.converge([volume("a", 1)])["a"]


def test_snapshots_being_deleted_stay_in_their_volume_report_until_gone(
        harness: Harness) -> None:
    assert harness.converge([volume("a", snapshots=["s1", "s2"])])["a"]["snapshots"] == [
        "s1", "s2"]
    assert harness.converge([volume("a", snapshots=["s2"])])["a"]["snapshots"] == ["s2"]
    assert not any(harness.cfg.volumes_dir.glob("*s1*"))


def test_a_host_without_a_backend_does_nothing(tmp: pathlib.Path) -> None:
    cfg = agent_config.AgentConfig(state_dir=tmp / "agent")
    client = Client("http://127.0.0.1:9")
    r = volumes.VolumeReconciler(cfg, client, images.ImageCache(cfg.images_dir),
                                 lambda v, s: False)
    try:
        assert r.reconcile({"version": 1, "host_id": "h", "revision": 1, "servers": [],
                            "volumes": [volume("a")]}) == []
        assert not cfg.volumes_dir.exists()
    finally:
        r.close()
        client.close()
