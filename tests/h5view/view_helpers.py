"""Helpers for the HDF5 view's tests: materialise a view into a local file by
reading it in pieces, and compare everything a native file holds (read with
sciswift.h5py) with what real h5py reads from the view."""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

import sciswift.h5py as sh
from sciswift.h5view import HDF5View, open_view
from sciswift.store import Location, Store

H5DUMP = shutil.which("h5dump") or "h5dump"
H5LS = shutil.which("h5ls") or "h5ls"
NCDUMP = shutil.which("ncdump") or "ncdump"


class CountingStore:
    """Wraps a Store and records every object read (name and byte range)."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.gets: list[tuple[str, Any]] = []

    def get_object(self, container: str, name: str, byte_range: Any = None) -> bytes:
        self.gets.append((name, byte_range))
        return self._inner.get_object(container, name, byte_range)

    def open_object(self, container: str, name: str, *args: Any, **kwargs: Any) -> Any:
        self.gets.append((name, kwargs.get("byte_range")))
        return self._inner.open_object(container, name, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def pieces(size: int, rng: random.Random | None, step: int = 65536) -> list[tuple[int, int]]:
    """``(offset, length)`` pieces covering ``[0, size)``: fixed steps, or (with
    ``rng``) random cut points in random order, some reaching past the end."""
    if rng is None:
        return [(o, min(step, size - o)) for o in range(0, size, step)]
    cuts = sorted({0, size, *(rng.randrange(size) for _ in range(max(1, size // 5000)))})
    out = [(a, b - a + (rng.randrange(64) if b == size else 0)) for a, b in zip(cuts, cuts[1:]) if b > a]
    rng.shuffle(out)
    return out


def materialize(view: HDF5View, path: Path, rng: random.Random | None = None, step: int = 65536) -> Path:
    """Write the whole view to ``path``, reading it piece by piece."""
    with open(path, "wb") as fh:
        fh.truncate(view.size)
        for offset, length in pieces(view.size, rng, step):
            data = view.read(offset, length)
            assert len(data) == min(length, view.size - offset), (offset, length, len(data))
            fh.seek(offset)
            fh.write(data)
    assert path.stat().st_size == view.size
    return path


def view_file(location: Location, path: Path, rng: random.Random | None = None) -> Path:
    view = open_view(location)
    try:
        return materialize(view, path, rng)
    finally:
        view.close()


def run(cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc


# ------------------------------------------------------------------- compare

def walk(group: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """``(path, link, object or None)`` for every name below ``group``."""
    for name in group:
        path = f"{prefix}/{name}"
        link = group.get(name, getlink=True)
        if isinstance(link, (sh.SoftLink, h5py.SoftLink, sh.ExternalLink, h5py.ExternalLink)):
            yield path, link, None
            continue
        obj = group[name]
        yield path, link, obj
        if _is_group(obj):
            yield from walk(obj, path)


def _is_group(obj: Any) -> bool:
    return isinstance(obj, (h5py.Group, sh.Group))


def _is_dataset(obj: Any) -> bool:
    return isinstance(obj, (h5py.Dataset, sh.Dataset))


def assert_same(a: Any, b: Any, what: str, fa: Any, fb: Any) -> None:
    """Equal values: ``a`` read by sciswift.h5py from the native file, ``b`` by
    h5py from the view (references compared by the name of their target)."""
    if isinstance(a, (sh.Reference,)) or isinstance(b, h5py.Reference):
        na = fa[a].name if a else None
        nb = fb[b].name if b else None
        assert na == nb, f"{what}: reference to {na} read as reference to {nb}"
        if isinstance(b, h5py.RegionReference) and b:
            # The selection too: its shape, and the values it selects.
            sa, sb = fa[a].regionref.selection(a), fb[b].regionref.selection(b)
            assert tuple(sa) == tuple(sb), f"{what}: region of shape {sa} read as {sb}"
            assert np.array_equal(fa[a][a], fb[b][b]), f"{what}: the region's values differ"
        return
    if isinstance(a, sh.Empty) or isinstance(b, h5py.Empty):
        assert isinstance(a, sh.Empty) and isinstance(b, h5py.Empty), f"{what}: {a!r} vs {b!r}"
        assert a.dtype == b.dtype, f"{what}: empty of {a.dtype} vs {b.dtype}"
        return
    if a is None or b is None:
        assert a is None and b is None, f"{what}: {a!r} vs {b!r}"
        return
    if isinstance(a, (str, bytes)) or isinstance(b, (str, bytes)):
        assert type(a) is type(b) and a == b, f"{what}: {a!r} != {b!r}"
        return
    aa, bb = np.asarray(a), np.asarray(b)
    assert aa.shape == bb.shape, f"{what}: shape {aa.shape} vs {bb.shape}"
    if aa.dtype.names is not None:
        assert bb.dtype.names == aa.dtype.names, f"{what}: fields {aa.dtype.names} vs {bb.dtype.names}"
        for name in aa.dtype.names:
            assert_same(aa[name], bb[name], f"{what}[{name!r}]", fa, fb)
        return
    if aa.dtype.kind == "O" or bb.dtype.kind == "O":
        if not aa.shape:
            assert_same(aa.item(), bb.item(), what, fa, fb)
            return
        for idx in np.ndindex(aa.shape):
            assert_same(aa[idx], bb[idx], f"{what}{list(idx)}", fa, fb)
        return
    assert aa.dtype == bb.dtype, f"{what}: dtype {aa.dtype} vs {bb.dtype}"
    if aa.dtype.kind in "fc":
        assert np.array_equal(aa, bb, equal_nan=True), f"{what}: values differ"
    else:
        assert np.array_equal(aa, bb), f"{what}: values differ"


def _same_special(a: np.dtype[Any], b: np.dtype[Any], what: str) -> None:
    assert a == b, f"{what}: dtype {a} vs {b}"
    for check in ("vlen", "enum", "ref"):
        ka, kb = sh.check_dtype(**{check: a}), h5py.check_dtype(**{check: b})
        if check == "ref":
            ka, kb = getattr(ka, "__name__", ka), getattr(kb, "__name__", kb)
            ka = {"Reference": "Reference", "RegionReference": "RegionReference"}.get(ka, ka)
        elif check == "vlen" and ka is not None and ka not in (str, bytes):
            ka, kb = np.dtype(ka), np.dtype(kb)
        assert ka == kb, f"{what}: {check} {ka} vs {kb}"
    sa, sb = sh.check_string_dtype(a), h5py.check_string_dtype(b)
    assert (sa is None) == (sb is None) and (sa is None or tuple(sa) == tuple(sb)), f"{what}: string {sa} vs {sb}"


def compare(source: Any, view: Any, chunks: dict[str, tuple[int, ...]] | None = None) -> int:
    """Assert that the h5py file ``view`` holds what the sciswift.h5py file
    ``source`` holds: every name, link, dataset (shape, dtype, maxshape, chunks,
    fill value, values) and attribute. ``chunks`` gives the chunk shapes the view
    shows instead of the source's (sharded arrays: the inner chunks). Returns
    the number of datasets compared."""
    src = {p: (link, obj) for p, link, obj in walk(source)}
    dst = {p: (link, obj) for p, link, obj in walk(view)}
    assert list(src) == list(dst), f"names differ: {sorted(set(src) ^ set(dst))[:10]}"
    _same_attrs(source, view, "/")
    count = 0
    for path, (la, a) in src.items():
        lb, b = dst[path]
        if a is None:
            assert type(la).__name__ == type(lb).__name__, f"{path}: {la!r} vs {lb!r}"
            assert la.path == lb.path, f"{path}: link to {la.path} vs {lb.path}"
            continue
        assert _is_group(a) == _is_group(b) and _is_dataset(a) == _is_dataset(b), f"{path}: {a!r} vs {b!r}"
        if isinstance(a, (sh.Datatype, h5py.Datatype)):
            assert isinstance(b, h5py.Datatype) and a.dtype == b.dtype, f"{path}: {a!r} vs {b!r}"
        if _is_dataset(a):
            count += 1
            _same_special(a.dtype, b.dtype, path)
            assert a.shape == b.shape, f"{path}: shape {a.shape} vs {b.shape}"
            assert a.maxshape == b.maxshape, f"{path}: maxshape {a.maxshape} vs {b.maxshape}"
            if a.chunks is not None:
                want = (chunks or {}).get(path, a.chunks)
                assert b.chunks == want, f"{path}: chunks {want} vs {b.chunks}"
            assert_same(a.fillvalue, b.fillvalue, f"{path} fill value", source, view)
            assert_same(a[()], b[()], path, source, view)
        _same_attrs(a, b, path)
    return count


def _same_attrs(a: Any, b: Any, what: str) -> None:
    na, nb = sorted(a.attrs), sorted(b.attrs)
    assert na == nb, f"{what}: attributes {na} vs {nb}"
    for name in na:
        va, vb = a.attrs[name], b.attrs[name]
        where = f"{what} attribute {name!r}"
        assert_same(va, vb, where, a.file, b.file)
        ia, ib = a.attrs.get_id(name), b.attrs.get_id(name)
        _same_special(ia.dtype, ib.dtype, where)


# ------------------------------------------------------------------- samples

def write_sampler(f: Any) -> None:
    """What scientists write, through sciswift.h5py's File ``f``: every numeric
    type in both byte orders, bool, strings (fixed, UTF-8, variable-length),
    compound, enum, array types, variable-length sequences, references, every
    codec, partial edge chunks, resizable datasets, fill values, sparse and
    empty datasets, dimension scales, links (soft, hard, external), groups
    nested deeply and created in order, attributes of those types."""
    rng = np.random.default_rng(1)
    for dt in ["i1", "u1", "<i2", ">i2", "<u4", ">u4", "<i8", ">u8", "<f2", ">f4", "<f8", ">f8", "<c8", ">c16", "?"]:
        name = dt.replace("<", "le").replace(">", "be").replace("?", "bool")
        f.create_dataset("num/" + name, data=(rng.random((7, 5)) * 100).astype(dt), chunks=(3, 2))
    f.create_dataset("str/fixed", data=np.array([b"ab", b"cde", b""], "S4"))
    f.create_dataset("str/utf8fixed", data=np.array(["é".encode()], dtype=sh.string_dtype("utf-8", 6)))
    f.create_dataset("str/vlen", data=np.array(["a", "bb", "", "ccé"], dtype=object), dtype=sh.string_dtype())
    f.create_dataset("str/vlenascii", data=np.array([b"a", b"bb"], dtype=object), dtype=sh.string_dtype("ascii"))
    f.create_dataset("str/chunked", data=np.array([f"s{i}" * (i % 7) for i in range(50)], dtype=object),
                     dtype=sh.string_dtype(), chunks=(16,), maxshape=(None,))
    f["str/scalar"] = "just one string"
    ct = np.dtype([("a", "<i4"), ("b", ">f8"), ("c", "S3"), ("d", "<i2", (2, 2))])
    arr = np.zeros(6, ct)
    arr["a"], arr["b"], arr["c"], arr["d"] = np.arange(6), 1.5, b"xy", 7
    f.create_dataset("cmp/packed", data=arr, chunks=(4,))
    nested = np.dtype([("p", ct), ("q", "<u2")])
    nv = np.zeros(3, nested)
    nv["q"] = [1, 2, 3]
    nv["p"]["a"] = [4, 5, 6]
    f.create_dataset("cmp/nested", data=nv)
    mixed = np.dtype([("id", "<i4"), ("label", sh.string_dtype())])
    mv = np.array([(1, "one"), (2, "two é")], dtype=mixed)
    f.create_dataset("cmp/with_vlen", data=mv)
    et = sh.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="i2")
    f.create_dataset("enum", data=np.array([0, 1, 42, 1], "i2"), dtype=et)
    vl = f.create_dataset("vlen_i4", shape=(3,), dtype=sh.vlen_dtype("i4"))
    vl[0], vl[1], vl[2] = [1, 2, 3], [], [7]
    d = f.create_dataset("resizable", shape=(10, 4), maxshape=(None, 8), chunks=(4, 4), dtype="f4", fillvalue=-1)
    d[:3] = 5
    d.resize((13, 6))
    data = np.linspace(0, 1, 1000)
    for codec in ("zstd", "lz4", "blosc", "gzip", "lzf"):
        f.create_dataset(f"codec/{codec}", data=data, compression=codec, chunks=(300,))
    f.create_dataset("codec/shuffle_fletcher", data=data, shuffle=True, fletcher32=True, chunks=(300,))
    f.create_dataset("codec/scaleoffset", data=data, scaleoffset=3, chunks=(300,))
    f.create_dataset("sparse", shape=(100, 100), chunks=(10, 10), dtype="i4", fillvalue=9)[5, 5] = 1
    f.create_dataset("empty", data=sh.Empty("f4"))
    f.create_dataset("zero", shape=(0, 3), dtype="f4", maxshape=(None, 3))
    f.create_dataset("arrdt", data=np.ones((2,), dtype="(2,3)f4"))
    f.create_dataset("time", data=np.array([1, 2], "M8[s]").astype(sh.opaque_dtype(np.dtype("M8[s]"))))
    f.create_dataset("opaque", data=np.frombuffer(b"abcdefgh", "V4"))
    r = f.create_dataset("refs", shape=(3,), dtype=sh.ref_dtype)
    r[0] = f["enum"].ref
    r[2] = f["num"].ref
    f["hard"] = f["enum"]
    f["soft"] = sh.SoftLink("/num/lef8")
    f["dangling"] = sh.SoftLink("/nowhere")
    f["ext"] = sh.ExternalLink("other.h5", "/some/where")
    a = f["num"].attrs
    a["f32"] = np.float32(2.5)
    a["list"] = [1, 2, 3]
    a["strs"] = ["a", "bé"]
    a["fixed"] = np.bytes_(b"fx")
    a["cmp"] = arr[:2]
    a["bool"] = True
    a["bools"] = np.array([True, False])
    a["empty"] = sh.Empty("i4")
    a["enum"] = np.array([1, 42], dtype=et)
    a["ref"] = f["enum"].ref
    a["region"] = f["num/lef8"].regionref[1:3, 0]
    regions = f.create_dataset("regions", shape=(4,), dtype=sh.regionref_dtype, chunks=(3,))
    regions[0] = f["num/lef8"].regionref[0:6:2, 1:4]
    regions[3] = f["num/lef8"].regionref[...]
    a["big"] = np.uint64(2**63 + 5)
    a["vlseq"] = np.array([np.array([1, 2], "i4"), np.array([3], "i4")], dtype=sh.vlen_dtype("i4"))
    a["c128"] = np.complex128(1 + 2j)
    a["arr2d"] = np.arange(6, dtype=">i4").reshape(2, 3)
    a["nan"] = np.float64("nan")
    a["bytes"] = b"vlen ascii"
    x = f.create_dataset("x", data=np.arange(4.0))
    x.make_scale("x")
    y = f.create_dataset("y", data=np.arange(3.0))
    y.make_scale()
    grid = f.create_dataset("grid", data=np.ones((4, 3)))
    grid.dims[0].attach_scale(x)
    grid.dims[1].attach_scale(y)
    grid.dims[0].label = "xx"
    f.create_group("deep/" + "/".join(f"l{i}" for i in range(24)))
    many = f.create_group("many")
    for i in range(40):
        many.create_dataset(f"d{i:03d}", data=np.full(3, i))
    ordered = f.create_group("ordered", track_order=True)
    for n in ["zz", "aa", "mm"]:
        ordered.create_dataset(n, data=[1])
    ordered["link"] = sh.SoftLink("/ordered/aa")
    f.create_dataset("contiguous_big", data=np.arange(600_000, dtype="<f8").reshape(1000, 600))
    f["named_type"] = np.dtype([("a", "<i4"), ("b", "S3")])
    f["named_type"].attrs["about"] = "a committed datatype"
    f.create_dataset("unicodé/名前", data=np.arange(3))
    f["unicodé"].attrs["ünï"] = "ü"
    f.attrs["title"] = "sampler"
    f.attrs["json_like"] = 7
