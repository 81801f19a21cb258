"""Virtual datasets with unlimited mappings (``layout[:UNLIMITED] =
source[:UNLIMITED]``): the virtual extent follows the sources as they grow and
shrink, compared with real h5py writing an HDF5 file. Built with sciswift's
VirtualLayout, and with real h5py's (what a program under the router hands over)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h5py as real_h5py
import numpy as np
import pytest

import sciswift.h5py as sh5


def _history(module: Any, layouts: Any, path: str) -> list[Any]:
    """Build two growing sources and a virtual dataset over them with ``layouts``'
    classes, then resize the sources; what the virtual dataset shows at each step."""
    seen: list[Any] = []
    with module.File(path, "w") as f:
        a = f.create_dataset("a", data=np.arange(6), maxshape=(None,), chunks=(4,), fillvalue=-1)
        b = f.create_dataset("b", data=np.arange(100, 104), maxshape=(None,), chunks=(4,), fillvalue=-2)
        U = layouts.h5s.UNLIMITED  # noqa: N806 - h5py's constant
        lay = layouts.VirtualLayout((2, 6), "i8", maxshape=(2, None))
        lay[0, :U] = layouts.VirtualSource(path, "a", shape=a.shape, maxshape=(None,))[:U]
        lay[1, 1:U:2] = layouts.VirtualSource(path, "b", shape=b.shape, maxshape=(None,))[1:U]
        f.create_virtual_dataset("v", lay, fillvalue=7)
        seen.append((f["v"].shape, f["v"][...].tolist()))
    with module.File(path, "a") as f:
        f["b"].resize((9,))
        f["b"][4:] = 50
        seen.append((f["v"].shape, f["v"][...].tolist(), f["v"][1, ::3].tolist()))
        f["a"].resize((3,))
        f["b"].resize((0,))
        seen.append((f["v"].shape, f["v"][...].tolist()))
    with module.File(path, "r") as f:
        seen.append((f["v"].shape, f["v"].maxshape, f["v"][:, 1:].tolist()))
    return seen


@pytest.mark.parametrize("layouts", [sh5, real_h5py], ids=["sciswift-layout", "h5py-layout"])
def test_unlimited_mappings_follow_the_sources(layouts: Any, ss_name: Callable[[str], str],
                                               ref_name: Callable[[str], str]) -> None:
    want = _history(real_h5py, real_h5py, ref_name("v.h5"))
    assert want[1][0] == (2, 16) and want[2][0] == (2, 3)  # the premise: grows, then shrinks
    assert _history(sh5, layouts, ss_name("v.h5")) == want


def test_unlimited_constant_is_h5pys() -> None:
    assert sh5.UNLIMITED == sh5.h5s.UNLIMITED == real_h5py.UNLIMITED


def test_a_mapping_unlimited_on_one_side_only_is_refused(ss_name: Callable[[str], str]) -> None:
    lay = sh5.VirtualLayout((4,), "i4", maxshape=(None,))
    with pytest.raises(ValueError, match="both sides"):
        lay[:sh5.UNLIMITED] = sh5.VirtualSource("x.h5", "d", shape=(4,))
