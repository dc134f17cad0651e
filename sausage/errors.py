"""One domain error hierarchy for the whole cloud.

Services raise these; ``api/faults.py`` turns them into each OpenStack service's fault body,
looked up by class along the MRO. Every error carries its HTTP status as a class attribute.
"""

from __future__ import annotations

__all__ = [
    "SausageError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "Gone",
    "QuotaExceeded",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "ServiceUnavailable",
]


class SausageError(Exception):
    """Base of every error a service raises on purpose."""

    status = 500
    title = "Internal Server Error"
    # The service-specific error name, where a service's fault body carries one (Neutron's
    # ``type``, e.g. "NetworkNotFound"); empty means the renderer's generic name for the status.
    kind = ""

    def __init__(self, message: str, *, kind: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if kind:
            self.kind = kind
        # Response headers the fault carries (Glance's 415 names the PATCH types it accepts).
        self.headers = dict(headers or {})


class BadRequest(SausageError):
    status = 400
    title = "Bad Request"


class Unauthorized(SausageError):
    """No credentials, or credentials that do not prove who the caller is."""

    status = 401
    title = "Unauthorized"


class Forbidden(SausageError):
    """The caller is known but policy does not allow the action."""

    status = 403
    title = "Forbidden"


class QuotaExceeded(Forbidden):
    """Creating this would exceed the project's quota (a 403 in Nova, 413 elsewhere)."""


class NotFound(SausageError):
    status = 404
    title = "Not Found"


class Conflict(SausageError):
    status = 409
    title = "Conflict"


class Gone(SausageError):
    status = 410
    title = "Gone"


class PayloadTooLarge(SausageError):
    status = 413
    title = "Request Entity Too Large"


class UnsupportedMediaType(SausageError):
    status = 415
    title = "Unsupported Media Type"


class ServiceUnavailable(SausageError):
    """More work than the server takes on right now; the client should retry after
    ``retry_after`` seconds (sent as the Retry-After header)."""

    status = 503
    title = "Service Unavailable"

    def __init__(self, message: str, *, retry_after: int = 1, kind: str = "") -> None:
        super().__init__(message, kind=kind, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after
