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
from sciswift.compat.exact import sciswift_object
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
        # Both are h5py's own class; the store file's is a facade over sciswift's File.
        assert type(store_file) is REAL_FILE and isinstance(sciswift_object(store_file), sh5.File)
        assert type(local_file) is REAL_FILE and sciswift_object(local_file) is None
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
            # exact types, as libraries that dispatch on type() need
            assert type(f["g"]) is h5py.Group and type(d) is h5py.Dataset and type(f["t"]) is h5py.Datatype
            assert type(d.attrs) is h5py.AttributeManager
            assert f.get("g", getclass=True) is h5py.Group and f.get("g/d", getclass=True) is h5py.Dataset
        # a store URL goes to sciswift without a mount
        with h5py.File(f"memory://direct{uuid.uuid4().hex[:6]}/x.h5", "w") as direct:
            assert isinstance(sciswift_object(direct), sh5.File)


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


def test_null_references_made_by_the_program_work_on_both_sides(mnt: str, tmp_path: Path) -> None:
    seen = []
    for path in (f"{mnt}/n.h5", str(tmp_path / "n.h5")):
        with h5py.File(path, "w") as f:
            refs = f.create_dataset("refs", shape=(2,), dtype=h5py.ref_dtype)
            refs[0] = h5py.Reference()
            regions = f.create_dataset("regions", shape=(1,), dtype=h5py.regionref_dtype)
            regions[0] = h5py.RegionReference()
            with pytest.raises(ValueError):
                f[h5py.Reference()]
            seen.append((bool(refs[0]), bool(refs[1]), bool(regions[0])))
    assert seen[0] == seen[1] == (False, False, False)


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


def test_subclass_of_file_opens_a_mounted_path_too(mnt: str, tmp_path: Path) -> None:
    class Mine(h5py.File):
        def total(self) -> int:
            return int(sum(self["d"][()]))

    for path in (tmp_path / "m.h5", f"{mnt}/m.h5"):
        with Mine(path, "w") as f:
            f["d"] = [1, 2, 3]
            assert type(f) is Mine and isinstance(f, REAL_FILE) and f.total() == 6
    assert isinstance(sciswift_object(Mine(f"{mnt}/m.h5", "r")), sh5.File)


def test_functools_singledispatch_and_class_keyed_dicts(mnt: str, tmp_path: Path) -> None:
    import functools

    @functools.singledispatch
    def kind(obj: object) -> str:
        return "other"

    @kind.register
    def _(obj: h5py.Group) -> str:
        return "group"

    @kind.register
    def _(obj: h5py.Dataset) -> str:
        return "dataset"

    by_class = {h5py.Group: "G", h5py.Dataset: "D", h5py.File: "F"}
    for path in (f"{mnt}/k.h5", str(tmp_path / "k.h5")):
        with h5py.File(path, "w") as f:
            f.create_dataset("g/d", data=[1.0])
            assert (kind(f), kind(f["g"]), kind(f["g/d"]), kind(f.attrs)) == ("group", "group", "dataset", "other")
            assert [by_class[type(o)] for o in (f, f["g"], f["g/d"])] == ["F", "G", "D"]
            seen: list[str] = []
            f.visititems(lambda _n, o, seen=seen: seen.append(by_class[type(o)]))
            assert seen == ["G", "D"]
            assert [type(v) for v in f.values()] == [h5py.Group]


def test_facades_pickle_by_address(tmp_path: Path) -> None:
    import pickle

    store = tmp_path / "store"
    install(MountTable.parse(f"/sciswift-pickle-mnt={store}"))
    try:
        with h5py.File("/sciswift-pickle-mnt/p.h5", "w") as f:
            f["d"] = [4, 5, 6]
        with h5py.File("/sciswift-pickle-mnt/p.h5", "r") as f:
            again = pickle.loads(pickle.dumps(f["d"]))
            assert type(again) is h5py.Dataset and again[()].tolist() == [4, 5, 6]
        with h5py.File(tmp_path / "real.h5", "w") as f, pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(f)
    finally:
        uninstall()


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
REAL_FILE_INIT = h5py.File.__init__
REAL_GETITEM = h5py.Dataset.__getitem__


def test_uninstall_restores_h5py(mnt: str) -> None:
    uninstall()
    assert h5py.File is REAL_FILE and h5py.Dataset is REAL_DATASET
    assert h5py.h5ds.is_scale is REAL_IS_SCALE
    assert h5py.File.__init__ is REAL_FILE_INIT and h5py.Dataset.__getitem__ is REAL_GETITEM
    assert "__getattr__" not in vars(h5py.Dataset) and "__reduce_ex__" not in vars(h5py.Group)
    assert not installed()
