"""Region references to HDF5 point selections keep the order of their points
through import (h5py -> native), the native file itself, and export (native ->
h5py): a point selection reads its values in the order the points are stored."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

import sciswift.h5py as sh5
from sciswift.convert import export_file, import_file
from sciswift.h5.selection import Points

#: out of C order, with a point listed twice (HDF5 allows it)
POINTS = np.array([[3, 4], [0, 1], [2, 2], [0, 0], [3, 4]], dtype=np.uint64)


def _point_ref(ds: h5py.Dataset, points: np.ndarray) -> h5py.RegionReference:
    space = ds.id.get_space()
    space.select_elements(points)
    return h5py.h5r.create(ds.id, b".", h5py.h5r.DATASET_REGION, space)


def test_point_order_survives_import_and_export(tmp_path: Path) -> None:
    src = tmp_path / "points.h5"
    with h5py.File(src, "w") as f:
        ds = f.create_dataset("d", data=np.arange(20).reshape(4, 5) * 10)
        f.attrs["r"] = _point_ref(ds, POINTS)
        f.create_dataset("refs", data=np.array([_point_ref(ds, POINTS[::-1])], dtype=object),
                         dtype=h5py.regionref_dtype)
        want = ds[f.attrs["r"]]
        want_reversed = ds[f["refs"][0]]
    assert want.tolist() == [190, 10, 120, 0, 190]  # h5py's own reading: the stored order

    import_file(str(src), str(tmp_path / "native"))
    with sh5.File(str(tmp_path / "native")) as f:
        assert f["d"][f.attrs["r"]].tolist() == want.tolist()
        assert f["d"][f["refs"][0]].tolist() == want_reversed.tolist()
        assert f["d"].regionref.selection(f.attrs["r"]) == (len(POINTS),)

    export_file(str(tmp_path / "native"), str(tmp_path / "back.h5"))
    with h5py.File(tmp_path / "back.h5") as f:
        ref = f.attrs["r"]
        space = h5py.h5r.get_region(ref, f["d"].id)
        assert space.get_select_type() == h5py.h5s.SEL_POINTS
        assert space.get_select_elem_pointlist().tolist() == POINTS.tolist()
        assert f["d"][ref].tolist() == want.tolist()
        assert f["d"][f["refs"][0]].tolist() == want_reversed.tolist()


def test_native_point_references_read_and_write_in_order(tmp_path: Path) -> None:
    with sh5.File(str(tmp_path / "n"), "w") as f:
        ds = f.create_dataset("d", data=np.zeros((3, 3), dtype="i4"))
        ref = ds.regionref[Points([[2, 1], [0, 2], [1, 0]])]
        ds[ref] = [7, 8, 9]
        assert ds[ref].tolist() == [7, 8, 9]
        f.attrs["r"] = ref
    with sh5.File(str(tmp_path / "n")) as f:
        assert f["d"][f.attrs["r"]].tolist() == [7, 8, 9]
        assert f["d"][()].tolist() == [[0, 0, 8], [9, 0, 0], [0, 7, 0]]


def test_point_references_keep_their_order_in_the_hdf5_view(tmp_path: Path) -> None:
    # The view that `sciswift mount` serves for the native file (read by
    # HDF5's C library through h5py here) lists the points as they were stored.
    from sciswift.h5view import open_view
    from sciswift.store import parse_location

    src = tmp_path / "points.h5"
    with h5py.File(src, "w") as f:
        ds = f.create_dataset("d", data=np.arange(20).reshape(4, 5) * 10)
        f.attrs["r"] = _point_ref(ds, POINTS)
    import_file(str(src), str(tmp_path / "native"))
    view = open_view(parse_location(str(tmp_path / "native")))
    try:
        data = view.read(0, view.size)
    finally:
        view.close()
    (tmp_path / "view.h5").write_bytes(data)
    with h5py.File(tmp_path / "view.h5") as f:
        space = h5py.h5r.get_region(f.attrs["r"], f["d"].id)
        assert space.get_select_type() == h5py.h5s.SEL_POINTS
        assert space.get_select_elem_pointlist().tolist() == POINTS.tolist()
        assert f["d"][f.attrs["r"]].tolist() == [190, 10, 120, 0, 190]
