"""Real sample files (PyTables, sunpy, healpy), cut short and with bytes flipped:
sciswift must raise CorruptData naming the object and the format, never return a
silently shortened file or an unrelated library error. Plus the regressions these
runs found."""

from __future__ import annotations

import io
import os
import random
import warnings
from pathlib import Path

import h5py
import netCDF4
import numpy as np
import pytest
from astropy.io import fits
from fmt_helpers import CONTAINER, read, site_files, upload, walk

from sciswift.errors import CorruptData, NotSupported, SciSwiftError
from sciswift.formats.base import ArrayNode
from sciswift.formats.registry import open_object
from sciswift.store import MemoryStore

SAMPLES = [
    *(site_files(f"tables/tests/{n}") for n in (
        "blosc_bigendian.h5", "ex-noattr.h5", "times-nested-be.h5", "indexes_2_1.h5", "vlunicode_endian.h5",
        "python3.h5", "smpl_compound_chunked.h5", "flavored_vlarrays-format1.6.h5")),
    *(site_files(f"sunpy/data/test/{n}") for n in (
        "aia_171_level1.fits", "gbm.fits", "go1520110607.fits", "eve_l1_esp_2011046_00_truncated.fits",
        "go1520120601.fits.gz", "sci_xrsf-l2-flx1s_g17_d20201016_truncated.nc", "goes_13_leap_second.nc")),
]
SAMPLES_FLAT = [p for found in SAMPLES for p in found]
FORMAT_WORDS = r"(FITS|HDF5|netCDF)"


def read_everything(store: MemoryStore, name: str) -> int:
    """Open, walk and read every dataset; datasets sciswift documents as unreadable
    (NotSupported: no NumPy type, missing filter) are counted out."""
    count = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_object(store, CONTAINER, name) as root:
            for _path, node in walk(root):
                dict(node.attrs)
                if isinstance(node, ArrayNode):
                    try:
                        read(node)
                    except NotSupported:
                        continue
                    count += 1
    return count


def test_samples_present() -> None:
    assert len(SAMPLES_FLAT) == len(SAMPLES) == 15


@pytest.mark.parametrize("frac", [0.25, 0.5, 0.75, 0.9])
@pytest.mark.parametrize("path", SAMPLES_FLAT, ids=os.path.basename)
def test_cut_short_is_corrupt(store: MemoryStore, path: str, frac: float) -> None:
    name = os.path.basename(path)
    data = Path(path).read_bytes()
    store.put_object(CONTAINER, name, data[: int(len(data) * frac)])
    with pytest.raises(CorruptData, match=rf"data/{name}.*{FORMAT_WORDS}"):
        read_everything(store, name)


@pytest.mark.parametrize("path", SAMPLES_FLAT, ids=os.path.basename)
def test_flipped_bytes_fail_cleanly(store: MemoryStore, path: str) -> None:
    """A flipped byte may be undetectable (raw data), but whatever fails must fail as
    a sciswift error naming the object: no stray h5py/astropy exception."""
    name = os.path.basename(path)
    data = Path(path).read_bytes()
    rng = random.Random(name)
    stray: list[str] = []
    for i in range(16):
        damaged = bytearray(data)
        pos = rng.randrange(min(len(data), 8192) if i < 12 else len(data))
        damaged[pos] ^= 0xFF
        store.put_object(CONTAINER, name, bytes(damaged))
        try:
            read_everything(store, name)
        except SciSwiftError as exc:
            if f"data/{name}" not in str(exc):
                stray.append(f"flip at {pos}: {type(exc).__name__} not naming the object: {exc}")
        except Exception as exc:  # noqa: BLE001 - exactly what must not happen
            stray.append(f"flip at {pos}: {type(exc).__name__}: {exc}")
    assert stray == []


def test_fits_header_cut_short_is_corrupt(store: MemoryStore) -> None:
    """Regression: astropy stops at an extension header cut short and only warns
    ('extra bytes after the last HDU'); the plugin showed the HDUs before it as if
    that were the whole file."""
    (path,) = site_files("sunpy/data/test/gbm.fits")
    data = Path(path).read_bytes()
    with fits.open(path) as hdus:
        third_header = hdus.fileinfo(2)["hdrLoc"]
    store.put_object(CONTAINER, "gbm.fits", data[: third_header + 1440])
    with pytest.raises(CorruptData, match=r"data/gbm\.fits as FITS.*header of HDU 2 .* cut short"):
        open_object(store, CONTAINER, "gbm.fits")
    # Cut exactly between HDUs, the rest is a complete (smaller) FITS file.
    store.put_object(CONTAINER, "gbm.fits", data[:third_header])
    with open_object(store, CONTAINER, "gbm.fits") as root:
        assert root.keys() == ["PRIMARY", "EBOUNDS"]


def test_fits_trailing_bytes_that_are_not_a_header_are_tolerated(store: MemoryStore) -> None:
    buf = io.BytesIO()
    fits.PrimaryHDU(np.arange(6, dtype=np.int16)).writeto(buf)
    store.put_object(CONTAINER, "tail.fits", buf.getvalue() + b"\0" * 2880)
    with open_object(store, CONTAINER, "tail.fits") as root:
        assert read(root["PRIMARY"]["data"]).tolist() == list(range(6))


def test_netcdf4_dimension_list_of_wrong_type_is_left_raw(store: MemoryStore, tmp_path: Path) -> None:
    """Regression: asking HDF5's dimension-scale API about a DIMENSION_LIST of the
    wrong type makes it segfault. The plugin reads the references itself; a damaged
    list leaves that variable without scales and its attribute raw (as h5py shows
    it), and the rest of the file keeps its dimensions."""
    path = tmp_path / "dims.nc"
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("x", 3)
        nc.createVariable("x", "i4", ("x",))[:] = [0, 1, 2]
        nc.createVariable("v", "f4", ("x",))[:] = [1, 2, 3]
        nc.createVariable("w", "f4", ("x",))[:] = [4, 5, 6]
    with h5py.File(path, "r+") as f:
        del f["v"].attrs["DIMENSION_LIST"]
        f["v"].attrs["DIMENSION_LIST"] = np.array([7, 8], dtype="i4")
    upload(store, path)
    with open_object(store, CONTAINER, "dims.nc") as root:
        w, v = root["w"], root["v"]
        assert isinstance(w, ArrayNode) and isinstance(v, ArrayNode)
        assert w.dimension_scales is not None and w.dimension_scales.dims == (("/x",),)
        assert v.dimension_scales is None
        assert v.attrs["DIMENSION_LIST"].tolist() == [7, 8]
        assert read(v).tolist() == [1, 2, 3]
