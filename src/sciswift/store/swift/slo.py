"""Static large objects: SwiftStore's path for bodies above its threshold.

The body is cut into segments that are uploaded concurrently into the container
``<container>_segments`` (where the ``swift`` CLI puts them), under
``<name>/slo/<upload id>/<segment size>/<index>``; then one manifest PUT
(``?multipart-manifest=put``) makes the object appear, atomically. If anything
fails before the manifest is stored, the segments already uploaded are deleted
again and no object appears.

Swift verifies every segment against the MD5 it was sent with, and the manifest's
ETag (the MD5 of the segments' MD5s) is what Swift reports for the object.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from sciswift.errors import CorruptData, EntityTooLarge, InvalidInput
from sciswift.store.names import MAX_CONTAINER_NAME_LENGTH, MAX_OBJECT_NAME_LENGTH, utf8_len
from sciswift.store.swift.headers import strip_etag
from sciswift.store.swift.http import Body
from sciswift.store.swift.io import PutSource

__all__ = ["Segment", "segments_container", "segment_prefix", "upload_segments", "slo_etag"]


@dataclass(frozen=True)
class Segment:
    """One uploaded segment, as a manifest lists it."""

    container: str
    name: str
    etag: str
    size: int

    def manifest_entry(self) -> dict[str, object]:
        return {"path": f"/{self.container}/{self.name}", "etag": self.etag, "size_bytes": self.size}


def segments_container(container: str) -> str:
    name = f"{container}_segments"
    if utf8_len(name) > MAX_CONTAINER_NAME_LENGTH:
        raise InvalidInput(
            f"container name {container!r} is too long to have a '{name[-9:]}' container "
            "for large-object segments", container,
        )
    return name


def segment_prefix(name: str) -> str:
    """A prefix unique to one upload of ``name``: concurrent uploads never share
    segments, and a name too long to prefix is replaced by its hash."""
    upload = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}"
    base = name if utf8_len(name) <= MAX_OBJECT_NAME_LENGTH - 80 else hashlib.md5(name.encode()).hexdigest()
    return f"{base}/slo/{upload}"


def slo_etag(segments: list[Segment]) -> str:
    """The ETag Swift gives a static large object."""
    return hashlib.md5("".join(s.etag for s in segments).encode("ascii")).hexdigest()


def upload_segments(
    put_segment: Callable[[str, str, Body], str],
    delete_segments: Callable[[list[Segment]], None],
    source: PutSource,
    *,
    container: str,
    name: str,
    segment_size: int,
    workers: int,
    max_segments: int,
) -> list[Segment]:
    """Upload ``source``'s parts and return the segments in order.

    ``put_segment(container, name, body)`` stores one segment and returns the ETag
    Swift answered. At most ``2 * workers`` parts are produced ahead of the
    uploads, which bounds the memory and spool space a stream uses. On failure the
    segments stored so far are removed with ``delete_segments`` and the error is
    re-raised.
    """
    seg_container = segments_container(container)
    prefix = segment_prefix(name)
    subject = f"{container}/{name}"
    done: dict[int, Segment] = {}
    inflight: set[Future[tuple[int, Segment]]] = set()

    def one(index: int, body: Body) -> tuple[int, Segment]:
        seg_name = f"{prefix}/{segment_size}/{index:08d}"
        try:
            etag = strip_etag(put_segment(seg_container, seg_name, body))
        finally:
            if body.release is not None:
                body.release()
        if body.md5 is not None and etag != body.md5:
            raise CorruptData(f"{subject}: segment {index} was stored with MD5 {etag}, "
                              f"but {body.md5} was sent", subject)
        return index, Segment(seg_container, seg_name, etag, body.length)

    def collect(futures: set[Future[tuple[int, Segment]]]) -> None:
        for fut in futures:
            index, seg = fut.result()
            done[index] = seg

    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="sciswift-slo")
    try:
        for index, body in enumerate(source.parts(segment_size)):
            if index >= max_segments:
                if body.release is not None:
                    body.release()
                raise EntityTooLarge(
                    f"{subject} needs more than {max_segments} segments of {segment_size} bytes, "
                    "the most one manifest may list here; use a larger segment_size", subject,
                )
            while len(inflight) >= 2 * max(1, workers):
                finished, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                collect(finished)
            inflight.add(pool.submit(one, index, body))
        finished, inflight = wait(inflight)
        collect(finished)
    except BaseException:
        for fut in inflight:
            fut.cancel()
        wait(inflight)
        for fut in inflight:
            if not fut.cancelled() and fut.exception() is None:
                index, seg = fut.result()
                done[index] = seg
        pool.shutdown(wait=True)
        if done:
            delete_segments(list(done.values()))
        raise
    pool.shutdown(wait=True)
    return [done[i] for i in range(len(done))]
