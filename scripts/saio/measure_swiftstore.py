#!/usr/bin/env python3
"""Small-object request rates of SwiftStore against a Swift endpoint.

    python scripts/saio/measure_swiftstore.py saio  [--count 1000 --size 4096 --workers 32]
    python scripts/saio/measure_swiftstore.py serve [...]      # sciswift serve on a free port
    python scripts/saio/measure_swiftstore.py url --auth-url URL --user U --key K

``saio`` starts a real Swift all-in-one in a temporary folder (stopped at the end),
``serve`` starts ``sciswift serve`` over a temporary folder. Each phase runs
``put_many``, ``get_many`` (checked byte for byte), then ``delete_many`` over
``--count`` objects of ``--size`` random bytes, ``--repeat`` times; the best run of
each phase is printed in ops/s. The numbers depend on the machine (2 cores shared
by client and server here): compare endpoints in one session, back to back.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator

from tests.support import saio

from sciswift.store.swift import SwiftStore


@contextlib.contextmanager
def _serve() -> Iterator[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory(prefix="sciswift-serve-") as data, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        proc = subprocess.Popen([sys.executable, "-m", "sciswift.cli.main", "serve", "--port", str(port),
                                 "--data", data, "--quiet"], stdin=subprocess.DEVNULL)
        auth = f"http://127.0.0.1:{port}/auth/v1.0"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    req = urllib.request.Request(auth, headers={"X-Auth-User": "test:tester",
                                                                "X-Auth-Key": "testing"})
                    urllib.request.urlopen(req, timeout=2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("sciswift serve did not start") from None
                    time.sleep(0.1)
            yield auth, "test:tester", "testing"
        finally:
            proc.terminate()
            proc.wait(10)


@contextlib.contextmanager
def _saio(proxy_workers: int) -> Iterator[tuple[str, str, str]]:
    with saio.running(proxy_workers=proxy_workers, log_level="WARNING") as swift:
        yield swift.auth_url, swift.user, swift.key


def measure(store: SwiftStore, count: int, size: int, workers: int, repeat: int) -> dict[str, float]:
    best: dict[str, float] = {}
    for _ in range(repeat):
        container = f"bench-{uuid.uuid4().hex[:8]}"
        store.create_container(container)
        items = {f"obj/{i:06d}": os.urandom(size) for i in range(count)}
        t0 = time.perf_counter()
        store.put_many(container, items, max_workers=workers)
        t1 = time.perf_counter()
        got = store.get_many(container, list(items), max_workers=workers)
        t2 = time.perf_counter()
        if got != items:
            raise SystemExit("get_many returned different bytes than were put")
        deleted = store.delete_many(container, list(items), max_workers=workers)
        t3 = time.perf_counter()
        if deleted != count:
            raise SystemExit(f"delete_many deleted {deleted} of {count}")
        store.delete_container(container)
        for phase, seconds in (("put_many", t1 - t0), ("get_many", t2 - t1), ("delete_many", t3 - t2)):
            best[phase] = max(best.get(phase, 0.0), count / seconds)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("endpoint", choices=("saio", "serve", "url"))
    p.add_argument("--auth-url")
    p.add_argument("--user", default="test:tester")
    p.add_argument("--key", default="testing")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--workers", type=int, default=32)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--proxy-workers", type=int, default=1, help="Swift proxy worker processes (saio)")
    args = p.parse_args()
    if args.endpoint == "url":
        if not args.auth_url:
            p.error("url needs --auth-url")
        ctx: contextlib.AbstractContextManager[tuple[str, str, str]] = contextlib.nullcontext(
            (args.auth_url, args.user, args.key))
    elif args.endpoint == "saio":
        ctx = _saio(args.proxy_workers)
    else:
        ctx = _serve()
    with ctx as (auth_url, user, key), SwiftStore(auth_url=auth_url, user=user, key=key) as store:
        rates = measure(store, args.count, args.size, args.workers, args.repeat)
    print(f"{args.endpoint}: {args.count} x {args.size} B, {args.workers} threads, best of {args.repeat}")
    for phase, rate in rates.items():
        print(f"  {phase:12s} {rate:8.0f} ops/s")


if __name__ == "__main__":
    main()
