"""S3Store's transport: signed requests on a pool of keep-alive connections,
retries, and S3's errors as sciswift's.

One ``S3Connection`` is shared by all threads of a store (urllib3's pool is
thread-safe). Requests are path-style (``/<bucket>/<key>``) and signed with
Signature V4 in headers; bodies are sent as ``UNSIGNED-PAYLOAD`` with a signed
``Content-MD5``, so the server checks what arrived with the MD5 the store
computes anyway (a SHA-256 of every body would cost a second pass). Paths are
sent exactly as quoted here: urllib3's URL normalisation would fold ``..``
and ``.`` segments, which are legal in keys.

Requests that are safe to repeat (the caller says so) are retried on a
failed connection or a 500/502/503/504 or SlowDown answer, with exponential
backoff and jitter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import urllib3
from defusedxml import ElementTree as safe_et

from sciswift.errors import (
    AlreadyExists,
    ChecksumMismatch,
    ContainerNotEmpty,
    InvalidInput,
    NotFound,
    NotSupported,
    PermissionDenied,
    PreconditionFailed,
    RangeNotSatisfiable,
    SciSwiftError,
    StoreUnavailable,
    Unauthenticated,
    error_for_status,
)
from sciswift.store.s3.credentials import S3Credentials
from sciswift.store.s3.signing import UNSIGNED_PAYLOAD, Signer, canonical_query

__all__ = ["S3Connection", "S3Response", "RETRY_STATUSES", "error_from"]

RETRY_STATUSES = frozenset({500, 502, 503, 504})

#: S3 error codes -> sciswift errors (others follow the HTTP status).
_BY_CODE: dict[str, type[SciSwiftError]] = {
    "NoSuchKey": NotFound,
    "NoSuchBucket": NotFound,
    "NoSuchUpload": NotFound,
    "NoSuchVersion": NotFound,
    "PreconditionFailed": PreconditionFailed,
    "ConditionalRequestConflict": PreconditionFailed,
    "BucketNotEmpty": ContainerNotEmpty,
    "BucketAlreadyExists": AlreadyExists,
    "BadDigest": ChecksumMismatch,
    "InvalidDigest": ChecksumMismatch,
    "InvalidRange": RangeNotSatisfiable,
    "AccessDenied": PermissionDenied,
    "InvalidAccessKeyId": Unauthenticated,
    "SignatureDoesNotMatch": Unauthenticated,
    "InvalidBucketName": InvalidInput,
    "KeyTooLongError": InvalidInput,
    "InvalidArgument": InvalidInput,
    "EntityTooSmall": InvalidInput,
    "EntityTooLarge": InvalidInput,
    "MalformedXML": InvalidInput,
    "NotImplemented": NotSupported,
}


@dataclass
class S3Response:
    """A response whose body is read already, or ``raw`` left to stream."""

    status: int
    headers: Any
    data: bytes
    raw: urllib3.BaseHTTPResponse | None = None

    def header(self, name: str, default: str = "") -> str:
        value = self.headers.get(name)
        return default if value is None else str(value)


def error_from(status: int, data: bytes, subject: str) -> SciSwiftError:
    """The sciswift error an S3 error reply means."""
    code, message = "", ""
    if data:
        try:
            doc = safe_et.fromstring(data, forbid_dtd=True)
            code = (doc.findtext("Code") or "").strip()
            message = (doc.findtext("Message") or "").strip()
        except Exception:  # noqa: BLE001 - not an S3 error document: the status decides
            pass
    text = f"{subject}: {code or status}" + (f": {message}" if message else "")
    cls = _BY_CODE.get(code)
    if cls is not None:
        return cls(text, subject)
    return error_for_status(status, text, subject)


class S3Connection:
    """Signed requests to one endpoint (see the module docstring)."""

    def __init__(
        self,
        credentials: S3Credentials,
        *,
        pool_size: int = 32,
        retries: int = 5,
        backoff: float = 0.1,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
    ) -> None:
        self.credentials = credentials
        split = urlsplit(credentials.endpoint)
        self.scheme = split.scheme
        self.host = split.netloc
        self.base_path = split.path.rstrip("/")
        self.signer = Signer(credentials.access_key, credentials.secret_key, credentials.region,
                             credentials.session_token)
        self.retries = retries
        self.backoff = backoff
        timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        cls = urllib3.HTTPSConnectionPool if self.scheme == "https" else urllib3.HTTPConnectionPool
        self.pool = cls(split.hostname or "", split.port, maxsize=pool_size, block=True, timeout=timeout,
                        retries=False)

    def path(self, bucket: str | None = None, key: str | None = None) -> str:
        """The decoded path of a bucket or key (what is signed)."""
        out = self.base_path + "/"
        if bucket is not None:
            out += bucket
            if key is not None:
                out += "/" + key
        return out

    def url(self, bucket: str | None, key: str | None, query_string: str = "") -> str:
        return f"{self.scheme}://{self.host}{quote(self.path(bucket, key), safe='/~')}" + (
            f"?{query_string}" if query_string else "")

    def close(self) -> None:
        self.pool.close()

    def request(
        self,
        method: str,
        bucket: str | None = None,
        key: str | None = None,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        idempotent: bool = True,
        stream: bool = False,
        subject: str = "",
        ok: tuple[int, ...] = (),
    ) -> S3Response:
        """One request; raises the sciswift error of an error reply (unless its
        status is in ``ok``) or StoreUnavailable once retries are spent."""
        query = dict(query or {})
        path = self.path(bucket, key)
        target = quote(path, safe="/~") + ("?" + canonical_query(query) if query else "")
        subject = subject or (f"{bucket}/{key}" if key is not None else bucket or self.credentials.endpoint)
        attempt = 0
        while True:
            signed = self.signer.sign(method, self.host, path, query, dict(headers or {}), UNSIGNED_PAYLOAD)
            try:
                raw = self.pool.urlopen(method, target, body=body, headers=signed, preload_content=False,
                                        redirect=False, assert_same_host=False)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if idempotent and attempt < self.retries:
                    attempt += 1
                    self._sleep(attempt)
                    continue
                raise StoreUnavailable(f"{subject}: S3 endpoint {self.credentials.endpoint} unreachable: {exc}",
                                       subject) from None
            status = raw.status
            if status in RETRY_STATUSES and idempotent and attempt < self.retries:
                raw.drain_conn()
                raw.release_conn()
                attempt += 1
                self._sleep(attempt)
                continue
            if status >= 300 and status not in ok:
                try:
                    data = raw.read()
                finally:
                    raw.release_conn()
                raise error_from(status, data, subject)
            if stream:
                return S3Response(status, raw.headers, b"", raw)
            try:
                data = raw.read()
            finally:
                raw.release_conn()
            return S3Response(status, raw.headers, data)

    def _sleep(self, attempt: int) -> None:
        time.sleep(self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random()))
