"""S3Store: a Store over any S3 endpoint — ``sciswift serve``'s S3 API, a
Swift cluster's s3api, Ceph RGW, MinIO, AWS S3.

A store is one set of credentials; its containers are buckets. Where S3's
model differs from the Store contract, this is what happens:

- **Conditional puts.** ``CREATE`` is ``If-None-Match: *`` and ``IfMatch`` is
  ``If-Match``, both enforced by the endpoint. ``sciswift serve`` (its
  ``/info`` says ``sciswift.conditional_put``) and AWS S3 apply them
  atomically (``supports_conditional_put`` True). Swift's s3api checks
  ``If-None-Match: *`` when the request arrives (two racing creates can both
  succeed) and refuses ``If-Match`` on writes; there ``IfMatch`` is a HEAD
  then the PUT, and ``supports_conditional_put`` is False. Pass
  ``conditional_writes=`` to skip the ``/info`` probe that tells them apart.
- **Large bodies** (above ``multipart_threshold``) are multipart uploads of
  ``part_size`` parts, ``part_workers`` at a time; their ETag is S3's
  ``<md5 of part md5s>-<parts>`` (as SwiftStore's large objects carry Swift's
  large-object ETag), the body's MD5 being checked against ``etag`` before
  completing. A failed upload is aborted. On a Swift endpoint the result is a
  static large object that Swift clients read.
- **Container metadata** has no S3 counterpart: it is kept, as JSON, in the
  object ``.sciswift-container`` of the bucket, which listings and totals
  leave out (read-modify-write with ``If-Match``, so concurrent posts do not
  lose each other's keys where the endpoint has conditional writes).
- **Totals** (object and byte counts of a container, or of the account) are
  counted by listing the bucket: exact, but one listing page per 1000
  objects. Account metadata does not exist (``post_account`` raises
  NotSupported; ``supports_account_metadata`` is False).
- **Listings** do not carry content types (``listing_content_types`` False:
  entries say ``application/octet-stream``; ``head_object`` has the real one).
  ``end_marker`` and ``reverse`` are applied by the client (a reversed
  listing reads every name under the prefix).
- **POST** (``post_object``) is a server-side copy of the object onto itself
  with the new metadata, pinned to the ETag it read; **DELETE** of a missing
  object must raise NotFound, which S3 does not say, so it is a HEAD then a
  DELETE; ``delete_many`` uses DeleteObjects for the keys that exist.
- System values: ``content-encoding``, ``content-disposition``,
  ``content-language``, ``cache-control`` and ``expires`` are S3 headers; other
  system values have no S3 form (NotSupported).
- Bucket names follow S3's rules (the endpoint decides; at most 63 ASCII
  characters everywhere).
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from email.utils import parsedate_tz
from typing import Any
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element, SubElement, tostring

import urllib3
from defusedxml import ElementTree as safe_et

from sciswift.errors import (
    AlreadyExists,
    ChecksumMismatch,
    ContainerNotEmpty,
    InvalidInput,
    NotFound,
    NotSupported,
    PreconditionFailed,
    RangeNotSatisfiable,
    SciSwiftError,
)
from sciswift.store.base import BytesReader, ObjectReader, PutData, Store
from sciswift.store.large import SegmentRef
from sciswift.store.names import check_container_name, check_object_name
from sciswift.store.s3.client import S3Connection, S3Response
from sciswift.store.s3.credentials import S3Credentials
from sciswift.store.s3.io import PutParts, S3ObjectReader
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

__all__ = ["S3Store", "S3Credentials", "CONTAINER_META"]

MiB = 1 << 20
#: Default threads of a store's bulk operations (``max_workers``) and of a
#: multipart upload's parts (``part_workers``): each may hold a connection.
BULK_WORKERS = 16
PART_WORKERS = 4
#: Where a bucket's container metadata lives (left out of listings and totals).
CONTAINER_META = ".sciswift-container"
#: Store system values that are S3 object headers.
S3_SYSTEM_HEADERS = ("content-encoding", "content-disposition", "content-language", "cache-control", "expires")
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def _subject(container: str, name: str | None = None) -> str:
    return container if name is None else f"{container}/{name}"


def _xml(data: bytes) -> Element:
    doc = safe_et.fromstring(data, forbid_dtd=True)
    for e in doc.iter():
        if isinstance(e.tag, str) and e.tag.startswith("{"):
            e.tag = e.tag.split("}", 1)[1]
    return doc


def _iso_time(text: str | None) -> float:
    if not text:
        return 0.0
    try:
        return float(calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return 0.0


def _http_time(text: str | None) -> float:
    parsed = parsedate_tz(text or "")
    if parsed is None:
        return 0.0
    return float(calendar.timegm(parsed[:9])) - (parsed[9] or 0)


def _b(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


class S3Store(Store):
    """One set of S3 credentials as a Store. See the module docstring.

    Credentials: ``access_key``/``secret_key``/``region``/``endpoint_url`` (or
    ``credentials``), else the AWS environment (``S3Store.from_environment``).
    Tuning: ``pool_size`` keep-alive connections; ``retries`` with ``backoff``;
    ``multipart_threshold``, ``part_size`` and ``part_workers`` for large
    bodies; ``max_workers`` for the bulk operations and totals.
    """

    supports_ranges = True
    is_local = False
    totals_lag = 0.0
    supports_account_metadata = False
    supports_manifests = False
    listing_content_types = False
    max_container_name_length = 63
    unicode_container_names = False

    def __init__(
        self,
        access_key: str | None = None,
        secret_key: str | None = None,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        session_token: str | None = None,
        credentials: S3Credentials | None = None,
        conditional_writes: bool | None = None,
        pool_size: int = 32,
        retries: int = 5,
        backoff: float = 0.1,
        multipart_threshold: int = 64 * MiB,
        part_size: int = 16 * MiB,
        part_workers: int = PART_WORKERS,
        max_workers: int = BULK_WORKERS,
    ) -> None:
        if credentials is None:
            credentials = S3Credentials.resolve(access_key=access_key, secret_key=secret_key, region=region,
                                                endpoint_url=endpoint_url, session_token=session_token)
        if part_size < 5 * MiB:
            raise InvalidInput(f"part_size {part_size} is below S3's minimum part size of 5 MiB", "S3Store")
        self.credentials = credentials
        self.conn = S3Connection(credentials, pool_size=pool_size, retries=retries, backoff=backoff)
        self.multipart_threshold = max(multipart_threshold, part_size)
        self.part_size = part_size
        self.part_workers = part_workers
        self.max_workers = max_workers
        self.url = f"s3://?endpoint={credentials.endpoint}"
        self._conditional = conditional_writes
        self._if_match_native: bool | None = None
        self._probe_lock = threading.Lock()

    @classmethod
    def from_environment(cls, **options: Any) -> S3Store:
        """An S3Store from the AWS environment (``options`` override it)."""
        return cls(**options)

    # ----------------------------------------------------------- capabilities
    def _probe(self) -> None:
        """Tell sciswift serve and Swift's s3api (whose ``/info`` says what
        they do with conditional writes) from endpoints with native ones."""
        if self._if_match_native is not None:
            return
        with self._probe_lock:
            if self._if_match_native is not None:
                return
            info: dict[str, Any] = {}
            try:
                raw = self.conn.pool.urlopen("GET", self.conn.base_path + "/info", preload_content=True,
                                             retries=False)
                if raw.status == 200:
                    info = json.loads(raw.data)
            except (urllib3.exceptions.HTTPError, OSError, ValueError):
                info = {}
            swift_s3api = "s3api" in info and not info.get("sciswift", {}).get("conditional_put")
            if self._conditional is None:
                self._conditional = not swift_s3api
            self._if_match_native = not swift_s3api

    #: IfMatch is checked by a HEAD where the endpoint refuses it (see above).
    checks_conditional_put = True

    @property
    def supports_conditional_put(self) -> bool:  # type: ignore[override]
        self._probe()
        return bool(self._conditional)

    # -------------------------------------------------------------- requests
    def _req(self, method: str, container: str | None = None, name: str | None = None, **kw: Any) -> S3Response:
        kw.setdefault("subject", _subject(container, name) if container else self.credentials.endpoint)
        return self.conn.request(method, container, name, **kw)

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------ containers
    def _bucket_names(self) -> list[str]:
        doc = _xml(self._req("GET").data)
        names = [b.findtext("Name") or "" for b in doc.findall("./Buckets/Bucket")]
        return sorted((n for n in names if n), key=_b)

    def _totals(self, container: str) -> tuple[int, int] | None:
        """(objects, bytes) of a bucket; None if it was deleted since it was listed
        (a bucket listing may still name a bucket another client just removed)."""
        count = size = 0
        try:
            for info in self._iter_s3(container, prefix="", delimiter="", start_after=""):
                if isinstance(info, ObjectInfo) and info.name != CONTAINER_META:
                    count += 1
                    size += info.size
        except NotFound:
            return None
        return count, size

    def _container_meta(self, container: str) -> tuple[dict[str, dict[str, str]], str | None]:
        """(``{"metadata": .., "system": ..}``, its ETag) of a bucket."""
        try:
            r = self._req("GET", container, CONTAINER_META)
        except NotFound:
            return {"metadata": {}, "system": {}}, None
        doc = json.loads(r.data or b"{}")
        return {"metadata": dict(doc.get("metadata", {})), "system": dict(doc.get("system", {}))}, \
            r.header("ETag").strip('"')

    def _merge_container_meta(self, container: str, metadata: Mapping[str, str] | None,
                              system: Mapping[str, str] | None) -> None:
        if not metadata and not system:
            return
        for _ in range(10):
            doc, etag = self._container_meta(container)
            for kind, updates in (("metadata", metadata), ("system", system)):
                for k, v in (updates or {}).items():
                    if v == "":
                        doc[kind].pop(k.lower(), None)
                    else:
                        doc[kind][k.lower()] = v
            body = json.dumps(doc, sort_keys=True).encode("utf-8")
            mode: PutMode = CREATE if etag is None else IfMatch(etag)
            try:
                self._put_small(container, CONTAINER_META, body, content_type="application/json",
                                metadata=None, system=None, mode=mode if self.supports_conditional_put else OVERWRITE,
                                etag=None)
                return
            except (PreconditionFailed, AlreadyExists):
                continue  # another writer updated it meanwhile: merge again
        raise PreconditionFailed(f"{container}: container metadata kept changing; not updated", container)

    def account_info(self) -> AccountInfo:
        names = self._bucket_names()
        with ThreadPoolExecutor(max(1, min(self.max_workers, len(names)))) as pool:
            totals = [t for t in pool.map(self._totals, names) if t is not None]
        return AccountInfo(container_count=len(totals), object_count=sum(t[0] for t in totals),
                           bytes_used=sum(t[1] for t in totals))

    def post_account(self, metadata: Mapping[str, str] | None = None,
                     system: Mapping[str, str] | None = None) -> None:
        raise NotSupported("S3 has no account metadata", self.credentials.endpoint)

    def list_containers(self, params: ListingParams = ListingParams()) -> list[ContainerInfo | Subdir]:
        names = [n for n in self._bucket_names() if n.startswith(params.prefix)]
        entries: list[str] = []
        seen: set[str] = set()
        for n in (reversed(names) if params.reverse else names):
            low, high = (params.end_marker, params.marker) if params.reverse else (params.marker, params.end_marker)
            if low and _b(n) <= _b(low) or high and _b(n) >= _b(high):
                continue
            if params.delimiter:
                cut = n.find(params.delimiter, len(params.prefix))
                if cut >= 0:
                    sub = n[: cut + len(params.delimiter)]
                    if sub not in seen:
                        seen.add(sub)
                        entries.append(sub)
                    continue
            entries.append(n)
        if params.limit is not None:
            entries = entries[: params.limit]
        containers = [e for e in entries if e not in seen]
        with ThreadPoolExecutor(max(1, min(self.max_workers, len(containers) or 1))) as pool:
            totals = dict(zip(containers, pool.map(self._totals, containers)))
        out: list[ContainerInfo | Subdir] = []
        for e in entries:
            if e in seen:
                out.append(Subdir(e))
            elif (t := totals[e]) is not None:  # None: deleted since the listing
                out.append(ContainerInfo(name=e, object_count=t[0], bytes_used=t[1]))
        return out

    def create_container(self, container: str, metadata: Mapping[str, str] | None = None,
                         system: Mapping[str, str] | None = None) -> bool:
        check_container_name(container)
        body = None
        if self.credentials.region != "us-east-1":
            doc = Element("CreateBucketConfiguration", xmlns=_NS[1:-1])
            SubElement(doc, "LocationConstraint").text = self.credentials.region
            body = tostring(doc)
        r = self._req("PUT", container, body=body, ok=(409,))
        created = r.status < 300
        if not created:
            code = _xml(r.data).findtext("Code") if r.data else ""
            if code != "BucketAlreadyOwnedByYou":
                raise AlreadyExists(f"{container}: bucket name taken ({code})", container)
        self._merge_container_meta(container, metadata, system)
        return created

    def delete_container(self, container: str) -> None:
        check_container_name(container)
        page = self.list_objects(container, ListingParams(limit=1))
        if page:
            raise ContainerNotEmpty(f"{container}: not empty", container)
        try:
            self._req("DELETE", container, CONTAINER_META, ok=(404,))
        except NotFound:
            pass
        self._req("DELETE", container)

    def head_container(self, container: str) -> ContainerInfo:
        check_container_name(container)
        self._req("HEAD", container)
        totals = self._totals(container)
        if totals is None:
            raise NotFound(f"container {container} does not exist", container)
        count, size = totals
        doc, _ = self._container_meta(container)
        return ContainerInfo(name=container, object_count=count, bytes_used=size,
                             metadata=doc["metadata"], system=doc["system"])

    def post_container(self, container: str, metadata: Mapping[str, str] | None = None,
                       system: Mapping[str, str] | None = None) -> None:
        check_container_name(container)
        self._req("HEAD", container)
        self._merge_container_meta(container, metadata, system)

    # -------------------------------------------------------------- listings
    def _iter_s3(self, container: str, *, prefix: str, delimiter: str, start_after: str,
                 page: int = 1000) -> Iterable[ObjectInfo | Subdir]:
        """Every entry after ``start_after``, in S3's (UTF-8) order."""
        token: str | None = None
        while True:
            query = {"list-type": "2", "max-keys": str(page), "encoding-type": "url"}
            if prefix:
                query["prefix"] = prefix
            if delimiter:
                query["delimiter"] = delimiter
            if token:
                query["continuation-token"] = token
            elif start_after:
                query["start-after"] = start_after
            doc = _xml(self._req("GET", container, query=query).data)
            items: list[ObjectInfo | Subdir] = []
            for e in doc:
                if e.tag == "Contents":
                    items.append(ObjectInfo(
                        name=unquote(e.findtext("Key") or ""),
                        size=int(e.findtext("Size") or 0),
                        etag=(e.findtext("ETag") or "").strip('"'),
                        timestamp=_iso_time(e.findtext("LastModified")),
                    ))
                elif e.tag == "CommonPrefixes":
                    items.append(Subdir(unquote(e.findtext("Prefix") or "")))
            items.sort(key=lambda x: _b(x.name))
            yield from items
            token = doc.findtext("NextContinuationToken")
            if (doc.findtext("IsTruncated") or "false") != "true" or not token:
                return

    def list_objects(self, container: str, params: ListingParams = ListingParams()) -> list[ObjectInfo | Subdir]:
        check_container_name(container)
        limit = params.limit
        out: list[ObjectInfo | Subdir] = []
        if params.reverse:
            upper, lower = params.marker, params.end_marker
            for e in self._iter_s3(container, prefix=params.prefix, delimiter=params.delimiter,
                                   start_after=lower):
                if upper and _b(e.name) >= _b(upper):
                    break
                if e.name == CONTAINER_META or (lower and _b(e.name) <= _b(lower)):
                    continue
                out.append(e)
            out.reverse()
            return out[:limit] if limit is not None else out
        for e in self._iter_s3(container, prefix=params.prefix, delimiter=params.delimiter,
                               start_after=params.marker, page=min(1000, (limit or 999) + 1)):
            if params.end_marker and _b(e.name) >= _b(params.end_marker):
                break
            if e.name == CONTAINER_META or (params.marker and _b(e.name) <= _b(params.marker)):
                continue
            out.append(e)
            if limit is not None and len(out) >= limit:
                break
        return out

    # --------------------------------------------------------------- objects
    def _info(self, name: str, r: S3Response, size: int | None = None) -> ObjectInfo:
        h = r.headers
        metadata: dict[str, str] = {}
        system: dict[str, str] = {}
        for k in h:
            lk = k.lower()
            if lk.startswith("x-amz-meta-"):
                metadata[lk[len("x-amz-meta-"):]] = h[k]
            elif lk in S3_SYSTEM_HEADERS:
                system[lk] = h[k]
        if size is None:
            size = int(h.get("Content-Length") or 0)
        return ObjectInfo(name=name, size=size, etag=(h.get("ETag") or "").strip('"'),
                          timestamp=_http_time(h.get("Last-Modified")),
                          content_type=h.get("Content-Type") or "application/octet-stream",
                          metadata=metadata, system=system)

    def head_object(self, container: str, name: str) -> ObjectInfo:
        check_container_name(container)
        check_object_name(name)
        return self._info(name, self._req("HEAD", container, name))

    def open_object(self, container: str, name: str, byte_range: ByteRange | None = None, *,
                    need_etag: bool = True) -> ObjectReader:
        check_container_name(container)
        check_object_name(name)
        subject = _subject(container, name)
        headers = {}
        if byte_range is not None and byte_range != ByteRange(0):
            headers["Range"] = f"bytes={byte_range.to_header_spec()}"
        r = self._req("GET", container, name, headers=headers, stream=True, ok=(416,))
        if r.status == 416:
            assert r.raw is not None
            r.raw.drain_conn()
            r.raw.release_conn()
            raise RangeNotSatisfiable(f"{subject}: range {headers['Range']} not satisfiable", subject)
        if r.status == 206:
            spec, _, total = r.header("Content-Range").partition("/")
            first, _, last = spec.split()[-1].partition("-")
            start, stop, size = int(first), int(last) + 1, int(total)
        else:
            size = int(r.header("Content-Length", "0"))
            start, stop = 0, size
            if byte_range is not None:
                start, stop = byte_range.resolve(size)
                if (start, stop) != (0, size):  # the endpoint ignored the range
                    r.raw.drain_conn()  # type: ignore[union-attr]
                    r.raw.release_conn()  # type: ignore[union-attr]
                    return self.open_object(container, name, ByteRange(start, stop))
        info = self._info(name, r, size)

        def reopen(offset: int, etag: str) -> urllib3.BaseHTTPResponse:
            again = self._req("GET", container, name, headers={"Range": f"bytes={offset}-{stop - 1}",
                                                                "If-Match": f'"{etag}"'}, stream=True)
            assert again.raw is not None
            return again.raw

        if info.size <= 64 * 1024 and r.raw is not None:
            try:
                data = r.raw.read()
            finally:
                r.raw.release_conn()
            if len(data) == stop - start:
                reader = BytesReader(info, data, 0, len(data))
                reader.start, reader.stop = start, stop  # the range it holds, as any reader reports
                return reader
            return S3ObjectReader(info, start, stop, None, reopen, subject)
        return S3ObjectReader(info, start, stop, r.raw, reopen, subject)

    # --------------------------------------------------- large objects (none)
    def put_manifest(self, container: str, name: str, segments: Sequence[SegmentRef], **_: Any) -> ObjectInfo:
        """S3 has no objects made of other objects: NotSupported (store the
        content whole; a large body goes up as a multipart upload)."""
        raise NotSupported(
            f"{container}/{name}: S3 has no large objects made of stored segments (Swift SLOs); "
            "store the content as one object", f"{container}/{name}",
        )

    def get_manifest(self, container: str, name: str, *, head: ObjectInfo | None = None) -> list[SegmentRef] | None:
        """Every S3 object is whole: None (NotFound if it is missing)."""
        if head is None:
            self.head_object(container, name)
        return None

    def delete_manifest(self, container: str, name: str) -> None:
        self.delete_object(container, name)

    def _put_headers(self, content_type: str | None, metadata: Mapping[str, str] | None,
                     system: Mapping[str, str] | None, mode: PutMode, subject: str) -> dict[str, str]:
        headers = {"Content-Type": content_type or "application/octet-stream"}
        for k, v in (metadata or {}).items():
            if v != "":
                headers[f"x-amz-meta-{k.lower()}"] = v
        for k, v in (system or {}).items():
            lk = k.lower()
            if v == "":
                continue
            if lk not in S3_SYSTEM_HEADERS:
                raise NotSupported(f"{subject}: the system value {k!r} has no S3 header", subject)
            headers[lk] = v
        if mode is CREATE:
            headers["If-None-Match"] = "*"
        elif isinstance(mode, IfMatch):
            headers["If-Match"] = f'"{mode.etag}"'
        return headers

    def _check_if_match(self, container: str, name: str, mode: PutMode) -> PutMode:
        """Where If-Match on writes is not the endpoint's: compare first (not
        atomic) and send the write unconditionally."""
        if not isinstance(mode, IfMatch):
            return mode
        self._probe()
        if self._if_match_native:
            return mode
        try:
            current = self.head_object(container, name).etag
        except NotFound:
            current = None
        if current != mode.etag:
            raise PreconditionFailed(f"{_subject(container, name)}: ETag is not {mode.etag}", _subject(container, name))
        return OVERWRITE

    def _put_small(self, container: str, name: str, body: bytes, *, content_type: str | None,
                   metadata: Mapping[str, str] | None, system: Mapping[str, str] | None, mode: PutMode,
                   etag: str | None) -> ObjectInfo:
        subject = _subject(container, name)
        md5 = hashlib.md5(body)
        if etag is not None and md5.hexdigest() != etag.strip('"'):
            raise ChecksumMismatch(f"{subject}: body MD5 {md5.hexdigest()} is not the expected {etag}", subject)
        headers = self._put_headers(content_type, metadata, system, mode, subject)
        headers["Content-MD5"] = base64.b64encode(md5.digest()).decode("ascii")
        try:
            r = self._req("PUT", container, name, headers=headers, body=body, idempotent=mode is OVERWRITE)
        except PreconditionFailed:
            if mode is CREATE:
                raise AlreadyExists(f"{subject}: already exists", subject) from None
            raise
        return ObjectInfo(name=name, size=len(body), etag=r.header("ETag").strip('"') or md5.hexdigest(),
                          timestamp=time.time(), content_type=content_type or "application/octet-stream",
                          metadata={k.lower(): v for k, v in (metadata or {}).items() if v != ""},
                          system={k.lower(): v for k, v in (system or {}).items() if v != ""})

    def put_object(self, container: str, name: str, data: PutData, *, content_type: str | None = None,
                   metadata: Mapping[str, str] | None = None, system: Mapping[str, str] | None = None,
                   mode: PutMode = OVERWRITE, etag: str | None = None) -> ObjectInfo:
        check_container_name(container)
        check_object_name(name)
        mode = self._check_if_match(container, name, mode)
        source = PutParts(data, self.multipart_threshold, self.part_size)
        if source.small is not None:
            return self._put_small(container, name, source.small, content_type=content_type, metadata=metadata,
                                   system=system, mode=mode, etag=etag)
        return self._put_multipart(container, name, source, content_type=content_type, metadata=metadata,
                                   system=system, mode=mode, etag=etag)

    def _put_multipart(self, container: str, name: str, source: PutParts, *, content_type: str | None,
                       metadata: Mapping[str, str] | None, system: Mapping[str, str] | None, mode: PutMode,
                       etag: str | None) -> ObjectInfo:
        subject = _subject(container, name)
        headers = self._put_headers(content_type, metadata, system, OVERWRITE, subject)
        doc = _xml(self._req("POST", container, name, query={"uploads": ""}, headers=headers,
                             idempotent=False).data)
        upload_id = doc.findtext("UploadId") or ""
        done: list[tuple[int, str]] = []
        size = 0
        try:
            with ThreadPoolExecutor(self.part_workers) as pool:
                pending: list[tuple[int, Future[S3Response]]] = []
                for number, part in enumerate(source.parts(), 1):
                    size += len(part)
                    md5 = base64.b64encode(hashlib.md5(part).digest()).decode("ascii")
                    pending.append((number, pool.submit(
                        self._req, "PUT", container, name, query={"partNumber": str(number), "uploadId": upload_id},
                        headers={"Content-MD5": md5}, body=part)))
                    while len(pending) >= 2 * self.part_workers:  # bound the parts held in memory
                        n, fut = pending.pop(0)
                        done.append((n, fut.result().header("ETag")))
                for n, fut in pending:
                    done.append((n, fut.result().header("ETag")))
            if etag is not None and source.md5 != etag.strip('"'):
                raise ChecksumMismatch(f"{subject}: body MD5 {source.md5} is not the expected {etag}", subject)
            complete = Element("CompleteMultipartUpload", xmlns=_NS[1:-1])
            for n, tag in done:
                part_el = SubElement(complete, "Part")
                SubElement(part_el, "PartNumber").text = str(n)
                SubElement(part_el, "ETag").text = tag
            extra = {"If-None-Match": "*"} if mode is CREATE else \
                {"If-Match": f'"{mode.etag}"'} if isinstance(mode, IfMatch) else {}
            try:
                r = self._req("POST", container, name, query={"uploadId": upload_id}, body=tostring(complete),
                              headers=extra, idempotent=mode is OVERWRITE)
            except PreconditionFailed:
                if mode is CREATE:
                    raise AlreadyExists(f"{subject}: already exists", subject) from None
                raise
            result = _xml(r.data)
            if result.tag == "Error":  # S3 may report a failed completion with a 200
                raise SciSwiftError(f"{subject}: completing the upload failed: {result.findtext('Message')}",
                                    subject)
            final = (result.findtext("ETag") or "").strip('"')
        except BaseException:
            try:
                self._req("DELETE", container, name, query={"uploadId": upload_id}, ok=(404,))
            except SciSwiftError:
                pass
            raise
        return ObjectInfo(name=name, size=size, etag=final, timestamp=time.time(),
                          content_type=content_type or "application/octet-stream",
                          metadata={k.lower(): v for k, v in (metadata or {}).items() if v != ""},
                          system={k.lower(): v for k, v in (system or {}).items() if v != ""})

    def delete_object(self, container: str, name: str) -> None:
        self.head_object(container, name)  # S3 answers 204 for a missing key; the contract wants NotFound
        self._req("DELETE", container, name)

    def _copy(self, src_container: str, src_name: str, dst_container: str, dst_name: str, *,
              content_type: str, metadata: Mapping[str, str], system: Mapping[str, str],
              if_match: str | None) -> ObjectInfo:
        subject = _subject(dst_container, dst_name)
        headers = self._put_headers(content_type, metadata, system, OVERWRITE, subject)
        headers["x-amz-copy-source"] = quote(f"/{src_container}/{src_name}", safe="/~")
        headers["x-amz-metadata-directive"] = "REPLACE"
        if if_match is not None:
            headers["x-amz-copy-source-if-match"] = f'"{if_match}"'
        r = self._req("PUT", dst_container, dst_name, headers=headers)
        result = _xml(r.data)
        if result.tag == "Error":
            raise SciSwiftError(f"{subject}: copy failed: {result.findtext('Message')}", subject)
        return ObjectInfo(name=dst_name, size=0, etag=(result.findtext("ETag") or "").strip('"'),
                          timestamp=_iso_time(result.findtext("LastModified")), content_type=content_type,
                          metadata=dict(metadata), system=dict(system))

    def post_object(self, container: str, name: str, *, metadata: Mapping[str, str],
                    content_type: str | None = None, system: Mapping[str, str] | None = None) -> ObjectInfo:
        for _attempt in range(5):
            current = self.head_object(container, name)
            sysmeta = dict(current.system)
            for k, v in (system or {}).items():
                if v == "":
                    sysmeta.pop(k.lower(), None)
                else:
                    sysmeta[k.lower()] = v
            try:
                info = self._copy(container, name, container, name, content_type=content_type or current.content_type,
                                  metadata={k.lower(): v for k, v in metadata.items() if v != ""}, system=sysmeta,
                                  if_match=current.etag)
            except PreconditionFailed:
                continue  # replaced meanwhile: read it again
            return ObjectInfo(name=name, size=current.size, etag=info.etag or current.etag,
                              timestamp=info.timestamp, content_type=info.content_type,
                              metadata=info.metadata, system=info.system)
        raise PreconditionFailed(f"{_subject(container, name)}: kept changing during the POST",
                                 _subject(container, name))

    def copy_object(self, src_container: str, src_name: str, dst_container: str, dst_name: str, *,
                    metadata: Mapping[str, str] | None = None, content_type: str | None = None,
                    system: Mapping[str, str] | None = None, fresh_metadata: bool = False,
                    mode: PutMode = OVERWRITE) -> ObjectInfo:
        if mode is not OVERWRITE:
            return super().copy_object(src_container, src_name, dst_container, dst_name, metadata=metadata,
                                       content_type=content_type, system=system, fresh_metadata=fresh_metadata,
                                       mode=mode)
        src = self.head_object(src_container, src_name)
        meta = {} if fresh_metadata else dict(src.metadata)
        meta.update({k.lower(): v for k, v in (metadata or {}).items()})
        sysmeta = dict(src.system)
        sysmeta.update({k.lower(): v for k, v in (system or {}).items()})
        check_container_name(dst_container)
        check_object_name(dst_name)
        info = self._copy(src_container, src_name, dst_container, dst_name,
                          content_type=content_type or src.content_type,
                          metadata={k: v for k, v in meta.items() if v != ""},
                          system={k: v for k, v in sysmeta.items() if v != ""}, if_match=None)
        return ObjectInfo(name=dst_name, size=src.size, etag=info.etag or src.etag, timestamp=info.timestamp,
                          content_type=info.content_type, metadata=info.metadata, system=info.system)

    def delete_many(self, container: str, names: Iterable[str], *, max_workers: int = 16) -> int:
        names = list(dict.fromkeys(names))
        if not names:
            return 0

        def exists(n: str) -> bool:
            try:
                self.head_object(container, n)
                return True
            except NotFound:
                return False

        with ThreadPoolExecutor(max(1, min(max_workers, len(names)))) as pool:
            present = [n for n, there in zip(names, pool.map(exists, names)) if there]
        deleted = 0
        for i in range(0, len(present), 1000):
            batch = present[i: i + 1000]
            doc = Element("Delete", xmlns=_NS[1:-1])
            SubElement(doc, "Quiet").text = "true"
            for n in batch:
                SubElement(SubElement(doc, "Object"), "Key").text = n
            body = tostring(doc)
            md5 = base64.b64encode(hashlib.md5(body).digest()).decode("ascii")
            r = self._req("POST", container, query={"delete": ""}, body=body, headers={"Content-MD5": md5})
            errors = _xml(r.data).findall("Error")
            deleted += len(batch) - len(errors)
        return deleted

    def get_many(self, container: str, names: Sequence[str], *, max_workers: int = 16) -> dict[str, bytes]:
        return super().get_many(container, names, max_workers=max_workers)

