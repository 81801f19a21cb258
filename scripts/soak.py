"""Soak test of ``sciswift serve``: mixed load for a long time, recording every
minute the server's memory (RSS of all its processes), open files, threads,
the requests served and their latency percentiles, then a verdict: flat or not.

    python scripts/soak.py                    # 30 minutes (make soak)
    python scripts/soak.py --minutes 5 --json soak.json

The server runs with ``--workers 2`` over a fresh data folder. Client threads
(keep-alive connections, standard library only) each own a set of object names
and loop over a weighted mix: small and medium PUTs and GETs, 4-16 MiB PUTs
streamed in pieces, chunked PUTs, ranged GETs, HEADs, listings, POSTs, COPYs,
DELETEs, bulk uploads (tar) and bulk deletes, static large objects, and uploads
abandoned half-way (the client disconnects). Every answer is checked: GETs
against the MD5 of what this client last stored under that name. The working
set is bounded (names are reused), so memory and disk should level off.

Verdict (after a warm-up of ``--warmup`` minutes, compared with the last third
of the run): RSS grows by less than 10% and 32 MiB, open files by at most 8,
threads by at most 4, the data folder's temporary files do not pile up, the
small-request p99 stays within 3x (and 50 ms) of its early value, and no
request failed. Exit status 0 for flat, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import os
import random
import shutil
import statistics
import sys
import tarfile
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sciswift.server.spawn import ServerProcess, spawn  # noqa: E402

MiB = 1 << 20
SMALL_OPS = ("small PUT", "small GET", "HEAD", "listing", "POST", "DELETE")


# ------------------------------------------------------------------ the server
def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the server's workers)."""
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def sample_server(pid: int) -> dict[str, int]:
    """RSS (KiB), open files and threads summed over the server's processes."""
    rss = fds = threads = 0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
            rss += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            threads += int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))
            fds += len(os.listdir(f"/proc/{p}/fd"))
        except (OSError, StopIteration):
            continue
    return {"rss_kib": rss, "fds": fds, "threads": threads}


def temp_files(data: Path) -> int:
    """Files in the containers' ``tmp`` folders (writes in flight or leaked)."""
    return sum(1 for _ in data.glob("*/*/tmp/*"))


# ------------------------------------------------------------------ the clients
@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, op: str, seconds: float) -> None:
        with self.lock:
            self.latencies[op].append(seconds)
            self.counts[op] += 1

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)

    def take(self) -> tuple[dict[str, list[float]], dict[str, int], list[str]]:
        with self.lock:
            out = (self.latencies, self.counts, self.errors)
            self.latencies, self.counts, self.errors = defaultdict(list), defaultdict(int), []
            return out


class Client(threading.Thread):
    """One client: its own names, connection and view of what it stored."""

    WEIGHTS = {
        "small PUT": 24, "small GET": 26, "HEAD": 8, "listing": 6, "POST": 4, "DELETE": 5,
        "medium PUT": 6, "medium GET": 6, "ranged GET": 4, "large PUT": 1, "large GET": 2,
        "chunked PUT": 2, "COPY": 2, "bulk upload": 1, "bulk delete": 1, "SLO": 1, "abandoned PUT": 1,
    }

    def __init__(self, index: int, port: int, storage_path: str, token: str, stats: Stats,
                 stop: threading.Event, seed: int) -> None:
        super().__init__(name=f"soak-client-{index}", daemon=True)
        self.index, self.port, self.base, self.token = index, port, storage_path, token
        self.stats, self.stop_event = stats, stop
        self.rng = random.Random(seed)
        self.container = f"soak{index}"
        self.stored: dict[str, str] = {}  # name -> md5 of what this client last stored
        self.conn: http.client.HTTPConnection | None = None
        ops, weights = zip(*self.WEIGHTS.items())
        self.ops, self.weights = list(ops), list(weights)

    # -- HTTP
    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                chunked: bool = False) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request(method, self.base + path, body=body,
                                  headers={"X-Auth-Token": self.token, **(headers or {})}, encode_chunked=chunked)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed while idle: once more.
                self.conn.close()
                self.conn = None
                if attempt or isinstance(body, (io.IOBase,)) or chunked:
                    raise
        raise AssertionError("unreachable")

    def expect(self, what: str, got: int, *ok: int) -> bool:
        if got not in ok:
            self.stats.error(f"{what}: {got}")
            return False
        return True

    # -- operations
    def pick(self, kind: str, count: int) -> str:
        return f"{kind}/{self.rng.randrange(count)}"

    def put(self, name: str, data: bytes, op: str) -> None:
        status, headers, _ = self.request("PUT", f"/{self.container}/{quote(name)}", data)
        if self.expect(f"{op} {name}", status, 201):
            self.stored[name] = hashlib.md5(data).hexdigest()

    def get(self, name: str, op: str) -> None:
        status, _, data = self.request("GET", f"/{self.container}/{quote(name)}")
        want = self.stored.get(name)
        if want is None:
            self.expect(f"{op} {name}", status, 404)
        elif self.expect(f"{op} {name}", status, 200) and hashlib.md5(data).hexdigest() != want:
            self.stats.error(f"{op} {name}: wrong bytes")

    def run_op(self, op: str) -> None:
        c, rng = self.container, self.rng
        if op == "small PUT":
            self.put(self.pick("s", 300), rng.randbytes(rng.randrange(1, 64 * 1024)), op)
        elif op == "small GET":
            self.get(self.pick("s", 300), op)
        elif op == "medium PUT":
            self.put(self.pick("m", 40), rng.randbytes(rng.randrange(256 * 1024, 2 * MiB)), op)
        elif op == "medium GET":
            self.get(self.pick("m", 40), op)
        elif op == "large PUT":
            name = self.pick("l", 4)
            data = rng.randbytes(rng.randrange(4 * MiB, 16 * MiB))
            status, _, _ = self.request("PUT", f"/{c}/{name}", data, {"Content-Length": str(len(data))})
            if self.expect(f"{op} {name}", status, 201):
                self.stored[name] = hashlib.md5(data).hexdigest()
        elif op == "large GET":
            self.get(self.pick("l", 4), op)
        elif op == "chunked PUT":
            name = self.pick("c", 20)
            parts = [rng.randbytes(rng.randrange(1, 200_000)) for _ in range(rng.randrange(1, 6))]
            status, _, _ = self.request("PUT", f"/{c}/{name}", iter(parts), chunked=True)
            if self.expect(f"{op} {name}", status, 201):
                self.stored[name] = hashlib.md5(b"".join(parts)).hexdigest()
        elif op == "ranged GET":
            name = self.pick("m", 40)
            status, _, _ = self.request("GET", f"/{c}/{name}", headers={"Range": "bytes=100-5000"})
            self.expect(f"{op} {name}", status, 206, 404, 416)
        elif op == "HEAD":
            name = self.pick("s", 300)
            status, _, _ = self.request("HEAD", f"/{c}/{name}")
            self.expect(f"{op} {name}", status, 200 if name in self.stored else 404)
        elif op == "listing":
            status, _, _ = self.request("GET", f"/{c}?format=json&prefix=s/&limit=100")
            self.expect(op, status, 200)
        elif op == "POST":
            name = self.pick("s", 300)
            status, _, _ = self.request("POST", f"/{c}/{name}", headers={"X-Object-Meta-Soak": str(time.time())})
            self.expect(f"{op} {name}", status, 202 if name in self.stored else 404)
        elif op == "DELETE":
            name = self.pick("s", 300)
            status, _, _ = self.request("DELETE", f"/{c}/{name}")
            if self.expect(f"{op} {name}", status, 204 if name in self.stored else 404):
                self.stored.pop(name, None)
        elif op == "COPY":
            src, dst = self.pick("m", 40), self.pick("s", 300)
            status, _, _ = self.request("PUT", f"/{c}/{dst}", b"", {"X-Copy-From": f"{c}/{src}"})
            if src in self.stored:
                if self.expect(f"{op} {src}", status, 201):
                    self.stored[dst] = self.stored[src]
            else:
                self.expect(f"{op} {src}", status, 404)
        elif op == "bulk upload":
            buf = io.BytesIO()
            files = {f"t/{rng.randrange(200)}": rng.randbytes(rng.randrange(100, 4000)) for _ in range(30)}
            with tarfile.open(fileobj=buf, mode="w") as tar:
                for n, d in files.items():
                    info = tarfile.TarInfo(n)
                    info.size = len(d)
                    tar.addfile(info, io.BytesIO(d))
            status, _, body = self.request("PUT", f"/{c}?extract-archive=tar", buf.getvalue(),
                                           {"Accept": "application/json"})
            if self.expect(op, status, 200):
                result = json.loads(body)
                if result.get("Errors") or not str(result.get("Response Status", "")).startswith("201"):
                    self.stats.error(f"{op}: {result}")
                else:
                    self.stored.update({n: hashlib.md5(d).hexdigest() for n, d in files.items()})
        elif op == "bulk delete":
            names = [n for n in list(self.stored) if n.startswith("t/")][:20]
            body = "\n".join(f"/{c}/{quote(n)}" for n in names).encode()
            status, _, out = self.request("POST", "?bulk-delete", body,
                                          {"Accept": "application/json", "Content-Type": "text/plain"})
            if self.expect(op, status, 200) and not json.loads(out).get("Errors"):
                for n in names:
                    self.stored.pop(n, None)
        elif op == "SLO":
            seg = f"{c}_segments"
            segs = [rng.randbytes(1 * MiB + rng.randrange(1000)) for _ in range(3)]
            manifest = []
            for i, d in enumerate(segs):
                status, headers, _ = self.request("PUT", f"/{seg}/slo/{i}", d)
                if not self.expect(f"{op} segment", status, 201):
                    return
                manifest.append({"path": f"/{seg}/slo/{i}", "etag": headers["etag"].strip('"'),
                                 "size_bytes": len(d)})
            status, _, _ = self.request("PUT", f"/{c}/slo?multipart-manifest=put", json.dumps(manifest).encode())
            if self.expect(f"{op} manifest", status, 201):
                self.stored["slo"] = hashlib.md5(b"".join(segs)).hexdigest()
                self.get("slo", op)
        elif op == "abandoned PUT":
            # Announce 8 MiB, send 1 MiB, hang up: the server must drop the temp file.
            import socket

            s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            s.sendall(f"PUT {self.base}/{c}/abandoned HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {self.token}\r\n"
                      f"Content-Length: {8 * MiB}\r\n\r\n".encode() + rng.randbytes(MiB))
            s.close()

    def run(self) -> None:
        for c in (self.container, f"{self.container}_segments"):
            self.request("PUT", f"/{c}")
        while not self.stop_event.is_set():
            op = self.rng.choices(self.ops, self.weights)[0]
            t0 = time.perf_counter()
            try:
                self.run_op(op)
            except Exception as e:  # noqa: BLE001 - every failure is counted
                self.stats.error(f"{op}: {type(e).__name__}: {e}")
                if self.conn is not None:
                    self.conn.close()
                    self.conn = None
            self.stats.record(op, time.perf_counter() - t0)


# ------------------------------------------------------------------ the run
def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


def authenticate(server: ServerProcess) -> tuple[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", "/auth/v1.0", headers={"X-Auth-User": "test:tester", "X-Auth-Key": "testing"})
    resp = conn.getresponse()
    resp.read()
    url, token = resp.getheader("X-Storage-Url") or "", resp.getheader("X-Auth-Token") or ""
    conn.close()
    return url.split(str(server.port), 1)[1], token


def verdict(rows: list[dict[str, Any]], warmup: int) -> tuple[bool, list[str]]:
    """Flat or not, with the reasons (see the module docstring)."""
    body = rows[warmup:] if len(rows) > warmup + 2 else rows
    third = max(1, len(body) // 3)
    early, late = body[:third], body[-third:]

    def med(rs: list[dict[str, Any]], key: str) -> float:
        return statistics.median(r[key] for r in rs)

    notes, flat = [], True
    rss0, rss1 = med(early, "rss_mib"), med(late, "rss_mib")
    grew = rss1 - rss0
    ok = grew < 32.0 and grew < 0.10 * rss0
    notes.append(f"RSS {rss0:.0f} -> {rss1:.0f} MiB ({grew:+.0f}): {'flat' if ok else 'GROWING'}")
    flat &= ok
    fd0, fd1 = max(r["fds"] for r in early), max(r["fds"] for r in late)
    ok = fd1 <= fd0 + 8
    notes.append(f"open files {fd0} -> {fd1}: {'flat' if ok else 'GROWING'}")
    flat &= ok
    th0, th1 = max(r["threads"] for r in early), max(r["threads"] for r in late)
    ok = th1 <= th0 + 4
    notes.append(f"threads {th0} -> {th1}: {'flat' if ok else 'GROWING'}")
    flat &= ok
    tmp1 = max(r["tmp_files"] for r in late)
    ok = tmp1 <= 16
    notes.append(f"temp files at most {tmp1} late in the run: {'flat' if ok else 'PILING UP'}")
    flat &= ok
    p0, p1 = med(early, "small_p99_ms"), med(late, "small_p99_ms")
    ok = p1 <= max(3 * p0, p0 + 50)
    notes.append(f"small-request p99 {p0:.1f} -> {p1:.1f} ms: {'flat' if ok else 'SLOWING'}")
    flat &= ok
    errors = sum(r["errors"] for r in rows)
    notes.append(f"failed requests: {errors}")
    flat &= errors == 0
    return flat, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2, help="samples left out of the verdict")
    parser.add_argument("--json", type=Path, help="write the samples and the verdict here")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="sciswift-soak-"))
    data = tmp / "data"
    log = open(tmp / "serve.log", "wb")
    server = spawn(["--data", str(data), "--workers", str(args.workers), "--quiet"], stderr=log,
                   log_path=tmp / "serve.log")
    stop = threading.Event()
    stats = Stats()
    rows: list[dict[str, Any]] = []
    try:
        path, token = authenticate(server)
        clients = [Client(i, server.port, path, token, stats, stop, args.seed * 1000 + i) for i in range(args.clients)]
        for c in clients:
            c.start()
        t0 = time.monotonic()
        end = t0 + args.minutes * 60
        header = (f"{'min':>5} {'RSS MiB':>8} {'files':>6} {'thr':>4} {'tmp':>4} {'reqs':>6} {'err':>4} "
                  f"{'small p50':>9} {'p95':>7} {'p99':>7} {'large p50':>9} {'p99':>8}")
        print(f"soak of sciswift serve (pid {server.proc.pid}, {args.workers} workers, {args.clients} clients) "
              f"for {args.minutes:g} min; data in {data}", flush=True)
        print(header, flush=True)
        next_sample = t0 + args.interval
        while time.monotonic() < end:
            time.sleep(max(0.0, min(next_sample, end) - time.monotonic()))
            next_sample += args.interval
            lat, counts, errors = stats.take()
            sample = sample_server(server.proc.pid)
            small = [x for op in SMALL_OPS for x in lat.get(op, [])]
            large = [x for op in ("large PUT", "large GET") for x in lat.get(op, [])]
            row = {
                "minute": round((time.monotonic() - t0) / 60, 2), "rss_mib": round(sample["rss_kib"] / 1024, 1),
                "fds": sample["fds"], "threads": sample["threads"], "tmp_files": temp_files(data),
                "requests": sum(counts.values()), "errors": len(errors),
                "small_p50_ms": round(pct(small, 0.5), 2), "small_p95_ms": round(pct(small, 0.95), 2),
                "small_p99_ms": round(pct(small, 0.99), 2), "large_p50_ms": round(pct(large, 0.5), 1),
                "large_p99_ms": round(pct(large, 0.99), 1), "error_samples": errors[:3],
                "ops": dict(counts),
            }
            rows.append(row)
            print(f"{row['minute']:>5.1f} {row['rss_mib']:>8.1f} {row['fds']:>6} {row['threads']:>4} "
                  f"{row['tmp_files']:>4} {row['requests']:>6} {row['errors']:>4} {row['small_p50_ms']:>9.2f} "
                  f"{row['small_p95_ms']:>7.2f} {row['small_p99_ms']:>7.2f} {row['large_p50_ms']:>9.1f} "
                  f"{row['large_p99_ms']:>8.1f}", flush=True)
            for e in errors[:3]:
                print(f"      error: {e}", flush=True)
            if server.proc.poll() is not None:
                print("the server exited", file=sys.stderr)
                break
    finally:
        stop.set()
        try:
            for c in threading.enumerate():
                if isinstance(c, Client):
                    c.join(180)
        finally:
            server.stop()
            log.close()
    flat, notes = verdict(rows, args.warmup) if rows else (False, ["no samples"])
    print("verdict: " + ("FLAT" if flat else "NOT FLAT"))
    for n in notes:
        print("  " + n)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "flat": flat, "notes": notes,
                                         "clients": args.clients, "workers": args.workers}, indent=1) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
