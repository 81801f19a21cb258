"""The HDF5 view read by real readers: h5py (every dataset and attribute equal to
what sciswift.h5py reads from the native file), h5dump, h5ls, and a C program
built with Debian's h5pcc. The view is materialised into a local file by
reading it in pieces (fixed steps and random offsets and lengths)."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from view_helpers import H5DUMP, H5LS, compare, run, view_file, write_sampler

import sciswift.h5py as sh
from sciswift.store import Location


@pytest.fixture
def sampler(native_url: Callable[[str], str]) -> str:
    url = native_url("sampler.h5")
    with sh.File(url, "w") as f:
        write_sampler(f)
    return url


@pytest.mark.parametrize("pieces", ["fixed", "random"])
def test_h5py_reads_what_was_written(sampler: str, location: Callable[[str], Location], tmp_path: Path,
                                     pieces: str) -> None:
    rng = random.Random(7) if pieces == "random" else None
    path = view_file(location(sampler), tmp_path / "view.h5", rng)
    with sh.File(sampler, "r") as src, h5py.File(path, "r") as view:
        assert compare(src, view) >= 60
        # What HDF5 reports about layout and filters.
        assert view["contiguous_big"].chunks is None
        assert view["codec/shuffle_fletcher"].shuffle and view["codec/shuffle_fletcher"].fletcher32
        # gzip chunks pass through as HDF5 deflate chunks; lzf, zstd... are served decoded.
        assert (view["codec/gzip"].compression, view["codec/gzip"].compression_opts) == ("gzip", 4)
        assert view["codec/lzf"].compression is None and view["codec/zstd"].compression is None
        assert list(view["ordered"]) == ["zz", "aa", "mm", "link"]
        assert view["hard"].id == view["enum"].id
        assert view[view["refs"][0]].name == "/enum" and not view["refs"][1]
        assert view["grid"].dims[0][0].name == "/x" and view["grid"].dims[0].label == "xx"
        assert h5py.h5ds.is_scale(view["y"].id)


def test_h5dump_and_h5ls(sampler: str, location: Callable[[str], Location], tmp_path: Path) -> None:
    path = view_file(location(sampler), tmp_path / "view.h5")
    dump = run([H5DUMP, str(path)]).stdout
    assert 'GROUP "l23"' in dump and 'EXTERNAL_LINK "ext"' in dump and 'SOFTLINK "soft"' in dump
    # A few values parsed from h5dump's text.
    one = run([H5DUMP, "-d", "/sparse", "-s", "5,4", "-c", "1,3", str(path)]).stdout
    assert re.search(r"\(5,4\): 9, 1, 9\b", one), one
    strings = run([H5DUMP, "-d", "/str/vlen", str(path)]).stdout
    assert '(0): "a", "bb", "", "cc' in strings  # h5dump escapes the UTF-8 bytes of é
    cmp_ = run([H5DUMP, "-d", "/cmp/packed", str(path)]).stdout
    assert re.search(r'\{\s*5,\s*1\.5,\s*"xy\\000",\s*\[ 7, 7,\s*7, 7 \]', cmp_), cmp_
    enum = run([H5DUMP, "-d", "/enum", str(path)]).stdout
    assert "RED, GREEN, BLUE, GREEN" in enum
    listing = run([H5LS, "-r", str(path)]).stdout
    assert re.search(r"^/resizable\s+Dataset \{13/Inf, 6/8\}$", listing, re.M), listing
    assert re.search(r"^/hard\s+Dataset, same as /enum$", listing, re.M)
    assert re.search(r"^/empty\s+Dataset \{NULL\}$", listing, re.M)
    verbose = run([H5LS, "-v", f"{path}/codec/shuffle_fletcher"]).stdout
    assert "shuffle-2" in verbose and "fletcher32-3" in verbose


def test_h5repack_h5diff_h5stat(sampler: str, location: Callable[[str], Location], tmp_path: Path) -> None:
    """HDF5's copy (h5repack copies every object, attribute, reference and chunk
    through H5Ocopy) and h5diff's object-by-object comparison find nothing wrong
    or different; h5stat walks every structure."""
    path = view_file(location(sampler), tmp_path / "view.h5")
    copy = tmp_path / "repacked.h5"
    run(["h5repack", str(path), str(copy)])
    run(["h5diff", str(path), str(copy)])  # exit status 0: no difference
    stats = run(["h5stat", str(path)]).stdout
    assert re.search(r"# of unique groups: 3\d", stats) and re.search(r"# of unique datasets: \d\d", stats), stats
    assert "# of unique named datatypes: 1" in stats


@pytest.fixture(scope="session")
def hyperslab_reader(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A C program (built with h5pcc) that prints a hyperslab of a dataset as doubles."""
    cc = shutil.which("h5pcc") or shutil.which("h5cc")
    if cc is None:
        pytest.fail("h5pcc/h5cc not found: install libhdf5-openmpi-dev (see .ci/run)")
    out = tmp_path_factory.mktemp("c") / "hyperslab"
    src = Path(__file__).with_name("hyperslab.c")
    subprocess.run([cc, "-o", str(out), str(src)], check=True, capture_output=True, timeout=120, cwd=out.parent)
    return out


def _hyperslab(program: Path, path: Path, dset: str, *sel: int) -> np.ndarray:
    out = run([str(program), str(path), dset, *map(str, sel)]).stdout
    return np.array([float(x) for x in out.split()])


def test_c_program_reads_hyperslabs(native_url: Callable[[str], str], location: Callable[[str], Location],
                                    tmp_path: Path, hyperslab_reader: Path) -> None:
    url = native_url("c.h5")
    data = np.arange(300 * 200, dtype="<f4").reshape(300, 200) / 7
    with sh.File(url, "w") as f:
        f.create_dataset("plain", data=data, chunks=(64, 48))
        f.create_dataset("zipped", data=data.astype(">f8"), chunks=(50, 50), compression="gzip")
        f.create_dataset("ints", data=np.arange(1000, dtype="i2"), chunks=(64,), shuffle=True)
        f.create_dataset("contig", data=data)
    path = view_file(location(url), tmp_path / "c.h5")
    for name, src in (("plain", data), ("zipped", data.astype(">f8")), ("contig", data)):
        got = _hyperslab(hyperslab_reader, path, name, 61, 70, 45, 10)
        assert np.array_equal(got, src[61:131, 45:55].astype("f8").ravel()), name
    got = _hyperslab(hyperslab_reader, path, "ints", 990, 10)
    assert np.array_equal(got, np.arange(990, 1000))
