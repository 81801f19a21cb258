"""HDF5 files with every feature ``import``/``export`` must carry over, made with
h5py (the files a round trip starts from)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

__all__ = ["make_dtypes_file", "make_structure_file", "make_filters_file", "make_references_file",
           "make_dims_file", "ALL_MAKERS"]

RNG = np.random.default_rng(1234)


def _each_numeric() -> dict[str, np.dtype]:
    names = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", ">i2", ">i4", ">f4", ">f8", ">u8",
             "c8", "c16", "?"]
    return {n: np.dtype(n) for n in names}


def make_dtypes_file(path: Path) -> None:
    """One dataset and one attribute per dtype."""
    with h5py.File(path, "w") as f:
        num = f.create_group("numeric")
        if np.dtype("longdouble").itemsize > 8:
            # x86 80-bit extended precision; datasets only: attributes of it are a
            # known gap of sciswift.h5 (test_gaps.py)
            num.create_dataset("longdouble", data=np.linspace(0, 1, 6, dtype="g").reshape(2, 3) / 3)
        for label, dt in _each_numeric().items():
            if dt.kind == "b":
                data = RNG.random(12) > 0.5
            elif dt.kind == "c":
                data = (RNG.random(12) * 100 + 1j * RNG.random(12)).astype(dt)
            else:
                data = (RNG.random(12) * 100).astype(dt)
            key = label.replace(">", "be_") if label != "?" else "bool"
            num.create_dataset(key, data=data.reshape(3, 4))
            num.attrs[key] = data[:3]
            num.attrs.create(f"{key}_scalar", data[0], dtype=dt)
        s = f.create_group("strings")
        s.create_dataset("fixed_ascii", data=np.array([b"a", b"bcd", b""], dtype="S5"))
        s.create_dataset("fixed_utf8", data=np.array(["é".encode(), b"xyz"], dtype=h5py.string_dtype("utf-8", 6)))
        s.create_dataset("vlen_utf8", data=np.array(["α", "βγ", ""], dtype=object), dtype=h5py.string_dtype())
        s.create_dataset("vlen_ascii", data=np.array([b"a", b"bb"], dtype=object), dtype=h5py.string_dtype("ascii"))
        s.create_dataset("vlen_scalar", data="just one", dtype=h5py.string_dtype())
        s.attrs["vlen_str"] = "héllo"
        s.attrs.create("vlen_ascii", "abc", dtype=h5py.string_dtype("ascii"))
        s.attrs.create("vlen_str_array", ["a", "bb", "ccc"], dtype=h5py.string_dtype())
        s.attrs.create("fixed", np.bytes_(b"fixed"), dtype="S8")
        s.attrs.create("fixed_array", np.array([b"x", b"yz"], dtype="S3"))
        s.attrs.create("fixed_utf8", "é".encode(), dtype=h5py.string_dtype("utf-8", 4))
        c = f.create_group("compound")
        inner = np.dtype([("x", "<f8"), ("tag", "S4")])
        cdt = np.dtype([("id", "<i4"), ("pos", inner), ("v", "<f4", (3,)), ("flag", "?")])
        arr = np.zeros(5, dtype=cdt)
        arr["id"] = np.arange(5)
        arr["pos"]["x"] = RNG.random(5)
        arr["pos"]["tag"] = [b"a", b"b", b"c", b"d", b"e"]
        arr["v"] = RNG.random((5, 3))
        c.create_dataset("nested", data=arr, chunks=(2,), compression="gzip")
        padded = np.dtype({"names": ["a", "b"], "formats": ["<i2", "<f8"], "offsets": [0, 8], "itemsize": 24})
        c.create_dataset("padded", data=np.zeros(3, dtype=padded))
        vcdt = np.dtype([("name", h5py.string_dtype()), ("vals", h5py.vlen_dtype("i4"))])
        vc = np.empty(2, dtype=vcdt)
        vc[0] = ("first", np.arange(3, dtype="i4"))
        vc[1] = ("second", np.arange(1, dtype="i4"))
        c.create_dataset("with_vlen", data=vc)
        c.attrs["compound"] = arr[1]
        e = f.create_group("enum")
        edt = h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="i2")
        e.create_dataset("colors", data=np.array([0, 1, 42, 1], dtype="i2"), dtype=edt)
        e.attrs.create("color", 42, dtype=edt)
        a = f.create_group("array")
        a.create_dataset("subarray", shape=(4,), dtype=np.dtype(("<f4", (2, 3))))
        a["subarray"][...] = RNG.random((4, 2, 3))
        a.attrs.create("subarray", RNG.random((2, 3)), dtype=np.dtype(("<f8", (3,))))
        o = f.create_group("opaque")
        odt = h5py.opaque_dtype(np.dtype("V7"))
        o.create_dataset("blobs", data=np.array([b"1234567", b"abcdefg"], dtype="V7").astype(odt))
        v = f.create_group("vlen")
        vdt = h5py.vlen_dtype(np.dtype("f8"))
        vl = v.create_dataset("floats", shape=(3,), dtype=vdt)
        vl[0] = [1.0, 2.0]
        vl[1] = []
        vl[2] = np.arange(5.0)
        v.create_dataset("ints_2d", shape=(2, 2), dtype=h5py.vlen_dtype("i2"))
        v["ints_2d"][0, 1] = [7, 8, 9]
        v.attrs.create("vlen_attr", np.array([np.arange(2, dtype="u1"), np.arange(3, dtype="u1")], dtype=object),
                       dtype=h5py.vlen_dtype("u1"))
        z = f.create_group("special")
        z.create_dataset("empty", data=h5py.Empty("f4"))
        z.attrs["empty"] = h5py.Empty("i8")
        z.create_dataset("scalar", data=np.float64(3.25))
        z.create_dataset("zero_size", shape=(0, 3), dtype="i4")
        z.create_dataset("fixed_bytes_scalar", data=np.bytes_(b"one"))


def make_filters_file(path: Path) -> None:
    """Chunk shapes, filters, fill values, maxshape, sparse datasets."""
    data = (RNG.random((64, 48)) * 1000).astype("f4")
    ints = RNG.integers(0, 1000, (64, 48)).astype("i4")
    with h5py.File(path, "w") as f:
        f.create_dataset("gzip", data=data, chunks=(16, 16), compression="gzip", compression_opts=7)
        f.create_dataset("gzip_shuffle", data=data, chunks=(10, 7), compression="gzip", shuffle=True)
        f.create_dataset("lzf", data=data, chunks=(32, 48), compression="lzf")
        f.create_dataset("fletcher32", data=data, chunks=(64, 1), fletcher32=True)
        f.create_dataset("all_lossless", data=ints, chunks=(8, 8), compression="gzip", shuffle=True, fletcher32=True)
        f.create_dataset("scaleoffset_int", data=ints, chunks=(16, 16), scaleoffset=0)
        f.create_dataset("scaleoffset_float", data=data, chunks=(16, 16), scaleoffset=2)
        f.create_dataset("fill", shape=(30, 30), dtype="f8", chunks=(10, 10), fillvalue=-7.5)
        f["fill"][0:10, 0:10] = 1.0  # one chunk written, the rest is fill
        f.create_dataset("fill_int", shape=(5,), dtype="i2", fillvalue=-1)
        f.create_dataset("fill_compound", shape=(4,), dtype=[("a", "i4"), ("b", "f4")], chunks=(2,),
                         fillvalue=np.array((3, 1.5), dtype=[("a", "i4"), ("b", "f4")]))
        f.create_dataset("resizable", data=ints[:10], chunks=(5, 48), maxshape=(None, 48))
        f.create_dataset("contiguous", data=data)
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple((10,))
        h5py.h5d.create(f.id, b"compact", h5py.h5t.STD_I32LE, space, dcpl=dcpl).write(
            h5py.h5s.ALL, h5py.h5s.ALL, np.arange(10, dtype="i4"))
        f.create_dataset("untouched", shape=(100, 100), dtype="u2", chunks=(10, 10), fillvalue=9)


def make_structure_file(path: Path) -> None:
    """Groups, links (soft, external, hard, dangling, cycles), creation order,
    named datatypes, attributes on everything."""
    with h5py.File(path, "w") as f:
        f.attrs["title"] = "structure"
        a = f.create_group("a")
        b = a.create_group("b")
        d = b.create_dataset("data", data=np.arange(20).reshape(4, 5))
        d.attrs["units"] = "m"
        f["hard_to_data"] = d
        a["hard_to_b"] = b
        b["loop"] = a  # a cycle through a hard link
        f["soft"] = h5py.SoftLink("/a/b/data")
        f["dangling"] = h5py.SoftLink("/nowhere")
        f["relative"] = h5py.SoftLink("b/data")
        f["ext"] = h5py.ExternalLink("other.h5", "/x/y")
        f["point_t"] = np.dtype([("x", "f8"), ("y", "f8")])
        f["point_t"].attrs["doc"] = "a named datatype"
        o = f.create_group("ordered", track_order=True)
        for name in ("zeta", "alpha", "mid"):
            o.create_dataset(name, data=[1])
        o.attrs["z"] = 1
        o.attrs["a"] = 2
        od = o.create_dataset("with_ordered_attrs", data=[1.0], track_order=True)
        od.attrs["second"] = 2
        od.attrs["first"] = 1
        f.create_group("empty_group")


def make_references_file(path: Path) -> None:
    """Object and region references in datasets, attributes and compounds."""
    with h5py.File(path, "w") as f:
        g = f.create_group("g")
        d = g.create_dataset("d", data=np.arange(100).reshape(10, 10))
        f["alias"] = d
        refs = f.create_dataset("refs", shape=(4,), dtype=h5py.ref_dtype)
        refs[0] = d.ref
        refs[1] = g.ref
        refs[2] = f.ref
        # refs[3] stays a null reference
        f.attrs["to_d"] = d.ref
        f.attrs.create("ref_array", [g.ref, d.ref], dtype=h5py.ref_dtype)
        cdt = np.dtype([("label", "S6"), ("target", h5py.ref_dtype)])
        c = np.empty(2, dtype=cdt)
        c[0] = (b"data", d.ref)
        c[1] = (b"group", g.ref)
        f.create_dataset("compound_refs", data=c)
        rr = f.create_dataset("regions", shape=(3,), dtype=h5py.regionref_dtype)
        rr[0] = d.regionref[2:5, 1:3]
        rr[1] = d.regionref[0, :]
        mask = np.zeros((10, 10), dtype=bool)
        mask[1, 1] = mask[7, 3] = True
        rr[2] = d.regionref[mask]


def make_dims_file(path: Path) -> None:
    """Dimension scales and labels."""
    with h5py.File(path, "w") as f:
        t = f.create_dataset("time", data=np.arange(4.0))
        x = f.create_dataset("x", data=np.linspace(0, 1, 3))
        t.make_scale("time")
        x.make_scale("x coordinate")
        v = f.create_dataset("v", data=np.zeros((4, 3)))
        v.dims[0].attach_scale(t)
        v.dims[1].attach_scale(x)
        v.dims[0].label = "t"
        v.attrs["note"] = "with scales"
        labelled = f.create_dataset("labels_only", data=np.zeros((2, 2)))
        labelled.dims[1].label = "columns"


ALL_MAKERS = {
    "dtypes": make_dtypes_file,
    "filters": make_filters_file,
    "structure": make_structure_file,
    "references": make_references_file,
    "dims": make_dims_file,
}
