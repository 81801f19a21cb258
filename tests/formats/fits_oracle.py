"""The FITS oracle (imported as ``fits_oracle``): a stored FITS object, opened
through the registry, compared HDU by HDU with astropy reading the same local file."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from astropy.io import fits
from fmt_helpers import CONTAINER, assert_same_array, assert_same_value, read, upload

from sciswift.formats.fits import hdu_names, header_attrs
from sciswift.formats.nodes import vlen_base
from sciswift.formats.registry import open_object
from sciswift.store import Store


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
