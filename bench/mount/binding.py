"""``python -m bench.mount.binding``: which Python FUSE binding the mount uses, by
measurement.

Both candidates serve the same trivial file system from memory (one 256 MiB file
to read, one file that swallows writes, 2,000 small files to stat), so what is
timed is the binding and libfuse3, not a store:

- ``pyfuse3`` (libfuse3's low-level API, requests handled in trio tasks; a
  handler that calls blocking store code must hop to a thread, timed as
  ``pyfuse3+thread``);
- ``mfusepy`` (ctypes over libfuse3's high-level path API, libfuse's own
  multi-threaded loop calls Python in its worker threads).

Each is mounted in a child process; ``dd`` and ``stat`` run against it.
"""

from __future__ import annotations

import argparse
import errno
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZE = 256 << 20
NFILES = 2000
DATA = bytes(range(256)) * (SIZE // 256)


# ----------------------------------------------------------------- servers
def serve_mfusepy(mnt: str) -> None:
    import mfusepy as fuse

    now = time.time()

    class FS(fuse.Operations):
        use_ns = True

        def getattr(self, path: str, fh: int | None = None) -> dict[str, float]:
            if path == "/":
                return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2, "st_mtime": now}
            if path == "/big":
                return {"st_mode": stat.S_IFREG | 0o644, "st_size": SIZE, "st_nlink": 1, "st_mtime": now}
            if path == "/sink" or path.startswith("/f"):
                return {"st_mode": stat.S_IFREG | 0o644, "st_size": 0, "st_nlink": 1, "st_mtime": now}
            raise fuse.FuseOSError(errno.ENOENT)

        def readdir(self, path: str, fh: int) -> list[str]:
            return [".", "..", "big", "sink"] + [f"f{i}" for i in range(NFILES)]

        def open(self, path: str, flags: int) -> int:
            return 0

        def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
            return DATA[offset:offset + size]

        def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
            return len(data)

        def truncate(self, path: str, length: int, fh: int | None = None) -> None:
            return None

    fuse.FUSE(FS(), mnt, foreground=True, attr_timeout=0, entry_timeout=0)


def serve_pyfuse3(mnt: str, threaded: bool) -> None:
    import pyfuse3
    import trio

    now_ns = time.time_ns()
    BIG, SINK, FIRST = 2, 3, 10

    def hop(fn, *a):  # type: ignore[no-untyped-def]
        return trio.to_thread.run_sync(fn, *a) if threaded else None

    class FS(pyfuse3.Operations):
        def _attr(self, ino: int) -> pyfuse3.EntryAttributes:
            a = pyfuse3.EntryAttributes()
            a.st_ino = ino
            a.st_mode = (stat.S_IFDIR | 0o755) if ino == pyfuse3.ROOT_INODE else (stat.S_IFREG | 0o644)
            a.st_size = SIZE if ino == BIG else 0
            a.st_nlink = 1
            a.st_atime_ns = a.st_mtime_ns = a.st_ctime_ns = now_ns
            a.attr_timeout = 0
            a.entry_timeout = 0
            return a

        async def getattr(self, inode: int, ctx: pyfuse3.RequestContext | None = None) -> pyfuse3.EntryAttributes:
            if threaded:
                await trio.to_thread.run_sync(lambda: None)
            return self._attr(inode)

        async def lookup(self, parent: int, name: bytes, ctx: pyfuse3.RequestContext | None = None) -> pyfuse3.EntryAttributes:
            if name == b"big":
                return self._attr(BIG)
            if name == b"sink":
                return self._attr(SINK)
            if name.startswith(b"f"):
                return self._attr(FIRST + int(name[1:]))
            raise pyfuse3.FUSEError(errno.ENOENT)

        async def opendir(self, inode: int, ctx: pyfuse3.RequestContext) -> int:
            return inode

        async def readdir(self, fh: int, start_id: int, token: pyfuse3.ReaddirToken) -> None:
            names = [b"big", b"sink"] + [b"f%d" % i for i in range(NFILES)]
            for i in range(start_id, len(names)):
                ino = BIG if i == 0 else SINK if i == 1 else FIRST + i - 2
                if not pyfuse3.readdir_reply(token, names[i], self._attr(ino), i + 1):
                    return

        async def open(self, inode: int, flags: int, ctx: pyfuse3.RequestContext) -> pyfuse3.FileInfo:
            return pyfuse3.FileInfo(fh=inode)

        async def read(self, fh: int, off: int, size: int) -> bytes:
            if threaded:
                return await trio.to_thread.run_sync(lambda: DATA[off:off + size])
            return DATA[off:off + size]

        async def write(self, fh: int, off: int, buf: bytes) -> int:
            if threaded:
                await trio.to_thread.run_sync(lambda: None)
            return len(buf)

        async def setattr(self, inode: int, attr: pyfuse3.EntryAttributes, fields: pyfuse3.SetattrFields,
                          fh: int | None, ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
            return self._attr(inode)

    opts = set(pyfuse3.default_options)
    opts.add("fsname=bench")
    pyfuse3.init(FS(), mnt, opts)
    try:
        trio.run(pyfuse3.main)
    finally:
        pyfuse3.close(unmount=True)


# ----------------------------------------------------------------- driver
def _wait_mounted(mnt: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while not os.path.ismount(mnt):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"mount at {mnt} did not come up")
        time.sleep(0.05)


def _timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def measure(kind: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as mnt:
        proc = subprocess.Popen([sys.executable, "-m", "bench.mount.binding", "--serve", kind, mnt],
                                cwd=Path(__file__).resolve().parents[2])
        try:
            _wait_mounted(mnt, proc)
            out = {
                "read 256 MiB (dd bs=1M)": _timed(["dd", f"if={mnt}/big", "of=/dev/null", "bs=1M", "iflag=direct"]),
                "write 256 MiB (dd bs=1M)": _timed(["dd", "if=/dev/zero", f"of={mnt}/sink", "bs=1M",
                                                     f"count={SIZE >> 20}", "conv=notrunc"]),
                "read 256 MiB in 4 KiB (dd bs=4k)": _timed(["dd", f"if={mnt}/big", "of=/dev/null", "bs=4k",
                                                            "count=16384", "iflag=direct"]),
            }
            t = time.perf_counter()
            for i in range(NFILES):
                os.stat(f"{mnt}/f{i}")
            out[f"stat {NFILES} files"] = time.perf_counter() - t
            return out
        finally:
            subprocess.run(["fusermount3", "-u", mnt], check=False)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--serve", nargs=2, metavar=("KIND", "DIR"), help=argparse.SUPPRESS)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    if args.serve:
        kind, mnt = args.serve
        if kind == "mfusepy":
            serve_mfusepy(mnt)
        else:
            serve_pyfuse3(mnt, threaded=kind == "pyfuse3+thread")
        return
    import importlib.util

    kinds = ["mfusepy", "pyfuse3", "pyfuse3+thread"]
    missing = [k for k in ("mfusepy", "pyfuse3") if importlib.util.find_spec(k) is None]
    if missing:  # pyfuse3 is not a dependency: `pip install pyfuse3` (needs libfuse3-dev) to compare
        print(f"not installed: {', '.join(missing)}")
        kinds = [k for k in kinds if k.split("+")[0] not in missing]
    results: dict[str, dict[str, float]] = {}
    for kind in kinds:
        runs = [measure(kind) for _ in range(args.repeat)]
        results[kind] = {k: min(r[k] for r in runs) for k in runs[0]}
    rows = list(results[kinds[0]])
    print(f"{'workload (best of %d, s)' % args.repeat:<36}" + "".join(f"{k:>16}" for k in kinds))
    for row in rows:
        print(f"{row:<36}" + "".join(f"{results[k][row]:>16.3f}" for k in kinds))


if __name__ == "__main__":
    main()
