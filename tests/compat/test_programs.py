"""Unmodified h5py programs of different styles, run on local files with h5py and
through ``sciswift run --mount`` (LocalStore and ``sciswift serve``): the printed
output and the files they leave (``programs/dump.py``) must be identical."""

from __future__ import annotations

from pathlib import Path

import pytest

from compat.h5run import PROGRAMS, Way, assert_same, h5py_way, localstore_way, serve_way

# program -> the files it leaves in its working directory
CASES = {
    "context_reopen": ("life.h5", "new.h5"),
    "visit_isinstance": ("tree.h5", "other.h5"),
    "attrs_types": ("attrs.h5",),
    "resize_append": ("grow.h5",),
    "dtypes_special": ("types.h5",),
    "errors": ("err.h5",),
    "fancy_indexing": ("idx.h5",),
    "xarray_netcdf": ("climate.nc",),
}

# Programs that differ because of a known sciswift.h5 gap (test_h5_gaps.py names each).
GAPS = {
}


def _outcome(way: Way, program: str) -> tuple[str, dict[str, object]]:
    proc = way.run([str(PROGRAMS / f"{program}.py"), way.workdir])
    return way.normalise(proc.stdout), way.dump(CASES[program])


@pytest.fixture(params=["localstore", "serve"])
def store_way(request: pytest.FixtureRequest, tmp_path: Path) -> Way:
    if request.param == "serve":
        return serve_way(request.getfixturevalue("sciswift_server"))
    return localstore_way(tmp_path)


@pytest.mark.parametrize("program", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=f"sciswift.h5 gap: {GAPS[p]}")) if p in GAPS else p
    for p in sorted(CASES)
])
def test_program_same_as_h5py(program: str, store_way: Way, tmp_path: Path) -> None:
    ref_out, ref_dump = _outcome(h5py_way(tmp_path), program)
    out, dump = _outcome(store_way, program)
    assert_same(ref_out.splitlines(), out.splitlines(), f"{program}: printed output")
    assert_same(ref_dump, dump, f"{program}: file contents")
