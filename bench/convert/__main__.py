"""``python -m bench.convert``: ``sciswift import`` and ``export`` of a gzip HDF5
file against ``swift upload`` and ``swift download`` of the same file, all against
one ``sciswift serve`` on this machine.

The file (made once with h5py and kept in ``--work``): a float32 field of
``--slabs`` 1024x1024 time steps, smooth in space and time with noise, kept to
0.01 K (as a model's output is), chunked (1, 512, 512) (1 MiB chunks) with gzip
level 4; about 1 MB of compressed data per slab. Each command runs as its own
process under ``/usr/bin/time -v`` (its wall time and peak resident memory);
each is repeated ``--rounds`` times and the median reported, with the ratios the
issue sets bars for (import/upload and export/download <= 2, peak memory <=
300 MB). Results also go to ``--out``/convert-latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def make_file(path: Path, slabs: int) -> None:
    """The benchmark's HDF5 file (see the module docstring)."""
    import h5py
    import numpy as np

    rng = np.random.default_rng(42)
    y, x = np.mgrid[0:1024, 0:1024].astype(np.float32)
    tmp = path.with_suffix(".part")
    with h5py.File(tmp, "w") as f:
        ds = f.create_dataset("temperature", shape=(slabs, 1024, 1024), dtype="f4", chunks=(1, 512, 512),
                              compression="gzip", compression_opts=4)
        ds.attrs["units"] = "K"
        for t in range(slabs):
            field = (280 + 15 * np.sin(x / 97 + t / 11) * np.cos(y / 131 - t / 17)
                     + rng.normal(0, 0.8, size=(1024, 1024)).astype(np.float32))
            ds[t] = np.round(field, 2)
        f.create_dataset("time", data=np.arange(slabs, dtype="f8") * 3600.0)
    tmp.rename(path)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command, from /usr/bin/time -v."""
    started = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    return wall, (int(rss.group(1)) / 1024 if rss else float("nan"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.convert", description=__doc__.split("\n\n")[0])
    parser.add_argument("--slabs", type=int, default=240, help="time steps of 4 MiB (default 240: ~500 MB gzip)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "sciswift-bench-convert",
                        help="where the HDF5 file is kept between runs")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)

    from sciswift.server.spawn import spawn

    args.work.mkdir(parents=True, exist_ok=True)
    src = args.work / f"field-{args.slabs}.h5"
    if not src.exists():
        print(f"making {src} ...", flush=True)
        make_file(src, args.slabs)
    size = src.stat().st_size
    print(f"file: {src} ({size / 1e6:.1f} MB)", flush=True)

    data = Path(tempfile.mkdtemp(prefix="bench-convert-data-"))
    scratch = Path(tempfile.mkdtemp(prefix="bench-convert-out-"))
    server = spawn(["--data", str(data), "--quiet"])
    try:
        env = dict(os.environ, ST_AUTH=server.auth_url, ST_USER="test:tester", ST_KEY="testing")
        swift = [str(BIN / "swift")]
        sciswift = [str(BIN / "sciswift")]
        cmds: dict[str, list[str]] = {
            "swift upload": [*swift, "upload", "bench", str(src), "--object-name", "blob.h5"],
            "sciswift import": [*sciswift, "import", "--overwrite", "--no-progress", str(src),
                                "swift://bench/native.h5"],
            "swift download": [*swift, "download", "bench", "blob.h5", "-o", str(scratch / "down.h5")],
            "sciswift export": [*sciswift, "export", "--overwrite", "--no-progress", "swift://bench/native.h5",
                                str(scratch / "out.h5")],
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
        for r in range(args.rounds):
            for name, cmd in cmds.items():
                wall, rss = timed(cmd, env)
                results[name].append((wall, rss))
                print(f"round {r + 1} {name:<16} {wall:6.2f} s  {rss:6.0f} MB", flush=True)
        med = {name: (statistics.median(w for w, _ in rows), max(m for _, m in rows)) for name, rows in results.items()}
        rows = [
            ("import", med["sciswift import"], med["swift upload"]),
            ("export", med["sciswift export"], med["swift download"]),
        ]
        print(f"\n{'':8} {'sciswift s':>10} {'swift s':>8} {'ratio':>6} {'peak MB':>8}   (bars: ratio <= 2, peak <= 300)")
        doc: dict[str, Any] = {"file_bytes": size, "slabs": args.slabs, "rounds": args.rounds, "rows": []}
        for label, (ours, rss), (theirs, their_rss) in rows:
            ratio = ours / theirs
            ok = "ok" if ratio <= 2 and rss <= 300 else "OVER"
            print(f"{label:8} {ours:10.2f} {theirs:8.2f} {ratio:6.2f} {rss:8.0f}   {ok}")
            doc["rows"].append({"op": label, "sciswift_s": ours, "swift_s": theirs, "ratio": ratio,
                                "peak_rss_mb": rss, "swift_peak_rss_mb": their_rss})
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "convert-latest.json").write_text(json.dumps(doc, indent=2) + "\n")
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
