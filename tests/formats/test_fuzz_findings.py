"""The defects tests/formats/test_fuzz_formats.py found, one test each, made
from files built here (so each keeps failing if its fix goes): names no HDF5
name can hold, exceptions of the libraries underneath escaping, a damaged
Parquet footer that aborted the process, damaged index sidecars."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py as real_h5py
import numpy as np
import pytest
from fmt_helpers import CONTAINER, read, site_files
from scipy.io import netcdf_file

import sciswift.h5py as h5py
from sciswift.errors import CorruptData, NotSupported
from sciswift.formats.hdf5 import INDEX_SUFFIX
from sciswift.formats.registry import open_object
from sciswift.store import MemoryStore

URL = f"memory://{CONTAINER}"


@pytest.fixture
def shared() -> MemoryStore:
    """The process-wide MemoryStore that ``memory://`` URLs open."""
    store = MemoryStore.named("")
    store.create_container(CONTAINER)  # as Swift's PUT: nothing happens if it exists
    return store


# ------------------------------------------------------------------ names
def test_netcdf3_names_with_nul_are_listed_escaped_and_read(shared: MemoryStore) -> None:
    buf = io.BytesIO()
    nc = netcdf_file(buf, "w", version=1)
    nc.createDimension("x", 3)
    v = nc.createVariable("temp", "i4", ("x",))
    v[:] = [1, 2, 3]
    v.units = "K"
    v.comment = "a"
    nc.flush()
    data = buf.getvalue()
    # Same lengths: "comment" -> "com\0ent"; "units" with a length of 6 takes one
    # of its padding NULs (a C writer counting the terminator).
    data = data.replace(b"comment", b"com\x00ent").replace(b"\x00\x00\x00\x05units", b"\x00\x00\x00\x06units")
    shared.put_object(CONTAINER, "nul.nc", data)
    with h5py.File(f"{URL}/nul.nc", "r") as f:
        attrs = f["temp"].attrs
        assert sorted(attrs) == ["_dims", "com_ent", "units"]
        assert attrs["units"] == "K" and attrs["com_ent"] == "a"
        assert f["temp"][()].tolist() == [1, 2, 3]


def test_fits_keyword_with_nul_is_listed_escaped_and_read(shared: MemoryStore) -> None:
    from astropy.io import fits

    buf = io.BytesIO()
    hdu = fits.PrimaryHDU(np.arange(4, dtype=">i2"))
    hdu.header["OBSERVER"] = "me"
    hdu.header["TELESCOP"] = "big"
    hdu.writeto(buf)
    data = buf.getvalue().replace(b"OBSERVER=", b"OBS\x00\x00\x00\x00\x00=").replace(b"TELESCOP=", b"TEL\x00SCOP=")
    shared.put_object(CONTAINER, "nul.fits", data)
    with h5py.File(f"{URL}/nul.fits", "r") as f:
        attrs = f["PRIMARY"].attrs
        assert {"OBS", "TEL_SCOP"} <= set(attrs)
        assert attrs["OBS"] == "me" and attrs["TEL_SCOP"] == "big"
        for name in attrs:
            attrs[name]  # every listed name reads


def test_csv_with_a_repeated_header_name(shared: MemoryStore) -> None:
    shared.put_object(CONTAINER, "twice.csv", b"a,b,b\n1,2,3\n4,5,6\n")
    with h5py.File(f"{URL}/twice.csv", "r") as f:
        assert list(f) == ["a", "b", "b_2"]
        assert f["b"][()].tolist() == [2, 5] and f["b_2"][()].tolist() == [3, 6]


# ------------------------------------------------------------------ library errors
def test_csv_bytes_that_are_not_utf8_in_a_ragged_row(shared: MemoryStore, capfd: pytest.CaptureFixture[str]) -> None:
    """pyarrow cannot hand such a row to its invalid-row callback and printed a
    traceback; now the object is CorruptData, nothing printed."""
    shared.put_object(CONTAINER, "latin.csv", b"a,b\n1,2\n3,\xff,4\n")
    with pytest.raises(CorruptData, match=r"latin\.csv.*byte 10 is not UTF-8"):
        open_object(shared, CONTAINER, "latin.csv")
    shared.put_object(CONTAINER, "comment.csv", b"# caf\xe9\na,b\n1,2\n")
    with open_object(shared, CONTAINER, "comment.csv") as root:
        assert read(root["a"]).tolist() == [1]
    assert "Traceback" not in capfd.readouterr().err


def test_npy_header_cut_mid_literal_is_corrupt(shared: MemoryStore) -> None:
    """numpy's tokenizer raises TokenError for an old-style header cut mid-literal."""
    head = b"{'descr': '<i4', 'fortran_order': False, 'shape': (3,"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head) + 1) + head + b"\n" + bytes(12)
    shared.put_object(CONTAINER, "cut.npy", data)
    with pytest.raises(CorruptData, match=r"cut\.npy"):
        open_object(shared, CONTAINER, "cut.npy")


def test_npy_negative_shape_and_fortran_scalar(shared: MemoryStore) -> None:
    def npy(header: dict[str, object], body: bytes) -> bytes:
        text = repr(header).encode().ljust(117) + b"\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + body

    shared.put_object(CONTAINER, "neg.npy", npy({"descr": "<i4", "fortran_order": False, "shape": (-1,)}, b""))
    with pytest.raises(CorruptData, match=r"neg\.npy.*shape \(-1,\)"):
        open_object(shared, CONTAINER, "neg.npy")
    shared.put_object(CONTAINER, "f0.npy", npy({"descr": "<u2", "fortran_order": True, "shape": ()}, b"\x07\x00"))
    with h5py.File(f"{URL}/f0.npy", "r") as f:
        assert f["data"][()] == 7 and f["data"].shape == ()


def test_deflated_npz_member_of_objects_is_not_supported(shared: MemoryStore) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, ok=np.arange(3), objects=np.array([{"a": 1}, None], dtype=object))
    shared.put_object(CONTAINER, "objects.npz", buf.getvalue())
    with open_object(shared, CONTAINER, "objects.npz") as root:
        assert read(root["ok"]).tolist() == [0, 1, 2]
        with pytest.raises(NotSupported, match="pickle"):
            root["objects"]


def test_npz_with_a_local_header_offset_before_the_file(shared: MemoryStore) -> None:
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(3))
    data = bytearray(buf.getvalue())
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 42, 0xFFFFFF00)  # the central directory's local header offset
    shared.put_object(CONTAINER, "offset.npz", bytes(data))
    with pytest.raises(CorruptData, match=r"offset\.npz"):
        with open_object(shared, CONTAINER, "offset.npz") as root:
            root["a"]


def test_fits_hdu_astropy_cannot_make_what_it_says_is_corrupt(shared: MemoryStore) -> None:
    """A second END card in the primary header's padding: astropy reads the next
    header from the wrong place and makes a bare _ValidHDU of it, with no data.
    That is damage, not an HDU of a kind astropy does not know."""
    (path,) = site_files("astropy/io/fits/tests/data/checksum.fits")
    data = bytearray(Path(path).read_bytes())
    assert data[4480:4560] == b" " * 80
    data[4480:4560] = b"END".ljust(80)
    shared.put_object(CONTAINER, "early-end.fits", bytes(data))
    with open_object(shared, CONTAINER, "early-end.fits") as root, \
            pytest.raises(CorruptData, match=r"early-end\.fits\[1\].*BINTABLE"):
        root[root.keys()[1]]


def test_random_groups_with_a_numeric_parameter_name_is_corrupt(shared: MemoryStore) -> None:
    """astropy calls ``.upper()`` on a PTYPE that is a number: its AttributeError
    is damage (raised inside astropy), not a bug of ours."""
    (path,) = site_files("astropy/io/fits/tests/data/random_groups.fits")
    data = Path(path).read_bytes()
    at = data.index(b"PTYPE1  =")
    data = data[:at] + b"PTYPE1  =                   64".ljust(80) + data[at + 80:]
    shared.put_object(CONTAINER, "groups.fits", data)
    with open_object(shared, CONTAINER, "groups.fits") as root, pytest.raises(CorruptData, match=r"groups\.fits"):
        read(root["PRIMARY"]["data"])


# ------------------------------------------------------------------ parquet footer
PARQUET_DAMAGE = """
import io, sys
import pyarrow.parquet as pq
from sciswift.errors import CorruptData
from sciswift.formats.registry import open_object
from sciswift.store import MemoryStore
data = bytearray(open(sys.argv[1], "rb").read())
data[1262:1270] = data[1172:1180]  # a statistics value of the wrong size
store = MemoryStore(); store.create_container("c"); store.put_object("c", "x.parquet", bytes(data))
try:
    with open_object(store, "c", "x.parquet") as root:
        print(sorted(root.keys()))
except CorruptData as exc:
    print("corrupt", exc)
"""


def test_damaged_parquet_statistics_do_not_abort_the_process() -> None:
    """pyarrow's ``ColumnChunkMetaData.statistics`` decodes min/max and aborts the
    whole process on one of the wrong size (an uncaught C++ exception); the plugin
    reads null counts from the footer itself. In a subprocess: a regression would
    kill the test runner."""
    (path,) = site_files("pyarrow/tests/data/parquet/v0.7.1.column-metadata-handling.parquet")
    proc = subprocess.run([sys.executable, "-c", PARQUET_DAMAGE, path], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "terminate called" not in proc.stderr
    assert "__index_level_1__" in proc.stdout, proc.stdout


def test_footer_null_counts_match_pyarrow() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sciswift.formats.parquet_footer import null_counts, read_footer

    table = pa.table({"i": [1, None, 3, None], "s": ["a", None, "c", "d"], "st": [{"p": 1, "q": None}] * 4,
                      "l": [[1], None, [2, 3], []], "f": [0.5, 1.5, 2.5, 3.5]})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=3)
    md = pq.ParquetFile(io.BytesIO(buf.getvalue())).metadata
    stats = [[md.row_group(g).column(c).statistics for c in range(md.num_columns)] for g in range(md.num_row_groups)]
    want = [[s.null_count if s is not None and s.has_null_count else None for s in row] for row in stats]
    assert any(s is None for row in stats for s in row)  # the list column has none: None
    buf.seek(0)
    assert null_counts(read_footer(buf)) == want
    for bad in (b"", b"\x19\x4c", b"\x1c" * 40, b"\x15", b"\x18\xff\xff\xff\xff\x0f"):
        with pytest.raises(ValueError):
            null_counts(bad)


# ------------------------------------------------------------------ sidecars
def test_hdf5_sidecar_with_wrong_chunk_addresses_is_not_believed(shared: MemoryStore) -> None:
    """A sidecar index whose tables look right but point elsewhere: the chunks
    fail to decode, the file's own index is walked again, the data is right."""
    buf = io.BytesIO()
    want = np.arange(600, dtype="<i4").reshape(20, 30)
    with real_h5py.File(buf, "w") as f:
        f.create_dataset("d", data=want, chunks=(5, 7), compression="gzip")
    shared.put_object(CONTAINER, "side.h5", buf.getvalue())
    open_object(shared, CONTAINER, "side.h5").close()  # builds and stores the sidecar
    info = shared.head_object(CONTAINER, "side.h5" + INDEX_SUFFIX)
    with np.load(io.BytesIO(shared.get_object(CONTAINER, "side.h5" + INDEX_SUFFIX))) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["a0"] = arrays["a0"][::-1].copy()  # every chunk's address swapped with another's
    out = io.BytesIO()
    np.savez(out, **arrays)
    shared.put_object(CONTAINER, "side.h5" + INDEX_SUFFIX, out.getvalue(), metadata=dict(info.metadata))
    with h5py.File(f"{URL}/side.h5", "r") as f:
        np.testing.assert_array_equal(f["d"][()], want)


def test_tfrecord_sidecar_that_does_not_frame_the_file_is_rebuilt(shared: MemoryStore) -> None:
    from sciswift.formats.tfrecord import masked_crc32c

    def record(body: bytes) -> bytes:
        head = struct.pack("<Q", len(body))
        return head + struct.pack("<I", masked_crc32c(head)) + body + struct.pack("<I", masked_crc32c(body))

    shared.put_object(CONTAINER, "r.tfrecord", record(b"one") + record(b"three"))
    open_object(shared, CONTAINER, "r.tfrecord").close()
    name = "r.tfrecord" + INDEX_SUFFIX
    info = shared.head_object(CONTAINER, name)
    with np.load(io.BytesIO(shared.get_object(CONTAINER, name))) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["lengths"] = arrays["lengths"][::-1].copy()
    meta = json.loads(arrays["meta"].tobytes())
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for key, value in arrays.items():
            with zf.open(key + ".npy", "w") as fp:
                np.lib.format.write_array(fp, value)
    shared.put_object(CONTAINER, name, out.getvalue(), metadata=dict(info.metadata))
    with h5py.File(f"{URL}/r.tfrecord", "r") as f:
        assert list(f["records"][()]) == [b"one", b"three"]
