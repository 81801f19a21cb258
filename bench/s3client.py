"""Which HTTP client S3Store uses, by measurement: boto3's client against
urllib3 with S3Store's own SigV4 signer, 4 KiB PUTs and GETs one at a time
against ``sciswift serve`` (memory backend), wall time and client CPU per
request, interleaved rounds.

    python -m bench.s3client [--count 400] [--rounds 2]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from urllib.parse import quote, urlsplit

import boto3
import botocore.config
import urllib3

from sciswift.server.spawn import spawn
from sciswift.store.s3.signing import Signer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    server = spawn(["--backend", "memory", "--quiet"])
    try:
        url = server.url
        host = urlsplit(url).netloc
        body = os.urandom(4096)
        s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="test:tester", aws_secret_access_key="testing",
                          region_name="us-east-1", config=botocore.config.Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="clientbench")
        u = urlsplit(url)
        pool = urllib3.HTTPConnectionPool(u.hostname or "", u.port, maxsize=2)
        signer = Signer("test:tester", "testing", "us-east-1")
        sha = hashlib.sha256(body).hexdigest()

        def with_boto3() -> None:
            for i in range(args.count):
                s3.put_object(Bucket="clientbench", Key=f"b{i}", Body=body)
            for i in range(args.count):
                s3.get_object(Bucket="clientbench", Key=f"b{i}")["Body"].read()

        def with_urllib3() -> None:
            for i in range(args.count):
                path = f"/clientbench/u{i}"
                headers = signer.sign("PUT", host, path, {}, {"Content-Length": "4096"}, sha)
                assert pool.urlopen("PUT", quote(path), body=body, headers=headers).status == 200
            for i in range(args.count):
                path = f"/clientbench/u{i}"
                headers = signer.sign("GET", host, path, {}, {})
                assert len(pool.urlopen("GET", quote(path), headers=headers).data) == 4096

        results: dict[str, list[tuple[float, float]]] = {}
        runs: list[tuple[str, Callable[[], None]]] = [("boto3", with_boto3), ("urllib3+signer", with_urllib3)]
        for rnd in range(args.rounds):
            for name, fn in runs if rnd % 2 == 0 else runs[::-1]:
                wall, cpu = time.perf_counter(), time.process_time()
                fn()
                n = 2 * args.count
                results.setdefault(name, []).append(((time.perf_counter() - wall) / n * 1e3,
                                                     (time.process_time() - cpu) / n * 1e3))
        for name, rs in results.items():
            print(f"{name:16} wall {statistics.median(r[0] for r in rs):6.2f} ms/request   "
                  f"client CPU {statistics.median(r[1] for r in rs):6.2f} ms/request")
        print(f"load average: {os.getloadavg()[0]:.1f}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
