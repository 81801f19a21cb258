"""Damaged stored data raises a clear error naming the dataset and the chunk; bad
input raises a precise error and leaves nothing half-written."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sciswift.h5py as h5py
from sciswift.errors import CorruptData
from sciswift.store.url import parse_location


def _put(name: str, key: str, data: bytes) -> None:
    loc = parse_location(name)
    loc.store.put_object(loc.container, loc.key(key), data)


@pytest.mark.parametrize("kwargs", [{}, {"compression": "gzip"}, {"fletcher32": True}, {"compression": "lzf"}])
def test_corrupt_chunk_names_dataset_and_chunk(ss_name: Any, kwargs: dict[str, Any]) -> None:
    name = ss_name()
    with h5py.File(name, "w") as f:
        f.create_dataset("grp/data", data=np.arange(1000.0), chunks=(100,), **kwargs)
    good = None
    with h5py.File(name, "r") as f:
        good = f["grp/data"][:100]
    _put(name, "grp/data/c/3", b"\x00garbage\xff" * 7)
    with h5py.File(name, "r") as f:
        d = f["grp/data"]
        np.testing.assert_array_equal(d[:100], good)  # other chunks still read
        with pytest.raises(OSError) as info:
            d[250:350]
    assert isinstance(info.value, CorruptData)
    assert "/grp/data" in str(info.value) and "grp/data/c/3" in str(info.value)


def test_corrupt_metadata_is_reported(ss_name: Any) -> None:
    name = ss_name()
    with h5py.File(name, "w") as f:
        f["x"] = 1
    _put(name, "zarr.json", b"{not json")
    with pytest.raises(OSError, match="zarr.json"):
        h5py.File(name, "r")


def test_flipped_bit_caught_by_fletcher32(ss_name: Any) -> None:
    name = ss_name()
    with h5py.File(name, "w") as f:
        f.create_dataset("d", data=np.arange(64, dtype="i4"), chunks=(64,), fletcher32=True)
    loc = parse_location(name)
    raw = bytearray(loc.store.get_object(loc.container, loc.key("d/c/0")))
    raw[10] ^= 0x01
    _put(name, "d/c/0", bytes(raw))
    with h5py.File(name, "r") as f, pytest.raises(OSError, match="d/c/0"):
        f["d"][()]


@pytest.mark.parametrize("bad", ["a\x00b", "x" * 2000, "zarr.json", b"\xff\xfe".decode("utf-8", "surrogateescape")])
def test_bad_names_leave_nothing(ss_name: Any, bad: str) -> None:
    name = ss_name()
    with h5py.File(name, "w") as f:
        with pytest.raises(ValueError):
            f.create_group("top/" + bad)
        with pytest.raises(ValueError):
            f.create_dataset(bad, data=[1, 2])
        with pytest.raises(ValueError):
            f.attrs[bad if "\x00" in bad else "\x00"] = 1
        assert list(f) == [] and list(f.attrs) == []
    with h5py.File(name, "r") as f:
        assert list(f) == []


def test_bad_values_leave_nothing(ss_name: Any) -> None:
    name = ss_name()
    with h5py.File(name, "w") as f:
        f.attrs["keep"] = 1
        with pytest.raises(TypeError):
            f.create_dataset("d", data=["text", 5], dtype=h5py.string_dtype())
        with pytest.raises(TypeError):
            f.create_dataset("u", data=np.array(["x"], dtype="U1"))
        with pytest.raises(ValueError):
            f.attrs["nul"] = b"a\x00b"
        with pytest.raises(ValueError):
            f.attrs["_sciswift"] = 1
        with pytest.raises(ValueError):
            f.create_dataset("f", (4,), dtype=[("a", "i4")], fillvalue=3)
        d = f.create_dataset("ok", data=np.arange(4))
        with pytest.raises(TypeError):
            d[:] = np.arange(5)
        with pytest.raises(UnicodeEncodeError):
            f.create_dataset("s", (2,), dtype=h5py.string_dtype("ascii"))[0] = "fàil"
        assert sorted(f) == ["ok", "s"] and list(f.attrs) == ["keep"]
        np.testing.assert_array_equal(d[()], np.arange(4))
    with h5py.File(name, "r") as f:
        assert sorted(f) == ["ok", "s"]
        assert f["s"][0] == b""


def test_read_only_file_refuses_writes_untouched(ss_name: Any) -> None:
    name = ss_name()
    with h5py.File(name, "w") as f:
        f["d"] = np.arange(3)
    with h5py.File(name, "r") as f:
        with pytest.raises(OSError):
            f["d"][0] = 5
        with pytest.raises(ValueError):
            f.create_group("g")
        with pytest.raises(OSError):
            f.attrs["a"] = 1
    with h5py.File(name, "r") as f:
        np.testing.assert_array_equal(f["d"][()], np.arange(3))
        assert list(f) == ["d"] and list(f.attrs) == []


def test_metadata_written_at_close_and_visible_to_next_open(ss_name: Any) -> None:
    name = ss_name()
    f = h5py.File(name, "w")
    f.create_dataset("a/b", data=[1, 2, 3]).attrs["u"] = "m"
    f.close()
    g = h5py.File(name, "a")
    assert g["a/b"].attrs["u"] == "m"
    g["c"] = 1.5
    del g  # dropped without close: still written by the next open
    with h5py.File(name, "r") as f:
        assert sorted(f) == ["a", "c"] and f["c"][()] == 1.5


def test_oversized_attribute_refused_like_h5py(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            f.attrs["ok"] = np.zeros(60000 // 8)
            out = []
            for value in (np.zeros(70000 // 8), "x" * 70000, [b"y" * 1000] * 80):
                try:
                    f.attrs["big"] = value
                    out.append("stored")
                except OSError:
                    out.append("OSError")
            return out + [sorted(f.attrs)]

    ref, got = both(run)
    assert got == ref


def test_threads_creating_datasets_and_attributes(ss_name: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    name = ss_name()
    with h5py.File(name, "w") as f:
        g = f.create_group("g")

        def work(i: int) -> None:
            d = g.create_dataset(f"d{i}", data=np.full(10, i))
            d.attrs["i"] = i
            g.attrs[f"a{i}"] = i

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(work, range(64)))
    with h5py.File(name, "r") as f:
        g = f["g"]
        assert len(g) == 64 and len(g.attrs) == 64
        assert all(g[f"d{i}"][3] == i and g[f"d{i}"].attrs["i"] == i and g.attrs[f"a{i}"] == i for i in range(64))


def test_damaged_file_on_disk_names_dataset_and_chunk(tmp_path: Any) -> None:
    """A LocalStore file cut short under us (chunks packed together at close):
    the error says which dataset and which chunk."""
    import os

    path = str(tmp_path / "run.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("grp/d", data=np.arange(100_000.0), chunks=(10_000,))
    packs = [os.path.join(dp, n) for dp, _, names in os.walk(path) if dp.endswith("packs") for n in names]
    assert packs
    for p in packs:
        os.truncate(p, os.path.getsize(p) // 2)
    with h5py.File(path, "r") as f, pytest.raises(CorruptData) as info:
        f["grp/d"][:]
    assert "dataset /grp/d" in str(info.value) and "grp/d/c/" in str(info.value)
