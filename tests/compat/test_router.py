"""The router inside one process: which side h5py.File goes to, isinstance across
sides, values handed to either side, errors naming the mount, and undoing it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest

import sciswift.h5py as sh5
from sciswift.compat import MountError, MountTable, install, uninstall
from sciswift.compat.hook import installed

REAL_FILE = h5py.File
REAL_DATASET = h5py.Dataset


@pytest.fixture
def mnt() -> Iterator[str]:
    """A mount point routed to a fresh memory:// container, installed in this process."""
    point = f"/sciswift-router-test/{uuid.uuid4().hex[:8]}"
    install(MountTable.parse(f"{point}=memory://r{uuid.uuid4().hex[:8]}/files"))
    try:
        yield point
    finally:
        uninstall()


def test_mounted_paths_go_to_sciswift_and_others_to_h5py(mnt: str, tmp_path: Path) -> None:
    assert installed()
    with h5py.File(f"{mnt}/a.h5", "w") as store_file, h5py.File(tmp_path / "b.h5", "w") as local_file:
        assert isinstance(store_file, sh5.File) and not isinstance(store_file, REAL_FILE)
        assert isinstance(local_file, REAL_FILE)
        assert not (tmp_path / "a.h5").exists()
        # isinstance holds for both sides, for every routed class
        for f in (store_file, local_file):
            d = f.create_dataset("g/d", data=np.arange(4))
            f["t"] = np.dtype("f4")
            assert isinstance(f, h5py.File) and isinstance(f, h5py.Group) and isinstance(f, h5py.HLObject)
            assert isinstance(d, h5py.Dataset) and not isinstance(d, h5py.Group)
            assert isinstance(f["g"], h5py.Group) and not isinstance(f["g"], h5py.File)
            assert isinstance(f["t"], h5py.Datatype)
            assert isinstance(d.attrs, h5py.AttributeManager)
            assert issubclass(type(d), h5py.Dataset) and not issubclass(type(d), h5py.Datatype)
        # a store URL goes to sciswift without a mount
        with h5py.File(f"memory://direct{uuid.uuid4().hex[:6]}/x.h5", "w") as direct:
            assert isinstance(direct, sh5.File)


def test_values_made_by_the_program_work_on_both_sides(mnt: str, tmp_path: Path) -> None:
    for path in (f"{mnt}/v.h5", str(tmp_path / "v.h5")):
        with h5py.File(path, "w") as f:
            f["x"] = np.arange(3)
            f["soft"] = h5py.SoftLink("/x")
            f["ext"] = h5py.ExternalLink("other.h5", "/y")
            f.attrs["empty"] = h5py.Empty("f8")
            assert f["soft"][()].tolist() == [0, 1, 2]
            link = f.get("soft", getlink=True)
            assert isinstance(link, h5py.SoftLink) and link.path == "/x"
            assert isinstance(f.get("ext", getlink=True), h5py.ExternalLink)
            assert isinstance(f.get("x", getlink=True), h5py.HardLink)
            assert isinstance(f.attrs["empty"], h5py.Empty) and f.attrs["empty"] == h5py.Empty("f8")


def test_visititems_callbacks_see_h5py_classes(mnt: str) -> None:
    with h5py.File(f"{mnt}/tree.h5", "w") as f:
        f.create_dataset("a/b/c", data=[1.0])
        f.create_group("a/e")
        seen: dict[str, str] = {}
        f.visititems(lambda n, o: seen.__setitem__(n, "D" if isinstance(o, h5py.Dataset) else
                                                     "G" if isinstance(o, h5py.Group) else "?"))
    assert seen == {"a": "G", "a/b": "G", "a/b/c": "D", "a/e": "G"}


def test_helpers_and_constructors_stay_h5py(mnt: str, tmp_path: Path) -> None:
    assert h5py.string_dtype() == sh5.string_dtype()
    assert h5py.check_string_dtype(h5py.string_dtype("ascii", 4)).length == 4
    with h5py.File(tmp_path / "l.h5", "w") as f:
        f["d"] = [1, 2]
        # h5py.Dataset(id) builds the real class, as h5py code does
        again = h5py.Dataset(f["d"].id)
        assert type(again) is REAL_DATASET and again[()].tolist() == [1, 2]
    assert h5py.is_hdf5(tmp_path / "l.h5")
    with h5py.File(f"{mnt}/h.h5", "w") as f:
        f["d"] = [1]
    assert h5py.is_hdf5(f"{mnt}/h.h5")
    assert not h5py.is_hdf5(f"{mnt}/never-written.h5")


def test_subclass_of_file_cannot_open_a_mounted_path(mnt: str, tmp_path: Path) -> None:
    class Mine(h5py.File):
        pass

    with Mine(tmp_path / "m.h5", "w") as f:
        assert isinstance(f, Mine) and isinstance(f, REAL_FILE)
    with pytest.raises(OSError, match="subclass of h5py.File cannot open a file in an object store"):
        Mine(f"{mnt}/m.h5", "w")


def test_mpio_driver_on_a_mounted_path_is_refused_clearly(mnt: str) -> None:
    with pytest.raises(ValueError, match="collective parallel HDF5 is not available"):
        h5py.File(f"{mnt}/p.h5", "w", driver="mpio", comm=object())


def test_unreachable_store_error_names_mount_url_and_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ST_AUTH", "http://127.0.0.1:9/auth/v1.0")
    monkeypatch.setenv("ST_USER", "test:tester")
    monkeypatch.setenv("ST_KEY", "testing")
    install(MountTable.parse("/sciswift-unreachable=swift://wind/run1"))
    try:
        with pytest.raises(MountError) as e:
            h5py.File("/sciswift-unreachable/p.h5", "r")
    finally:
        uninstall()
    message = str(e.value)
    assert "mount /sciswift-unreachable=swift://wind/run1" in message
    assert "swift://wind/run1/p.h5" in message and "'/sciswift-unreachable/p.h5'" in message
    assert "StoreUnavailable" in message and "127.0.0.1:9" in message
    assert isinstance(e.value, OSError)


def test_missing_files_raise_what_h5py_raises(mnt: str, tmp_path: Path) -> None:
    for path in (f"{mnt}/none.h5", str(tmp_path / "none.h5")):
        with pytest.raises(FileNotFoundError):
            h5py.File(path, "r")


def test_low_level_functions_take_either_sides_ids(mnt: str, tmp_path: Path) -> None:
    # h5netcdf calls h5py.h5ds.is_scale(dset.id) on whatever h5py.File returned
    for path in (f"{mnt}/s.h5", str(tmp_path / "s.h5")):
        with h5py.File(path, "w") as f:
            d = f.create_dataset("x", data=np.arange(3.0))
            assert h5py.h5ds.is_scale(d.id) is False
            d.make_scale("x")
            assert h5py.h5ds.is_scale(d.id) is True


REAL_IS_SCALE = h5py.h5ds.is_scale


def test_uninstall_restores_h5py(mnt: str) -> None:
    uninstall()
    assert h5py.File is REAL_FILE and h5py.Dataset is REAL_DATASET
    assert h5py.h5ds.is_scale is REAL_IS_SCALE
    assert not installed()
