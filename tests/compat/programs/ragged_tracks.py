"""Ragged per-event tracks in vlen datasets, filled event by event and read back."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
rng = np.random.default_rng(3)
with h5py.File(path, "w") as f:
    hits = f.create_dataset("hits", shape=(0,), maxshape=(None,), dtype=h5py.vlen_dtype(np.float32), chunks=(4,))
    ids = f.create_dataset("ids", shape=(5,), dtype=h5py.vlen_dtype(np.dtype("i8")))
    for event in range(6):
        n = int(rng.integers(0, 5))
        hits.resize((event + 1,))
        hits[event] = np.round(rng.random(n), 3).astype("f4")
    for i in range(5):
        ids[i] = list(range(i))
    ids[4] = np.array([], dtype="i8")
    words = f.create_dataset("words", shape=(3,), dtype=h5py.vlen_dtype(h5py.string_dtype()) if False
                             else h5py.string_dtype())
    words[...] = ["alpha", "", "gamma"]

with h5py.File(path, "r") as f:
    hits = f["hits"]
    print("hits:", hits.shape, hits.dtype, h5py.check_vlen_dtype(hits.dtype))
    for i, h in enumerate(hits):
        print(" event", i, type(h).__name__, h.dtype, h.tolist())
    block = hits[1:4]
    print("block:", block.dtype, block.shape, [x.tolist() for x in block])
    print("one:", hits[2].tolist(), "lengths:", [len(x) for x in hits[...]])
    ids = f["ids"]
    print("ids:", [x.tolist() for x in ids[...]], ids[3].dtype, ids.fillvalue if ids.fillvalue is None else "set")
    print("words:", f["words"][...].tolist())
