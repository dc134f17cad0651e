"""Where the API's log records go: everything at ``log_level`` into ``<state-dir>/sausage.log``
(the access log of every request, agents' long-polls included), and only warnings and errors
to the console as well, so ``sausage up`` in a terminal shows progress and what needs a person.

Called once per process by the CLI (the supervisor) and by every API worker; the file is opened
for appending, so the processes' lines interleave whole.
"""

from __future__ import annotations

import logging
import os
import pathlib
import sys

from sausage import config

__all__ = ["setup", "log_file", "is_console"]


def log_file(settings: config.Settings) -> pathlib.Path:
    return settings.state_dir / "sausage.log"


def is_console(settings: config.Settings) -> bool:
    """Is stderr somewhere a person looks (not the log file itself, as in ``up --detach``)?"""
    try:
        err = os.fstat(sys.stderr.fileno())
        log = os.stat(log_file(settings))
    except (OSError, ValueError, AttributeError):
        return True
    return (err.st_dev, err.st_ino) != (log.st_dev, log.st_ino)


def setup(settings: config.Settings, *, console: bool) -> None:
    """Route this process's records: all to the log file, warnings and errors also to stderr
    when ``console``. Replaces whatever handlers the root logger had."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(settings.log_level.upper())
    to_file = logging.FileHandler(log_file(settings), encoding="utf-8")
    to_file.setFormatter(logging.Formatter(
        "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"))
    root.addHandler(to_file)
    if console:
        to_console = logging.StreamHandler(sys.stderr)
        to_console.setLevel(logging.WARNING)
        to_console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(to_console)
    # uvicorn's loggers keep no handlers of their own: their records follow the same routes.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
