"""A client of the data API: ``DataClient(storage_url, token).read(file, path,
select)`` returns a NumPy array computed on the server.

Addresses: the account's storage URL (``http://host/v1/AUTH_test``, as TempAuth
hands it out) becomes the API's base (``http://host/api/v1/AUTH_test``); a
file is ``container/name``. ``open_url`` turns what a shell user has into a
client and a file: ``swift://container/name`` (credentials from
``ST_AUTH``/``ST_USER``/``ST_KEY``, or ``OS_STORAGE_URL`` with
``OS_AUTH_TOKEN``), or ``http://host/v1/AUTH_x/container/name`` with or
without temp URL parameters (without them: the same credentials if set, else
anonymous, which public-read containers allow).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import numpy as np
import urllib3

__all__ = ["DataClient", "DataAPIError", "open_url", "authenticate_v1", "TEMPURL_PARAMS"]

TEMPURL_PARAMS = ("temp_url_sig", "temp_url_expires", "temp_url_prefix", "temp_url_ip_range")


class DataAPIError(Exception):
    """The server refused or failed a request: ``status`` and its JSON ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def authenticate_v1(auth_url: str, user: str, key: str, timeout: float = 30.0) -> tuple[str, str]:
    """TempAuth v1.0: ``(storage_url, token)`` for ``user`` (``account:user``) and ``key``."""
    resp = urllib3.request("GET", auth_url, headers={"X-Auth-User": user, "X-Auth-Key": key},
                           timeout=timeout, retries=False)
    if resp.status != 200:
        raise DataAPIError(resp.status, f"authentication at {auth_url} as {user} failed")
    return resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"]


class DataClient:
    """Requests to one account's data API."""

    def __init__(self, storage_url: str, token: str | None = None, *,
                 params: Mapping[str, str] | None = None, timeout: float = 300.0) -> None:
        parts = urlsplit(storage_url)
        path = parts.path.rstrip("/")
        if not path.startswith("/v1/"):
            raise ValueError(f"{storage_url!r} is not a Swift storage URL (http://host/v1/<account>)")
        self.base = f"{parts.scheme}://{parts.netloc}/api{path}"
        self.token = token
        #: Sent with every request (a temp URL's signature and expiry).
        self.params = dict(params or {})
        self.timeout = timeout
        self._http = urllib3.PoolManager()

    def _get(self, endpoint: str, params: Mapping[str, str | None]) -> urllib3.BaseHTTPResponse:
        query = {k: v for k, v in params.items() if v is not None}
        query.update(self.params)
        headers = {"X-Auth-Token": self.token} if self.token else {}
        resp = self._http.request("GET", f"{self.base}/{endpoint}/?{urlencode(query)}", headers=headers,
                                  timeout=self.timeout, retries=False)
        if resp.status >= 300:
            try:
                message = json.loads(resp.data)["message"]
            except (ValueError, KeyError, TypeError):
                # Not the data API's JSON error: maybe no data API at all (OpenStack
                # Swift answers /api/... with an HTML 400), which /info tells.
                message = self._no_data_api() or resp.data[:200].decode("utf-8", "replace") or resp.reason or ""
            raise DataAPIError(resp.status, message)
        return resp

    def _no_data_api(self) -> str | None:
        """Why this endpoint cannot answer, if its ``/info`` shows it is not
        ``sciswift serve`` (which announces ``sciswift`` there); None when it is,
        or when ``/info`` says nothing either way."""
        parts = urlsplit(self.base)
        try:
            resp = self._http.request("GET", f"{parts.scheme}://{parts.netloc}/info", timeout=min(self.timeout, 10.0),
                                      retries=False)
            info = json.loads(resp.data) if resp.status == 200 else None
        except (urllib3.exceptions.HTTPError, ValueError):
            return None
        if not isinstance(info, dict) or "sciswift" in info:
            return None
        version = info.get("swift", {}).get("version") if isinstance(info.get("swift"), dict) else None
        server = f"OpenStack Swift {version}" if version else "a Swift endpoint other than sciswift serve"
        return (f"{parts.netloc} is {server}, which has no sciswift data API (that takes sciswift serve); "
                "read the file on this side instead: sciswift dump -d PATH --data URL, or sciswift.h5py")

    def _json(self, endpoint: str, **params: str | None) -> Any:
        return json.loads(self._get(endpoint, params).data)

    def meta(self, file: str, path: str = "/") -> dict[str, Any]:
        """The entity at ``path`` (h5grove's metadata: kind, attributes, shape, type ...)."""
        return self._json("meta", file=file, path=path)

    def attrs(self, file: str, path: str = "/") -> dict[str, Any]:
        """Attribute values of ``path``."""
        return self._json("attr", file=file, path=path)

    def paths(self, file: str, path: str = "/") -> list[str]:
        """Every path under the group ``path``."""
        return self._json("paths", file=file, path=path)

    def fetch(self, file: str, path: str, select: str | None = None, fmt: str = "npy") -> bytes:
        """The selection's bytes as the server encodes them (``npy``, ``bin``, ``json``, ``csv``)."""
        return self.fetch_described(file, path, select, fmt)[0]

    def fetch_described(self, file: str, path: str, select: str | None = None,
                        fmt: str = "bin") -> tuple[bytes, str | None, tuple[int, ...] | None]:
        """``(bytes, dtype, shape)``: dtype and shape as the server describes the
        selection (NumPy's dtype string; None for JSON and CSV answers)."""
        resp = self._get("data", {"file": file, "path": path, "selection": select, "format": fmt})
        shape_text = resp.headers.get("X-Sciswift-Shape")
        shape = None if shape_text is None else tuple(int(n) for n in shape_text.split(",") if n)
        return resp.data, resp.headers.get("X-Sciswift-Dtype"), shape

    def read(self, file: str, path: str, select: str | None = None) -> np.ndarray[Any, Any]:
        """The dataset ``path`` of ``file`` sliced by ``select`` (``"0:10, ::2"``),
        computed on the server; only the slice is transferred."""
        return np.load(io.BytesIO(self.fetch(file, path, select, "npy")), allow_pickle=False)


def open_url(url: str, environ: Mapping[str, str] | None = None) -> tuple[DataClient, str]:
    """``(client, file)`` for a ``swift://container/name`` or
    ``http(s)://host/v1/<account>/<container>/<name>[?temp_url_...]`` URL."""
    env = os.environ if environ is None else environ
    parts = urlsplit(url)
    if parts.scheme == "swift":
        file = f"{parts.netloc}{parts.path}".strip("/")
        storage_url, token = _credentials(env)
        if storage_url is None:
            raise DataAPIError(401, "swift:// URLs need ST_AUTH/ST_USER/ST_KEY (or OS_STORAGE_URL and "
                                    "OS_AUTH_TOKEN) in the environment")
        return DataClient(storage_url, token), file
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{url!r}: use swift://container/name or http://host/v1/<account>/<container>/<name>")
    segments = parts.path.split("/")
    if len(segments) < 5 or segments[1] != "v1":
        raise ValueError(f"{url!r} names no object: http://host/v1/<account>/<container>/<name>")
    account = segments[2]
    file = "/".join(segments[3:]).strip("/")
    storage_url = f"{parts.scheme}://{parts.netloc}/v1/{quote(account)}"
    params = {k: v for k, v in parse_qsl(parts.query) if k in TEMPURL_PARAMS}
    token = None
    if not params:
        given_url, token = _credentials(env)
        if given_url is not None and urlsplit(given_url).path.rstrip("/") != f"/v1/{account}":
            token = None  # credentials for another account: ask anonymously
    return DataClient(storage_url, token, params=params), unquote(file)


def _credentials(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    if env.get("OS_STORAGE_URL") and env.get("OS_AUTH_TOKEN"):
        return env["OS_STORAGE_URL"], env["OS_AUTH_TOKEN"]
    if env.get("ST_AUTH") and env.get("ST_USER") and env.get("ST_KEY"):
        return authenticate_v1(env["ST_AUTH"], env["ST_USER"], env["ST_KEY"])
    return None, None
