"""SwiftStore: a Store over any OpenStack Swift API endpoint.

Real OpenStack Swift, ``sciswift serve``, Ceph RGW's Swift API: one account of the
endpoint is one store. Requests go through a pool of keep-alive connections shared
by all threads (``SwiftConnection``), so many can be in flight at once; the bulk
operations (``get_many``, ``put_many``, ``delete_many``) use that concurrency,
``delete_many`` uses the endpoint's ``?bulk-delete`` when ``/info`` advertises it,
and ``put_many`` sends small objects as archives (``?extract-archive=tar``) where
``/info`` says the endpoint stores them together (``sciswift.batched_extract``).

Where Swift's semantics differ from the Store contract, this is what happens:

- **Conditional puts.** ``CREATE`` is Swift's ``If-None-Match: *``: the object
  server refuses the PUT if the object exists *when the request arrives*, so two
  creates racing each other can both succeed (the later one wins). ``IfMatch`` is
  emulated: a HEAD compares the ETag, then the PUT is sent (with an ``If-Match``
  header, which servers that support it enforce and Swift ignores); another
  writer between the two requests is not detected. Hence
  ``supports_conditional_put`` is False against real Swift. An endpoint whose
  ``/info`` announces ``sciswift.conditional_put`` (``sciswift serve``) enforces
  both atomically; then the flag is True and no HEAD is sent.
- **Large objects.** A body above ``large_object_threshold`` becomes a static large
  object (see ``swift.slo``): segments in ``<container>_segments``, then an
  atomic manifest PUT. Its ETag is Swift's large-object ETag (the MD5 of the
  segments' MD5s), which is what HEAD, GET and listings report for it, and
  ``system["x-static-large-object"]`` is ``"true"``. Deleting it
  (``delete_object``/``delete_many``) removes its segments too; overwriting it with
  another large object removes the old segments once the new manifest is in place;
  overwriting it with a small object leaves them (as ``swift upload
  --leave-segments`` does).
- **POST.** Swift's object POST replaces the user metadata *and* the other
  settable headers (content-encoding, content-disposition, x-delete-at ...);
  ``post_object`` reads the current values first so the ones not given are kept,
  as the Store contract says. A concurrent POST between the two is lost.
- **Replicas that missed writes.** A storage node back from an outage serves
  what it had until Swift's replicators catch it up, and Swift's proxy answers
  a GET from the first replica that has the object, so an overwritten object
  can read back in its old version for a while. What decides which version
  a reader sees is asked for with ``X-Newest`` (the proxy asks every replica
  and answers with the newest): every HEAD, manifests, and the Zarr metadata
  documents (``zarr.json``; ``.zarray``/``.zgroup``/``.zattrs``/``.zmetadata``),
  which is ``newest="metadata"``, the default. ``newest="all"`` does it for every
  GET (a node's worth of latency more per read), ``"none"`` for none.
- **Account totals** (``account_info``, the counts in ``list_containers``) are
  updated by Swift's container updater in the background, so they lag behind
  recent writes by up to the updater's interval. Container totals are immediate.
- Metadata keys are HTTP header names: ``_`` and ``-`` are the same key to Swift.

Errors: statuses map through ``sciswift.errors.error_for_status``; an endpoint that
cannot be reached after the retries raises StoreUnavailable, refused credentials
Unauthenticated, each naming the URL.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

import crc32c
import urllib3

from sciswift.errors import (
    AlreadyExists,
    ChecksumMismatch,
    ContainerNotEmpty,
    CorruptData,
    InvalidInput,
    NotFound,
    NotSupported,
    PreconditionFailed,
    RangeNotSatisfiable,
    SciSwiftError,
    error_for_status,
)
from sciswift.store.base import BytesReader, ObjectReader, PutData, Store
from sciswift.store.large import (
    SegmentRef,
    check_ranges,
    is_large_object,
    is_true_flag,
    parse_stored_manifest,
)
from sciswift.store.large import slo_etag as large_slo_etag
from sciswift.store.links import HEADER_TARGET, quoted_target
from sciswift.store.metarules import copied_metadata, merge_metadata, replaced_metadata
from sciswift.store.names import (
    ACCOUNT_LISTING_LIMIT,
    CONTAINER_LISTING_LIMIT,
    check_container_name,
    check_object_name,
)
from sciswift.store.swift import headers as hdr
from sciswift.store.swift.auth import SwiftCredentials
from sciswift.store.swift.batched_get import CONTENT_TYPE as BATCH_CONTENT_TYPE
from sciswift.store.swift.batched_get import MIN_BATCHED_GET, plan_get_batches, read_batch, read_batch_into
from sciswift.store.swift.batched_get import request_body as batch_request_body
from sciswift.store.swift.http import Body, SwiftConnection, maybe_repeated, object_path, raise_for
from sciswift.store.swift.http import _discard as _discard_response
from sciswift.store.swift.io import PutSource, SwiftObjectReader
from sciswift.store.swift.shared import shared_connections
from sciswift.store.swift.slo import Segment, segments_container, slo_etag, upload_segments
from sciswift.store.swift.tar import plan_batches, tar_pieces
from sciswift.store.swift.tokens import TokenCache
from sciswift.store.types import (
    CREATE,
    OVERWRITE,
    AccountInfo,
    ByteRange,
    ContainerInfo,
    IfMatch,
    ListingParams,
    ObjectInfo,
    PutMode,
    Subdir,
)

__all__ = ["SwiftStore", "SwiftCredentials"]

T = TypeVar("T")

GiB = 1 << 30
MiB = 1 << 20

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _subject(container: str, name: str | None = None) -> str:
    return container if name is None else f"{container}/{name}"


#: Listings of at most this many entries use the default page limit when
#: ``/info`` is not known yet (``SwiftStore._listing_limit``).
_SMALL_LISTING = 100
#: A stored manifest of Swift's 1,000 segments is ~250 KB; more is not a manifest.
_MAX_MANIFEST_BYTES = 16 << 20


#: Default threads of a store's bulk operations (``max_workers``) and of a large
#: object's segment uploads (``segment_workers``): each may hold a connection.
BULK_WORKERS = 32
SEGMENT_WORKERS = 4


class SwiftStore(Store):
    """One Swift account as a Store. See the module docstring for the details.

    Credentials: ``auth_url``/``user``/``key`` (TempAuth v1.0, or Keystone when
    ``auth_version`` is 2.0/3 or a project or domain is given, with the other
    SwiftCredentials fields as keyword arguments), or a ready ``storage_url`` and
    ``token``. ``SwiftStore.from_environment()`` reads them the way
    python-swiftclient does.

    Tuning: ``pool_size`` keep-alive connections; ``retries`` attempts after the
    first for idempotent requests, with exponential ``backoff`` (seconds: 0.25,
    0.5, 1, 2, 4 by default, each with up to half of it taken off at random,
    which rides out a proxy restart); each attempt waits at most
    ``connect_timeout`` to connect and ``read_timeout`` for each piece of the
    answer, so an operation gives up within about
    ``(retries + 1) * (connect_timeout + read_timeout) + 8 s``; ``newest``:
    which reads ask every replica for the newest version (module docstring);
    ``large_object_threshold`` and ``segment_size`` (bytes) for static large
    objects, uploaded by ``segment_workers`` threads; ``max_workers`` is the
    default concurrency of the bulk operations; ``prewarm`` connections are
    opened while the first authentication runs (``SwiftConnection``), so the
    first requests after it find them ready; ``share_connections``: stores of the
    same account and tuning in a process share their connections, token and
    ``/info`` (``sciswift.store.swift.shared``), so a file opened after another
    starts on warm connections.
    """

    supports_ranges = True
    supports_read_into = True
    is_local = False
    # Swift's container updater refreshes account totals in the background (about
    # 0.4 s behind writes in the test all-in-one, up to its interval on a cluster).
    totals_lag = 30.0

    def __init__(
        self,
        auth_url: str | None = None,
        user: str | None = None,
        key: str | None = None,
        *,
        storage_url: str | None = None,
        token: str | None = None,
        auth_version: str | None = None,
        credentials: SwiftCredentials | None = None,
        pool_size: int = 64,
        retries: int = 5,
        backoff: float = 0.25,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        large_object_threshold: int = GiB,
        segment_size: int = 256 * MiB,
        segment_workers: int = SEGMENT_WORKERS,
        max_workers: int = BULK_WORKERS,
        newest: str = "metadata",
        prewarm: int = 3,
        token_cache: TokenCache | bool | None = None,
        share_connections: bool = True,
        **keystone: Any,
    ) -> None:
        given = dict(auth_url=auth_url, user=user, key=key, storage_url=storage_url, token=token,
                     auth_version=auth_version, **keystone)
        if credentials is None:
            credentials = SwiftCredentials.from_environment({}, **given)
        else:
            credentials = credentials.with_overrides(**given)
        if not credentials.can_authenticate and not (credentials.storage_url and credentials.token):
            raise InvalidInput(
                "SwiftStore needs auth_url, user and key (or a storage_url and token); "
                "SwiftStore.from_environment() reads ST_AUTH/ST_USER/ST_KEY or OS_*",
                credentials.endpoint,
            )
        if segment_size < 1 or large_object_threshold < 1:
            raise InvalidInput("segment_size and large_object_threshold must be positive")
        if newest not in ("metadata", "all", "none"):
            raise InvalidInput(f"newest must be 'metadata', 'all' or 'none', not {newest!r}", "newest")
        self.newest = newest
        self.credentials = credentials
        self.large_object_threshold = large_object_threshold
        self.segment_size = segment_size
        self.segment_workers = segment_workers
        self.max_workers = max_workers
        self.url = "swift://"
        def connect() -> SwiftConnection:
            return SwiftConnection(
                credentials, pool_size=pool_size, retries=retries, backoff=backoff,
                connect_timeout=connect_timeout, read_timeout=read_timeout, prewarm=prewarm,
                token_cache=token_cache,
            )

        #: Where this store's connection is shared (``store.swift.shared``), its key.
        self._shared_key: tuple[Any, ...] | None = None
        if share_connections:
            self._shared_key = (credentials, pool_size, retries, backoff, connect_timeout, read_timeout, prewarm,
                                token_cache)
            self._conn = shared_connections.acquire(self._shared_key, connect)
        else:
            self._conn = connect()
        #: What a copy in another process is built with (``__reduce__``).
        self._tuning = dict(pool_size=pool_size, retries=retries, backoff=backoff,
                            connect_timeout=connect_timeout, read_timeout=read_timeout,
                            large_object_threshold=large_object_threshold, segment_size=segment_size,
                            segment_workers=segment_workers, max_workers=max_workers, newest=newest,
                            prewarm=prewarm, token_cache=token_cache, share_connections=share_connections)
        self._closed = False
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> SwiftStore:
        """A store for the account python-swiftclient's environment names
        (``ST_AUTH``/``ST_USER``/``ST_KEY``, or ``OS_*``); ``overrides`` win over it.
        Tuning arguments of the constructor may be given too, or come from
        ``SCISWIFT_RETRIES``, ``SCISWIFT_BACKOFF``, ``SCISWIFT_CONNECT_TIMEOUT``,
        ``SCISWIFT_READ_TIMEOUT`` (seconds), ``SCISWIFT_NEWEST`` and ``SCISWIFT_PREWARM``."""
        tuning = {k: overrides.pop(k) for k in list(overrides) if k in _TUNING}
        env = os.environ if environ is None else environ
        for key, (var, kind) in _TUNING_ENV.items():
            if key not in tuning and env.get(var):
                try:
                    tuning[key] = kind(env[var])
                except ValueError:
                    raise InvalidInput(f"{var}={env[var]!r} is not a number", var) from None
        creds = SwiftCredentials.from_environment(environ, **overrides)
        return cls(credentials=creds, **tuning)

    def __repr__(self) -> str:
        return f"SwiftStore({self.credentials.endpoint!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # By address: credentials and tuning, never the connections. The
        # credentials travel as given, secrets included, so a worker without the
        # environment reaches the same account: the pickle is as secret as the key.
        return reopen_swift_store, (self.credentials, dict(self._tuning))

    @property
    def storage_url(self) -> str:
        """The account URL (authenticating first if needed)."""
        return self._conn.storage_url

    def capabilities(self) -> dict[str, Any]:
        """The endpoint's ``/info`` document (``{}`` if it publishes none)."""
        return self._conn.info()

    @property
    def batches_gets(self) -> bool:  # type: ignore[override]
        """True when the endpoint answers many objects in one request (``/info``:
        ``sciswift.batched_get``, which ``get_many`` then uses)."""
        return bool(self._batched_get_limits(wait=_INFO_WAIT))

    @property
    def round_trip(self) -> float | None:  # type: ignore[override]
        """The quickest answer seen yet (see ``SwiftConnection.round_trip``)."""
        return self._conn.round_trip

    @property
    def batches_puts(self) -> bool:  # type: ignore[override]
        """True when the endpoint stores an uploaded archive's files together
        (``/info``: ``sciswift.batched_extract``, which ``put_many`` then uses)."""
        return bool(self._offers("batched_extract"))

    @property
    def listing_metadata(self) -> bool:  # type: ignore[override]
        """True when the endpoint gives objects' metadata in listings (``/info``:
        ``sciswift.listing_metadata``; ``?with_metadata=true``)."""
        return self._offers("listing_metadata")

    def _offers(self, feature: str) -> bool:
        """Whether ``/info``'s ``sciswift`` section offers ``feature``
        (``batched_extract``; ``extract_crc32c``: archives' files may carry a
        CRC-32C instead of an MD5)."""
        sciswift = self._conn.info().get("sciswift")
        return isinstance(sciswift, dict) and bool(sciswift.get(feature))

    def expect_reads(self, reads: Sequence[tuple[str, str, str]]) -> None:
        """Authenticate now if no token is at hand, with ``reads`` answered in the
        auth reply where the endpoint can (see Store.expect_reads and
        ``SwiftConnection.auth_with_prefetch``)."""
        wanted = []
        for method, container, name in reads:
            try:
                check_container_name(container)
                check_object_name(name)
            except SciSwiftError:
                continue  # a hint only: the read itself says what is wrong with the name
            wanted.append((method, object_path(container, name)))
        self._conn.auth_with_prefetch(wanted)

    def learn_endpoint(self) -> None:
        """Start fetching ``/info`` in the background (see Store.learn_endpoint)."""
        self._conn.info_if_known()

    def _batched_get_limits(self, wait: float = 0.0) -> dict[str, Any] | None:
        """``/info``'s ``sciswift.batched_get``, None where the endpoint has no
        batched GET or ``/info`` is not known yet (then it is fetched in the
        background, or waited for up to ``wait`` seconds if already asked for:
        a batched GET is never worth a round trip of its own)."""
        sciswift = (self._conn.info_if_known(wait) or {}).get("sciswift")
        limits = sciswift.get("batched_get") if isinstance(sciswift, dict) else None
        return limits if isinstance(limits, dict) else None

    #: IfMatch is checked by a HEAD where the endpoint does not enforce it (see above).
    checks_conditional_put = True

    @property
    def supports_conditional_put(self) -> bool:  # type: ignore[override]
        """True when the endpoint enforces If-Match and If-None-Match on PUT
        atomically (it says so in ``/info``: ``sciswift.conditional_put``)."""
        sciswift = self.capabilities().get("sciswift")
        return isinstance(sciswift, dict) and sciswift.get("conditional_put") is True

    # ------------------------------------------------------------- requests
    def _call(
        self,
        method: str,
        container: str | None = None,
        name: str | None = None,
        *,
        what: str,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str | bytes] | None = None,
        body: bytes | Body | None = None,
        stream: bool = False,
        idempotent: bool = True,
        special: Mapping[int, type[SciSwiftError]] | None = None,
    ) -> urllib3.BaseHTTPResponse:
        if self._closed:
            raise InvalidInput(f"{self!r} is closed")
        subject = _subject(container, name) if container is not None else self.credentials.endpoint
        resp = self._conn.request(method, object_path(container, name), query=query, headers=headers,
                                  body=body, stream=stream, idempotent=idempotent, subject=subject)
        if resp.status >= 300:
            try:
                raise_for(resp, method, what, subject, special)
            except SciSwiftError as e:
                # An earlier attempt may have done it (a 404 to a repeated DELETE).
                e.maybe_repeated = maybe_repeated(resp)  # type: ignore[attr-defined]
                raise
            finally:
                resp.release_conn()
        return resp

    # -------------------------------------------------------------- account
    def account_info(self) -> AccountInfo:
        resp = self._call("HEAD", what="account")
        return hdr.account_info(resp.headers)

    def post_account(
        self, metadata: Mapping[str, str] | None = None, system: Mapping[str, str] | None = None
    ) -> None:
        headers = {
            **hdr.meta_headers("Account", metadata, removable=True),
            **hdr.system_headers(system, hdr.ACCOUNT_SYSTEM_HEADERS, "account", removable=True),
        }
        self._call("POST", what="account", headers=headers)

    def list_containers(self, params: ListingParams = ListingParams()) -> list[ContainerInfo | Subdir]:
        limit = self._listing_limit("account_listing_limit", ACCOUNT_LISTING_LIMIT)
        return self._list(None, params, hdr.container_entry, limit)

    def _listing_limit(self, key: str, default: int, wanted: int | None = None) -> int:
        """The server's most entries per listing request (``/info``), or
        ``default``. A listing of at most ``_SMALL_LISTING`` entries does not wait
        for ``/info`` to learn it (no server refuses so few): a file's creation
        asks for one name beside its first GET."""
        if wanted is not None and wanted <= _SMALL_LISTING:
            info = self._conn.info_if_known() or {}
        else:
            info = self._conn.info()
        value = info.get("swift", {}).get(key, default)
        return int(value) if isinstance(value, int) and value > 0 else default

    def _list(
        self,
        container: str | None,
        params: ListingParams,
        parse: Callable[[Mapping[str, Any]], Any],
        page_limit: int,
    ) -> list[Any]:
        """A whole listing, paged through the server's per-request limit."""
        what = "account listing" if container is None else f"container {container}"
        out: list[Any] = []
        marker = params.marker
        while True:
            want = page_limit if params.limit is None else min(page_limit, max(params.limit - len(out), 0))
            query = {"format": "json", "limit": str(max(want, 1))}
            for k, v in (("prefix", params.prefix), ("delimiter", params.delimiter),
                         ("marker", marker), ("end_marker", params.end_marker)):
                if v:
                    query[k] = v
            if params.reverse:
                query["reverse"] = "true"
            if params.metadata and container is not None and self.listing_metadata:
                query["with_metadata"] = "true"
            resp = self._call("GET", container, what=what, query=query)
            if want == 0:
                return out  # limit 0: the request only proved the container exists
            page = json.loads(resp.data) if resp.status != 204 and resp.data else []
            out.extend(parse(item) for item in page)
            if len(page) < want or (params.limit is not None and len(out) >= params.limit):
                return out
            last = page[-1]
            marker = last.get("subdir") or last["name"]

    # ------------------------------------------------------------ container
    def create_container(
        self,
        container: str,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> bool:
        check_container_name(container)
        headers = self._container_headers(container, metadata, system)
        resp = self._call("PUT", container, what=f"container {container}", headers=headers)
        return resp.status == 201

    @staticmethod
    def _container_headers(container: str, metadata: Mapping[str, str] | None,
                           system: Mapping[str, str] | None) -> dict[str, bytes]:
        return {
            **hdr.meta_headers("Container", metadata, removable=True),
            **hdr.system_headers(system, hdr.CONTAINER_SYSTEM_HEADERS, container, removable=True),
        }

    def delete_container(self, container: str) -> None:
        check_container_name(container)
        self._call("DELETE", container, what=f"container {container}",
                   special={409: ContainerNotEmpty})

    def head_container(self, container: str) -> ContainerInfo:
        check_container_name(container)
        resp = self._call("HEAD", container, what=f"container {container}")
        return hdr.container_info(container, resp.headers)

    def post_container(
        self,
        container: str,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> None:
        check_container_name(container)
        headers = self._container_headers(container, metadata, system)
        self._call("POST", container, what=f"container {container}", headers=headers)

    def list_objects(
        self, container: str, params: ListingParams = ListingParams()
    ) -> list[ObjectInfo | Subdir]:
        check_container_name(container)
        limit = self._listing_limit("container_listing_limit", CONTAINER_LISTING_LIMIT, params.limit)
        own = self._own_account()
        return self._list(container, params, lambda item: hdr.listing_entry(item, own), limit)

    def _own_account(self) -> str:
        """This store's account, as its storage URL names it (unquoted)."""
        path = urlsplit(self._conn.auth()[0]).path
        return unquote(path.rstrip("/").rpartition("/")[2], errors="surrogateescape")

    # --------------------------------------------------------------- object
    def head_object(self, container: str, name: str) -> ObjectInfo:
        return self._head(container, name)

    def head_link(self, container: str, name: str) -> ObjectInfo:
        """See ``Store.head_link``: ``HEAD ?symlink=get``, which an endpoint without
        symlinks ignores (answering the object, which is then no link)."""
        return self._head(container, name, {"symlink": "get"})

    def _head(self, container: str, name: str, query: Mapping[str, str] | None = None) -> ObjectInfo:
        check_container_name(container)
        check_object_name(name)
        resp = self._call("HEAD", container, name, what=f"object {container}/{name}", query=query,
                          headers=self._newest_headers(None))
        return hdr.object_info(name, resp.headers)

    def _link_system(self, container: str, name: str, target_container: str, target_name: str) -> dict[str, str]:
        """See ``Store._link_system``: ``X-Symlink-Target``, where ``/info`` lists
        ``symlink`` (NotSupported otherwise: a Swift without symlinks would
        store an empty object)."""
        check_container_name(target_container)
        check_object_name(target_name)
        if "symlink" not in self._conn.info():
            raise NotSupported(f"{self.credentials.endpoint} has no symlinks (/info), so {container}/{name} "
                               "cannot be one", _subject(container, name))
        return {HEADER_TARGET: quoted_target(target_container, target_name)}

    def _newest_headers(self, name: str | None) -> dict[str, str | bytes]:
        """``X-Newest`` for a read of ``name`` (None: a HEAD or a manifest) when
        ``newest`` asks for it (see the module docstring)."""
        if self.newest == "all" or (self.newest == "metadata" and (
                name is None or name.rsplit("/", 1)[-1] in _METADATA_NAMES)):
            return {"X-Newest": "true"}
        return {}

    def _get(
        self,
        container: str,
        name: str,
        byte_range: ByteRange | None,
        *,
        stream: bool,
        if_match: str | None = None,
    ) -> tuple[urllib3.BaseHTTPResponse | None, ObjectInfo, int, int, int]:
        """GET an object (range); returns the response, the object's info, the
        (start, stop) the caller gets and how many leading body bytes to skip.
        The response is None when the range selects no byte of an empty object."""
        check_container_name(container)
        check_object_name(name)
        subject = _subject(container, name)
        what = f"object {subject}"
        headers: dict[str, str | bytes] = self._newest_headers(name)
        whole = byte_range is None or (byte_range.start == 0 and byte_range.end is None
                                       and byte_range.suffix is None)
        if not whole:
            assert byte_range is not None
            headers["Range"] = "bytes=" + byte_range.to_header_spec()
        if if_match:
            headers["If-Match"] = f'"{if_match}"'
        resp = self._conn.request("GET", object_path(container, name), headers=headers,
                                  stream=stream, subject=subject)
        if resp.status == 416 and byte_range is not None:
            resp.release_conn()
            m = re.match(r"bytes\s+\*/(\d+)", resp.headers.get("Content-Range", ""))
            if m:
                try:
                    start, stop = byte_range.resolve(int(m.group(1)))
                except RangeNotSatisfiable as e:
                    raise RangeNotSatisfiable(f"{what}: {e}", subject) from None
                # HTTP has no satisfiable suffix of an empty body; the Store contract does.
                return None, self.head_object(container, name), start, stop, 0
        if resp.status >= 300:
            try:
                raise_for(resp, "GET", what, subject, {412: PreconditionFailed})
            finally:
                resp.release_conn()
        if resp.status == 206:
            m = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
            if not m:
                resp.close()
                raise CorruptData(f"{what}: 206 answer without a usable Content-Range", subject)
            first, last, total = m.groups()
            size = int(total) if total != "*" else int(last) + 1
            return resp, hdr.object_info(name, resp.headers, size=size), int(first), int(last) + 1, 0
        info = hdr.object_info(name, resp.headers)
        start, stop = (byte_range or ByteRange()).resolve(info.size)
        return resp, info, start, stop, start

    @staticmethod
    def _selects_nothing(byte_range: ByteRange | None) -> bool:
        # Empty ranges cannot be said in HTTP; they are decided from the size alone.
        return byte_range is not None and (byte_range.suffix == 0 or byte_range.end == byte_range.start)

    def open_object(
        self, container: str, name: str, byte_range: ByteRange | None = None, *, need_etag: bool = True
    ) -> ObjectReader:
        if self._selects_nothing(byte_range):
            info = self.head_object(container, name)
            start, stop = byte_range.resolve(info.size)  # type: ignore[union-attr]
            return BytesReader(info, b"", start, stop)  # start == stop: nothing to read
        resp, info, start, stop, skip = self._get(container, name, byte_range, stream=True)
        if resp is None:
            return BytesReader(info, b"", start, stop)

        def reopen(offset: int, etag: str) -> urllib3.BaseHTTPResponse:
            again = self._get(container, name, ByteRange(offset, stop), stream=True, if_match=etag)[0]
            assert again is not None
            return again

        return SwiftObjectReader(info, start, stop, resp, reopen, skip=skip)

    def get_object(self, container: str, name: str, byte_range: ByteRange | None = None) -> bytes:
        if self._selects_nothing(byte_range):
            return self.open_object(container, name, byte_range).read()
        resp, _info, start, stop, skip = self._get(container, name, byte_range, stream=False)
        if resp is None:
            return b""
        data = resp.data or b""
        return data[skip: skip + (stop - start)] if skip or len(data) != stop - start else data

    def put_object(
        self,
        container: str,
        name: str,
        data: PutData,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
        mode: PutMode = OVERWRITE,
        etag: str | None = None,
    ) -> ObjectInfo:
        check_container_name(container)
        check_object_name(name)
        subject = _subject(container, name)
        content_type = content_type or "application/octet-stream"
        headers = self._object_headers(subject, content_type, metadata, system)
        if isinstance(mode, IfMatch) and not self.supports_conditional_put:
            self._check_if_match(container, name, mode)
        source = PutSource(data, self.large_object_threshold, subject)
        try:
            if source.small is not None:
                resp = self._put_body(container, name, source.small, headers, mode, etag)
                size = source.small.length
                extra: dict[str, str] = {}
            else:
                resp, size = self._put_large(container, name, source, headers, mode, etag)
                extra = {"x-static-large-object": "true"}
        finally:
            source.close()
        return ObjectInfo(
            name=name,
            size=size,
            etag=hdr.strip_etag(resp.headers.get("Etag")),
            timestamp=_response_time(resp),
            content_type=content_type,
            metadata=replaced_metadata(metadata),
            system={**replaced_metadata(system), **extra},
        )

    @staticmethod
    def _object_headers(subject: str, content_type: str, metadata: Mapping[str, str] | None,
                        system: Mapping[str, str] | None) -> dict[str, str | bytes]:
        return {
            "Content-Type": content_type.encode("utf-8"),
            **hdr.meta_headers("Object", metadata, removable=False),
            **hdr.system_headers(
                {k: v for k, v in (system or {}).items() if k.lower() not in hdr.READ_ONLY_OBJECT_HEADERS},
                hdr.OBJECT_SYSTEM_HEADERS, subject, removable=False,
            ),
        }

    def _check_if_match(self, container: str, name: str, mode: IfMatch) -> ObjectInfo:
        subject = _subject(container, name)
        try:
            current = self.head_object(container, name)
        except NotFound:
            raise PreconditionFailed(
                f"object {subject} does not exist, so it cannot have ETag {mode.etag}", subject
            ) from None
        if current.etag != hdr.strip_etag(mode.etag):
            raise PreconditionFailed(
                f"object {subject} has ETag {current.etag}, not {mode.etag}", subject
            )
        return current

    @staticmethod
    def _mode_headers(mode: PutMode) -> tuple[dict[str, str], dict[int, type[SciSwiftError]]]:
        if mode == CREATE:
            return {"If-None-Match": "*"}, {412: AlreadyExists}
        if isinstance(mode, IfMatch):
            return {"If-Match": f'"{hdr.strip_etag(mode.etag)}"'}, {412: PreconditionFailed}
        return {}, {}

    def _put_body(
        self,
        container: str,
        name: str,
        body: Body,
        headers: Mapping[str, str | bytes],
        mode: PutMode,
        etag: str | None,
        query: Mapping[str, str] | None = None,
        stored_etag: str | None = None,
    ) -> urllib3.BaseHTTPResponse:
        """One PUT of a re-readable body; checks what Swift stored against what was sent.

        A conditional PUT (CREATE, IfMatch) is retried like any other; if a
        retry is refused (412) after an earlier attempt may have gone through
        (its answer was lost), a HEAD decides: the object holding exactly the
        ETag this PUT stores (``stored_etag``, else the body's MD5) is this
        PUT's own work, and the PUT succeeded."""
        mode_headers, special = self._mode_headers(mode)
        send: dict[str, str | bytes] = {**headers, **mode_headers}
        if etag:
            send["ETag"] = hdr.strip_etag(etag)
        try:
            resp = self._call("PUT", container, name, what=f"object {container}/{name}", query=query,
                              headers=send, body=body, special=special)
        except (AlreadyExists, PreconditionFailed) as e:
            if not getattr(e, "maybe_repeated", False):
                raise
            head = self._call("HEAD", container, name, what=f"object {container}/{name}")
            if hdr.strip_etag(head.headers.get("Etag")) != (stored_etag or body.md5):
                raise
            return head
        stored = hdr.strip_etag(resp.headers.get("Etag"))
        if body.md5 and stored and stored != body.md5 and not query:
            raise CorruptData(
                f"object {container}/{name}: Swift stored MD5 {stored} but {body.md5} was sent",
                _subject(container, name),
            )
        return resp

    # -- static large objects
    def _put_large(
        self,
        container: str,
        name: str,
        source: PutSource,
        headers: Mapping[str, str | bytes],
        mode: PutMode,
        etag: str | None,
    ) -> tuple[urllib3.BaseHTTPResponse, int]:
        subject = _subject(container, name)
        slo = self._conn.info().get("slo", {})
        max_segments = int(slo.get("max_manifest_segments", 1000))
        segment_size = self.segment_size
        if source.size is not None:
            # Bigger segments rather than a manifest longer than the server allows.
            segment_size = max(segment_size, math.ceil(source.size / max_segments))
        if etag and source.size is not None and source.md5() != hdr.strip_etag(etag):
            raise ChecksumMismatch(f"body of {subject} has MD5 {source.md5()}, not {etag}", subject)
        self.head_container(container)  # NotFound before any segment is written
        previous = self._previous_segments(container, name, mode)
        self._ensure_container(segments_container(container))
        segments = upload_segments(
            lambda c, n, body: self._put_body(c, n, body, {}, OVERWRITE, None).headers.get("Etag", ""),
            self._delete_segments, source, container=container, name=name,
            segment_size=segment_size, workers=self.segment_workers, max_segments=max_segments,
        )
        try:
            if etag and source.size is None and source.md5() != hdr.strip_etag(etag):
                raise ChecksumMismatch(f"body of {subject} has MD5 {source.md5()}, not {etag}", subject)
            if isinstance(mode, IfMatch):
                self._check_if_match(container, name, mode)  # again: the upload took a while
            manifest = json.dumps([s.manifest_entry() for s in segments]).encode()
            resp = self._put_body(container, name, Body.of_bytes(manifest), headers, mode, None,
                                  query={"multipart-manifest": "put"}, stored_etag=slo_etag(segments))
        except BaseException:
            self._delete_segments(segments)
            raise
        if hdr.strip_etag(resp.headers.get("Etag")) != slo_etag(segments):
            raise CorruptData(f"{subject}: the manifest Swift stored does not match the segments sent", subject)
        if previous:
            self._delete_segments(previous)
        return resp, sum(s.size for s in segments)

    def _previous_segments(self, container: str, name: str, mode: PutMode) -> list[Segment]:
        """Segments of the large object being replaced that this store's uploads
        created (deleted once the new manifest is stored); AlreadyExists for CREATE."""
        subject = _subject(container, name)
        try:
            current = self.head_object(container, name)
        except NotFound:
            return []
        if mode == CREATE:
            raise AlreadyExists(f"object {subject} already exists", subject)
        if current.system.get("x-static-large-object", "").lower() != "true":
            return []
        return [s for s in self._manifest(container, name)
                if s.container == segments_container(container) and "/slo/" in s.name]

    def _manifest(self, container: str, name: str) -> list[Segment]:
        resp = self._call("GET", container, name, what=f"manifest of {container}/{name}",
                          query={"multipart-manifest": "get"}, headers=self._newest_headers(None))
        try:
            entries = json.loads(resp.data)
        except ValueError:
            return []
        out = []
        for e in entries:
            seg_container, _, seg_name = e.get("name", "").lstrip("/").partition("/")
            if seg_container and seg_name:
                out.append(Segment(seg_container, seg_name, e.get("hash", ""), int(e.get("bytes", 0))))
        return out

    def put_manifest(
        self,
        container: str,
        name: str,
        segments: Sequence[SegmentRef],
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        mode: PutMode = OVERWRITE,
    ) -> ObjectInfo:
        # Swift checks every segment itself (400 naming the bad ones).
        check_container_name(container)
        check_object_name(name)
        subject = _subject(container, name)
        if not segments:
            raise InvalidInput(f"large object {subject} needs at least one segment", subject)
        check_ranges(segments, subject)
        content_type = content_type or "application/octet-stream"
        headers = self._object_headers(subject, content_type, metadata, None)
        if isinstance(mode, IfMatch) and not self.supports_conditional_put:
            self._check_if_match(container, name, mode)
        body = json.dumps([{"path": s.path, "etag": s.etag, "size_bytes": s.whole_size,
                            **({"range": s.range} if s.ranged else {})} for s in segments]).encode()
        resp = self._put_body(container, name, Body.of_bytes(body), headers, mode, None,
                              query={"multipart-manifest": "put"}, stored_etag=large_slo_etag(segments))
        etag = hdr.strip_etag(resp.headers.get("Etag"))
        if etag != large_slo_etag(segments):
            raise CorruptData(f"{subject}: the manifest Swift stored does not match the segments sent", subject)
        return ObjectInfo(
            name=name, size=sum(s.size for s in segments), etag=etag, timestamp=_response_time(resp),
            content_type=content_type,
            metadata=replaced_metadata(metadata),
            system={"x-static-large-object": "true"},
        )

    def get_manifest(self, container: str, name: str, *, head: ObjectInfo | None = None) -> list[SegmentRef] | None:
        # HEAD first (unless the caller has one): a GET with multipart-manifest=get
        # of an ordinary object would send its whole body.
        if not is_large_object(head if head is not None else self.head_object(container, name)):
            return None
        subject = _subject(container, name)
        resp = self._call("GET", container, name, what=f"manifest of {subject}", stream=head is not None,
                          query={"multipart-manifest": "get"}, headers=self._newest_headers(None))
        if head is None:
            return parse_stored_manifest(resp.data or b"", subject)
        if not is_true_flag(resp.headers.get("X-Static-Large-Object")):
            resp.close()  # replaced by an ordinary object since that HEAD: its body is not read
            return self.get_manifest(container, name)
        body = resp.read(_MAX_MANIFEST_BYTES + 1)
        if len(body) > _MAX_MANIFEST_BYTES:
            resp.close()
            raise CorruptData(f"{subject}: large-object manifest over {_MAX_MANIFEST_BYTES} bytes", subject)
        resp.release_conn()
        return parse_stored_manifest(body, subject)

    def _ensure_container(self, container: str) -> None:
        self._call("PUT", container, what=f"container {container}")

    def _delete_segments(self, segments: list[Segment]) -> None:
        """Best effort: a segment left behind wastes space but breaks nothing."""
        by_container: dict[str, list[str]] = {}
        for s in segments:
            by_container.setdefault(s.container, []).append(s.name)
        for seg_container, names in by_container.items():
            try:
                self._delete_plain(seg_container, names, self.max_workers)
            except SciSwiftError:
                pass

    # -- delete, post, copy
    def delete_object(self, container: str, name: str) -> None:
        self._delete(container, name, self._delete_with_segments)

    def delete_link(self, container: str, name: str) -> None:
        """See ``Store.delete_link``: a plain DELETE (``multipart-manifest=delete``
        would read the manifest through the link, and take the segments of a
        large object it points at)."""
        self._delete(container, name, self._delete_one)

    def _delete(self, container: str, name: str, how: Callable[[str, str], None]) -> None:
        check_container_name(container)
        check_object_name(name)
        try:
            how(container, name)
        except NotFound as e:
            if not getattr(e, "maybe_repeated", False):
                raise
            # 404 to a DELETE repeated after its answer was lost: the earlier
            # attempt may have deleted it. Either way it is gone, as asked.

    def _delete_one(self, container: str, name: str) -> None:
        self._call("DELETE", container, name, what=f"object {container}/{name}")

    def _delete_with_segments(self, container: str, name: str) -> None:
        """DELETE an object; a static large object is deleted with its segments
        (``multipart-manifest=delete``). Which it is, a ``HEAD ?symlink=get``
        says first: Swift's large-object DELETE reads the manifest through a
        symlink, so a link to a large object would take the target's segments
        and leave it broken (seen on ``sciswift serve``, which does as Swift
        2.38.3's slo middleware; before, a plain object also took two requests:
        the refused ``multipart-manifest=delete``, then its DELETE)."""
        what = f"object {container}/{name}"
        if "slo" not in self._conn.info() or not is_large_object(self.head_link(container, name)):
            self._delete_one(container, name)
            return
        subject = _subject(container, name)
        resp = self._conn.request("DELETE", object_path(container, name),
                                  query={"multipart-manifest": "delete"},
                                  headers={"Accept": "application/json"}, subject=subject)
        if resp.status == 200:
            result = _bulk_result(resp.data, what)
            if result.get("Number Deleted"):
                _raise_bulk_errors(result, what, subject)
                return
            if result.get("Number Not Found"):
                gone = NotFound(f"{what}: DELETE answered 404 Not Found", subject)
                gone.maybe_repeated = maybe_repeated(resp)  # type: ignore[attr-defined]
                raise gone
            if not any("Not an SLO manifest" in str(e) for e in result.get("Errors") or []):
                _raise_bulk_errors(result, what, subject)
        else:
            _discard_response(resp)
        # Not a manifest: an ordinary DELETE.
        self._delete_one(container, name)

    def delete_manifest(self, container: str, name: str) -> None:
        # A plain DELETE removes a manifest and leaves its segments.
        check_container_name(container)
        check_object_name(name)
        self._call("DELETE", container, name, what=f"object {container}/{name}")

    def post_object(
        self,
        container: str,
        name: str,
        *,
        metadata: Mapping[str, str],
        content_type: str | None = None,
        system: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        current = self.head_object(container, name)
        subject = _subject(container, name)
        merged = merge_metadata(
            {k: v for k, v in current.system.items() if k not in hdr.PUT_ONLY_OBJECT_HEADERS}, system
        )
        headers = self._object_headers(subject, content_type or current.content_type,
                                       replaced_metadata(metadata), merged)
        self._call("POST", container, name, what=f"object {subject}", headers=headers)
        return self.head_object(container, name)

    def copy_object(
        self,
        src_container: str,
        src_name: str,
        dst_container: str,
        dst_name: str,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        system: Mapping[str, str] | None = None,
        fresh_metadata: bool = False,
        mode: PutMode = OVERWRITE,
    ) -> ObjectInfo:
        """Server-side copy (``X-Copy-From``): the bytes never pass through here.
        A copy of a large object is one ordinary object (Swift limits it to
        ``max_file_size``, 5 GiB by default)."""
        check_container_name(dst_container)
        check_object_name(dst_name)
        src = self.head_object(src_container, src_name)
        subject = _subject(dst_container, dst_name)
        meta = copied_metadata(src.metadata, metadata, fresh=fresh_metadata)
        sysmeta = copied_metadata(src.system, system, not_copied=hdr.READ_ONLY_OBJECT_HEADERS)
        ctype = content_type or src.content_type
        if isinstance(mode, IfMatch):
            self._check_if_match(dst_container, dst_name, mode)
        mode_headers, special = self._mode_headers(mode)
        headers: dict[str, str | bytes] = {
            **self._object_headers(subject, ctype, meta, sysmeta),
            **mode_headers,
            "X-Copy-From": object_path(src_container, src_name).encode(),
            "X-Fresh-Metadata": "true",
            "Content-Length": "0",
        }
        resp = self._call("PUT", dst_container, dst_name, what=f"copy of {src_container}/{src_name} "
                          f"to {subject}", headers=headers, body=b"", special=special)
        return ObjectInfo(
            name=dst_name, size=src.size, etag=hdr.strip_etag(resp.headers.get("Etag")),
            timestamp=_response_time(resp), content_type=ctype, metadata=meta, system=sysmeta,
        )

    # ------------------------------------------------------------- bulk ops
    def get_many(
        self, container: str, names: Sequence[str], *, max_workers: int | None = None
    ) -> dict[str, bytes]:
        """Bodies of many objects, fetched concurrently; missing names are left out.

        Where the endpoint answers many objects in one request (``/info``:
        ``sciswift.batched_get``, once known: see ``_batched_get_limits``), they
        travel in a few batches, several at once (256 objects of 256 KiB from a
        local ``sciswift serve``, loaded 2-core VM: 231-296 ms one GET each,
        171-269 ms batched)."""
        def one(name: str) -> tuple[str, bytes | None]:
            try:
                return name, self.get_object(container, name)
            except NotFound:
                return name, None

        found: dict[str, bytes] = {}
        alone: Sequence[str] = names
        announced = self._batched_get_limits() if len(names) >= MIN_BATCHED_GET else None
        if announced:
            check_container_name(container)
            for name in names:
                check_object_name(name)
            alone = []
            for got, left in self._map(lambda b: self._get_batch(container, b),
                                       plan_get_batches(names, announced, max_workers), max_workers):
                found.update(got)
                alone.extend(left)
        pairs = self._map(one, alone, max_workers)
        found.update((n, b) for n, b in pairs if b is not None)
        return found

    def read_many_into(
        self, container: str, names: Sequence[str], buf: memoryview, consume: Callable[[str], None],
        absent: Callable[[str], None] | None = None,
    ) -> list[str]:
        """See ``Store.read_many_into``. Where the endpoint has batched GETs, the
        names go in batches one after another (the caller runs several calls at
        once for concurrency), each body read from the socket straight into
        ``buf`` (see ``batched_get.read_batch_into``); elsewhere one GET each."""
        check_container_name(container)
        for name in names:
            check_object_name(name)
        announced = self._batched_get_limits(wait=_INFO_WAIT) if len(names) >= MIN_BATCHED_GET else None
        if not announced:
            left = []
            for name in names:
                try:
                    data = self.get_object(container, name)
                except NotFound:
                    left.append(name)
                    continue
                if len(data) != len(buf):
                    left.append(name)
                    continue
                buf[:] = data
                consume(name)
            return left
        left = []
        for batch in plan_get_batches(names, announced, 1):
            left.extend(self._read_batch_into(container, batch, buf, consume, absent))
        return left

    def _read_batch_into(self, container: str, names: list[str], buf: memoryview, consume: Callable[[str], None],
                         absent: Callable[[str], None] | None) -> list[str]:
        """One ``?get-many`` request read into ``buf``; the names not handled (all
        of them if the request fails as a whole, the rest if the reply is cut
        short: their own GETs then raise the precise error, if any)."""
        handled: set[str] = set()
        return self._batched_get(
            container, names, lambda resp, what: read_batch_into(resp, what, buf, consume, absent, handled),
            lambda: [n for n in names if n not in handled],
        )

    def _get_batch(self, container: str, names: list[str]) -> tuple[dict[str, bytes], list[str]]:
        """``(bodies, names to GET alone)`` of one ``?get-many`` request; a
        batch that fails as a whole (cut short, refused) is left to single GETs,
        which raise the precise error if there is one."""
        return self._batched_get(container, names, read_batch, lambda: ({}, names))

    def _batched_get(self, container: str, names: list[str], read: Callable[[urllib3.BaseHTTPResponse, str], T],
                     failed: Callable[[], T]) -> T:
        """``read(reply, what)`` of one ``?get-many`` request for ``names`` (its
        reply streamed), or ``failed()`` when the request or its reading fails."""
        what = f"batched GET in {container}"
        try:
            resp = self._call("POST", container, what=what, query={"get-many": ""}, stream=True,
                              headers={"Content-Type": "text/plain", "Accept": BATCH_CONTENT_TYPE},
                              body=batch_request_body(names))
        except SciSwiftError:
            return failed()
        try:
            return read(resp, what)
        except (SciSwiftError, urllib3.exceptions.HTTPError, OSError):
            return failed()
        finally:
            _discard_response(resp)

    def put_many(
        self,
        container: str,
        items: Mapping[str, bytes],
        *,
        max_workers: int | None = None,
        content_types: Mapping[str, str] | None = None,
        etags: Mapping[str, str] | None = None,
    ) -> None:
        """Store many objects concurrently (each atomically; the batch is not).
        ``etags``: the MD5 some objects must have (ChecksumMismatch otherwise).

        Where the endpoint stores an uploaded archive's files together (``/info``:
        ``sciswift.batched_extract``), objects of up to 1 MiB travel as tar
        archives, a few at once, instead of one PUT each, each file carrying its
        CRC-32C or MD5 for the server to check (2,000 objects of 800 bytes to a durable
        ``sciswift serve``: 1.8-1.9 s one PUT each, 0.27-0.32 s in archives; 256
        of 256 KiB: 0.5-1.0 s against 0.23-0.27 s of server CPU)."""
        check_container_name(container)
        for name in items:
            check_object_name(name)
        types = content_types or {}
        sums = etags or {}
        alone = list(items)
        if len(items) >= _MIN_BATCHED and self._offers("batched_extract"):
            batches, alone = plan_batches(items)
            self._map(lambda b: self._put_archive(container, b, items, types, sums), batches,
                      min(max_workers or _ARCHIVES_AT_ONCE, _ARCHIVES_AT_ONCE))

        def one(name: str) -> None:
            self.put_object(container, name, items[name], content_type=types.get(name), etag=sums.get(name))

        self._map(one, alone, max_workers)

    def _put_archive(
        self, container: str, names: list[str], items: Mapping[str, bytes], types: Mapping[str, str],
        etags: Mapping[str, str],
    ) -> None:
        """Upload ``names`` as one archive, each file with its MD5 (``etags``' or
        computed here) or, where the server offers it, its CRC-32C (for files
        without an ``etags`` MD5: 35x cheaper to compute), which the server
        checks; any file the server did not store (or a refused archive) is
        sent again with its own PUT, which raises the precise error if it fails
        again."""
        what = f"batched upload into {container}"
        crcs: dict[str, int] = {}
        if self._offers("extract_crc32c"):
            sums = {n: etags[n] for n in names if n in etags}
            crcs = {n: crc32c.crc32c(items[n]) for n in names if n not in sums}
        else:
            sums = {n: etags.get(n) or hashlib.md5(items[n]).hexdigest() for n in names}
        pieces, length = tar_pieces(names, items, types, sums, crcs)
        try:
            resp = self._call("PUT", container, what=what, query={"extract-archive": "tar"},
                              headers={"Accept": "application/json", "Content-Type": "application/x-tar"},
                              body=Body(length, lambda: iter(pieces), digest=False))
            result = _bulk_result(resp.data, what)
            ok = str(result.get("Response Status", "")).startswith("2") and not result.get("Errors") and int(
                result.get("Number Files Created", -1)) == len(names)
        except (SciSwiftError, ValueError, TypeError):
            ok = False
        if not ok:
            for name in names:
                self.put_object(container, name, items[name], content_type=types.get(name), etag=etags.get(name))

    def delete_many(
        self, container: str, names: Iterable[str], *, max_workers: int | None = None
    ) -> int:
        """Delete many objects, ignoring ones already gone; returns how many were
        deleted. Static large objects lose their segments too: while a
        ``<container>_segments`` container exists, each object is deleted on its
        own with ``multipart-manifest=delete``; otherwise in ``?bulk-delete``
        batches when the endpoint offers it."""
        names = list(names)
        check_container_name(container)
        for n in names:
            check_object_name(n)
        if not names:
            return 0
        try:
            self.head_container(segments_container(container))
            has_segments = True
        except (NotFound, InvalidInput):
            has_segments = False
        if has_segments and "slo" in self._conn.info():
            def one(name: str) -> int:
                try:
                    self._delete_with_segments(container, name)
                    return 1
                except NotFound:
                    return 0
            return sum(self._map(one, names, max_workers))
        return self._delete_plain(container, names, max_workers)

    def _delete_plain(self, container: str, names: list[str], max_workers: int | None) -> int:
        bulk = self._conn.info().get("bulk_delete")
        if not bulk:
            def one(name: str) -> int:
                try:
                    self._delete_one(container, name)
                    return 1
                except NotFound:
                    return 0
            return sum(self._map(one, names, max_workers))
        per_request = int(bulk.get("max_deletes_per_request", 10000))
        workers = max_workers or self.max_workers
        # Several smaller batches in parallel: the proxy works through one batch
        # with little concurrency of its own.
        size = max(1, min(per_request, math.ceil(len(names) / max(1, min(workers, 8)))))
        batches = [names[i:i + size] for i in range(0, len(names), size)]
        return sum(self._map(lambda b: self._bulk_delete(container, b), batches, workers))

    def _bulk_delete(self, container: str, names: list[str]) -> int:
        body = "\n".join(quote(f"/{container}/{n}".encode()) for n in names).encode()
        resp = self._call("POST", what=f"bulk delete in {container}", query={"bulk-delete": "true"},
                          headers={"Content-Type": "text/plain", "Accept": "application/json"},
                          body=Body.of_bytes(body))
        result = _bulk_result(resp.data, f"bulk delete in {container}")
        _raise_bulk_errors(result, f"bulk delete in {container}", container)
        return int(result.get("Number Deleted", 0))

    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any], max_workers: int | None) -> list[Any]:
        """``[fn(x) for x in items]``, at most ``max_workers`` at once, on the store's
        own thread pool. Threads are kept between calls: starting them per call
        cost ~1 ms each (a 50-object ``get_many`` spent 17 of its 22 ms there).
        A call from one of the pool's own threads runs serially (no deadlock)."""
        workers = min(max_workers or self.max_workers, len(items))
        if workers <= 1 or threading.current_thread().name.startswith(_POOL_PREFIX):
            return [fn(x) for x in items]
        pool = self._worker_pool()
        if workers >= self.max_workers:
            return list(pool.map(fn, items))
        # Fewer at once than the pool has threads: ``workers`` lanes, each serial.
        lanes = [list(range(i, len(items), workers)) for i in range(workers)]
        out: list[Any] = [None] * len(items)

        def run(lane: list[int]) -> None:
            for i in lane:
                out[i] = fn(items[i])

        for done in [pool.submit(run, lane) for lane in lanes]:
            done.result()
        return out

    def _worker_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise InvalidInput(f"{self!r} is closed")
            # A forked child inherits the pool object but not its threads.
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix=_POOL_PREFIX)
                self._pool_pid = os.getpid()
            return self._pool

    # ------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Release the connections (kept open for the next store of the same
        account and tuning where shared). The store must not be used afterwards."""
        with self._lock:
            if not self._closed:
                self._closed = True
                if self._shared_key is not None:
                    shared_connections.release(self._shared_key, self._conn)
                else:
                    self._conn.close()
                if self._pool is not None and self._pool_pid == os.getpid():
                    self._pool.shutdown(wait=False)
                self._pool = None


_TUNING = frozenset({
    "pool_size", "retries", "backoff", "connect_timeout", "read_timeout",
    "large_object_threshold", "segment_size", "segment_workers", "max_workers", "newest", "prewarm",
    "token_cache", "share_connections",
})
#: Objects whose current version decides how the others are read: the Zarr v3
#: document (the native layout's) and Zarr v2's.
_METADATA_NAMES = frozenset({"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"})
#: Tuning read from the environment by ``from_environment`` (so ``swift://`` URLs,
#: the mount and the CLI take it too): name -> (variable, type).
_TUNING_ENV: dict[str, tuple[str, Callable[[str], Any]]] = {
    "retries": ("SCISWIFT_RETRIES", int),
    "backoff": ("SCISWIFT_BACKOFF", float),
    "connect_timeout": ("SCISWIFT_CONNECT_TIMEOUT", float),
    "read_timeout": ("SCISWIFT_READ_TIMEOUT", float),
    "newest": ("SCISWIFT_NEWEST", str),
    "prewarm": ("SCISWIFT_PREWARM", int),
}


def _response_time(resp: urllib3.BaseHTTPResponse) -> float:
    # Swift's PUT answers carry only Last-Modified, rounded up to the second; the
    # local clock is closer to the X-Timestamp a HEAD would then report.
    ts = resp.headers.get("X-Timestamp")
    try:
        return float(ts) if ts else time.time()
    except ValueError:
        return time.time()


_POOL_PREFIX = "sciswift-swift"
#: put_many sends archives for at least this many objects (fewer: plain PUTs).
_MIN_BATCHED = 16
#: Archives uploaded at once by one ``put_many``.
_ARCHIVES_AT_ONCE = 4
#: How long a read of many chunks waits for an ``/info`` already asked for
#: (sent beside the file's root document at open, so usually there already).
_INFO_WAIT = 2.0


def _bulk_result(data: bytes | None, what: str) -> dict[str, Any]:
    # Bulk answers stream whitespace while they work, then one JSON document.
    try:
        result = json.loads((data or b"").strip() or b"{}")
    except ValueError:
        raise CorruptData(f"{what}: unreadable answer {(data or b'')[:200]!r}", what) from None
    return result if isinstance(result, dict) else {}


def _raise_bulk_errors(result: Mapping[str, Any], what: str, subject: str) -> None:
    errors = [e for e in result.get("Errors") or [] if not str(e[1]).startswith("404")]
    status = str(result.get("Response Status", "200"))
    if errors:
        path, err = errors[0]
        code = int(str(err).split()[0]) if str(err)[:3].isdigit() else 500
        raise error_for_status(code, f"{what}: {path} failed with {err} "
                               f"({len(errors)} error(s) in all)", subject)
    if not status.startswith("2") and not status.startswith("404"):
        code = int(status[:3]) if status[:3].isdigit() else 500
        raise error_for_status(code, f"{what}: {status} {result.get('Response Body', '')}".strip(), subject)


def reopen_swift_store(credentials: SwiftCredentials, tuning: dict[str, Any]) -> SwiftStore:
    """A SwiftStore for the account ``credentials`` reach, tuned as the
    original (unpickling in another process)."""
    return SwiftStore(credentials=credentials, **tuning)
