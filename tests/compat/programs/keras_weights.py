"""Keras-style weight files (the legacy .h5 format): layer and weight names as
attributes holding arrays of byte strings, names with ':' and '/', attributes too
large for one header split into numbered chunks, JSON configs as bytes, and a
loader that decodes them back the way keras.saving.legacy does."""
import json
import sys

import h5py
import numpy as np

path = sys.argv[1]
rng = np.random.default_rng(11)
layers = {
    "dense_1": [("dense_1/kernel:0", rng.normal(size=(8, 16)).astype("f4")), ("dense_1/bias:0", np.zeros(16, "f4"))],
    "batch_normalization": [(f"batch_normalization/{n}:0", rng.normal(size=16).astype("f4"))
                            for n in ("gamma", "beta", "moving_mean", "moving_variance")],
    "dropout": [],
    "dense_2": [("dense_2/kernel:0", rng.normal(size=(16, 3)).astype("f4")), ("dense_2/bias:0", np.ones(3, "f4"))],
}
HDF5_OBJECT_HEADER_LIMIT = 64512


def save_attributes_to_hdf5_group(group, name, data):
    # Keras splits big name lists over name0, name1, ... when they would not fit.
    bad = [x for x in data if len(x) > HDF5_OBJECT_HEADER_LIMIT]
    assert not bad
    data_npy = np.asarray(data)
    num_chunks = 1
    chunked_data = np.array_split(data_npy, num_chunks)
    while any(x.nbytes > HDF5_OBJECT_HEADER_LIMIT for x in chunked_data):
        num_chunks += 1
        chunked_data = np.array_split(data_npy, num_chunks)
    if num_chunks > 1:
        for chunk_id, chunk_data in enumerate(chunked_data):
            group.attrs["%s%d" % (name, chunk_id)] = chunk_data
    else:
        group.attrs[name] = data


def load_attributes_from_hdf5_group(group, name):
    if name in group.attrs:
        data = [n.decode("utf8") if hasattr(n, "decode") else n for n in group.attrs[name]]
    else:
        data = []
        chunk_id = 0
        while "%s%d" % (name, chunk_id) in group.attrs:
            data.extend([n.decode("utf8") if hasattr(n, "decode") else n
                         for n in group.attrs["%s%d" % (name, chunk_id)]])
            chunk_id += 1
    return data


with h5py.File(path, "w") as f:
    f.attrs["backend"] = b"tensorflow"
    f.attrs["keras_version"] = b"2.13.1"
    f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "layers": list(layers)}).encode("utf8")
    g = f.create_group("model_weights")
    save_attributes_to_hdf5_group(g, "layer_names", [n.encode("utf8") for n in layers])
    for lname, weights in layers.items():
        lg = g.create_group(lname)
        save_attributes_to_hdf5_group(lg, "weight_names", [w.encode("utf8") for w, _ in weights])
        for wname, value in weights:
            param = lg.create_dataset(wname, value.shape, dtype=value.dtype)
            if not value.shape:
                param[()] = value
            else:
                param[:] = value
    # a vocabulary long enough to be split over several attributes
    save_attributes_to_hdf5_group(f, "vocab", [("token%05d" % i).encode("utf8") for i in range(9000)])

with h5py.File(path, "r") as f:
    print("backend", f.attrs["backend"], type(f.attrs["backend"]).__name__)
    print("config", json.loads(f.attrs["model_config"])["layers"])
    g = f["model_weights"]
    print("layer_names attr:", g.attrs["layer_names"].dtype, g.attrs["layer_names"].shape)
    for lname in load_attributes_from_hdf5_group(g, "layer_names"):
        names = load_attributes_from_hdf5_group(g[lname], "weight_names")
        values = [np.asarray(g[lname][w]) for w in names]
        print(lname, names, [v.shape for v in values], [round(float(v.sum()), 4) for v in values])
    print("weights by visit:", sorted(n for n in g if isinstance(g[n], h5py.Group)))
    print(sorted(k for k in f.attrs if k.startswith("vocab")))
    vocab = load_attributes_from_hdf5_group(f, "vocab")
    print(len(vocab), vocab[0], vocab[-1])
