"""Print a canonical JSON description of HDF5 files: every group, dataset, named
datatype and link, with attributes and the SHA-256 of each dataset's raw bytes.

A plain h5py program: the tests run it on local files and, unchanged, through
`sciswift run` on stored files, then compare the two descriptions.

    python dump.py FILE [FILE...]

Storage layout (chunk shapes, filters' internals) is not described: sciswift
chooses its own chunk shapes where the program does not.
"""

import hashlib
import json
import sys

import h5py
import numpy as np


def value(v):
    """A JSON-able, type-revealing description of an attribute or element value."""
    if isinstance(v, h5py.Empty):
        return {"empty": v.dtype.str}
    if isinstance(v, (bytes, str)):
        return {type(v).__name__: v if isinstance(v, str) else v.decode("latin-1")}
    if isinstance(v, np.ndarray):
        if v.dtype.hasobject:  # objects (also in compound fields) by value, never by address
            return {"array": v.dtype.str, "shape": list(v.shape), "items": [value(x) for x in v.ravel().tolist()]}
        return {"array": dtype_str(v.dtype), "shape": list(v.shape),
                "sha256": hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()}
    if isinstance(v, np.generic):
        return {"scalar": dtype_str(v.dtype), "bytes": v.tobytes().hex()}
    if isinstance(v, (list, tuple)):
        return [value(x) for x in v]
    return {type(v).__name__: repr(v)}


def dtype_str(dt):
    """The dtype as h5py's API shows it: numpy's description, with the string,
    vlen and enum facts h5py's check_* helpers report (per field for compounds)."""
    if dt.names:
        return str([(name, dtype_str(dt.fields[name][0])) for name in dt.names])
    if dt.subdtype is not None:
        return f"{dtype_str(dt.subdtype[0])} x {dt.subdtype[1]}"
    extra = []
    if h5py.check_string_dtype(dt):
        extra.append(f"string={tuple(h5py.check_string_dtype(dt))}")
    if h5py.check_vlen_dtype(dt) is not None and not h5py.check_string_dtype(dt):
        extra.append(f"vlen={np.dtype(h5py.check_vlen_dtype(dt)).str}")
    if h5py.check_enum_dtype(dt) is not None:
        extra.append(f"enum={sorted(h5py.check_enum_dtype(dt).items())}")
    return dt.str + "".join(" " + e for e in extra)


def attrs(obj):
    return {k: value(obj.attrs[k]) for k in sorted(obj.attrs)}


def dataset(d):
    out = {"kind": "dataset", "dtype": dtype_str(d.dtype), "shape": d.shape, "maxshape": d.maxshape,
           "attrs": attrs(d), "fillvalue": value(np.asarray(d.fillvalue)) if d.shape is not None else None}
    if d.shape is None:
        out["data"] = "null dataspace"
    else:
        out["data"] = value(d[()] if d.shape == () else d[...])
    return out


def walk(group, prefix, out):
    for name in sorted(group):
        path = f"{prefix}/{name}"
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.SoftLink):
            out[path] = {"kind": "softlink", "to": link.path}
            continue
        if isinstance(link, h5py.ExternalLink):
            out[path] = {"kind": "externallink", "to": link.path, "file": link.filename.rsplit("/", 1)[-1]}
            continue
        obj = group[name]
        if isinstance(obj, h5py.Dataset):
            out[path] = dataset(obj)
        elif isinstance(obj, h5py.Group):
            out[path] = {"kind": "group", "attrs": attrs(obj)}
            walk(obj, path, out)
        elif isinstance(obj, h5py.Datatype):
            out[path] = {"kind": "datatype", "dtype": dtype_str(obj.dtype), "attrs": attrs(obj)}
        else:
            out[path] = {"kind": type(obj).__name__}


def main():
    result = {}
    for path in sys.argv[1:]:
        with h5py.File(path, "r") as f:
            out = {"/": {"kind": "file", "attrs": attrs(f)}}
            walk(f, "", out)
        result[path.rsplit("/", 1)[-1]] = out
    json.dump(result, sys.stdout, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
