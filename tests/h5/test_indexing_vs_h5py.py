"""Reads and writes through every kind of index h5py accepts (and the ones it
refuses), compared with real h5py: same values or the same exception type."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from .util import assert_same

DATA = np.arange(6 * 7 * 5, dtype="<i4").reshape(6, 7, 5)
MASK = DATA % 3 == 0

READS: dict[str, Any] = {
    "all": (),
    "ellipsis": Ellipsis,
    "int": 2,
    "neg_int": -1,
    "ints": (1, 2, 3),
    "slice": np.s_[1:4],
    "step": np.s_[::2, 1::3],
    "neg_bounds": np.s_[-4:-1, :, -2:],
    "empty_slice": np.s_[4:2],
    "mixed": np.s_[1, 2:6, ::2],
    "ellipsis_mid": np.s_[1, ..., 3],
    "list": np.s_[[0, 2, 5]],
    "list_axis1": np.s_[:, [1, 3, 4], 2],
    "list_neg": np.s_[[0, -1]],
    "array": np.s_[np.array([1, 4])],
    "sparse_list": np.s_[:, [0, 6]],
    "bool_axis": np.s_[np.array([True, False, True, False, False, True])],
    "mask": MASK,
    "out_of_range": 6,
    "neg_step": np.s_[::-1],
    "zero_step": np.s_[::0],
    "unsorted_list": np.s_[[3, 1]],
    "repeated_list": np.s_[[1, 1]],
    "two_lists": np.s_[[0, 1], [0, 1]],
    "newaxis": np.s_[None],
    "too_many": np.s_[1, 2, 3, 4],
    "float_index": 1.5,
    "wrong_mask": np.ones(3, dtype=bool),
}


@pytest.mark.parametrize("case", sorted(READS))
def test_read_selections(both: Any, case: str) -> None:
    sel = READS[case]

    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            d = f.create_dataset("d", data=DATA, chunks=(2, 3, 5))
            return d[sel]

    ref, got = both(run)
    assert_same(ref, got, case)


WRITES: dict[str, tuple[Any, Any]] = {
    "scalar_broadcast": (np.s_[1:3], 7),
    "row": (np.s_[2, :, 1], np.arange(7)),
    "broadcast_last_axis": (np.s_[:, 0, :], np.arange(5)),
    "leading_one": (np.s_[0, 0, :], np.arange(5).reshape(1, 5)),
    "bad_broadcast": (np.s_[:, 1], np.zeros((6, 1))),
    "list": (np.s_[[0, 3], 1], np.full((2, 5), -1)),
    "mask": (MASK, -5),
    "steps": (np.s_[::2, ::3, ::4], 9),
    "float_into_int": (np.s_[0, 0, 0], 3.9),
    "wrong_size": (np.s_[0, 0], np.arange(3)),
    "empty_selection": (np.s_[3:3], np.arange(4)),
}


@pytest.mark.parametrize("case", sorted(WRITES))
def test_write_selections(both: Any, case: str) -> None:
    sel, value = WRITES[case]

    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            d = f.create_dataset("d", data=DATA, chunks=(4, 4, 4))
            d[sel] = value
        with mod.File(path, "r") as f:
            return f["d"][()]

    ref, got = both(run)
    assert_same(ref, got, case)


def test_scalar_and_fields(both: Any) -> None:
    dt = np.dtype([("a", "<f4"), ("b", "<i2"), ("c", "S3")])
    data = np.array([(1.5, 2, b"x"), (3.5, -4, b"yz")], dtype=dt)

    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            d = f.create_dataset("d", data=data)
            s = f.create_dataset("s", data=np.float64(2.5))
            d["b"] = np.array([10, 20], dtype="<i2")
            d[0, "a"] = 9.0
            out = [d["a"], d["b"], d["a", "c"], d[1], s[()], s[...], d.fields("c")[:], d.fields(["a"])[0]]
            for bad in (lambda: s[0], lambda: d[["a", "c"]]):
                try:
                    bad()
                except Exception as e:  # noqa: BLE001
                    out.append(type(e).__name__)
            try:
                d["nope"]
            except Exception as e:  # noqa: BLE001
                out.append(type(e).__name__)
            return out

    ref, got = both(run)
    assert len(ref) == len(got)
    for i, (a, b) in enumerate(zip(ref, got)):
        assert_same(a, b, f"item {i}")


def test_direct_io_and_iteration(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            d = f.create_dataset("d", data=np.arange(20.0).reshape(4, 5), chunks=(2, 2), maxshape=(None, 5))
            dest = np.zeros((2, 5))
            d.read_direct(dest, np.s_[1:3], np.s_[:])
            d.write_direct(np.ones((1, 5)) * 7, np.s_[0], np.s_[3])
            rows = [r for r in d]
            chunks = list(d.iter_chunks(np.s_[1:4, 1:5]))
            d.resize(6, axis=0)
            d.resize((7, 5))
            return [dest, rows, chunks, d[()], d.shape, d.maxshape, len(d), np.asarray(d), d.astype("f4")[1:3],
                    d.chunks]

    ref, got = both(run)
    for i, (a, b) in enumerate(zip(ref, got)):
        if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
            for x, y in zip(a, b):
                assert_same(x, y, f"item {i}")
        else:
            assert_same(a, b, f"item {i}")


def test_multiblock_and_regionrefs(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            d = f.create_dataset("d", data=np.arange(30).reshape(10, 3))
            mb = mod.MultiBlockSlice(start=1, count=2, stride=4, block=2)
            ref = d.regionref[2:8:2, 1:]
            return [d[mb], d[ref], d.regionref.selection(ref), d.regionref.shape(ref)]

    ref, got = both(run)
    for a, b in zip(ref, got):
        assert_same(a, b)
