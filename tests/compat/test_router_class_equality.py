"""Classes a program gets back from h5py calls compare equal to the router's
stand-ins (``f.get(name, getclass=True) == h5py.Dataset``), on both sides."""

from __future__ import annotations

import operator
from pathlib import Path

import h5py
import pytest


@pytest.mark.parametrize("where", ["mounted", "local"])
def test_getclass_results_equal_the_standins(routed_mount: str, tmp_path: Path, where: str) -> None:
    path = f"{routed_mount}/c.h5" if where == "mounted" else str(tmp_path / "c.h5")
    with h5py.File(path, "w") as f:
        f.create_group("g")
        f["d"] = [1, 2]
        f["s"] = h5py.SoftLink("/d")
        group_cls, dset_cls = f.get("g", getclass=True), f.get("d", getclass=True)
        assert group_cls == h5py.Group and h5py.Group == group_cls
        assert dset_cls == h5py.Dataset and dset_cls != h5py.Group
        assert dset_cls in (h5py.Group, h5py.Dataset)
        assert f.get("s", getclass=True, getlink=True) == h5py.SoftLink
    group, dataset = h5py.Group, h5py.Dataset
    assert group == h5py.Group and group != dataset and not operator.eq(group, object)
    assert len({group, h5py.Group}) == 1
