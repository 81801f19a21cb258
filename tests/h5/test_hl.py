"""``sciswift.h5py._hl``: h5py's private module paths, as programs import them,
compared name by name with real h5py's ``h5py._hl``."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable

import h5py as real_h5py
import numpy as np
import pytest

import sciswift.h5py as h5py
from sciswift.h5.hl import SUBMODULES


@pytest.mark.parametrize(("module", "name"), [
    ("base", "Empty"), ("base", "is_hdf5"), ("files", "File"), ("group", "Group"), ("group", "SoftLink"),
    ("group", "ExternalLink"), ("group", "HardLink"), ("dataset", "Dataset"), ("datatype", "Datatype"),
    ("attrs", "AttributeManager"), ("vds", "VirtualLayout"), ("vds", "VirtualSource"),
])
def test_private_paths_give_the_public_objects(module: str, name: str) -> None:
    # h5py keeps each of these under h5py._hl.<module> and re-exports it at top level.
    assert getattr(importlib.import_module(f"h5py._hl.{module}"), name) is getattr(real_h5py, name)
    ours = importlib.import_module(f"sciswift.h5py._hl.{module}")
    assert getattr(ours, name) is getattr(h5py, name)


@pytest.mark.parametrize(("module", "name", "ours"), [
    ("dims", "DimensionManager", "DimensionManager"), ("filters", "Gzip", "Gzip"),
    ("dataset", "AsTypeView", "AstypeWrapper"), ("dataset", "AsStrView", "AsStrWrapper"),
    ("dataset", "FieldsView", "FieldsWrapper"),
])
def test_private_paths_of_classes_h5py_does_not_export(module: str, name: str, ours: str) -> None:
    assert hasattr(importlib.import_module(f"h5py._hl.{module}"), name)
    import sciswift.h5 as api

    where = api.filters if module == "filters" else api
    assert getattr(importlib.import_module(f"sciswift.h5py._hl.{module}"), name) is getattr(where, ours)


def test_submodules_are_found_like_modules() -> None:
    # importlib.util.find_spec answers for each (harnesses and lazy importers ask it).
    for sub in SUBMODULES:
        spec = importlib.util.find_spec(f"sciswift.h5py._hl.{sub}")
        assert spec is not None and spec.name == f"sciswift.h5py._hl.{sub}"
        assert hasattr(real_h5py._hl, sub)
    assert h5py._hl.base is importlib.import_module("sciswift.h5py._hl.base")


def test_helpers_behave_as_h5pys() -> None:
    from h5py._hl import base as real_base
    from sciswift.h5py._hl.base import Empty, phil, product
    from sciswift.h5py._hl.vds import vds_support

    assert product((3, 4, 5)) == real_base.product((3, 4, 5)) == 60
    assert product(()) == real_base.product(()) == 1
    with phil, phil:  # h5py's lock is reentrant; programs nest it
        assert Empty("f") != Empty("i")
    assert vds_support is True  # virtual datasets always work here
    with pytest.raises(ImportError):
        exec("from sciswift.h5py._hl.dataset import readtime_dtype")  # h5py's own helper: not provided
    assert np.dtype(Empty("f4").dtype) == np.dtype("f4")


def test_names_h5pys_tests_and_programs_import_at_module_level(ss_name: Callable[[str], str]) -> None:
    # A missing one would make a whole module that imports it fail to import.
    from h5py._hl import files as real_files
    from sciswift.h5py._hl.base import is_empty_dataspace
    from sciswift.h5py._hl.files import _drivers, direct_vfd

    assert direct_vfd is False and set(_drivers) <= set(real_files._drivers)
    with h5py.File(ss_name("e.h5"), "w") as f:
        f["empty"] = h5py.Empty("f4")
        f["full"] = [1.0]
        f.attrs.create("nothing", h5py.Empty("i4"))
        assert is_empty_dataspace(f["empty"].id) and not is_empty_dataspace(f["full"].id)
        assert is_empty_dataspace(f.attrs.get_id("nothing"))
