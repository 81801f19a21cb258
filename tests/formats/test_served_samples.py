"""Real sample files uploaded to ``sciswift serve`` (over the Swift API) and opened
with ``sciswift.h5py.File("swift://...")``, as a user would: values, shapes, dtypes
and attributes against the format's own library on the local file; a cut-short
upload fails with CorruptData naming the object and the format."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path
from typing import Any

import h5py
import netCDF4
import numpy as np
import pytest
import tables
from astropy.io import fits
from fits_oracle import expected_column
from fmt_helpers import assert_same_array, assert_same_value, site_files

import sciswift.h5py as sh5
from sciswift.errors import CorruptData
from sciswift.formats.fits import header_attrs
from sciswift.store.url import parse_location


@pytest.fixture
def bucket(sciswift_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ST_AUTH", sciswift_server.auth_url)
    monkeypatch.setenv("ST_USER", sciswift_server.user)
    monkeypatch.setenv("ST_KEY", sciswift_server.key)
    url = f"swift://samples-{uuid.uuid4().hex[:8]}"
    loc = parse_location(url)
    loc.store.create_container(loc.container)
    loc.store.close()
    return url


def _put(url: str, data: bytes) -> None:
    loc = parse_location(url)
    try:
        loc.store.put_object(loc.container, loc.prefix, data)
    finally:
        loc.store.close()


def _sample(pattern: str) -> Path:
    (path,) = site_files(pattern)
    return Path(path)


def test_pytables_blosc_file(bucket: str) -> None:
    path = _sample("tables/tests/blosc_bigendian.h5")
    _put(f"{bucket}/blosc.h5", path.read_bytes())
    seen: list[str] = []
    with sh5.File(f"{bucket}/blosc.h5") as f, tables.open_file(str(path)) as pt, h5py.File(path) as g:
        def visit(name: str, obj: Any) -> None:
            seen.append(name)
            want = pt.get_node("/" + name).read()
            assert (obj.shape, obj.dtype) == (g[name].shape, g[name].dtype)  # big-endian, as h5py
            assert np.array_equal(obj[()], want) and np.array_equal(obj[2:7:2], want[2:7:2])
            assert list(obj.attrs) == list(g[name].attrs)
        f.visititems(visit)
    assert seen == ["i1", "i2", "i4", "i8"]


def test_netcdf4_goes_file(bucket: str) -> None:
    """Served, a netCDF-4 object is the file h5py shows (netCDF's dimension datasets
    and attributes included), with its dimension scales, and its variables hold
    what netCDF4-python reads."""
    path = _sample("sunpy/data/test/sci_xrsf-l2-avg1m_g16_d20210101_truncated.nc")
    _put(f"{bucket}/goes.nc", path.read_bytes())
    count = 0
    with sh5.File(f"{bucket}/goes.nc") as f, h5py.File(path) as local, netCDF4.Dataset(path) as nc:
        assert list(f.keys()) == list(local.keys())
        for name, var in nc.variables.items():
            var.set_auto_maskandscale(False)
            assert_same_array(np.asarray(f[name][()]), np.asarray(var[...]), name)
            assert list(f[name].attrs) == list(local[name].attrs), name
            for k in var.ncattrs():
                assert_same_value(f[name].attrs[k], local[name].attrs[k], f"{name} {k}")
            assert [[s.name for s in d.values()] for d in f[name].dims] == \
                [[s.name for s in d.values()] for d in local[name].dims]
            count += 1
    assert count == 21


@pytest.mark.parametrize("sample", ["gbm.fits", "aia_171_level1.fits", "go1520120601.fits.gz"])
def test_fits_files(bucket: str, sample: str) -> None:
    path = _sample(f"sunpy/data/test/{sample}")
    _put(f"{bucket}/{sample}", path.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with sh5.File(f"{bucket}/{sample}") as f, fits.open(path) as hdus:
            assert len(f) == len(hdus)
            for group, hdu in zip(f.values(), hdus, strict=True):
                for k, v in header_attrs(hdu.header).items():
                    assert_same_value(group.attrs[k], v, f"{sample}[{group.name}] {k}")
                if hdu.data is None:
                    continue
                if hdu.data.dtype.names:
                    for col in hdu.columns.names:
                        got = group["columns"][col.replace("/", "_")][()]
                        assert_same_array(got, expected_column(hdu.data[col]), col)  # astropy's byte order
                else:
                    want = np.asarray(hdu.data)
                    assert group["data"].shape == want.shape
                    assert np.array_equal(group["data"][()], want, equal_nan=True)
                    assert np.array_equal(group["data"][10:20, ::7], want[10:20, ::7], equal_nan=True)


@pytest.mark.parametrize("sample, label", [("sunpy/data/test/gbm.fits", "FITS"),
                                           ("tables/tests/ex-noattr.h5", "HDF5"),
                                           ("sunpy/data/test/goes_13_leap_second.nc", "netCDF")])
def test_cut_short_upload_is_corrupt(bucket: str, sample: str, label: str) -> None:
    data = _sample(sample).read_bytes()
    name = "cut-" + sample.rsplit("/", 1)[-1]
    _put(f"{bucket}/{name}", data[: len(data) // 2])
    with pytest.raises(CorruptData, match=rf"{name}.*{label}"):
        with sh5.File(f"{bucket}/{name}") as f:
            f.visititems(lambda _name, obj: obj[()] if isinstance(obj, sh5.Dataset) else None)


@pytest.mark.parametrize("sample, dataset, reason", [
    ("numpy/lib/tests/data/py3-objarr.npz", "/x", "it holds Python objects, which need pickle"),
    ("tables/tests/times-nested-be.h5", "/earr32", "has no NumPy equivalent"),
])
def test_data_api_says_what_is_unsupported(bucket: str, sample: str, dataset: str, reason: str) -> None:
    """``sciswift get`` (the server's data API) on a member a plugin documents it
    cannot present answers 415 with the plugin's reason, as for a file no plugin
    opens; it answered 501 'the store failed reading this file', hiding why."""
    from click.testing import CliRunner

    from sciswift.cli.main import cli

    name = sample.rsplit("/", 1)[-1]
    _put(f"{bucket}/{name}", _sample(sample).read_bytes())
    result = CliRunner().invoke(cli, ["get", f"{bucket}/{name}", dataset], catch_exceptions=False)
    assert result.exit_code == 1
    assert reason in result.output and "(HTTP 415)" in result.output and name in result.output, result.output
