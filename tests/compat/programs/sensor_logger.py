"""A data logger: appends readings to resizable datasets in a loop, reopens in
append mode to continue, then reads back with len(), iteration and iter_chunks."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
rng = np.random.default_rng(1234)
reading = np.dtype([("t", "<f8"), ("channel", "<u2"), ("value", "<f4"), ("ok", "?")])


def append(ds, rows):
    n = ds.shape[0]
    ds.resize(n + len(rows), axis=0)
    ds[n:] = rows


with h5py.File(path, "w") as f:
    f.attrs["instrument"] = "thermo-7"
    log = f.create_dataset("log", shape=(0,), maxshape=(None,), dtype=reading, chunks=(16,))
    trace = f.create_dataset("trace", shape=(0, 3), maxshape=(None, 3), dtype="f4", chunks=(8, 3),
                             compression="gzip", compression_opts=4)
    for step in range(9):
        rows = np.zeros(step % 4 + 1, dtype=reading)
        rows["t"] = step + np.arange(len(rows)) / 10
        rows["channel"] = step % 3
        rows["value"] = rng.normal(size=len(rows)).astype("f4")
        rows["ok"] = rows["value"] > 0
        append(log, rows)
        append(trace, rng.integers(0, 100, size=(step + 1, 3)).astype("f4"))
    print("after first session:", log.shape, trace.shape, log.chunks, trace.compression)

with h5py.File(path, "a") as f:
    log, trace = f["log"], f["trace"]
    for step in range(3):
        row = np.array([(100.0 + step, 9, -1.5, False)], dtype=reading)
        append(log, row)
    trace.resize((trace.shape[0] + 2, 3))
    f.attrs["sessions"] = 2
    print("after append session:", log.shape, trace.shape, trace.maxshape)

with h5py.File(path, "r") as f:
    log = f["log"]
    print("len:", len(log), log.len(), "dtype:", log.dtype)
    print("channels:", np.bincount(log["channel"]).tolist())
    print("first rows:", [tuple(r.tolist()) for r in log[:3]])
    total = 0.0
    for row in log:
        total += float(row["value"])
    print("sum by iteration: %.5f" % total)
    print("ok fraction: %.4f" % log.fields("ok")[:].mean())
    trace = f["trace"]
    sums = []
    for sel in trace.iter_chunks():
        sums.append((str(sel), float(trace[sel].sum())))
    print("chunks:", len(sums), sums[:3])
    print("unwritten tail:", trace[-2:].tolist(), "fill:", trace.fillvalue)
    print("means:", np.round(np.asarray(trace).mean(axis=0), 4).tolist())
    print("attrs:", sorted(f.attrs.items()))
