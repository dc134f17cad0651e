"""``sausage up | down | serve | status``: the one command an operator runs.

``up`` prepares the state dir (database migrations, identity bootstrap, clouds.yaml), then serves
the API in the foreground, or with ``--detach`` leaves a daemon with a pidfile and returns once the
API answers. ``down`` stops what ``up`` started; ``--purge`` also removes every host artifact.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import yaml

from sausage import config, logs

__all__ = ["main"]

log = logging.getLogger("sausage")

STEPS = 5


def _step(n: int, text: str) -> None:
    print(f"[{n}/{STEPS}] {text}", flush=True)


def _secrets(state_dir: pathlib.Path) -> dict[str, str]:
    """The bootstrap passwords: made once, kept (0600) so a second ``up`` resumes with them."""
    path = state_dir / "secrets.yaml"
    if path.exists():
        loaded = yaml.safe_load(path.read_text()) or {}
        return {str(k): str(v) for k, v in loaded.items()}
    values = {"admin_password": secrets.token_urlsafe(18),
              "demo_password": secrets.token_urlsafe(18)}
    _write_private(path, yaml.safe_dump(values))
    return values


def _write_private(path: pathlib.Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def _clouds_yaml(settings: config.Settings, passwords: dict[str, str]) -> pathlib.Path:
    def cloud(user: str, project: str, password: str) -> dict[str, Any]:
        return {
            "auth": {
                "auth_url": f"{settings.public_url}/identity/v3",
                "username": user, "password": password, "project_name": project,
                "user_domain_name": "Default", "project_domain_name": "Default",
            },
            "region_name": settings.region,
            "interface": "public",
            "identity_api_version": 3,
        }

    document = {"clouds": {
        "sausage": cloud("admin", "admin", passwords["admin_password"]),
        "sausage-demo": cloud("demo", "demo", passwords["demo_password"]),
    }}
    path = settings.state_dir / "clouds.yaml"
    _write_private(path, yaml.safe_dump(document, sort_keys=False))
    return path


def _pidfile(state_dir: pathlib.Path) -> pathlib.Path:
    return state_dir / "sausage.pid"


def _running_pid(state_dir: pathlib.Path) -> int | None:
    try:
        pid = int(_pidfile(state_dir).read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:
        return pid
    return pid


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _answers(settings: config.Settings) -> bool:
    try:
        with urllib.request.urlopen(f"{settings.public_url}/identity/v3", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _settings(args: argparse.Namespace) -> config.Settings:
    test_image = getattr(args, "test_image", None)
    return config.load(
        pathlib.Path(args.state_dir), port=getattr(args, "port", None),
        netns=getattr(args, "netns", None), tunnel_ip=getattr(args, "tunnel_ip", None),
        test_image=pathlib.Path(test_image).resolve() if test_image else None,
    )


def _remember_flags(settings: config.Settings) -> None:
    """Keep the flags of ``up`` in sausage.yaml so ``serve``, ``down`` and a later ``up`` agree."""
    path = settings.state_dir / "sausage.yaml"
    current: dict[str, Any] = {}
    if path.exists():
        current = yaml.safe_load(path.read_text()) or {}
    current["port"] = settings.port
    if settings.netns:
        current["netns"] = settings.netns
    if settings.tunnel_ip:
        current["tunnel_ip"] = settings.tunnel_ip
    if settings.test_image:
        current["test_image"] = str(settings.test_image)
    path.write_text(yaml.safe_dump(current, sort_keys=False))


def _prepare(settings: config.Settings) -> None:
    from sausage.api import app
    from sausage.services.runtime import Cloud

    _step(1, f"state dir {settings.state_dir}")
    settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _remember_flags(settings)
    passwords = _secrets(settings.state_dir)
    _step(2, "database: applying migrations")
    cloud = Cloud(settings)
    try:
        _step(3, "identity: domain, roles, admin and demo projects, catalog"
              + (f"; image {settings.test_image.name} as sausage-test" if settings.test_image
                 else ""))
        cloud.prepare(admin_password=passwords["admin_password"],
                      demo_password=passwords["demo_password"],
                      catalog=app.catalog(settings.public_url))
    finally:
        cloud.close()
    path = _clouds_yaml(settings, passwords)
    _step(4, f"credentials: {path}")


def _ready_message(settings: config.Settings) -> str:
    clouds = settings.state_dir / "clouds.yaml"
    return (
        f"Sausage Cloud is up at {settings.public_url}\n"
        f"Use it with the openstack CLI:\n"
        f"  export PATH={pathlib.Path(sys.prefix) / 'bin'}:$PATH\n"
        f"  export OS_CLIENT_CONFIG_FILE={clouds} OS_CLOUD=sausage\n"
        f"  openstack token issue\n"
        f"(OS_CLOUD=sausage-demo is the demo project's member user.)\n"
        f"DNS zones are answered by PowerDNS on {settings.dns_listen}"
        f"{f' in namespace {settings.netns}' if settings.netns else ''}.\n"
        f"Stop it with: sausage down --state-dir {settings.state_dir}"
    )


def cmd_up(args: argparse.Namespace) -> int:
    settings = _settings(args)
    pid = _running_pid(settings.state_dir)
    if pid is not None:
        print(f"Sausage Cloud is already running from {settings.state_dir} (pid {pid}).")
        print(_ready_message(settings))
        return 0
    if not _port_free(settings.host, settings.port):
        print(f"error: {settings.host}:{settings.port} is in use; choose another with --port",
              file=sys.stderr)
        return 1
    _prepare(settings)
    if settings.netns:
        _ensure_netns(settings)
    if not args.detach:
        _step(5, f"API: starting {settings.workers} worker processes on {settings.public_url}")
        print(f"      requests are logged to {logs.log_file(settings)}", flush=True)
        return _serve(settings, on_ready=lambda: print(
            _ready_message(settings) + "\n(Ctrl-C stops it.)", flush=True))
    _step(5, f"API: starting a daemon on {settings.public_url}")
    out = open(settings.state_dir / "sausage.log", "ab")
    subprocess.Popen(
        [*_python(), "serve", "--state-dir", str(settings.state_dir)],
        stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _answers(settings):
            print(_ready_message(settings))
            return 0
        time.sleep(0.2)
    print(f"error: the API did not answer within 60 s; see {settings.state_dir}/sausage.log",
          file=sys.stderr)
    return 1


def _python() -> list[str]:
    """This CLI again, in a child: the same interpreter and the same installed code. ``-P``: a
    ``sausage`` directory in the caller's working directory is not imported instead."""
    return [sys.executable, "-P", "-m", "sausage.cli"]


def _ensure_netns(settings: config.Settings) -> None:
    """``up --netns X``: X is made (lo up) when missing, and ``down --purge`` removes it."""
    from sausage.agent.drivers import namespaces

    assert settings.netns is not None
    if not namespaces.exists(settings.netns):
        namespaces.create(settings.netns)
        (settings.state_dir / "netns-created").write_text(settings.netns + "\n")
        print(f"created network namespace {settings.netns}", flush=True)


def _external_address(settings: config.Settings) -> str:
    """The all-in-one host's address on the public network: its first, with its prefix."""
    import ipaddress

    net = ipaddress.ip_network(settings.public_cidr)
    return f"{net.network_address + 1}/{net.prefixlen}"


class AgentSupervisor(threading.Thread):
    """Runs the all-in-one's compute agent as a child process and restarts it if it dies
    (the agent re-attaches to the running VMs, so a crash costs nothing but a few seconds)."""

    def __init__(self, settings: config.Settings) -> None:
        super().__init__(name="agent-supervisor", daemon=True)
        self.settings = settings
        self.stopping = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        out = open(self.settings.state_dir / "agent.log", "ab")
        process = subprocess.Popen(
            [*_python(), "agent", "--state-dir",
             str(self.settings.state_dir), "--network-node", "--bridge-mapping",
             "public:br-ex", "--external-address", _external_address(self.settings),
             "--volume-backend", "file"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, preexec_fn=_die_with_parent,
            # Its own process group: the terminal's Ctrl-C stops the API, which stops the agent.
            process_group=0)
        _agent_pidfile(self.settings.state_dir).write_text(f"{process.pid}\n")
        return process

    def run(self) -> None:
        delay = 1.0
        while not self.stopping.is_set():
            started = time.monotonic()
            self.process = self._spawn()
            code = self.process.wait()
            if self.stopping.is_set():
                return
            delay = 1.0 if time.monotonic() - started > 60 else min(delay * 2, 30.0)
            log.warning("the compute agent exited (%s); restarting it in %.0f s", code, delay)
            self.stopping.wait(delay)

    def stop(self) -> None:
        self.stopping.set()
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _agent_pidfile(self.settings.state_dir).unlink(missing_ok=True)


def _agent_pidfile(state_dir: pathlib.Path) -> pathlib.Path:
    return state_dir / "agent.pid"


def _die_with_parent() -> None:
    """In the agent child: get SIGTERM when the API process dies, however it dies."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _serve(settings: config.Settings, on_ready: Callable[[], None] | None = None) -> int:
    """Serve the API with ``settings.workers`` processes, the all-in-one's agent and the periodic
    housekeeping, until SIGTERM or Ctrl-C; ``on_ready`` runs once the API answers."""
    from sausage.api import server
    from sausage.services.dns.publisher import Publisher
    from sausage.services.runtime import Cloud

    console = logs.is_console(settings)
    logs.setup(settings, console=console)
    try:
        socks = server.bind(settings.host, settings.port, settings.workers)
    except OSError as e:
        log.error("cannot listen on %s:%s: %s", settings.host, settings.port, e.strerror)
        return 1
    pidfile = _pidfile(settings.state_dir)
    pidfile.write_text(f"{os.getpid()}\n")
    cloud = Cloud(settings)
    housekeeping = server.Housekeeping(cloud)
    housekeeping.start()
    agent = AgentSupervisor(settings)
    agent.start()
    dns = Publisher(settings, cloud.db)
    dns.start()
    supervisor = server.Supervisor(settings, console=console)
    if on_ready is not None:
        threading.Thread(target=_when_answering, args=(settings, supervisor.stopping, on_ready),
                         daemon=True).start()
    try:
        supervisor.run(socks)
    finally:
        for sock in socks:
            sock.close()
        housekeeping.stop()
        agent.stop()
        dns.stop()
        cloud.close()
        if pidfile.exists() and pidfile.read_text().strip() == str(os.getpid()):
            pidfile.unlink()
    if console:
        print("Sausage Cloud stopped.", flush=True)
    return 0


def _when_answering(settings: config.Settings, stopping: threading.Event,
                    then: Callable[[], None]) -> None:
    """Run ``then`` once the API answers (unless it is stopping first)."""
    while not stopping.is_set():
        if _answers(settings):
            then()
            return
        time.sleep(0.2)


def cmd_serve(args: argparse.Namespace) -> int:
    return _serve(_settings(args))


def cmd_agent(args: argparse.Namespace) -> int:
    """One compute host: ``sausage agent`` next to ``up``, or with --netns as another host."""
    from sausage.agent import config as agent_config
    from sausage.agent import loop

    settings = config.load(pathlib.Path(args.state_dir))
    overrides: dict[str, Any] = {
        "host_name": args.host_name, "netns": args.netns, "api_url": args.api_url,
        "vcpus": args.vcpus, "memory_mb": args.memory_mb, "tunnel_ip": args.tunnel_ip,
        "network_node": args.network_node or None, "external_address": args.external_address,
        "volume_backend": args.volume_backend}
    if args.bridge_mapping:
        mappings = [m.split(":", 1) for m in args.bridge_mapping]
        if any(len(m) != 2 or not all(m) for m in mappings):
            print("error: --bridge-mapping takes PHYSICAL_NETWORK:BRIDGE", file=sys.stderr)
            return 2
        overrides["bridge_mappings"] = dict(mappings)
    if args.agent_dir:
        overrides["state_dir"] = pathlib.Path(args.agent_dir)
    cfg = agent_config.from_settings(settings, **overrides)
    return loop.run(cfg)


def _purge_host(state_dir: pathlib.Path) -> None:
    """Remove what the agents under this state dir left on the host: VMs and their files,
    then the all-in-one's data plane (DHCP and router namespaces, bridges, VXLAN devices,
    taps, nft tables) and the namespace ``up --netns`` made."""
    from sausage.agent import config as agent_config
    from sausage.agent import network
    from sausage.agent.drivers import namespaces, qemu

    for agent_dir in [state_dir / "agent", *sorted(state_dir.glob("agent-*"))]:
        if not (agent_dir / "instances").is_dir():
            continue
        driver = qemu.QemuDriver(agent_dir, accel="tcg")
        for server_id in driver.server_ids():
            print(f"removing VM {server_id}")
            driver.destroy(server_id)
    settings = config.load(state_dir)
    if settings.netns is None or namespaces.exists(settings.netns):
        cfg = agent_config.from_settings(settings, bridge_mappings={"public": "br-ex"})
        reconciler = network.NetworkReconciler(cfg)
        try:
            reconciler.purge()
            print("removed the network data plane"
                  + (f" in namespace {settings.netns}" if settings.netns else ""))
        finally:
            reconciler.close()
    marker = state_dir / "netns-created"
    if settings.netns and marker.exists():
        namespaces.delete(settings.netns)
        print(f"removed network namespace {settings.netns}")


def cmd_down(args: argparse.Namespace) -> int:
    state_dir = pathlib.Path(args.state_dir)
    pid = _running_pid(state_dir)
    if pid is not None:
        print(f"stopping the API and its agent (pid {pid})")
        _terminate(pid, 60)
        _pidfile(state_dir).unlink(missing_ok=True)
    else:
        print("nothing running")
    agent_pidfile = _agent_pidfile(state_dir)
    if agent_pidfile.exists():
        # The API died without stopping its agent: stop it here (the VMs keep running).
        with contextlib.suppress(ValueError, ProcessLookupError):
            agent_pid = int(agent_pidfile.read_text().strip())
            if f"--state-dir{chr(0)}{state_dir}".encode() in _cmdline(agent_pid):
                print(f"stopping the agent (pid {agent_pid})")
                _terminate(agent_pid, 45)
        agent_pidfile.unlink(missing_ok=True)
    if args.purge and state_dir.exists():
        _purge_host(state_dir)
        shutil.rmtree(state_dir)
        print(f"removed {state_dir}")
    return 0


def _cmdline(pid: int) -> bytes:
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if b"" == _cmdline(pid):  # a zombie: gone as far as we are concerned
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def cmd_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    pid = _running_pid(settings.state_dir)
    if pid is None:
        print("down")
        return 3
    print(f"up (pid {pid}) at {settings.public_url}: API "
          + ("answers" if _answers(settings) else "does not answer"))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sausage", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def with_state(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--state-dir", default=os.environ.get(
            "SAUSAGE_STATE_DIR", config.DEFAULT_STATE_DIR))
        return sp

    up = with_state(sub.add_parser("up", help="prepare and run the all-in-one cloud"))
    up.add_argument("--port", type=int, help="API port on 127.0.0.1 (default 8000)")
    up.add_argument("--netns", help="run the host data plane inside this network namespace "
                    "(made if missing)")
    up.add_argument("--tunnel-ip", help="this host's VXLAN underlay address")
    up.add_argument("--detach", action="store_true", help="return once ready, leave a daemon")
    up.add_argument("--test-image", help="register this qcow2 as the public image sausage-test")
    up.set_defaults(fn=cmd_up)
    serve = with_state(sub.add_parser("serve", help="serve the API of a prepared state dir"))
    serve.set_defaults(fn=cmd_serve)
    down = with_state(sub.add_parser("down", help="stop what `up` started"))
    down.add_argument("--purge", action="store_true", help="also remove every host artifact")
    down.set_defaults(fn=cmd_down)
    agent = with_state(sub.add_parser("agent", help="run a compute host's agent"))
    agent.add_argument("--host-name", help="the host's name in the cloud (default: hostname)")
    agent.add_argument("--netns", help="run this host's data plane in this network namespace")
    agent.add_argument("--api-url", help="the API to report to (default: this state dir's)")
    agent.add_argument("--agent-dir", help="this agent's state (default: <state-dir>/agent)")
    agent.add_argument("--vcpus", type=int, help="vCPUs to offer (default: the host's)")
    agent.add_argument("--memory-mb", type=int, help="RAM to offer (default: the host's)")
    agent.add_argument("--tunnel-ip", help="this host's VXLAN underlay address")
    agent.add_argument("--network-node", action="store_true",
                       help="routers and DHCP servers may be placed on this host")
    agent.add_argument("--bridge-mapping", action="append", metavar="PHYSNET:BRIDGE",
                       help="the host bridge of a flat physical network (repeatable)")
    agent.add_argument("--external-address", metavar="CIDR",
                       help="an address for the flat networks' bridge (all-in-one)")
    agent.add_argument("--volume-backend", choices=["file"],
                       help="hold volumes on this host: file = qcow2 files under its state dir")
    agent.set_defaults(fn=cmd_agent)
    status = with_state(sub.add_parser("status", help="is it running?"))
    status.set_defaults(fn=cmd_status)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.fn(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
