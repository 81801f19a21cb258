"""A run log appended in a loop the SWMR way: libver='latest', swmr_mode, a compound
table and a 2-D waveform block grown with resize, flushed after each append, read
back with negative indices, field selection and len()."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
row = np.dtype([("t", "<f8"), ("channel", "<u2"), ("ok", "?"), ("label", "S6")])
with h5py.File(path, "w", libver="latest") as f:
    log = f.create_dataset("log", shape=(0,), maxshape=(None,), dtype=row, chunks=(16,))
    wave = f.create_dataset("wave", shape=(0, 5), maxshape=(None, 5), dtype="i2", chunks=(4, 5), fillvalue=-9)
    f.swmr_mode = True
    print("swmr", f.swmr_mode)
    for step in range(6):
        n = step % 3 + 1
        rows = np.zeros(n, dtype=row)
        rows["t"] = step + np.arange(n) / 10
        rows["channel"] = step * 10 + np.arange(n)
        rows["ok"] = np.arange(n) % 2 == 0
        rows["label"] = [f"s{step}r{i}".encode() for i in range(n)]
        log.resize(log.shape[0] + n, axis=0)
        log[-n:] = rows
        wave.resize((wave.shape[0] + 2, 5))
        wave[-2:, : step % 5 + 1] = step
        log.flush()
        wave.flush()
        print("step", step, log.shape, wave.shape, len(log))
with h5py.File(path, "r", swmr=True) as f:
    log = f["log"]
    log.refresh()
    print(log[-1], log[-3:]["channel"].tolist())
    print(log["label"][:4].tolist(), log[2:5, "t"].tolist())
    print(log.fields(["channel", "ok"])[::4].tolist())
    print(f["wave"][...].tolist())
    print(f["wave"].maxshape, f["wave"].chunks, f["wave"].fillvalue)
