"""HTTP client for the API's internal endpoints (the contract is ``sausage.contract.host``).

Used by the agent loop (register, long-poll the desired state, report) and by its actions
(stream a base image into the cache, stream a snapshot up). Every request but registration
carries the host credential in ``X-Sausage-Host-Token``, and only to the API's own origin.
Transport failures and error statuses become ``ClientError``; a refused credential becomes
``CredentialRefused`` (the loop registers again).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Iterator
from typing import Any, cast

import httpx

from sausage.contract import host as contract

__all__ = ["Client", "ClientError", "CredentialRefused", "TOKEN_HEADER", "REGISTRATION_HEADER",
           "CHUNK"]

TOKEN_HEADER = "X-Sausage-Host-Token"
REGISTRATION_HEADER = "X-Sausage-Registration-Key"
CHUNK = 1 << 20
PREFIX = "/internal/v1/hosts"


class ClientError(Exception):
    """The internal API could not be reached or answered an error (``status``, when it did)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class CredentialRefused(ClientError):
    """The API does not (or no longer) know this host or its token."""


class Client:
    def __init__(self, base_url: str, token: str | None = None, *,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30) -> None:
        self.base_url = httpx.URL(base_url.rstrip("/") + "/")
        self.token = token
        self.timeout = timeout
        self._http = httpx.Client(base_url=self.base_url, transport=transport,
                                  timeout=httpx.Timeout(timeout), follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    # -- the state documents ----------------------------------------------------------------------
    def register(self, registration: contract.Registration,
                 key: str) -> contract.RegistrationReply:
        """POST the host's registration with the cloud's registration ``key``; the reply holds
        the host id and its credential. CredentialRefused when the key is wrong."""
        data = self._json("POST", PREFIX, json=registration, authenticated=False,
                          headers={REGISTRATION_HEADER: key})
        if not isinstance(data, dict) or not {"host_id", "token"} <= data.keys():
            raise ClientError(f"Unexpected registration reply: {str(data)[:200]}")
        return cast(contract.RegistrationReply, data)

    def desired(self, host_id: str, after: int | None = None,
                wait: float | None = None) -> contract.Desired | None:
        """The host's desired state. With ``after``: waits (long-poll) until a newer revision
        exists, or until the API's wait ends (then the same document). ``wait`` asks the API to
        answer within that many seconds; without ``after`` it answers at once. None when the API
        did not answer in time at all."""
        params: dict[str, str] = {"wait": "0"}
        if after is not None:
            params["after"] = str(after)
            if wait is not None:
                params["wait"] = f"{wait:g}"
            else:
                del params["wait"]
        read = self.timeout if after is None else (wait or 25) + self.timeout
        try:
            data = self._json("GET", f"{PREFIX}/{host_id}/desired", params=params,
                              timeout=httpx.Timeout(self.timeout, read=read))
        except ClientError as e:
            if isinstance(e.__cause__, httpx.ReadTimeout):
                return None
            raise
        if data is None:
            return None  # 204: the API worker is stopping; ask again (another one answers)
        if not isinstance(data, dict) or not isinstance(data.get("servers"), list):
            raise ClientError(f"Unexpected desired-state document: {str(data)[:200]}")
        if data.get("version") != contract.VERSION:
            raise ClientError(f"Desired-state version {data.get('version')} is not "
                              f"{contract.VERSION}: upgrade the agent or the API.")
        return cast(contract.Desired, data)

    def report(self, observed: contract.Observed) -> None:
        """POST the observed state (also the host's heartbeat)."""
        self._json("POST", f"{PREFIX}/{observed['host_id']}/observed", json=observed)

    # -- data streams ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def download(self, url: str) -> Iterator[Iterator[bytes]]:
        """Stream ``url`` (an ImageRef url): ``with client.download(url) as chunks: ...``."""
        try:
            with self._http.stream("GET", self._url(url), headers=self._headers()) as response:
                self._check(response, "GET", url)
                yield response.iter_bytes(CHUNK)
        except httpx.HTTPError as e:
            raise ClientError(f"Downloading {url} failed: {e}") from e

    def upload(self, url: str, path: pathlib.Path) -> None:
        """PUT the file at ``path`` to ``url`` (a snapshot's upload_url), streamed."""
        size = path.stat().st_size

        def chunks() -> Iterator[bytes]:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk

        headers = {**self._headers(), "Content-Type": "application/octet-stream",
                   "Content-Length": str(size)}
        try:
            response = self._http.put(self._url(url), content=chunks(), headers=headers,
                                      timeout=httpx.Timeout(self.timeout, write=600))
        except httpx.HTTPError as e:
            raise ClientError(f"Uploading to {url} failed: {e}") from e
        self._check(response, "PUT", url)

    # -- internals ------------------------------------------------------------------------------
    def _url(self, url: str) -> httpx.URL:
        """``url`` resolved against the API; the credential never goes to another origin."""
        resolved = self.base_url.join(url)
        if (resolved.scheme, resolved.host, resolved.port) != (
                self.base_url.scheme, self.base_url.host, self.base_url.port):
            raise ClientError(f"Refusing to send the host credential to {url}: it is not the "
                              f"API at {self.base_url}.")
        return resolved

    def _headers(self, authenticated: bool = True) -> dict[str, str]:
        headers = {"User-Agent": f"sausage-agent/{contract.VERSION}"}
        if authenticated and self.token:
            headers[TOKEN_HEADER] = self.token
        return headers

    def _json(self, method: str, path: str, *, authenticated: bool = True,
              timeout: httpx.Timeout | None = None, headers: dict[str, str] | None = None,
              **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, self._url(path.lstrip("/")),
                                          headers={**self._headers(authenticated),
                                                   **(headers or {})},
                                          timeout=timeout or httpx.USE_CLIENT_DEFAULT, **kwargs)
        except httpx.HTTPError as e:
            raise ClientError(f"{method} {path} failed: {e or type(e).__name__}") from e
        self._check(response, method, path)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as e:
            raise ClientError(f"{method} {path}: the answer is not JSON") from e

    @staticmethod
    def _check(response: httpx.Response, method: str, path: str) -> None:
        if response.status_code < 400:
            return
        with contextlib.suppress(httpx.HTTPError, httpx.StreamError):
            response.read()  # a streamed answer's error body
        detail = response.text[:300].strip()
        message = f"{method} {path}: {response.status_code} {detail}".strip()
        # 404 on the host's own documents: the API no longer knows this host id.
        if response.status_code in (401, 403) or (
                response.status_code == 404 and path.startswith(f"{PREFIX}/") and
                os.path.basename(path) in ("desired", "observed")):
            raise CredentialRefused(message, response.status_code)
        raise ClientError(message, response.status_code)
