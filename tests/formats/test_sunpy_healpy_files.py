"""Real files shipped in sunpy's and healpy's wheels: solar FITS images and tables
(SOHO/EIT, SDO/AIA, RHESSI, GOES, EVE, LYRA, Fermi GBM, some gzipped under .fits.gz,
.fit.gz and .fts.gz), healpy's ring-weight binary tables, and GOES-R netCDF-4 files
(groups-free CF files with scaled ints, fill values, unsigned and string attributes).

FITS is compared with astropy (``fits_oracle``); netCDF-4 with h5py (the object is
shown as h5py shows the file, dimension scales included) and, for values and
dimension names, netCDF4-python; see docs/formats.md.
"""

from __future__ import annotations

import os
from typing import Any

import netCDF4
import numpy as np
import pytest
from fits_oracle import check_file
from fmt_helpers import (
    CONTAINER,
    assert_same_array,
    compare_with_h5py,
    nc_dimensions,
    read,
    site_files,
    upload,
)

from sciswift.errors import CorruptData
from sciswift.formats.base import GroupNode
from sciswift.formats.registry import open_object
from sciswift.store import MemoryStore, Store

NOT_FITS = ("not_actually_fits.fits", "test_ana.fz")  # an HTML error page, an ANA image
FITS_FILES = [
    p for p in site_files("sunpy/**/*.f*t*") + site_files("sunpy/**/*.fits.gz") + site_files("healpy/**/*.fits")
    if os.path.basename(p) not in NOT_FITS and ".header" not in p
]
FITS_FILES = sorted(set(FITS_FILES))
NC4_FILES = site_files("sunpy/**/*.nc")


def test_file_counts() -> None:
    assert len(FITS_FILES) >= 25 and len(NC4_FILES) >= 5, (FITS_FILES, NC4_FILES)
    assert any(p.endswith(".fts.gz") for p in FITS_FILES) and any(p.endswith(".fit.gz") for p in FITS_FILES)


@pytest.mark.parametrize("path", FITS_FILES, ids=os.path.basename)
def test_fits_matches_astropy(store: MemoryStore, path: str) -> None:
    check_file(store, path)


@pytest.mark.parametrize("name", NOT_FITS)
def test_files_named_fits_that_are_not_fits(store: MemoryStore, name: str) -> None:
    (path,) = site_files(f"sunpy/**/{name}")
    upload(store, path)
    with pytest.raises(CorruptData, match=rf"cannot open data/{name} as FITS: .*not a FITS file"):
        open_object(store, CONTAINER, name)


def compare_with_netcdf4(node: GroupNode, grp: Any, where: str = "") -> int:
    """Every variable's values and dimensions as netCDF4-python gives them, and
    every subgroup; returns the variables compared. (Attributes are h5py's: see
    compare_with_h5py.)"""
    count = 0
    for name, var in grp.variables.items():
        var.set_auto_maskandscale(False)
        got = node[name]
        want = np.asarray(var[...])
        assert got.shape == want.shape, f"{where}/{name}"
        assert_same_array(read(got), want, f"{where}/{name}")
        if want.ndim and all(want.shape):
            sel = tuple(slice(n // 3, n, 2) for n in want.shape)
            assert_same_array(got.read(sel), want[sel], f"{where}/{name}{sel}")
        assert nc_dimensions(got, name) == var.dimensions, f"{where}/{name}"
        count += 1
    for gname, sub in grp.groups.items():
        count += compare_with_netcdf4(node[gname], sub, f"{where}/{gname}")
    return count


@pytest.mark.parametrize("path", NC4_FILES, ids=os.path.basename)
def test_netcdf4_matches_netcdf4_python(store: MemoryStore, path: str) -> None:
    name = upload(store, path)
    with open_object(store, CONTAINER, name) as root, netCDF4.Dataset(path) as nc:
        assert compare_with_netcdf4(root, nc) >= 9
        assert compare_with_h5py(root, path) >= 9


def test_netcdf4_on_local_store(local_store: Store) -> None:
    path = NC4_FILES[0]
    name = upload(local_store, path)
    with open_object(local_store, CONTAINER, name) as root, netCDF4.Dataset(path) as nc:
        assert compare_with_netcdf4(root, nc) >= 9
