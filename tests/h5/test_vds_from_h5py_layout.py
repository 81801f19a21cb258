"""A virtual dataset built with the real h5py's VirtualLayout/VirtualSource (what a
program under the router does) and created in a sciswift file reads as the same
layout created by h5py in an HDF5 file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h5py as real_h5py
import numpy as np

import sciswift.h5py as sh5


def _layout(src: Callable[[int], str], self_name: str) -> Any:
    layout = real_h5py.VirtualLayout(shape=(4, 8), dtype="i4")
    S = real_h5py.VirtualSource  # noqa: N806 - h5py's class
    layout[0] = S(src(0), "frames", shape=(8,))                      # all of a source
    layout[1, ::2] = S(src(1), "frames", shape=(8,))[1:5]            # strided target
    layout[2, [0, 3, 7]] = S(src(2), "frames", shape=(8,))[[1, 6, 7]]  # index lists
    layout[3, 2:6] = S(self_name, "local", shape=(4,))                 # this very file
    return layout


def _write_sources(module: Any, src: Callable[[int], str]) -> None:
    for i in range(3):
        with module.File(src(i), "w") as f:
            f["frames"] = np.arange(8, dtype="i4") + 100 * i


def _build(module: Any, path: str, src: Callable[[int], str]) -> tuple[list[Any], list[Any]]:
    _write_sources(module, src)
    with module.File(path, "w") as f:
        f["local"] = np.array([-5, -6, -7, -8], dtype="i4")
        f.create_virtual_dataset("v", _layout(src, path), fillvalue=-1)
    with module.File(path, "r") as f:
        v = f["v"]
        return v[...].tolist(), sorted((m.file_name.rsplit("/", 1)[-1], m.dset_name) for m in v.virtual_sources())


def test_real_h5py_layout_in_a_store_file(ss_name: Callable[[str], str], ref_name: Callable[[str], str]) -> None:
    real = _build(real_h5py, ref_name("vds.h5"), lambda i: ref_name(f"src{i}.h5"))
    ours = _build(sh5, ss_name("vds.h5"), lambda i: ss_name(f"src{i}.h5"))
    assert real[0][1] == [101, -1, 102, -1, 103, -1, 104, -1]  # the premise
    assert ours[0] == real[0]
    assert [n for _, n in ours[1]] == [n for _, n in real[1]]


def test_relative_source_names_resolve_next_to_the_virtual_file(ss_name: Callable[[str], str],
                                                                 ref_name: Callable[[str], str],
                                                                 tmp_path: Any, monkeypatch: Any) -> None:
    # HDF5 looks for a source named by a relative path next to the virtual
    # dataset's file, wherever the program runs from.
    monkeypatch.chdir(tmp_path)

    def build(module: Any, path: Callable[[str], str]) -> list[Any]:
        with module.File(path("frames.h5"), "w") as src:
            src["frames"] = np.arange(8, dtype="i4")
        layout = real_h5py.VirtualLayout(shape=(8,), dtype="i4")
        layout[:] = real_h5py.VirtualSource("frames.h5", "frames", shape=(8,))
        with module.File(path("vds.h5"), "w") as f:
            f.create_virtual_dataset("v", layout, fillvalue=-1)
        with module.File(path("vds.h5"), "r") as f:
            return f["v"][...].tolist()

    want = build(real_h5py, ref_name)
    assert want == list(range(8))  # the premise: found although the cwd is elsewhere
    assert build(sh5, ss_name) == want
