"""FITS: every FITS file shipped in the installed astropy, opened through the
registry and compared with what astropy reads from the same local file."""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from fmt_helpers import CONTAINER, assert_same_array, assert_same_value, read, site_files, upload

from sciswift.errors import CorruptData
from sciswift.formats.fits import hdu_names, header_attrs
from sciswift.formats.nodes import vlen_base
from sciswift.formats.registry import open_object
from sciswift.store import MemoryStore, Store

FITS_FILES = [
    f for f in site_files("astropy/**/*.fits") + site_files("astropy/**/*.fits.gz")
    + site_files("numpy/**/*.fits")
]


def _astropy_opens(path: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdus:
                for hdu in hdus:
                    hdu.data  # noqa: B018 - forces the read
        return True
    except Exception:
        return False


READABLE = [f for f in FITS_FILES if _astropy_opens(f)]
UNREADABLE = sorted(set(FITS_FILES) - set(READABLE))


def test_file_counts() -> None:
    print(f"\nFITS files in installed packages: {len(FITS_FILES)}, astropy opens {len(READABLE)}, "
          f"astropy itself fails on {len(UNREADABLE)}: {[os.path.basename(f) for f in UNREADABLE]}")
    assert len(READABLE) >= 40


def expected_column(col: Any) -> np.ndarray[Any, Any]:
    """A table column as the mapping promises: text as S<n>, vlen as object arrays."""
    arr = np.asarray(col)
    if arr.dtype.kind == "U":
        return np.char.encode(arr, "ascii").astype(f"S{max(1, arr.dtype.itemsize // 4)}")
    return arr


def compare_hdu(group: Any, hdu: Any, where: str) -> None:
    attrs = dict(group.attrs)
    want_attrs = header_attrs(hdu.header)
    assert set(attrs) == set(want_attrs), where
    for k, v in want_attrs.items():
        assert_same_value(attrs[k], v, f"{where} attr {k}")
    data = hdu.data
    if data is None:
        assert "data" not in group.keys(), where
        return
    node = group["data"]
    got = read(node)
    if data.dtype.names:  # a table
        cols = group["columns"]
        names = cols.keys()
        assert len(names) == len(data.dtype.names), where
        for i, name in enumerate(names):
            want = expected_column(data.field(i))
            col = read(cols[name])
            field = got[name]
            if want.dtype.kind == "O":
                assert vlen_base(col.dtype) is not None, f"{where} {name} is not vlen"
                for j, (g, w, f) in enumerate(zip(col, want, field, strict=True)):
                    w = np.asarray(w)
                    if w.dtype.kind in "US":
                        continue  # vlen text columns: compared as bytes below
                    assert_same_array(g, w.ravel().astype(g.dtype), f"{where} {name}[{j}]")
                    assert_same_array(f, g, f"{where} {name}[{j}] (compound)")
            else:
                assert_same_array(col, want.astype(want.dtype.newbyteorder("=")) if want.dtype.kind != "S" else want,
                                  f"{where} {name}") if col.dtype.byteorder in "=|" else assert_same_array(col, want)
                assert_same_array(field.reshape(want.shape), col, f"{where} {name} (compound)")
    else:
        want = np.asarray(data)
        assert got.dtype == want.dtype.newbyteorder("="), where
        assert_same_array(got, want.astype(got.dtype), where)
        if got.ndim and all(got.shape):
            # A strided window read through hdu.section equals the same slice of .data.
            sel = tuple(slice(n // 3, n, 2) for n in got.shape)
            assert_same_array(node.read(sel), want[sel].astype(got.dtype), f"{where} window")


def check_file(store: Store, path: str) -> None:
    name = upload(store, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=False) as hdus, open_object(store, CONTAINER, name) as root:
            assert root.keys() == hdu_names(hdus)
            for key, hdu in zip(root.keys(), hdus, strict=True):
                compare_hdu(root[key], hdu, f"{name}[{key}]")


@pytest.mark.parametrize("path", READABLE, ids=os.path.basename)
def test_matches_astropy(store: MemoryStore, path: str) -> None:
    check_file(store, path)


@pytest.mark.parametrize("path", READABLE[:3], ids=os.path.basename)
def test_matches_astropy_on_local_store(local_store: Store, path: str) -> None:
    check_file(local_store, path)


def test_hdu_names_disambiguate(store: MemoryStore) -> None:
    hdus = fits.HDUList([fits.PrimaryHDU()] + [fits.ImageHDU(np.full((2, 2), i), name="SCI") for i in range(3)]
                        + [fits.BinTableHDU.from_columns([fits.Column("a", "J", array=[1])])])
    buf = io.BytesIO()
    hdus.writeto(buf)
    store.put_object(CONTAINER, "multi.fits", buf.getvalue())
    with open_object(store, CONTAINER, "multi.fits") as root:
        assert root.keys() == ["PRIMARY", "SCI", "SCI_2", "SCI_3", "HDU4"]
        assert read(root["SCI_3"]["data"]).tolist() == [[2, 2], [2, 2]]


def test_scaled_and_commentary(store: MemoryStore) -> None:
    data = np.array([[0, 1000], [40000, 65535]], dtype=np.uint16)  # BZERO=32768 on disk
    hdu = fits.PrimaryHDU(data)
    hdu.header["HISTORY"] = "first"
    hdu.header["HISTORY"] = "second"
    hdu.header["COMMENT"] = "a note"
    hdu.header["OBSERVER"] = "Messier"
    img = fits.ImageHDU(np.array([1.0, 2.0], dtype=np.float32))
    img.scale("int16", bscale=0.5, bzero=10)
    buf = io.BytesIO()
    fits.HDUList([hdu, img]).writeto(buf)
    store.put_object(CONTAINER, "scaled.fits", buf.getvalue())
    with open_object(store, CONTAINER, "scaled.fits") as root:
        prim = root["PRIMARY"]
        assert read(prim["data"]).dtype == np.uint16 and read(prim["data"]).tolist() == data.tolist()
        assert prim.attrs["HISTORY"] == "first\nsecond" and prim.attrs["COMMENT"] == "a note"
        assert prim.attrs["OBSERVER"] == "Messier" and prim.attrs["BZERO"] == 32768
        scaled = read(root["HDU1"]["data"])
        assert scaled.dtype.kind == "f" and scaled.tolist() == [1.0, 2.0]


def test_gzip_fits(store: MemoryStore) -> None:
    import gzip

    buf = io.BytesIO()
    fits.PrimaryHDU(np.arange(12, dtype=np.int32).reshape(3, 4)).writeto(buf)
    store.put_object(CONTAINER, "z.fits.gz", gzip.compress(buf.getvalue()))
    store.put_object(CONTAINER, "z-no-extension", gzip.compress(buf.getvalue()))  # found by content
    for name in ("z.fits.gz", "z-no-extension"):
        with open_object(store, CONTAINER, name) as root:
            assert read(root["PRIMARY"]["data"]).tolist() == np.arange(12).reshape(3, 4).tolist()


def test_compressed_image_reads_a_window(store: MemoryStore) -> None:
    img = np.arange(512 * 512, dtype=np.int32).reshape(512, 512)
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(img, tile_shape=(64, 64))]).writeto(buf)
    store.put_object(CONTAINER, "tiles.fits", buf.getvalue())
    with open_object(store, CONTAINER, "tiles.fits") as root:
        assert root.keys() == ["PRIMARY", "COMPRESSED_IMAGE"]
        node = root["COMPRESSED_IMAGE"]["data"]
        assert node.shape == (512, 512)
        np.testing.assert_array_equal(node.read((slice(70, 90, 1), slice(300, 310, 1))), img[70:90, 300:310])


@pytest.mark.parametrize("cut", [10, 2880 + 100, -2000])
def test_truncated_is_corrupt(store: MemoryStore, cut: int) -> None:
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(np.ones((50, 50))), fits.ImageHDU(np.ones((40, 40)))]).writeto(buf)
    store.put_object(CONTAINER, "cut.fits", buf.getvalue()[:cut])
    with pytest.raises(CorruptData, match=r"data/cut\.fits.*FITS"):
        open_object(store, CONTAINER, "cut.fits")
