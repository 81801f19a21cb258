"""The load generator: client processes with keep-alive connections, one
barrier-released phase at a time (standard library only).

Each phase (small PUT, small GET, large PUT, large GET, DELETE) runs
``concurrency`` processes; each opens one keep-alive HTTP connection, warms it
with a HEAD outside the timed window, waits at a barrier, then sends its share
of the requests one after the other. The phase's wall time runs from the
barrier's release until the last process is done. Every reply is checked (PUT:
201 and the body's MD5 as ETag; GET: 200, length and MD5 of the body; DELETE:
204 or 404); failures are counted and reported, never hidden.

MB means 10**6 bytes.
"""

from __future__ import annotations

import hashlib
import http.client
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = ["Endpoint", "PhaseResult", "Workload", "PHASES", "authenticate", "run_phase", "run_all", "describe"]

REQUEST_TIMEOUT = 120.0
PHASE_TIMEOUT = 900.0


@dataclass(frozen=True)
class Endpoint:
    """Where to send requests: a storage URL and a token."""

    storage_url: str
    token: str
    label: str = ""


@dataclass
class PhaseResult:
    label: str
    count: int
    size: int
    wall_s: float
    errors: int
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def ops_per_s(self) -> float:
        return self.count / self.wall_s if self.wall_s else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.count * self.size / self.wall_s / 1e6 if self.wall_s else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.label, "objects": self.count, "object_size": self.size,
            "wall_s": round(self.wall_s, 3), "ops_per_s": round(self.ops_per_s, 1),
            "MB_per_s": round(self.mb_per_s, 1), "p50_ms": round(self.percentile(0.5), 2),
            "p99_ms": round(self.percentile(0.99), 2), "errors": self.errors,
            "error_samples": self.error_samples[:5],
        }


def _connect(url: str) -> tuple[http.client.HTTPConnection, str]:
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=REQUEST_TIMEOUT)
    return conn, u.path.rstrip("/")


def authenticate(auth_url: str, user: str, key: str, label: str = "") -> Endpoint:
    """v1.0 auth: the storage URL and token for ``user``."""
    conn, path = _connect(auth_url)
    conn.request("GET", path, headers={"X-Auth-User": user, "X-Auth-Key": key})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    if resp.status // 100 != 2:
        raise RuntimeError(f"auth at {auth_url} failed: {resp.status} {resp.reason}")
    return Endpoint(resp.getheader("X-Storage-Url") or "", resp.getheader("X-Auth-Token") or "", label)


def request(conn: http.client.HTTPConnection, method: str, path: str, token: str,
            body: bytes | None = None, sink: bool = False) -> tuple[int, str, int, str]:
    """One request; returns status, ETag header, body length and body MD5 (when ``sink``)."""
    headers = {"X-Auth-Token": token}
    if method in ("PUT", "POST"):
        headers["Content-Type"] = "application/octet-stream"
        headers["Content-Length"] = str(len(body or b""))
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    n, digest = 0, ""
    if sink:
        h = hashlib.md5()
        while True:
            chunk = resp.read(1 << 20)
            if not chunk:
                break
            n += len(chunk)
            h.update(chunk)
        digest = h.hexdigest()
    else:
        n = len(resp.read())
    return resp.status, (resp.getheader("Etag") or "").strip('"'), n, digest


def _worker(ep: Endpoint, container: str, op: str, names: list[str], body: bytes | None,
            barrier: Any, out: Any) -> None:
    conn, base = _connect(ep.storage_url)
    etag = hashlib.md5(body).hexdigest() if body is not None else ""
    latencies: list[float] = []
    errors: list[str] = []
    try:
        request(conn, "HEAD", f"{base}/{quote(container)}", ep.token)  # warm the connection
        barrier.wait()
        for name in names:
            path = f"{base}/{quote(container)}/{quote(name)}"
            t = time.perf_counter()
            try:
                if op == "PUT":
                    status, got, _, _ = request(conn, "PUT", path, ep.token, body)
                    ok = status == 201 and got == etag
                elif op == "GET":
                    status, _, n, digest = request(conn, "GET", path, ep.token, sink=True)
                    ok = status == 200 and n == len(body or b"") and digest == etag
                else:
                    status, _, _, _ = request(conn, "DELETE", path, ep.token)
                    ok = status in (204, 404)
                if not ok:
                    errors.append(f"{op} {name} -> {status}")
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{op} {name} -> {exc!r}")
                conn.close()
                conn, base = _connect(ep.storage_url)
            latencies.append(time.perf_counter() - t)
    except Exception as exc:  # noqa: BLE001 - reported with the results
        errors.append(f"worker failed: {exc!r}")
    out.put((latencies, errors))


def run_phase(ep: Endpoint, container: str, label: str, op: str, names: list[str],
              body: bytes | None, concurrency: int) -> PhaseResult:
    """Run one phase with ``concurrency`` client processes."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(concurrency + 1)
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(ep, container, op, names[i::concurrency], body, barrier, out))
             for i in range(concurrency)]
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
    return PhaseResult(label, len(names), len(body or b""), wall, len(errors), latencies, errors[:5])


PHASES = ("small PUT", "small GET", "large PUT", "large GET", "DELETE")


#: phase label -> (method, object names, body to PUT or to expect from a GET).
Plan = dict[str, tuple[str, list[str], bytes | None]]


def plan_phases(small_count: int, small_size: int, large_count: int, large_size: int) -> Plan:
    """The phases every API column runs: small and large PUTs and GETs of the
    same names and bodies, then DELETE of them all."""
    small, large = os.urandom(small_size), os.urandom(large_size)
    sn = [f"small/{i:06d}" for i in range(small_count)]
    ln = [f"large/{i:04d}" for i in range(large_count)]
    return {
        "small PUT": ("PUT", sn, small), "small GET": ("GET", sn, small),
        "large PUT": ("PUT", ln, large), "large GET": ("GET", ln, large),
        "DELETE": ("DELETE", sn + ln, None),
    }


class Workload:
    """The five phases against one endpoint, in a fresh container; run them in
    order with :meth:`phase` (possibly interleaved with another endpoint's),
    then :meth:`finish` to remove the container."""

    def __init__(self, ep: Endpoint, *, concurrency: int, small_count: int, small_size: int,
                 large_count: int, large_size: int) -> None:
        self.ep = ep
        self.concurrency = concurrency
        self.container = f"load-{os.urandom(4).hex()}"
        conn, base = _connect(ep.storage_url)
        status, _, _, _ = request(conn, "PUT", f"{base}/{quote(self.container)}", ep.token, b"")
        conn.close()
        if status not in (201, 202):
            raise RuntimeError(f"container PUT at {ep.storage_url} failed: {status}")
        self.plan = plan_phases(small_count, small_size, large_count, large_size)

    def phase(self, label: str) -> PhaseResult:
        op, names, body = self.plan[label]
        return run_phase(self.ep, self.container, label, op, names, body, self.concurrency)

    def finish(self) -> None:
        conn, base = _connect(self.ep.storage_url)
        for _ in range(10):  # a listing may lag behind deletes on real Swift
            status, _, _, _ = request(conn, "DELETE", f"{base}/{quote(self.container)}", self.ep.token)
            if status in (204, 404):
                break
            time.sleep(1)
        conn.close()


def describe(r: PhaseResult, label: str) -> str:
    return (f"  {label:10} {r.label:10} {r.count:6d} x {r.size:9d} B  {r.wall_s:7.2f} s  "
            f"{r.ops_per_s:8.1f} ops/s  {r.mb_per_s:8.1f} MB/s  p50 {r.percentile(0.5):7.2f} ms  "
            f"p99 {r.percentile(0.99):7.2f} ms  errors {r.errors}")


def run_all(ep: Endpoint, *, concurrency: int, small_count: int, small_size: int,
            large_count: int, large_size: int, log: Any = print) -> list[PhaseResult]:
    """The five phases against one endpoint, one after the other."""
    work = Workload(ep, concurrency=concurrency, small_count=small_count, small_size=small_size,
                    large_count=large_count, large_size=large_size)
    results = []
    for label in PHASES:
        r = work.phase(label)
        log(describe(r, ep.label))
        for e in r.error_samples:
            log(f"      {e}")
        results.append(r)
    work.finish()
    return results
