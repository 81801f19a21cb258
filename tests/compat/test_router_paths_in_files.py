"""Under the router, mounted paths written inside store files (absolute external
links, virtual dataset sources) open through the mount, as the program's own
``h5py.File`` calls do; uninstalling removes the mapping."""

from __future__ import annotations

import h5py
import numpy as np

from sciswift.compat import uninstall
from sciswift.h5 import files


def test_absolute_external_link_to_a_mounted_file(routed_mount: str) -> None:
    with h5py.File(f"{routed_mount}/sub/target.h5", "w") as t:
        t["data"] = np.arange(3)
    with h5py.File(f"{routed_mount}/main.h5", "w") as f:
        f["ext"] = h5py.ExternalLink(f"{routed_mount}/sub/target.h5", "/data")
    with h5py.File(f"{routed_mount}/main.h5", "r") as f:
        assert f["ext"][...].tolist() == [0, 1, 2]


def test_virtual_sources_named_by_mounted_paths(routed_mount: str) -> None:
    with h5py.File(f"{routed_mount}/src.h5", "w") as s:
        s["frames"] = np.arange(4, dtype="i4")
    layout = h5py.VirtualLayout(shape=(2, 4), dtype="i4")
    layout[1] = h5py.VirtualSource(f"{routed_mount}/src.h5", "frames", shape=(4,))
    with h5py.File(f"{routed_mount}/v.h5", "w") as f:
        f.create_virtual_dataset("v", layout, fillvalue=-1)
    with h5py.File(f"{routed_mount}/v.h5", "r") as f:
        assert f["v"][...].tolist() == [[-1] * 4, [0, 1, 2, 3]]
        assert [m.file_name for m in f["v"].virtual_sources()] == [f"{routed_mount}/src.h5"]


def test_uninstall_removes_the_mapping(routed_mount: str) -> None:
    assert files._mount_resolver is not None
    assert files._mount_resolver(f"{routed_mount}/x.h5") is not None and files._mount_resolver("/elsewhere/x.h5") is None
    uninstall()
    assert files._mount_resolver is None
