"""The seed corpus of the format fuzzer (tests/formats/test_fuzz_formats.py): for
each fuzzed format, real files shipped in installed packages (the ones the other
tests in tests/formats read) and small files written here, by our own writers and
by the format's reference library.

Each seed carries ``hot`` byte ranges: where the file's metadata lies (FITS header
blocks, the netCDF-3 header, the Parquet footer, HDF5 object headers, zip
headers), which the mutator aims at more often than the bulk data.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import os
import struct
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fmt_helpers import site_files

__all__ = ["Seed", "NativeSeed", "FORMATS", "corpus", "native_corpus"]

#: Every fuzzed format; "native" is a native file (many objects), the rest blobs.
FORMATS = ("hdf5", "netcdf4", "netcdf3", "fits", "parquet", "csv", "root", "tfrecord", "npy", "npz", "native")

#: Shipped files larger than this are left out: mutations should mostly land in
#: structure, and each mutant is opened and walked whole.
MAX_SEED_BYTES = 128 << 10

Span = tuple[int, int]


@dataclass(frozen=True)
class Seed:
    """One seed file: ``name`` (its object name: the extension sends detection to
    the plugin), ``origin`` (where it came from), its bytes and hot ranges."""

    fmt: str
    name: str
    origin: str
    data: bytes
    hot: tuple[Span, ...] = ()


@dataclass(frozen=True)
class NativeSeed:
    """A native file: its objects (key under the file's prefix -> bytes)."""

    name: str
    origin: str
    objects: dict[str, bytes] = field(default_factory=dict)


def corpus(fmt: str) -> list[Seed]:
    """The seeds of blob format ``fmt``, in a fixed order."""
    return _CORPUS[fmt]()


# ---------------------------------------------------------------- helpers
def _shipped(fmt: str, patterns: list[str], ext: str | None = None) -> list[Seed]:
    seeds = []
    for pattern in patterns:
        for path in site_files(pattern):
            data = Path(path).read_bytes()
            if len(data) > MAX_SEED_BYTES:
                continue
            name = os.path.basename(path)
            if ext is not None and not name.endswith(ext):
                name += ext
            origin = path.split("site-packages/")[-1]
            seeds.append(Seed(fmt, name, origin, data, _hot(fmt, data)))
    return seeds


def _written(fmt: str, name: str, data: bytes) -> Seed:
    return Seed(fmt, name, f"written: {name}", data, _hot(fmt, data))


def _via_file(write: Callable[[str], Any], suffix: str) -> bytes:
    """Bytes of a file that ``write(path)`` creates (libraries that want a path)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "seed" + suffix)
        write(path)
        return Path(path).read_bytes()


def _hot(fmt: str, data: bytes) -> tuple[Span, ...]:
    try:
        return tuple(_HOT.get(fmt, lambda d: [])(data))
    except Exception:  # noqa: BLE001 - a seed whose structure we cannot map is fuzzed uniformly
        return ()


def _hot_fits(data: bytes) -> list[Span]:
    from astropy.io import fits

    spans = []
    with fits.open(io.BytesIO(data), memmap=False) as hdus:
        for i in range(len(hdus)):
            info = hdus.fileinfo(i)
            spans.append((info["hdrLoc"], info["datLoc"]))
    return spans


def _hot_netcdf3(data: bytes) -> list[Span]:
    from sciswift.formats.netcdf import parse_classic_header

    header = parse_classic_header(io.BytesIO(data), len(data))
    begins = [v.begin for v in header.variables]
    return [(0, min(begins) if begins else len(data))]


def _hot_parquet(data: bytes) -> list[Span]:
    footer = struct.unpack("<I", data[-8:-4])[0]
    return [(0, 4), (max(0, len(data) - 8 - footer), len(data))]


def _hot_npy(data: bytes) -> list[Span]:
    from sciswift.formats.npy import read_npy_header

    return [(0, read_npy_header(io.BytesIO(data))[3])]


def _hot_zip(data: bytes) -> list[Span]:
    spans = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            # the local header, the member's name and the .npy header after it
            spans.append((info.header_offset, info.header_offset + 30 + len(info.filename) + 160))
    cd = data.rfind(b"PK\x01\x02", 0, len(data))
    first_cd = data.find(b"PK\x01\x02")
    spans.append((first_cd if first_cd >= 0 else max(cd, 0), len(data)))
    return spans


def _hot_hdf5(data: bytes) -> list[Span]:
    """The superblock and every object header h5py can find (attributes, links and
    layout messages live there)."""
    import h5py

    spans: list[Span] = [(0, 512)]
    with h5py.File(io.BytesIO(data), "r") as f:
        def visit(_name: str, obj: Any) -> None:
            addr = h5py.h5o.get_info(obj.id).addr
            spans.append((addr, addr + 512))

        visit("/", f)
        f.visititems(visit)
    return spans


def _hot_root(data: bytes) -> list[Span]:
    # The file header, then the keys list and streamers ROOT writes near the end.
    return [(0, 256), (len(data) * 3 // 4, len(data))]


_HOT: dict[str, Callable[[bytes], list[Span]]] = {
    "fits": _hot_fits, "netcdf3": _hot_netcdf3, "parquet": _hot_parquet, "npy": _hot_npy, "npz": _hot_zip,
    "hdf5": _hot_hdf5, "netcdf4": _hot_hdf5, "root": _hot_root,
}


# ---------------------------------------------------------------- per format
@functools.cache
def _hdf5() -> list[Seed]:
    import h5py

    shipped = _shipped("hdf5", ["h5py/tests/data_files/*.h5"] + [f"tables/tests/{n}" for n in (
        "smpl_compound_chunked.h5", "vlstr_attr.h5", "scalar.h5", "slink.h5", "smpl_enum.h5",
        "zerodim-attrs-1.4.h5", "time-table-vlarray-1_x.h5", "nested-type-with-gaps.h5", "array_mdatom.h5",
        "non-chunked-table.h5", "float.h5", "smpl_SDSextendible.h5")])

    def write(path: str) -> None:
        with h5py.File(path, "w") as f:
            g = f.create_group("grp")
            g.attrs["int"] = 7
            g.attrs["vec"] = np.arange(4, dtype="<f4")
            g.attrs["text"] = "hello"
            g.attrs["fixed"] = np.bytes_(b"abc")
            g.attrs.create("empty", h5py.Empty("f8"))
            d = g.create_dataset("chunked", data=np.arange(600, dtype="<i4").reshape(20, 30), chunks=(5, 7),
                                 compression="gzip", shuffle=True, fletcher32=True)
            d.attrs["units"] = "m"
            f.create_dataset("contig", data=np.linspace(0, 1, 50))
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_layout(h5py.h5d.COMPACT)
            compact = h5py.h5d.create(f.id, b"compact", h5py.h5t.NATIVE_UINT8, h5py.h5s.create_simple((6,)), dcpl=dcpl)
            compact.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(6, dtype="u1"))
            f.create_dataset("scalar", data=3.5)
            f.create_dataset("vlen", data=["a", "bb", "ccc"], dtype=h5py.string_dtype())
            f.create_dataset("compound", data=np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "<i2"), ("b", "<f8")]))
            f.create_dataset("enum", data=np.array([0, 1, 1], "u1"), dtype=h5py.enum_dtype({"RED": 0, "GREEN": 1}, "u1"))
            x = f.create_dataset("x", data=np.arange(30.0))
            x.make_scale("x")
            g["chunked"].dims[1].attach_scale(x)
            f["soft"] = h5py.SoftLink("/grp/chunked")
            f["dangling"] = h5py.SoftLink("/nowhere")
            f["ext"] = h5py.ExternalLink("other.h5", "/data")
            f.attrs[b"caf\xe9"] = 1  # a Latin-1 attribute name: h5py lists it as bytes
            f.create_group(b"gr\xfcn")
            t = f.create_group("ordered", track_order=True)
            t.attrs["z"] = 1
            t.attrs["a"] = 2

    return shipped + [_written("hdf5", "written.h5", _via_file(write, ".h5"))]


@functools.cache
def _netcdf4() -> list[Seed]:
    import netCDF4

    shipped = _shipped("netcdf4", ["sunpy/data/test/goes_13_leap_second.nc",
                                   "sunpy/data/test/sci_gxrs-l2-irrad_g13_d20170901_truncated.nc"])

    def write(path: str) -> None:
        with netCDF4.Dataset(path, "w") as nc:
            nc.title = "fuzz seed"
            nc.createDimension("time", None)
            nc.createDimension("x", 8)
            t = nc.createVariable("time", "f8", ("time",))
            t.units = "s"
            t[:] = np.arange(5.0)
            v = nc.createVariable("v", "i2", ("time", "x"), zlib=True, fill_value=-1)
            v[:] = np.arange(40).reshape(5, 8)
            s = nc.createVariable("names", str, ("x",))
            s[:] = np.array([f"n{i}" for i in range(8)], dtype=object)
            g = nc.createGroup("sub")
            g.createDimension("y", 3)
            g.createVariable("w", "f4", ("y",))[:] = [1, 2, 3]

    return shipped + [_written("netcdf4", "written.nc", _via_file(write, ".nc"))]


@functools.cache
def _netcdf3() -> list[Seed]:
    import netCDF4
    from scipy.io import netcdf_file

    shipped = _shipped("netcdf3", ["scipy/io/tests/data/example_*.nc", "xarray/tests/data/bears.nc"])
    seeds = []
    for version in (1, 2):
        buf = io.BytesIO()
        nc = netcdf_file(buf, "w", version=version)
        nc.history = "fuzz seed"
        nc.createDimension("time", None)
        nc.createDimension("x", 4)
        t = nc.createVariable("time", "f8", ("time",))
        t[:] = np.arange(3.0)
        t.units = "s"
        v = nc.createVariable("v", "i4", ("time", "x"))
        v[:] = np.arange(12).reshape(3, 4)
        w = nc.createVariable("w", "i2", ("time",))
        w[:] = [1, 2, 3]
        c = nc.createVariable("c", "S1", ("x",))
        c[:] = np.array([b"a", b"b", b"c", b"d"])
        nc.flush()
        seeds.append(_written("netcdf3", f"scipy-v{version}.nc", buf.getvalue()))

    def cdf5(path: str) -> None:
        with netCDF4.Dataset(path, "w", format="NETCDF3_64BIT_DATA") as nc:
            nc.createDimension("x", 5)
            nc.createVariable("u", "u8", ("x",))[:] = np.arange(5)
            nc.comment = "cdf5"

    seeds.append(_written("netcdf3", "cdf5.nc", _via_file(cdf5, ".nc")))
    return shipped + seeds


@functools.cache
def _fits() -> list[Seed]:
    from astropy.io import fits

    shipped = _shipped("fits", [f"astropy/io/fits/tests/data/{n}" for n in (
        "arange.fits", "ascii.fits", "btable.fits", "compressed_image.fits", "group.fits", "tdim.fits",
        "variable_length_table.fits", "history_header.fits", "scale.fits", "blank.fits", "checksum.fits",
        "theap-gap.fits", "random_groups.fits", "double_ext.fits")])
    buf = io.BytesIO()
    cols = [fits.Column(name="a", format="J", array=np.arange(5)),
            fits.Column(name="b", format="5A", array=np.array([b"x", b"yy", b"z", b"", b"w"])),
            fits.Column(name="c", format="2E", dim="(2)", array=np.ones((5, 2), "f4"))]
    hdus = fits.HDUList([fits.PrimaryHDU(np.arange(24, dtype=">i2").reshape(4, 6)),
                         fits.BinTableHDU.from_columns(cols, name="TAB"),
                         fits.CompImageHDU(np.arange(64, dtype="f4").reshape(8, 8), name="COMP")])
    hdus[0].header["OBSERVER"] = "fuzz"
    hdus[0].header["COMMENT"] = "a comment"
    hdus.writeto(buf)
    written = buf.getvalue()
    return shipped + [
        _written("fits", "written.fits", written),
        Seed("fits", "written.fits.gz", "written: gzip", gzip.compress(written)),
        Seed("fits", "written.fits.bz2", "written: bzip2", bz2.compress(written)),
    ]


@functools.cache
def _parquet() -> list[Seed]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    shipped = _shipped("parquet", ["pyarrow/tests/data/parquet/*.parquet", "astropy/**/*.parquet"])
    table = pa.table({
        "i": pa.array([1, 2, None, 4, 5, 6], pa.int32()),
        "f": pa.array([0.5, None, 2.5, 3.5, 4.5, 5.5]),
        "s": pa.array(["a", "bb", None, "dddd", "", "f"]),
        "b": pa.array([b"x", b"", None, b"yz", b"w", b"v"]),
        "fb": pa.array([b"ab", b"cd", b"ef", b"gh", b"ij", b"kl"], pa.binary(2)),
        "t": pa.array(np.arange(6).astype("datetime64[ms]"), pa.timestamp("ms", tz="UTC")),
        "l": pa.array([[1], [2, 3], [], None, [4], [5, 6, 7]], pa.list_(pa.int64())),
        "fl": pa.array([[1.0, 2.0]] * 6, pa.list_(pa.float32(), 2)),
        "st": pa.array([{"p": 1, "q": "a"}] * 6),
        "d": pa.array(["u", "v", "u", "u", "v", "u"]).dictionary_encode(),
    }).replace_schema_metadata({"origin": "fuzz", "bin": b"\xff\xfe"})
    seeds = []
    for codec in ("none", "snappy", "zstd"):
        buf = io.BytesIO()
        pq.write_table(table, buf, compression=codec, row_group_size=2)
        seeds.append(_written("parquet", f"written-{codec}.parquet", buf.getvalue()))
    return shipped + seeds


@functools.cache
def _csv() -> list[Seed]:
    shipped = _shipped("csv", ["astropy/io/ascii/tests/data/simple_csv.csv", "astropy/timeseries/tests/data/*.csv",
                               "sunpy/visualization/colormaps/data/euvi_304.csv"])
    text = "# a comment\nid,name,value,when\n1,alpha,0.5,2024-01-01\n2,\"be,ta\",,2024-01-02\n3,gamma,2.5,\n"
    return shipped + [
        _written("csv", "written.csv", text.encode()),
        _written("csv", "noheader.csv", b"1,2,3\n4,5,6\n7,8,9\n"),
        _written("csv", "written.tsv", b"a\tb\n1\tx\n2\ty\n"),
        Seed("csv", "written.csv.gz", "written: gzip", gzip.compress(text.encode())),
    ]


@functools.cache
def _root() -> list[Seed]:
    import skhep_testdata

    data_dir = os.path.dirname(skhep_testdata.data_path("uproot-HZZ.root"))
    seeds = []
    for n in ("uproot-simple.root", "uproot-histograms.root", "uproot-leaflist.root", "uproot-issue33.root",
              "uproot-foriter.root", "uproot-vectorVectorDouble.root", "uproot-double32-float16.root",
              "uproot-issue21.root", "uproot-small-evnt-tree-fullsplit.root", "uproot-nesteddirs.root"):
        path = os.path.join(data_dir, n)
        if os.path.exists(path):
            data = Path(path).read_bytes()
            seeds.append(Seed("root", n, f"skhep_testdata/{n}", data, _hot("root", data)))
    return seeds


@functools.cache
def _tfrecord() -> list[Seed]:
    from tfrecord import TFRecordWriter

    def examples(path: str) -> None:
        w = TFRecordWriter(path)
        for i in range(12):
            w.write({
                "label": (i, "int"),
                "vec": ([0.5 * i, 1.0, 2.0], "float"),
                "name": (f"item-{i}".encode(), "byte"),
                "ragged": (list(range(i % 3)), "int"),
                **({"sometimes": (float(i), "float")} if i % 2 else {}),
            })
        w.close()

    def raw(path: str) -> None:
        # Records that are not Examples (the package only writes Examples).
        from sciswift.formats.tfrecord import masked_crc32c

        with open(path, "wb") as f:
            for body in (b"not an example", b"\xff" * 9, b""):
                head = struct.pack("<Q", len(body))
                f.write(head + struct.pack("<I", masked_crc32c(head)) + body + struct.pack("<I", masked_crc32c(body)))

    return [_written("tfrecord", "examples.tfrecord", _via_file(examples, ".tfrecord")),
            _written("tfrecord", "raw.tfrecord", _via_file(raw, ".tfrecord"))]


@functools.cache
def _npy() -> list[Seed]:
    from numpy.lib import format as npformat

    shipped = _shipped("npy", ["numpy/lib/tests/data/*.npy", "scipy/stats/tests/data/jf_skew_t_gamlss_pdf_data.npy"])
    arrays = {
        "c.npy": np.arange(60, dtype="<f8").reshape(3, 4, 5),
        "fortran.npy": np.asfortranarray(np.arange(12, dtype=">i4").reshape(3, 4)),
        "struct.npy": np.array([(1, 2.0, b"ab")] * 4, dtype=[("a", "<i2"), ("b", "<f4"), ("c", "S2")]),
        "scalar.npy": np.array(7, dtype="<u2"),
        "empty.npy": np.zeros((0, 3), dtype="<f4"),
    }
    seeds = []
    for name, arr in arrays.items():
        buf = io.BytesIO()
        np.save(buf, arr)
        seeds.append(_written("npy", name, buf.getvalue()))
    buf = io.BytesIO()
    npformat.write_array(buf, np.arange(5, dtype="<i8"), version=(2, 0))
    seeds.append(_written("npy", "v2.npy", buf.getvalue()))
    return shipped + seeds


@functools.cache
def _npz() -> list[Seed]:
    shipped = _shipped("npz", ["scipy/sparse/tests/data/csc_py3.npz", "scipy/interpolate/tests/data/bug-1310.npz",
                               "scipy/linalg/tests/data/gendare_20170120_data.npz", "numpy/lib/tests/data/py3-objarr.npz"])
    stored, packed = io.BytesIO(), io.BytesIO()
    np.savez(stored, a=np.arange(10), b=np.ones((2, 3), "<f4"))
    np.savez_compressed(packed, a=np.arange(10), c=np.array([b"x", b"yz"]))
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w") as zf:
        for member, arr in (("g/x.npy", np.arange(4)), ("g/h/y.npy", np.eye(2)), ("top.npy", np.zeros(3))):
            with zf.open(member, "w") as fp:
                np.lib.format.write_array(fp, arr)
    return shipped + [_written("npz", "stored.npz", stored.getvalue()),
                      _written("npz", "packed.npz", packed.getvalue()),
                      _written("npz", "nested.npz", nested.getvalue())]


_CORPUS: dict[str, Callable[[], list[Seed]]] = {
    "hdf5": _hdf5, "netcdf4": _netcdf4, "netcdf3": _netcdf3, "fits": _fits, "parquet": _parquet, "csv": _csv,
    "root": _root, "tfrecord": _tfrecord, "npy": _npy, "npz": _npz,
}


# ---------------------------------------------------------------- native
@functools.cache
def native_corpus() -> list[NativeSeed]:
    """Native files written through sciswift.h5py into a scratch MemoryStore: each
    seed is the set of objects under the file's prefix."""
    import sciswift.h5py as h5py
    from sciswift.store.url import parse_location

    seeds = []
    for name, make in (("groups.h5", _native_groups), ("chunks.h5", _native_chunks)):
        url = f"memory://fuzz-native-seeds/{name}"
        with h5py.File(url, "w") as f:
            make(f)
        loc = parse_location(url)
        prefix = loc.key("")
        objects = {
            o.name[len(prefix):]: loc.store.get_object(loc.container, o.name)
            for o in loc.store.iter_objects(loc.container, prefix)
        }
        seeds.append(NativeSeed(name, f"written: {name}", objects))
    return seeds


def _native_groups(f: Any) -> None:
    import sciswift.h5py as h5py

    g = f.create_group("a/b")
    g.attrs["n"] = 1
    g.attrs["arr"] = np.arange(3, dtype="i2")
    g.attrs["s"] = "text"
    f.attrs["title"] = "native"
    f.attrs.create("nothing", h5py.Empty("i4"))
    d = f.create_dataset("a/d", data=np.arange(12, dtype="f4").reshape(3, 4))
    d.attrs["units"] = "K"
    f.create_dataset("strings", data=["x", "yy"], dtype=h5py.string_dtype())
    f.create_dataset("compound", data=np.array([(1, 2.0)], dtype=[("i", "i4"), ("f", "f8")]))
    f["link"] = h5py.SoftLink("/a/d")
    x = f.create_dataset("x", data=np.arange(4.0))
    x.make_scale("x")
    d.dims[1].attach_scale(x)


def _native_chunks(f: Any) -> None:
    f.create_dataset("z", data=np.arange(400, dtype="i4").reshape(20, 20), chunks=(8, 8), compression="gzip",
                     fletcher32=True)
    f.create_dataset("big", shape=(1000,), dtype="u1", chunks=(100,), fillvalue=3)
    f["big"][:250] = 1
    f.create_dataset("v", data=np.arange(6, dtype="i8"), chunks=(2,), maxshape=(None,))
