"""``python -m bench.mount``: the mount's workloads side by side.

Three contenders run the same unmodified programs (examples/c, h5dump, dd):

- ``local``: a local file in a folder on the same disk;
- ``sciswift``: ``sciswift mount`` over ``sciswift serve`` (on that disk);
- ``rclone``: Debian's ``rclone mount`` of the same server (its Swift backend,
  ``--vfs-cache-mode writes``), the tool a user would otherwise pick.

Writes are timed until the data is in the store: for sciswift that is when the
program's close returns; rclone uploads after close, so its time runs until the
server holds the new object (polled by HEAD); a local write ends at close. Reads
are cold for everyone: a fresh mount with an empty cache, and the local file's
pages dropped from the page cache (``posix_fadvise``) first.

Workloads (the issue's): VPIC-IO write at 4 ranks (8 x 32 MiB), BD-CATS read at 4
ranks, ``h5dump -d`` of a 256 MiB dataset in binary to /dev/null, 200 random
64 x 64 windows from a C program, H5Boss (16 files x 2 plates x 50 fibers: write
at 4 ranks, then read), and a 1 MiB rewrite inside a 1 GiB file (bytes uploaded
counted). Ratios are printed with the issue's bars. One more workload, with no
bar of the issue: ``cp`` of the 256 MiB file to a new name in the same folder
(a copy the store makes, in sciswift's mount), timed until the copy is stored.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sciswift.server.spawn import ServerProcess, spawn
from sciswift.store import SwiftStore

ROOT = Path(__file__).resolve().parents[2]
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]
MiB = 1 << 20
CONTAINER = "bench"
#: The extra workload (no bar of the issue): a copy within the mount.
CP_WORKLOAD = "cp 256 MiB in the folder (write)"


def sh(*argv: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def timed(fn: Callable[[], object], bench: Bench | None = None) -> float:
    if bench is not None:
        bench.started = time.time()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def md5_file(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(8 * MiB):
            h.update(block)
    return h.hexdigest()


def drop_pages(path: Path) -> None:
    """Evict one file's (or a folder's files') pages from the page cache."""
    paths = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


@dataclass
class Contender:
    """One way of reaching files: a folder, and how to make its cache cold."""

    name: str
    root: Path
    prefix: str = ""  # where its files are in the container (mounts)
    remount: Callable[[], None] = lambda: None
    stats: Callable[[], dict[str, int]] = dict
    settle: Callable[[str, int, str], None] = lambda name, size, md5: None  # wait until stored


@dataclass
class Bench:
    work: Path
    server: ServerProcess
    kernels: Path
    store: SwiftStore
    rclone: bool
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    started: float = 0.0  # wall-clock start of the current write workload
    notes: dict[str, str] = field(default_factory=dict)
    mounts: list[Path] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "ST_AUTH": self.server.auth_url, "ST_USER": "test:tester", "ST_KEY": "testing"}

    # ----------------------------------------------------------- contenders
    def sciswift(self) -> Contender:
        mnt = self.work / "mnt-sciswift"
        mnt.mkdir()
        state = {"n": 0}

        def up() -> None:
            state["n"] += 1
            cache = self.work / f"cache-sciswift-{state['n']}"
            sh(sys.executable, "-m", "sciswift.cli.main", "mount", f"swift://{CONTAINER}/s", str(mnt),
               "--cache", str(cache), env=self.env)

        def remount() -> None:
            sh(sys.executable, "-m", "sciswift.cli.main", "umount", str(mnt), env=self.env)
            up()

        up()
        self.mounts.append(mnt)
        return Contender("sciswift", mnt, "s/", remount,
                         stats=lambda: json.loads(os.getxattr(mnt, "user.sciswift.stats")))

    def rclone_mount(self) -> Contender:
        mnt = self.work / "mnt-rclone"
        mnt.mkdir()
        env = {**os.environ, "RCLONE_CONFIG_SS_TYPE": "swift", "RCLONE_CONFIG_SS_AUTH": self.server.auth_url,
               "RCLONE_CONFIG_SS_USER": "test:tester", "RCLONE_CONFIG_SS_KEY": "testing",
               "RCLONE_CONFIG_SS_AUTH_VERSION": "1"}
        state = {"n": 0}

        def up() -> None:
            state["n"] += 1
            cache = self.work / f"cache-rclone-{state['n']}"
            proc = subprocess.Popen(
                ["rclone", "mount", f"ss:{CONTAINER}/r", str(mnt), "--vfs-cache-mode", "writes",
                 "--cache-dir", str(cache), "--log-file", str(self.work / "rclone.log")],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.procs.append(proc)
            deadline = time.monotonic() + 30
            while not os.path.ismount(mnt):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"rclone mount did not come up: {(self.work / 'rclone.log').read_text()}")
                time.sleep(0.05)

        def remount() -> None:
            subprocess.run(["fusermount3", "-u", str(mnt)], check=True)
            proc = self.procs.pop()
            proc.wait(60)
            up()

        def settle(name: str, size: int, md5: str) -> None:
            # The same program writes the same bytes in every repeat: the object
            # must also be newer than the workload's start.
            since = self.started
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                try:
                    info = self.store.head_object(CONTAINER, "r/" + name)
                    if info.size == size and info.etag == md5 and info.timestamp >= since:
                        return
                except FileNotFoundError:
                    pass
                time.sleep(0.02)
            raise RuntimeError(f"rclone never stored {name}")

        up()
        self.mounts.append(mnt)
        return Contender("rclone", mnt, "r/", remount, settle=settle)

    def close(self) -> None:
        for mnt in self.mounts:
            if os.path.ismount(mnt):
                if mnt.name == "mnt-sciswift":
                    subprocess.run([sys.executable, "-m", "sciswift.cli.main", "umount", str(mnt)], env=self.env)
                else:
                    subprocess.run(["fusermount3", "-u", str(mnt)])
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()

    def record(self, workload: str, who: str, seconds: float) -> None:
        """Keep the best of the repeats (the machine is shared: the minimum is
        the least disturbed run)."""
        row = self.results.setdefault(workload, {})
        row[who] = min(seconds, row.get(who, seconds))
        print(f"  {workload:<34} {who:<9} {seconds:8.3f} s", flush=True)


def run(b: Bench, contenders: list[Contender], only: set[str] | None) -> None:
    k = b.kernels

    def cold(c: Contender, local_path: Path) -> None:
        """Nothing cached anywhere: a fresh mount with an empty cache and the
        server's files out of the page cache; for local, the file's pages dropped."""
        if c.name == "local":
            drop_pages(local_path)
        else:
            c.remount()
            drop_pages(b.work / "serve")

    def want(name: str) -> bool:
        return only is None or name in only

    # VPIC-IO write (8 x 32 MiB at 4 ranks), then BD-CATS reading it back.
    if want("vpic") or want("bdcats"):
        expect: dict[str, object] = {}
        for c in contenders:
            target = c.root / "vpic.h5"

            def go(c: Contender = c, target: Path = target) -> None:
                sh(*MPIRUN, "-np", "4", str(k / "vpicio"), str(target), "2097152")
                if c.name != "local":
                    c.settle("vpic.h5", int(expect["size"]), str(expect["md5"]))  # type: ignore[call-overload]

            b.record("VPIC-IO write, 4 ranks, 256 MiB", c.name, timed(go, b))
            if c.name == "local":  # the same bytes are expected of the mounts
                expect.update(size=target.stat().st_size, md5=md5_file(target))
        for c in contenders:
            cold(c, c.root / "vpic.h5")
            b.record("BD-CATS read, 4 ranks", c.name,
                     timed(lambda c=c: sh(*MPIRUN, "-np", "4", str(k / "bdcats"), str(c.root / "vpic.h5"))))

    # A 256 MiB 2-D dataset: h5dump -d in binary, and 200 random 64 x 64 windows.
    if want("h5dump") or want("windows"):
        grid = contenders[0].root / "grid.h5"
        if not grid.exists():
            sh(str(k / "grid"), "write", str(grid), "8192", "8192")
        for c in contenders[1:]:
            with open(grid, "rb") as f:
                b.store.put_object(CONTAINER, c.prefix + "grid.h5", f)
        for c in contenders:
            cold(c, grid)
            b.record("h5dump -d 256 MiB, binary", c.name, timed(lambda c=c: sh(
                "h5dump", "-d", "/data", "-b", "LE", "-o", "/dev/null", str(c.root / "grid.h5"))))
        for c in contenders:
            cold(c, grid)
            b.record("200 random 64x64 windows", c.name, timed(lambda c=c: sh(
                str(k / "grid"), "windows", str(c.root / "grid.h5"), "200", "64", "7")))

    # H5Boss: many small groups and datasets in 16 files, written at 4 ranks, read back.
    if want("h5boss"):
        boss = ("16", "2", "50")
        for c in contenders:
            (c.root / "boss").mkdir(exist_ok=True)

            def go(c: Contender = c) -> None:
                sh(*MPIRUN, "-np", "4", str(k / "h5boss"), "write", str(c.root / "boss"), *boss)
                if c.name != "local":
                    for i in range(16):
                        ref = contenders[0].root / "boss" / f"boss-{i:04d}.h5"
                        c.settle(f"boss/boss-{i:04d}.h5", ref.stat().st_size, md5_file(ref))

            b.record("H5Boss write, 16 files, 4 ranks", c.name, timed(go, b))
        for c in contenders:
            cold(c, c.root / "boss")
            b.record("H5Boss read, 16 files, 4 ranks", c.name, timed(lambda c=c: sh(
                *MPIRUN, "-np", "4", str(k / "h5boss"), "read", str(c.root / "boss"), *boss)))

    # cp of the 256 MiB file within the same folder, until the copy is stored.
    if want("cp"):
        grid = contenders[0].root / "grid.h5"
        if not grid.exists():
            sh(str(k / "grid"), "write", str(grid), "8192", "8192")
        size, md5 = grid.stat().st_size, md5_file(grid)
        for c in contenders[1:]:
            with open(grid, "rb") as f:
                b.store.put_object(CONTAINER, c.prefix + "grid.h5", f)
        for c in contenders:
            copy = c.root / "grid-copy.h5"
            if copy.exists():
                copy.unlink()
            cold(c, grid)

            def go(c: Contender = c) -> None:
                sh("cp", str(c.root / "grid.h5"), str(c.root / "grid-copy.h5"))
                if c.name != "local":
                    c.settle("grid-copy.h5", size, md5)

            b.record(CP_WORKLOAD, c.name, timed(go, b))
            if c.name == "sciswift":  # stored when cp returned: a copy the store made
                info = b.store.head_object(CONTAINER, c.prefix + "grid-copy.h5")
                assert info.size == size and info.etag == md5, info
                b.notes["cp sciswift"] = f"server-side copies: {c.stats().get('server_copies', 0)} so far"

    # A 1 MiB rewrite inside a 1 GiB file.
    if want("rewrite"):
        big = contenders[0].root / "big.bin"
        with open(big, "wb") as f:  # a fresh 1 GiB file in every repeat
            for _ in range(1024):
                f.write(os.urandom(MiB))
        patch = b.work / "patch.bin"
        patch.write_bytes(os.urandom(MiB))
        for c in contenders[1:]:
            if c.name == "sciswift":  # written through the mount: a static large object
                shutil.copyfile(big, c.root / "big.bin")
            else:
                with open(big, "rb") as f:
                    b.store.put_object(CONTAINER, c.prefix + "big.bin", f)
        dd = ["dd", f"if={patch}", "bs=1M", "seek=500", "count=1", "conv=notrunc", "status=none"]
        sh(*dd, f"of={big}")
        size, md5 = big.stat().st_size, md5_file(big)
        for c in contenders:
            if c.name != "local":
                c.remount()
            before = c.stats()

            def go(c: Contender = c) -> None:
                sh(*dd, f"of={c.root / 'big.bin'}")
                if c.name != "local":
                    c.settle("big.bin", size, md5)

            b.record("1 MiB rewrite in a 1 GiB file", c.name, timed(go, b))
            if c.name == "sciswift":
                after = c.stats()
                sent = after["bytes_uploaded"] - before["bytes_uploaded"]
                objs = after["objects_uploaded"] - before["objects_uploaded"]
                b.notes["rewrite sciswift"] = (f"uploaded {sent / MiB:.0f} MiB in {objs} segment(s) + "
                                               f"{after['manifests'] - before['manifests']} manifest")
                assert b.store.get_object(CONTAINER, "s/big.bin", ) is not None
            elif c.name == "rclone":
                info = b.store.head_object(CONTAINER, "r/big.bin")
                whole = "x-static-large-object" not in info.system
                b.notes["rewrite rclone"] = (f"uploaded {info.size / MiB:.0f} MiB (the object was PUT whole)"
                                             if whole else "stored as a large object")
        head = b.store.head_object(CONTAINER, "s/big.bin")
        assert head.etag and b.store.get_manifest(CONTAINER, "s/big.bin") is not None


def report(b: Bench, names: list[str]) -> None:
    bars = {"write": 3.0, "read": 2.0}
    print()
    head = f"{'workload':<34}" + "".join(f"{n:>11}" for n in names)
    if "sciswift" in names:
        head += f"{'sciswift/local':>16}"
    if "rclone" in names and "sciswift" in names:
        head += f"{'rclone/sciswift':>17}"
    print(head)
    for workload, row in b.results.items():
        line = f"{workload:<34}" + "".join(f"{row.get(n, float('nan')):>10.3f}s" for n in names)
        kind = "write" if ("write" in workload or "rewrite" in workload) else "read"
        if "sciswift" in row and "local" in row:
            ratio = row["sciswift"] / row["local"]
            verdict = "no bar" if workload == CP_WORKLOAD else ("met" if ratio <= bars[kind] else "unmet")
            line += f"{ratio:>9.2f}x ({verdict})"
        if "rclone" in row and "sciswift" in row:
            ratio = row["rclone"] / row["sciswift"]
            need = 2.0 if "rewrite" in workload else 1.0
            line += f"{ratio:>10.2f}x ({'met' if ratio >= need else 'unmet'})"
        print(line)
    for k, v in b.notes.items():
        print(f"  {k}: {v}")
    print(f"bars: sciswift/local <= {bars['read']}x for reads, <= {bars['write']}x for writes; "
          "rclone/sciswift > 1x everywhere, >= 2x for the rewrite")


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.mount", description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    p.add_argument("--no-rclone", action="store_true", help="leave rclone mount out")
    p.add_argument("--repeat", type=int, default=1, help="run everything N times, report the best")
    p.add_argument("--only", nargs="*", choices=["vpic", "bdcats", "h5dump", "windows", "h5boss", "cp", "rewrite"])
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-mount-", dir=args.dir))
    kernels = work / "kernels"
    kernels.mkdir()
    for f in (ROOT / "examples" / "c").iterdir():
        if f.suffix in (".c", ".f90") or f.name == "Makefile":
            shutil.copy(f, kernels)
    sh("make", "-s", "-C", str(kernels))
    log = open(work / "serve.log", "wb")
    server = spawn(["--data", str(work / "serve")], stderr=log)
    store = SwiftStore(server.auth_url, "test:tester", "testing")
    store.create_container(CONTAINER)
    b = Bench(work, server, kernels, store, not args.no_rclone)
    local = work / "local"
    local.mkdir()
    contenders = [Contender("local", local)]
    try:
        contenders.append(b.sciswift())
        if b.rclone:
            contenders.append(b.rclone_mount())
        print(f"work folder {work}; server {server.url}", flush=True)
        for i in range(args.repeat):
            if args.repeat > 1:
                print(f"-- run {i + 1} of {args.repeat}", flush=True)
            run(b, contenders, set(args.only) if args.only else None)
        report(b, [c.name for c in contenders])
    finally:
        b.close()
        server.stop()
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
