"""The load phases through the S3 API with boto3: the same 4 KiB and 16 MiB
PUT/GET and DELETE phases as ``client.py``, one boto3 client (keep-alive
connections) per client process, each warmed before the barrier starts the
clock. Every reply is checked (PUT: the ETag is the body's MD5; GET: length
and MD5 of the body); failures are counted, never hidden."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from typing import Any

from bench.load.client import PHASE_TIMEOUT, PhaseResult, plan_phases

__all__ = ["S3Endpoint", "S3Workload"]


@dataclass(frozen=True)
class S3Endpoint:
    url: str
    access_key: str
    secret_key: str
    label: str = ""


def client(ep: S3Endpoint) -> Any:
    import boto3
    import botocore.config

    # Checksums only where S3 requires them (as boto3 did before 1.36): the
    # PUTs carry the payload's SHA-256 in the signature anyway, and on a 2-core
    # machine the clients' own CRC work would crowd out both servers alike.
    return boto3.client(
        "s3", endpoint_url=ep.url, aws_access_key_id=ep.access_key, aws_secret_access_key=ep.secret_key,
        region_name="us-east-1",
        config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                      max_pool_connections=2, request_checksum_calculation="when_required",
                                      response_checksum_validation="when_required"),
    )


def _worker(ep: S3Endpoint, bucket: str, op: str, names: list[str], body: bytes | None, barrier: Any,
            out: Any) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    try:
        s3 = client(ep)
        s3.head_bucket(Bucket=bucket)  # warm the connection
        etag = hashlib.md5(body).hexdigest() if body is not None else ""
        barrier.wait()
        for name in names:
            t = time.perf_counter()
            try:
                if op == "PUT":
                    got = s3.put_object(Bucket=bucket, Key=name, Body=body)["ETag"].strip('"')
                    ok = got == etag
                elif op == "GET":
                    data = s3.get_object(Bucket=bucket, Key=name)["Body"].read()
                    ok = len(data) == len(body or b"") and hashlib.md5(data).hexdigest() == etag
                else:
                    s3.delete_object(Bucket=bucket, Key=name)
                    ok = True
                if not ok:
                    errors.append(f"{op} {name}: wrong ETag or body")
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors.append(f"{op} {name} -> {exc!r}"[:300])
            latencies.append(time.perf_counter() - t)
    except Exception as exc:  # noqa: BLE001 - reported with the results
        errors.append(f"worker failed: {exc!r}"[:300])
    out.put((latencies, errors))


class S3Workload:
    """The five phases through the S3 API against one endpoint, in a fresh bucket."""

    def __init__(self, ep: S3Endpoint, *, concurrency: int, small_count: int, small_size: int,
                 large_count: int, large_size: int) -> None:
        self.ep = ep
        self.concurrency = concurrency
        self.bucket = f"load-s3-{os.urandom(4).hex()}"
        client(ep).create_bucket(Bucket=self.bucket)
        self.plan = plan_phases(small_count, small_size, large_count, large_size)

    def phase(self, label: str) -> PhaseResult:
        op, names, body = self.plan[label]
        ctx = mp.get_context("fork")
        barrier = ctx.Barrier(self.concurrency + 1)
        out = ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(self.ep, self.bucket, op, names[i::self.concurrency], body,
                                                   barrier, out)) for i in range(self.concurrency)]
        for p in procs:
            p.start()
        barrier.wait(timeout=120)
        t0 = time.perf_counter()
        results = [out.get(timeout=PHASE_TIMEOUT) for _ in procs]
        wall = time.perf_counter() - t0
        for p in procs:
            p.join()
        latencies = [x for r in results for x in r[0]]
        errors = [e for r in results for e in r[1]]
        return PhaseResult(f"S3 {label}", len(names), len(body or b""), wall, len(errors), latencies, errors[:5])

    def finish(self) -> None:
        s3 = client(self.ep)
        for _ in range(10):  # a listing may lag behind deletes on real Swift
            try:
                s3.delete_bucket(Bucket=self.bucket)
                return
            except Exception:  # noqa: BLE001 - retried, then left behind
                time.sleep(1)
