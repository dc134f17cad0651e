"""The one error the agent's drivers raise; the agent loop turns it into a server's fault.

Raised at the boundary where a subprocess, QMP or a download fails (``raise … from e``), with
a message fit for the user's fault and, when there is one, the exit code or QMP error class.
"""

from __future__ import annotations

__all__ = ["DriverError"]


class DriverError(Exception):
    def __init__(self, message: str, code: int | str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
