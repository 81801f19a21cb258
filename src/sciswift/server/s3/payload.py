"""Request bodies as S3 defines them: the payload hash a signature covers,
``aws-chunked`` framing with per-chunk signatures, and checksums.

:class:`S3Body` is the body a Swift sub-request reads (``store_body`` streams
it into the store). It hands over the decoded payload as it arrives and
verifies everything when the payload ends, *before* returning the final
``b""``: a mismatch raises :class:`~sciswift.server.s3.errors.S3Error`
there, the writer is aborted, and nothing becomes visible. A reader that
takes the payload's digests (:meth:`S3Body.take_checks`: ``store_body``
hashes each piece in the thread that writes it) verifies those itself, after
the end and before its commit. What is checked:

- ``x-amz-content-sha256`` (a hex SHA-256): the payload's SHA-256
  (``XAmzContentSHA256Mismatch``);
- ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``: each chunk's signature,
  chained from the request's (``SignatureDoesNotMatch``), chunks other than the
  last of at least 8 KiB (``InvalidChunkSizeError``), a signed trailer;
  ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``: the framing and the trailer;
- the decoded length against ``x-amz-decoded-content-length``
  (``IncompleteBody``);
- ``x-amz-checksum-crc32|crc32c|crc64nvme|sha1|sha256|sha512|md5|xxhash64|
  xxhash3|xxhash128`` given as a header or a trailer (``BadDigest``; an
  algorithm S3 does not name is ``InvalidRequest``).

A verified checksum is kept: :meth:`S3Body.system_at_commit` hands it to the
writer, which records it as the object's system value
``x-object-sysmeta-s3api-checksum-<algorithm>`` in the commit of the bytes
(:func:`stored_checksum` reads it back).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from xml.etree.ElementTree import Element, SubElement

import awscrt.checksums
import crc32c as crc32c_mod
import xxhash
from isal.isal_zlib import crc32 as isal_crc32

from sciswift.server.http import Body
from sciswift.server.objects import CONTENT_CHECKSUM_PREFIX
from sciswift.server.s3.auth import ChunkSigner
from sciswift.server.s3.errors import S3Error

__all__ = ["S3Body", "PayloadDigests", "AwsChunkedDecoder", "Checksum", "checksum_from_headers", "stated_checksum",
           "is_streaming", "XML_NAMES", "StoredChecksum", "stored_checksum", "checksum_algorithm"]

SIGNED_STREAMING = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
UNSIGNED_STREAMING = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
MIN_CHUNK = 8192
#: Payload bytes hashed at once (in the thread pool when the server gives one).
HASH_BATCH = 1 << 20
_MAX_LINE = 4096
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def is_streaming(payload_hash: str | None) -> bool:
    return payload_hash is not None and payload_hash.startswith("STREAMING-")


class RawBody(Protocol):
    length: int | None

    async def read_any(self) -> bytes: ...


# ---------------------------------------------------------------- checksums
class _Crc:
    def __init__(self, fn: Callable[[bytes, int], int], size: int = 4) -> None:
        self.fn = fn
        self.size = size
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = self.fn(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(self.size, "big")


_ALGORITHMS: dict[str, Callable[[], Any]] = {
    # ISA-L's CRC-32 is zlib's checksum at 1.0 ms per 16 MiB against zlib's 4 ms here
    "crc32": lambda: _Crc(isal_crc32),
    "crc32c": lambda: _Crc(lambda d, v: crc32c_mod.crc32c(d, v)),
    # the AWS C++ SDK (pyarrow's S3FileSystem) sends CRC64/NVME by default
    "crc64nvme": lambda: _Crc(lambda d, v: awscrt.checksums.crc64nvme(d, v), 8),
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
    "md5": hashlib.md5,
    # digests in xxHash's canonical (big-endian) form, as the AWS SDKs send them
    "xxhash64": xxhash.xxh64,
    "xxhash3": xxhash.xxh3_64,
    "xxhash128": xxhash.xxh3_128,
}


#: Checksum algorithms S3 names.
_NAMED = tuple(_ALGORITHMS)
#: Their names in S3's XML documents (``<ChecksumCRC32>`` ...).
XML_NAMES = {name: "Checksum" + name.upper() for name in _NAMED}
#: ``x-amz-checksum-*`` headers that are not a checksum value.
_NOT_VALUES = ("algorithm", "mode", "type")


class Checksum:
    """One ``x-amz-checksum-<algorithm>`` being computed over the payload."""

    def __init__(self, algorithm: str, expected: str | None, *, computed: bool = False) -> None:
        if algorithm not in _ALGORITHMS:
            raise S3Error("InvalidRequest", f"The algorithm type you specified in x-amz-checksum-{algorithm} "
                          "header is invalid.")
        self.algorithm = algorithm
        self.expected = expected
        #: computed by the server (nothing to compare): ``verify`` passes
        self.computed = computed
        self._h = _ALGORITHMS[algorithm]()

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def value(self) -> str:
        return base64.b64encode(self._h.digest()).decode("ascii")

    def system(self) -> dict[str, str]:
        """The object's system value recording this checksum of the bytes
        taken (a :class:`~sciswift.server.http.ContentDigest`)."""
        return {CONTENT_CHECKSUM_PREFIX + self.algorithm: self.value()}

    def verify(self) -> None:
        if self.computed:
            return
        if self.expected is None:
            raise S3Error("InvalidRequest", f"Value for x-amz-checksum-{self.algorithm} trailing header is invalid.")
        self.verify_value(self.value())

    def verify_value(self, computed: str) -> None:
        """``BadDigest`` unless ``computed`` is the expected value."""
        if self.expected is None or computed != self.expected.strip():
            raise S3Error("BadDigest", f"The {self.algorithm.upper()} you specified did not match the "
                          "calculated checksum.")


@dataclass(frozen=True)
class StoredChecksum:
    """The checksum an object keeps: ``value`` is base64, with ``-<parts>``
    for a multipart upload's COMPOSITE one (``kind``), else FULL_OBJECT."""

    algorithm: str
    value: str
    #: the type shown, when not the value's own (a part of a COMPOSITE object)
    shown_kind: str | None = None

    @property
    def kind(self) -> str:
        if self.shown_kind is not None:
            return self.shown_kind
        return "COMPOSITE" if "-" in self.value else "FULL_OBJECT"

    def headers(self) -> dict[str, str]:
        """S3's reply headers stating it."""
        return {f"x-amz-checksum-{self.algorithm}": self.value, "x-amz-checksum-type": self.kind}

    def add_to(self, parent: Element) -> None:
        """Its elements in an S3 document (``<ChecksumCRC32>``, ``<ChecksumType>``)."""
        SubElement(parent, XML_NAMES[self.algorithm]).text = self.value
        SubElement(parent, "ChecksumType").text = self.kind


def stored_checksum(system: Mapping[str, str]) -> StoredChecksum | None:
    """The checksum among an object's system values (None: it keeps none).
    Objects written by this server keep at most one."""
    for key, value in system.items():
        if key.startswith(CONTENT_CHECKSUM_PREFIX):
            algorithm = key[len(CONTENT_CHECKSUM_PREFIX):]
            if algorithm in _ALGORITHMS and value:
                return StoredChecksum(algorithm, value)
    return None


def checksum_algorithm(headers: Any) -> str | None:
    """The algorithm ``x-amz-checksum-algorithm`` names (lower case), None
    without one; one S3 does not name is ``InvalidRequest``."""
    given = headers.get("x-amz-checksum-algorithm")
    if given is None:
        return None
    algorithm = given.strip().lower()
    if algorithm not in _ALGORITHMS:
        raise S3Error("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any of "
                      "the valid types: [" + ", ".join(a.upper() for a in _ALGORITHMS) + "]")
    return algorithm


def stated_checksum(headers: Any) -> tuple[str, str] | None:
    """``(algorithm, value)`` of the ``x-amz-checksum-<algorithm>`` header
    that ``headers`` carry, or None; an algorithm this server does not know
    is ``InvalidRequest`` (ignoring it would store the body unchecked while
    the client believes it checked)."""
    for name in headers:
        lname = name.lower()
        if lname.startswith("x-amz-checksum-"):
            algorithm = lname[len("x-amz-checksum-"):]
            if algorithm in _NAMED:
                return algorithm, headers[name]
            if algorithm not in _NOT_VALUES:
                raise S3Error("InvalidRequest", f"The algorithm type you specified in {lname} header is invalid.")
    return None


def checksum_from_headers(headers: Any) -> Checksum | None:
    """The checksum a request announces for its payload: a header
    ``x-amz-checksum-*`` with its value, or an ``x-amz-trailer`` naming one
    that the body's trailer carries."""
    trailer = (headers.get("x-amz-trailer") or "").strip().lower()
    if trailer:
        if not trailer.startswith("x-amz-checksum-"):
            raise S3Error("InvalidRequest", "The value specified in the x-amz-trailer header is not supported")
        return Checksum(trailer[len("x-amz-checksum-"):], None)
    stated = stated_checksum(headers)
    return Checksum(*stated) if stated is not None else None


# ------------------------------------------------------------- aws-chunked
class AwsChunkedDecoder:
    """Incremental decoder of an ``aws-chunked`` body: ``feed`` raw bytes, get
    payload bytes back; ``finish`` checks that the body ended where it should.

    With a ``signer`` every chunk carries ``;chunk-signature=`` and is checked
    (and so is ``x-amz-trailer-signature``); without one, chunk lines are bare
    sizes. ``trailers`` collects the trailing headers (lower-case names).
    """

    def __init__(self, signer: ChunkSigner | None, expect_trailer: bool) -> None:
        self.signer = signer
        self.previous = signer.seed if signer else ""
        self.expect_trailer = expect_trailer
        self.trailers: dict[str, str] = {}
        self._buf = bytearray()
        self._state = "head"
        self._left = 0
        self._sig = ""
        self._hash: Any = None
        self._size = 0
        self._small_seen = False
        self.done = False

    def _line(self) -> bytes | None:
        end = self._buf.find(b"\r\n")
        if end < 0:
            if len(self._buf) > _MAX_LINE:
                raise S3Error("IncompleteBody", "The request body terminated unexpectedly")
            return None
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    def _chunk_head(self, line: bytes) -> None:
        size_text, _, ext = line.partition(b";")
        try:
            size = int(size_text, 16)
        except ValueError:
            raise S3Error("IncompleteBody", f"invalid chunk header: {line[:64]!r}") from None
        if self.signer is not None:
            key, _, sig = ext.partition(b"=")
            if key.strip() != b"chunk-signature" or not sig:
                raise S3Error("IncompleteBody", f"invalid chunk header: {line[:64]!r}")
            self._sig = sig.strip().decode("ascii", "replace")
            if self._small_seen and size:
                # only the last chunk of data (and the zero-length one that
                # ends the body, after it) may be small
                raise S3Error("InvalidChunkSizeError")
            if 0 < size < MIN_CHUNK:
                self._small_seen = True
        self._size = size
        self._left = size
        self._hash = hashlib.sha256() if self.signer is not None else None
        self._state = "data" if size else "end"
        if not size:
            self._check_chunk()

    def _check_chunk(self) -> None:
        if self.signer is None:
            return
        digest = self._hash.hexdigest() if self._hash is not None else hashlib.sha256(b"").hexdigest()
        expected = self.signer.chunk(self.previous, digest)
        if expected != self._sig:
            raise S3Error("SignatureDoesNotMatch")
        self.previous = expected

    def feed(self, data: bytes) -> list[bytes]:
        if self.done:
            if data:
                raise S3Error("IncompleteBody", "data after the end of an aws-chunked body")
            return []
        self._buf += data
        out: list[bytes] = []
        while True:
            if self._state == "head":
                line = self._line()
                if line is None:
                    break
                self._chunk_head(line)
            elif self._state == "data":
                if not self._buf:
                    break
                take = bytes(self._buf[: self._left])
                del self._buf[: len(take)]
                self._left -= len(take)
                if self._hash is not None:
                    self._hash.update(take)
                out.append(take)
                if self._left == 0:
                    self._state = "crlf"
            elif self._state == "crlf":
                if len(self._buf) < 2:
                    break
                if self._buf[:2] != b"\r\n":
                    raise S3Error("IncompleteBody", "chunk data not followed by CRLF")
                del self._buf[:2]
                self._check_chunk()
                self._state = "head"
            else:  # "end": trailers, then an empty line
                line = self._line()
                if line is None:
                    break
                if line == b"":
                    self._finish_trailer()
                    if self._buf:
                        raise S3Error("IncompleteBody", "data after the end of an aws-chunked body")
                    break
                name, colon, value = line.partition(b":")
                if not colon:
                    raise S3Error("MalformedTrailerError")
                self.trailers[name.strip().lower().decode("ascii", "replace")] = value.strip().decode(
                    "ascii", "replace")
        return out

    def _finish_trailer(self) -> None:
        sig = self.trailers.pop("x-amz-trailer-signature", None)
        if self.signer is not None and self.expect_trailer:
            if sig is None:
                raise S3Error("MalformedTrailerError")
            canonical = "".join(f"{k}:{v}\n" for k, v in self.trailers.items()).encode("ascii")
            if self.signer.trailer(self.previous, canonical) != sig:
                raise S3Error("SignatureDoesNotMatch")
        self.done = True

    def finish(self) -> None:
        if not self.done:
            raise S3Error("IncompleteBody", "The request body terminated unexpectedly")


# --------------------------------------------------------------------- body
class PayloadDigests:
    """The digests S3 checks over a payload: the SHA-256 the signature covers
    (``x-amz-content-sha256``) and an ``x-amz-checksum-*``. ``update`` with
    every payload byte in order, then ``verify``."""

    def __init__(self, expected_sha: str | None, checksum: Checksum | None) -> None:
        self.expected_sha = expected_sha
        self.sha: Any = hashlib.sha256() if expected_sha is not None else None
        self.checksum = checksum

    @property
    def active(self) -> bool:
        return self.sha is not None or self.checksum is not None

    def update(self, data: bytes) -> None:
        if self.sha is not None:
            self.sha.update(data)
        if self.checksum is not None:
            self.checksum.update(data)

    def verify(self) -> None:
        if self.sha is not None and self.sha.hexdigest() != self.expected_sha:
            raise S3Error("XAmzContentSHA256Mismatch", ClientComputedContentSHA256=self.expected_sha or "",
                          S3ComputedContentSHA256=self.sha.hexdigest())
        if self.checksum is not None:
            self.checksum.verify()


class S3Body(Body):
    """The payload of an S3 request (see the module docstring)."""

    def __init__(
        self,
        raw: RawBody,
        *,
        payload_hash: str | None,
        signer: ChunkSigner | None,
        decoded_length: int | None,
        checksum: Checksum | None,
        run: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        self._raw = raw
        self._run = run
        self._unhashed: list[bytes] = []
        self._unhashed_size = 0
        self._chunks: deque[bytes] = deque()
        self._eof = False
        self._handed_over = False
        self.received_payload = 0
        self.checksum = checksum
        expected_sha: str | None = None
        self._decoder: AwsChunkedDecoder | None = None
        self._decoded_length = decoded_length
        if is_streaming(payload_hash):
            if payload_hash in SIGNED_STREAMING:
                if signer is None:
                    raise S3Error("InvalidRequest", "Streaming payloads need a V4 header signature")
                self._decoder = AwsChunkedDecoder(signer, payload_hash.endswith("-TRAILER"))
            elif payload_hash == UNSIGNED_STREAMING:
                self._decoder = AwsChunkedDecoder(None, True)
            else:
                raise S3Error("NotImplemented", f"Don't know how to validate {payload_hash} streams")
            if decoded_length is None:
                raise S3Error("MissingContentLength")
            self.length = decoded_length
        else:
            self.length = raw.length
            if payload_hash and payload_hash != "UNSIGNED-PAYLOAD":
                if not _HEX64.match(payload_hash.lower()):
                    raise S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                                  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD or a valid sha256 value.",
                                  ArgumentName="x-amz-content-sha256", ArgumentValue=payload_hash)
                expected_sha = payload_hash.lower()
        self._digests = PayloadDigests(expected_sha, checksum)

    @property
    def received(self) -> int:
        return getattr(self._raw, "received", 0)

    def compute_checksum(self, algorithm: str) -> None:
        """Compute ``algorithm``'s checksum over the payload, to keep with the
        object, when the client sent none (a part of a multipart upload
        created with ``x-amz-checksum-algorithm``). Before anything is read."""
        assert self.checksum is None and not self.received_payload and not self._handed_over
        self.checksum = self._digests.checksum = Checksum(algorithm, None, computed=True)

    def system_at_commit(self) -> dict[str, str]:
        """The checksum the client sent (header or trailer), verified by now:
        the object keeps it (:data:`CONTENT_CHECKSUM_PREFIX`)."""
        return self.checksum.system() if self.checksum is not None else {}

    def take_checks(self) -> PayloadDigests | None:
        """The payload's digests, for a reader that hashes the bytes itself
        (``store_body`` does, in the thread that writes them); only before
        anything was read. The framing of an ``aws-chunked`` body (its chunk
        signatures, its length) is still checked here, at its end."""
        if self._handed_over or not self._digests.active or self.received_payload or self._eof:
            return None
        self._handed_over = True
        return self._digests

    def _take(self, data: bytes) -> None:
        self.received_payload += len(data)
        if self._digests.active and not self._handed_over:
            self._unhashed.append(data)
            self._unhashed_size += len(data)

    def _hash(self, pieces: list[bytes]) -> None:
        for piece in pieces:
            self._digests.update(piece)

    async def _hash_pending(self, final: bool = False) -> None:
        """Hash what arrived, a MiB at a time. Large batches are hashed in the
        server's thread pool (hashlib releases the GIL), so the event loop keeps
        serving while a 16 MiB body is checked. Measured with 4 client processes
        PUTting 16 MiB bodies with signed payloads (urllib3, 2 workers, load
        average 8.5-9, 4 interleaved rounds): median 211 MB/s hashing in the
        loop, 252 MB/s in the pool."""
        if not self._unhashed or (not final and self._unhashed_size < HASH_BATCH):
            return
        pieces, self._unhashed, size, self._unhashed_size = self._unhashed, [], self._unhashed_size, 0
        if self._run is not None and size >= HASH_BATCH:
            await self._run(self._hash, pieces)
        else:
            self._hash(pieces)

    async def _fill(self) -> None:
        """Read more of the raw body (buffers are handed on uncopied); verify
        at its end."""
        while not self._chunks and not self._eof:
            raw = await self._raw.read_any()
            if not raw:
                await self._hash_pending(final=True)
                self._verify()
                self._eof = True
                return
            pieces = self._decoder.feed(raw) if self._decoder is not None else [raw]
            for piece in pieces:
                if piece:
                    self._take(piece)
                    self._chunks.append(piece)
            await self._hash_pending()

    def _verify(self) -> None:
        if self._decoder is not None:
            self._decoder.finish()
            if self.checksum is not None and self.checksum.expected is None:
                self.checksum.expected = self._decoder.trailers.get(f"x-amz-checksum-{self.checksum.algorithm}")
        if self._decoded_length is not None and self._decoder is not None \
                and self.received_payload != self._decoded_length:
            raise S3Error("IncompleteBody", NumberBytesExpected=str(self._decoded_length),
                          NumberBytesProvided=str(self.received_payload))
        if not self._handed_over:
            self._digests.verify()

    async def read_any(self) -> bytes:
        await self._fill()
        return self._chunks.popleft() if self._chunks else b""

    async def read(self, n: int = -1) -> bytes:
        if n < 0:
            parts: list[bytes] = []
            while True:
                chunk = await self.read_any()
                if not chunk:
                    return b"".join(parts)
                parts.append(chunk)
        await self._fill()
        if not self._chunks:
            return b""
        first = self._chunks[0]
        if len(first) <= n:
            return self._chunks.popleft()
        self._chunks[0] = first[n:]
        return first[:n]

    async def drain(self) -> None:
        """Read and drop the rest of the body (the connection stays usable)."""
        while await self._raw.read_any():
            pass
        self._eof = True
