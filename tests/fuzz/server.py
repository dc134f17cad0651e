"""The API the fuzz tier attacks: the real ASGI app of ``sausage.api.app.build`` under uvicorn, in
its own process on loopback, for a state dir that ``prepare`` has made.

It is ``sausage serve`` without the agent (the fuzz tier needs no host, no VM and no root): the
same app, database, token keys and middleware. Run by ``tests/fuzz/conftest.py`` as
``python -m tests.fuzz.server STATE_DIR PORT``; ``prepare`` is called by the fixture in its own
process so the server starts on a ready database.
"""

from __future__ import annotations

import logging
import pathlib
import sys

import uvicorn

from sausage import config
from sausage.api import app
from sausage.services.runtime import Cloud

ADMIN_PASSWORD = "fuzz-admin-secret"
DEMO_PASSWORD = "fuzz-demo-secret"


def settings(state_dir: pathlib.Path, port: int) -> config.Settings:
    # The bootstrap networks (public, private, router1) give the fuzzer real things to point at.
    return config.load(state_dir, port=port, log_level="warning")


def prepare(state_dir: pathlib.Path, port: int) -> None:
    """Migrate and bootstrap the cloud as ``sausage up`` does."""
    s = settings(state_dir, port)
    cloud = Cloud(s)
    try:
        cloud.prepare(admin_password=ADMIN_PASSWORD, demo_password=DEMO_PASSWORD,
                      catalog=app.catalog(s.public_url))
    finally:
        cloud.close()


def main(state_dir: str, port: str) -> None:
    s = settings(pathlib.Path(state_dir), int(port))
    # The tracebacks of 500s go to stderr, which the fixture keeps in the state dir.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    cloud = Cloud(s)
    try:
        uvicorn.run(app.build(cloud), host=s.host, port=s.port, access_log=False,
                    log_level="warning", lifespan="off")
    finally:
        cloud.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
