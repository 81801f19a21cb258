"""The same content written through ``sciswift.h5py`` and through the real
h5py (``twin(h5, f)``: module ``h5``, open file ``f``), one small file per
kind of object a scientist writes. tests/h5view/test_view_vs_h5py.py compares
the HDF5 view of the first with the file h5py wrote, through HDF5's and
netCDF's C tools.

Left out: long doubles (numpy leaves their padding bytes undefined, so two
writes never agree), lzf and scale-offset (served decoded: no filter), a
dataset using a named datatype (the native layout does not record which),
and declared sizes beyond a few MiB (h5dump would print them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

TWINS: dict[str, Callable[[Any, Any], None]] = {}


def twin(fn: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    TWINS[fn.__name__] = fn
    return fn


def _sciswift(h5: Any) -> bool:
    return str(h5.__name__).startswith("sciswift")


@twin
def ints(h5: Any, f: Any) -> None:
    for dt in ["i1", "u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4", "<i8", ">i8", "<u8", ">u8"]:
        name = dt.replace("<", "le").replace(">", "be")
        info = np.iinfo(dt)
        data = np.array([info.min, info.max, 0, 1, -1 if info.min < 0 else 7], dtype=dt)
        f.create_dataset("c/" + name, data=np.tile(data, 5).reshape(5, 5), chunks=(2, 3))
        f.create_dataset("p/" + name, data=data)
        f.attrs[name] = data[:2]


@twin
def floats(h5: Any, f: Any) -> None:
    for dt in ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8"]:
        name = dt.replace("<", "le").replace(">", "be")
        data = np.array([0.0, -0.0, 1.5, np.inf, -np.inf, np.nan, np.finfo(dt).max, np.finfo(dt).tiny], dtype=dt)
        f.create_dataset("c/" + name, data=data, chunks=(3,))
        f.create_dataset("p/" + name, data=data)
        f.attrs[name] = data
        f.attrs[name + "_scalar"] = data[2]


@twin
def bools(h5: Any, f: Any) -> None:
    f.create_dataset("b", data=np.array([True, False, True]))
    f.create_dataset("bc", data=np.array([[True, False], [False, True]] * 3), chunks=(2, 2))
    f.attrs["t"] = True
    f.attrs["bs"] = np.array([False, True])


@twin
def complexes(h5: Any, f: Any) -> None:
    for dt in ["<c8", ">c8", "<c16", ">c16"]:
        name = dt.replace("<", "le").replace(">", "be")
        f.create_dataset(name, data=np.array([1 + 2j, -3.5j, np.nan], dtype=dt))
        f.attrs[name] = np.array([1 + 2j], dtype=dt)[0]


@twin
def strings(h5: Any, f: Any) -> None:
    f.create_dataset("fixed", data=np.array([b"ab", b"cde", b"", b"fghi"], "S4"))
    f.create_dataset("fixed_utf8", data=np.array(["é".encode(), b"ab"], dtype=h5.string_dtype("utf-8", 6)))
    f.create_dataset("vlen_utf8", data=np.array(["a", "bb", "", "ccé", "日本"], dtype=object), dtype=h5.string_dtype())
    f.create_dataset("vlen_ascii", data=np.array([b"a", b"bb", b""], dtype=object), dtype=h5.string_dtype("ascii"))
    f.create_dataset("vlen_chunked", data=np.array([f"s{i}" * (i % 5) for i in range(40)], dtype=object),
                     dtype=h5.string_dtype(), chunks=(16,), maxshape=(None,))
    f["scalar_str"] = "one string"
    f["scalar_bytes"] = np.bytes_(b"fixed bytes")
    f.create_dataset("vlen_2d", data=np.array([["x", "yy"], ["", "zzz"]], dtype=object), dtype=h5.string_dtype())


@twin
def string_attrs(h5: Any, f: Any) -> None:
    a = f.attrs
    a["vstr"] = "hello"
    a["vstr_utf8"] = "héllo wörld"
    a["vstrs"] = ["a", "bcd", ""]
    a["fixed"] = np.bytes_(b"fixed")
    a["fixed_arr"] = np.array([b"ab", b"c"], dtype="S3")
    a.create("fixed_utf8", data=np.array("ü".encode(), dtype=h5.string_dtype("utf-8", 4)),
             dtype=h5.string_dtype("utf-8", 4))
    a.create("vascii", data=b"ascii", dtype=h5.string_dtype("ascii"))
    a["bytes"] = b"bytes value"
    a["empty_str"] = ""
    g = f.create_group("g")
    g.attrs["units"] = "m/s"
    g.attrs.create("fixed_scalar", np.bytes_(b"FIXED"), dtype="S5")


@twin
def compounds(h5: Any, f: Any) -> None:
    ct = np.dtype([("a", "<i4"), ("b", ">f8"), ("c", "S3"), ("d", "<i2", (2, 2))])
    arr = np.zeros(6, ct)
    arr["a"], arr["b"], arr["c"], arr["d"] = np.arange(6), 1.5, b"xy", 7
    f.create_dataset("simple", data=arr)
    f.create_dataset("chunked", data=arr, chunks=(4,))
    nested = np.dtype([("p", ct), ("q", "<u2"), ("r", [("x", "f4"), ("y", "f4")])])
    nv = np.zeros(3, nested)
    nv["q"] = [1, 2, 3]
    nv["p"]["a"] = [4, 5, 6]
    nv["r"]["y"] = 0.25
    f.create_dataset("nested", data=nv)
    mixed = np.dtype([("id", "<i4"), ("label", h5.string_dtype())])
    f.create_dataset("with_vlen", data=np.array([(1, "one"), (2, "two é")], dtype=mixed))
    f.attrs["cmp"] = arr[:2]
    f.attrs["cmp_scalar"] = arr[0]
    aligned = np.dtype({"names": ["x", "y"], "formats": ["i1", "<f8"], "offsets": [0, 8], "itemsize": 16})
    f.create_dataset("aligned", data=np.array([(1, 2.0), (3, 4.0)], dtype=aligned))


@twin
def enums(h5: Any, f: Any) -> None:
    et = h5.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="i2")
    f.create_dataset("e", data=np.array([0, 1, 42, 1], "i2"), dtype=et)
    eu = h5.enum_dtype({"OFF": 0, "ON": 255}, basetype="u1")
    f.create_dataset("eu", data=np.array([0, 255] * 10, "u1"), dtype=eu, chunks=(8,))
    f.attrs.create("e", np.array([1, 42], "i2"), dtype=et)
    f.attrs.create("es", np.int16(0), dtype=et)


@twin
def array_dtypes(h5: Any, f: Any) -> None:
    f.create_dataset("arr", data=np.ones((3,), dtype="(2,3)f4"))
    be = f.create_dataset("arr_be", shape=(2,), dtype=np.dtype("(4,)>i4"))
    be[...] = np.arange(8).reshape(2, 4)
    ch = f.create_dataset("arr_chunked", shape=(10,), dtype=np.dtype("(4,)<i2"), chunks=(4,))
    ch[...] = np.arange(40).reshape(10, 4)
    f.attrs.create("arr", np.arange(6, dtype="<f8").reshape(2, 3), dtype=np.dtype("(3,)f8"))


@twin
def opaque(h5: Any, f: Any) -> None:
    f.create_dataset("v4", data=np.frombuffer(b"abcdefgh", "V4"))
    f.create_dataset("time", data=np.array([1, 2], "M8[s]").astype(h5.opaque_dtype(np.dtype("M8[s]"))))
    f.create_dataset("vchunk", data=np.frombuffer(bytes(range(64)), "V8"), chunks=(3,))
    f.attrs["v"] = np.void(b"\x01\x02\x03")


@twin
def obj_refs(h5: Any, f: Any) -> None:
    d = f.create_dataset("target", data=np.arange(5))
    g = f.create_group("grp")
    r = f.create_dataset("refs", shape=(3,), dtype=h5.ref_dtype)
    r[0] = d.ref
    r[2] = g.ref
    rc = f.create_dataset("refs_chunked", shape=(10,), dtype=h5.ref_dtype, chunks=(4,))
    rc[5] = d.ref
    f.attrs["ref"] = d.ref
    f.attrs.create("refs", [d.ref, g.ref], dtype=h5.ref_dtype)
    g.attrs["back"] = f.ref


@twin
def region_refs(h5: Any, f: Any) -> None:
    d = f.create_dataset("target", data=np.arange(20).reshape(4, 5))
    r = f.create_dataset("rrefs", shape=(2,), dtype=h5.regionref_dtype)
    r[0] = d.regionref[1:3, 2:4]


@twin
def region_ref_attr(h5: Any, f: Any) -> None:
    d = f.create_dataset("target", data=np.arange(20).reshape(4, 5))
    d.attrs["rr"] = d.regionref[0:2, 0]


@twin
def scalar_empty(h5: Any, f: Any) -> None:
    f.create_dataset("scalar_f", data=3.25)
    f.create_dataset("scalar_i", data=np.int16(-4))
    f.create_dataset("zero1", shape=(0,), dtype="i4")
    f.create_dataset("zero2", shape=(0, 3), dtype="f4", maxshape=(None, 3), chunks=(64, 3))
    f.create_dataset("null", data=h5.Empty("f4"))
    f.create_dataset("null_str", data=h5.Empty(h5.string_dtype()))
    f.attrs["null"] = h5.Empty("i4")
    f.attrs["scalar"] = np.float32(1.5)


@twin
def fills(h5: Any, f: Any) -> None:
    f.create_dataset("fill_i", shape=(30,), dtype="i4", fillvalue=-1, chunks=(10,))
    f["fill_i"][0:5] = 1
    f.create_dataset("fill_f", shape=(5, 5), dtype="f8", fillvalue=np.nan, chunks=(2, 2))
    f["fill_f"][0, 0] = 1
    f.create_dataset("fill_contig", shape=(4,), dtype="i2", fillvalue=7)
    ct = np.dtype([("a", "i4"), ("b", "f4")])
    f.create_dataset("fill_cmp", shape=(4,), dtype=ct, fillvalue=np.array((3, 1.5), ct), chunks=(2,))
    f.create_dataset("fill_str", shape=(4,), dtype="S3", fillvalue=b"xyz", chunks=(2,))
    f.create_dataset("nofill", shape=(6,), dtype="u2", chunks=(4,))


@twin
def filters(h5: Any, f: Any) -> None:
    data = np.linspace(0, 1, 1000).reshape(50, 20)
    ints = np.arange(1000, dtype="<i4").reshape(50, 20)
    f.create_dataset("gzip", data=data, chunks=(16, 16), compression="gzip")
    f.create_dataset("gzip9", data=ints, chunks=(16, 16), compression="gzip", compression_opts=9)
    f.create_dataset("shuffle_gzip", data=ints, chunks=(16, 16), compression="gzip", shuffle=True)
    f.create_dataset("fletcher", data=ints, chunks=(16, 16), fletcher32=True)
    f.create_dataset("all3", data=ints, chunks=(16, 16), compression="gzip", shuffle=True, fletcher32=True)
    f.create_dataset("shuffle", data=ints, chunks=(16, 16), shuffle=True)


@twin
def own_codecs(h5: Any, f: Any) -> None:
    data = np.linspace(0, 1, 1000).reshape(50, 20)
    for codec in ("zstd", "blosc", "lz4"):
        kw = {"compression": codec} if _sciswift(h5) else {}
        f.create_dataset(codec, data=data, chunks=(16, 16), **kw)


@twin
def resizable(h5: Any, f: Any) -> None:
    d = f.create_dataset("r2", shape=(10, 4), maxshape=(None, 8), chunks=(4, 4), dtype="f4", fillvalue=-1)
    d[:3] = 5
    d.resize((13, 6))
    u = f.create_dataset("unlimited", shape=(0,), maxshape=(None,), dtype="i8", chunks=(5,))
    u.resize((12,))
    u[:] = np.arange(12)
    f.create_dataset("limited", data=np.arange(6), maxshape=(10,), chunks=(4,))


@twin
def partial_chunks(h5: Any, f: Any) -> None:
    f.create_dataset("edges", data=np.arange(7 * 11, dtype="i4").reshape(7, 11), chunks=(3, 4))
    d = f.create_dataset("sparse", shape=(100, 100), chunks=(10, 10), dtype="i4", fillvalue=9)
    d[5, 5] = 1
    d[99, 0:3] = 2
    f.create_dataset("edges_gz", data=np.arange(7 * 11, dtype="f8").reshape(7, 11), chunks=(3, 4),
                     compression="gzip")


@twin
def attrs_everywhere(h5: Any, f: Any) -> None:
    g = f.create_group("g")
    d = g.create_dataset("d", data=np.arange(3))
    for obj in (f, g, d):
        a = obj.attrs
        a["i"] = 7
        a["f"] = 2.5
        a["i32"] = np.int32(-3)
        a["u8"] = np.uint64(2**63 + 5)
        a["list"] = [1, 2, 3]
        a["s"] = "str"
        a["b"] = True
        a["arr2d"] = np.arange(6, dtype=">i4").reshape(2, 3)
        a["nan"] = np.float64("nan")
        a["vlseq"] = np.array([np.array([1, 2], "i4"), np.array([3], "i4")], dtype=h5.vlen_dtype("i4"))
        a["c"] = np.complex64(1 - 1j)


@twin
def vlen_seqs(h5: Any, f: Any) -> None:
    vl = f.create_dataset("vl_i4", shape=(3,), dtype=h5.vlen_dtype("i4"))
    vl[0], vl[1], vl[2] = [1, 2, 3], [], [7]
    vf = f.create_dataset("vl_f8", shape=(4,), dtype=h5.vlen_dtype("f8"), chunks=(2,))
    vf[0], vf[3] = [1.5], [2.5, 3.5]


@twin
def links(h5: Any, f: Any) -> None:
    d = f.create_dataset("data", data=np.arange(4))
    f["hard"] = d
    g = f.create_group("g")
    g["hard2"] = d
    f["soft"] = h5.SoftLink("/data")
    f["dangling"] = h5.SoftLink("/nowhere")
    g["relsoft"] = h5.SoftLink("../data")
    f["ext"] = h5.ExternalLink("other.h5", "/some/where")
    g["ext2"] = h5.ExternalLink("x.h5", "/y")


@twin
def dim_scales(h5: Any, f: Any) -> None:
    x = f.create_dataset("x", data=np.arange(4.0))
    x.make_scale("x")
    y = f.create_dataset("y", data=np.arange(3.0))
    y.make_scale()
    grid = f.create_dataset("grid", data=np.ones((4, 3)))
    grid.dims[0].attach_scale(x)
    grid.dims[1].attach_scale(y)
    grid.dims[0].label = "xx"
    other = f.create_dataset("other", data=np.zeros(4))
    other.dims[0].attach_scale(x)


@twin
def track_order(h5: Any, f: Any) -> None:
    g = f.create_group("ordered", track_order=True)
    for n in ["zz", "aa", "mm", "bb"]:
        g.create_dataset(n, data=[1])
    g["link"] = h5.SoftLink("/ordered/aa")
    g.attrs["z"] = 1
    g.attrs["a"] = 2
    f.create_group("unordered")


@twin
def deep(h5: Any, f: Any) -> None:
    g = f.create_group("/".join(f"l{i}" for i in range(40)))
    g.create_dataset("leaf", data=np.arange(3))
    g.attrs["depth"] = 40


@twin
def many(h5: Any, f: Any) -> None:
    g = f.create_group("many")
    for i in range(1000):
        g.create_dataset(f"d{i:04d}", data=np.full(2, i, "i2"))
    h = f.create_group("many_groups")
    for i in range(300):
        h.create_group(f"g{i}")


@twin
def long_names(h5: Any, f: Any) -> None:
    name = "n" * 250
    f.create_dataset(name, data=np.arange(2))
    f[name].attrs["a" * 200] = 1
    f.create_group("g" * 255).create_dataset("x" * 255, data=[1.0])


@twin
def unicode_names(h5: Any, f: Any) -> None:
    f.create_dataset("unicodé/名前", data=np.arange(3))
    f["unicodé"].attrs["ünï"] = "ü"
    f.create_dataset("ελληνικά", data=[1.0])
    f.create_dataset("emoji_😀", data=[2])


@twin
def contiguous(h5: Any, f: Any) -> None:
    f.create_dataset("c2d", data=np.arange(600 * 70, dtype="<f8").reshape(600, 70))
    f.create_dataset("cbe", data=np.arange(100, dtype=">i8"))


@twin
def named_types(h5: Any, f: Any) -> None:
    f["t_cmp"] = np.dtype([("a", "<i4"), ("b", "S3")])
    f["t_cmp"].attrs["about"] = "committed"
    f["t_f"] = np.dtype(">f4")
    f["t_enum"] = h5.enum_dtype({"A": 1, "B": 2}, basetype="u1")


@twin
def netcdf_like(h5: Any, f: Any) -> None:
    # What netCDF-4 files hold, written by hand the way h5netcdf does.
    t = f.create_dataset("time", data=np.arange(4, dtype="f8"), maxshape=(None,), chunks=(4,))
    t.make_scale("time")
    t.attrs["units"] = "days since 2000-01-01"
    lat = f.create_dataset("lat", data=np.linspace(-10, 10, 5, dtype="f4"))
    lat.make_scale("lat")
    v = f.create_dataset("temp", data=np.arange(20, dtype="f4").reshape(4, 5), chunks=(2, 5), fillvalue=np.float32(-999))
    v.dims[0].attach_scale(t)
    v.dims[1].attach_scale(lat)
    v.attrs["long_name"] = "temperature"
    f.attrs["Conventions"] = "CF-1.8"


@twin
def vlen_partial(h5: Any, f: Any) -> None:
    # Whole chunks written, the others never: HDF5 reads NULL strings there.
    d = f.create_dataset("s", shape=(10,), dtype=h5.string_dtype(), chunks=(4,))
    d[0:4] = ["a", "b", "", "d"]
    v = f.create_dataset("v", shape=(6,), dtype=h5.vlen_dtype("i2"), chunks=(2,))
    v[0], v[1] = [1, 2], []
    c = f.create_dataset("c", shape=(4,), dtype=np.dtype([("n", "i4"), ("s", h5.string_dtype())]), chunks=(2,))
    c[0:2] = np.array([(1, "x"), (2, "")], dtype=c.dtype)


@twin
def region_kinds(h5: Any, f: Any) -> None:
    d = f.create_dataset("t", data=np.arange(60).reshape(6, 10))
    e = f.create_dataset("e", data=np.arange(10.0))
    sels = [np.s_[1:3, 2:4], np.s_[0:2, 0], np.s_[...], np.s_[0:6:2, 1], np.s_[[0, 2, 3], 5:7], np.s_[4, 9]]
    r = f.create_dataset("r", shape=(len(sels) + 2,), dtype=h5.regionref_dtype)
    for i, s in enumerate(sels):
        r[i] = d.regionref[s]
    r[len(sels)] = e.regionref[2:8]
    mask = np.zeros((6, 10), bool)
    mask[1, 3] = mask[4, 0] = mask[5, 9] = True
    f.attrs["points"] = d.regionref[mask]
    rc = f.create_dataset("rc", shape=(9,), dtype=h5.regionref_dtype, chunks=(4,))
    rc[1] = d.regionref[2:4, 1:9:3]
    rc[8] = e.regionref[:]
    e.attrs["self"] = e.regionref[5]
    e.attrs["list"] = np.array([e.regionref[1:2], d.regionref[0, 0]], dtype=h5.regionref_dtype)
