"""Extensible datasets: maxshape, appends in a loop, resize in two dimensions."""
import sys

import h5py
import numpy as np

d = sys.argv[1]
with h5py.File(f"{d}/grow.h5", "w") as f:
    log = f.create_dataset("log", shape=(0,), maxshape=(None,), dtype="f8", chunks=(4,))
    for step in range(7):
        block = np.full(step + 1, step, dtype="f8")
        n = log.shape[0]
        log.resize((n + block.size,))
        log[n:] = block
    img = f.create_dataset("img", shape=(3, 3), maxshape=(10, None), dtype="i4", fillvalue=-1, chunks=(2, 2))
    img[:] = np.arange(9).reshape(3, 3)
    img.resize((5, 4))
    img.resize(6, axis=1)
    table = f.create_dataset("table", data=np.arange(10), maxshape=(None,), chunks=True)
    table.resize((4,))
    try:
        img.resize((11, 2))
    except (ValueError, RuntimeError) as e:
        print("resize beyond maxshape:", isinstance(e, (ValueError, RuntimeError)))
    fixed = f.create_dataset("fixed", data=np.zeros(3))
    try:
        fixed.resize((4,))
    except TypeError as e:
        print("resize of a fixed dataset:", type(e).__name__)

with h5py.File(f"{d}/grow.h5", "a") as f:
    log = f["log"]
    log.resize((log.shape[0] + 2,))
    log[-2:] = [100, 200]
    print("log:", log.shape, log.maxshape, log[()].tolist())
    print("img:", f["img"].shape, f["img"].maxshape, f["img"].fillvalue)
    print(f["img"][()].tolist())
    print("table:", f["table"][()].tolist(), f["table"].maxshape)
    print("len:", len(f["log"]), f["log"].size, f["log"].ndim, f["img"].nbytes)
