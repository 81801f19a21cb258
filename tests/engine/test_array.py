"""Array reads and writes agree with numpy, whatever the selection and codecs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sciswift.engine import ArrayMeta, Hierarchy, build_codecs, describe
from sciswift.engine.dtypes import default_fill
from sciswift.errors import CorruptData
from sciswift.store.memory import MemoryStore
from sciswift.store.url import Location

FILTERS = [
    {},
    {"compression": "gzip", "shuffle": True},
    {"compression": "zstd"},
    {"compression": "lzf"},
    {"compression": "blosc"},
    {"fletcher32": True},
]


def make(h: Hierarchy, path: str, dtype, shape, chunks, fill=None, **filters):  # type: ignore[no-untyped-def]
    info = describe(np.dtype(dtype))
    codecs, _ = build_codecs(info, **filters)
    fill = default_fill(info.dtype) if fill is None else fill
    return h.create_array(path, ArrayMeta.create(shape, chunks, info, codecs, fill))


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "raw")
def test_roundtrip_with_filters(location: Location, filters: dict) -> None:
    h = Hierarchy(location, "w")
    data = np.random.default_rng(1).integers(0, 1000, (37, 23)).astype("<f8")
    a = make(h, "x", "<f8", data.shape, (8, 5), **filters)
    a.write((slice(None), slice(None)), data)
    h.close()
    h = Hierarchy(location, "r")
    assert np.array_equal(h.array("x").read((slice(None), slice(None))), data)
    assert np.array_equal(h.array("x").read((slice(3, 30, 4), slice(22, 23))), data[3:30:4, 22:23])


def test_unwritten_chunks_read_as_fill(location: Location) -> None:
    h = Hierarchy(location, "w")
    a = make(h, "x", "<i4", (10, 10), (3, 3), fill=-5)
    a.write((slice(0, 3), slice(0, 3)), 7)
    out = a.read((slice(None), slice(None)))
    expected = np.full((10, 10), -5)
    expected[:3, :3] = 7
    assert np.array_equal(out, expected)
    assert a.nchunks_stored() == 1


def test_fill_only_chunks_are_not_stored(location: Location) -> None:
    h = Hierarchy(location, "w")
    a = make(h, "x", "<f4", (100,), (10,), fill=np.nan)
    a.write((slice(None),), np.nan)
    assert a.nchunks_stored() == 0
    a.write((slice(0, 10),), 1.0)
    assert a.nchunks_stored() == 1
    a.write((slice(0, 10),), np.nan)  # back to fill: the chunk object goes away
    assert a.nchunks_stored() == 0


def test_big_endian_and_edge_chunks(location: Location) -> None:
    h = Hierarchy(location, "w")
    data = np.arange(7 * 5, dtype=">i4").reshape(7, 5)
    a = make(h, "be", ">i4", (7, 5), (4, 4))
    a.write((slice(None), slice(None)), data)
    h.close()
    got = Hierarchy(location, "r").array("be").read((slice(None), slice(None)))
    assert got.dtype == np.dtype(">i4") and np.array_equal(got, data)


def test_resize_discards_data_outside(location: Location) -> None:
    h = Hierarchy(location, "w")
    a = make(h, "x", "<i2", (10,), (4,))
    a.write((slice(None),), np.arange(1, 11))
    h.resize("x", (5,))
    h.resize("x", (10,))
    got = h.array("x").read((slice(None),))
    assert got.tolist() == [1, 2, 3, 4, 5, 0, 0, 0, 0, 0]
    h.close()
    assert Hierarchy(location, "r").array("x").shape == (10,)


def test_object_dtypes(location: Location) -> None:
    h = Hierarchy(location, "w")
    s = make(h, "s", np.dtype("O", metadata={"vlen": str}), (5,), (2,))
    s.write((slice(None),), np.array(["a", "", "ünï", "x" * 1000, "z"], dtype=object))
    v = make(h, "v", np.dtype("O", metadata={"vlen": np.dtype("<f8")}), (3,), (2,))
    arr = np.empty(3, dtype=object)
    arr[:] = [np.arange(3.0), np.zeros(0), np.ones(5)]
    v.write((slice(None),), arr)
    rec_dt = np.dtype([("name", np.dtype("O", metadata={"vlen": str})), ("n", "<i4")])
    r = make(h, "r", rec_dt, (2,), (2,))
    rec = np.empty(2, dtype=rec_dt)
    rec[0] = ("first", 1)
    rec[1] = ("second", 2)
    r.write((slice(None),), rec)
    h.close()
    h = Hierarchy(location, "r")
    assert h.array("s").read((slice(None),)).tolist() == ["a", "", "ünï", "x" * 1000, "z"]
    back = h.array("v").read((slice(None),))
    assert [x.tolist() for x in back] == [[0.0, 1.0, 2.0], [], [1.0] * 5]
    got = h.array("r").read((slice(None),))
    assert got["name"].tolist() == ["first", "second"] and got["n"].tolist() == [1, 2]


def test_corrupt_chunk_names_dataset_and_chunk(location: Location) -> None:
    h = Hierarchy(location, "w")
    h.create_group("grp")
    a = make(h, "grp/x", "<f4", (8,), (4,), compression="gzip")
    a.write((slice(None),), np.arange(8))
    h.close()
    store, c = location.store, location.container
    store.put_object(c, location.key("grp/x/c/1"), b"\x1f\x8bnot really gzip")
    h = Hierarchy(location, "r")
    arr = h.array("grp/x")
    assert arr.read((slice(0, 4),)).tolist() == [0, 1, 2, 3]  # the good chunk still reads
    with pytest.raises(CorruptData) as ei:
        arr.read((slice(None),))
    assert "/grp/x" in str(ei.value) and "c/1" in str(ei.value)
    store.put_object(c, location.key("grp/x/c/0"), b"short")
    h2 = Hierarchy(location, "r")
    with pytest.raises(CorruptData):
        h2.array("grp/x").read((slice(0, 4),))


@st.composite
def write_case(draw):  # type: ignore[no-untyped-def]
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 12)) for _ in range(ndim))
    chunks = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    ops = []
    for _ in range(draw(st.integers(1, 4))):
        sel = tuple(
            slice(draw(st.integers(0, n)), draw(st.integers(0, n)), draw(st.integers(1, 4))) for n in shape
        )
        ops.append((sel, draw(st.integers(-100, 100))))
    return shape, chunks, ops


@given(write_case())
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_writes_match_numpy(case) -> None:  # type: ignore[no-untyped-def]
    shape, chunks, ops = case
    h = Hierarchy(Location(MemoryStore(), "c", "", "mem"), "w")
    a = make(h, "x", "<i8", shape, chunks, fill=-1)
    ref = np.full(shape, -1, dtype="<i8")
    for sel, value in ops:
        a.write(sel, value)
        ref[sel] = value
    a.cache.clear()
    assert np.array_equal(a.read(tuple(slice(None) for _ in shape)), ref)
    for sel, _ in ops:
        assert np.array_equal(a.read(sel), ref[sel])


def test_sharded_arrays_roundtrip_and_read_in_zarr_python(location: Location) -> None:
    import warnings

    from sciswift.engine.codecs import shard_codecs

    h = Hierarchy(location, "w")
    info = describe(np.dtype("<i4"))
    inner, _ = build_codecs(info, compression="gzip")
    meta = ArrayMeta.create((10, 12), (4, 6), info, shard_codecs(inner, (2, 3)), 0)
    a = h.create_array("s", meta)
    data = np.arange(120, dtype="<i4").reshape(10, 12)
    data[:4, :6] = 0  # one shard entirely fill: not stored
    a.write((slice(None), slice(None)), data)
    a.write((slice(5, 7), slice(1, 2)), -3)  # partial shard update
    data[5:7, 1:2] = -3
    assert a.nchunks_stored() == 5
    h.close()
    got = Hierarchy(location, "r").array("s").read((slice(None), slice(None)))
    assert np.array_equal(got, data)
    if isinstance(location.store, MemoryStore):
        zarr = pytest.importorskip("zarr")
        from sciswift.interop.zarr import SciSwiftZarrStore

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z = zarr.open_group(store=SciSwiftZarrStore(location, read_only=True), mode="r")
            assert np.array_equal(z["s"][:], data)
