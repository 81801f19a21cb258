"""Packed small arrays (engine.packing) on a remote store (``sciswift serve``):
many small datasets become a handful of objects, read back exactly, survive
edits, deletes and moves, and leave what other Zarr readers see of the ordinary
arrays untouched."""

from __future__ import annotations

import base64
import json
import lzma
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import sciswift.h5py as h5py
from sciswift.engine.packing import PACK_MIN_ARRAYS, PACKED_ATTR, PACKS_DIR
from sciswift.store.swift import SwiftStore

N = PACK_MIN_ARRAYS + 20


@pytest.fixture
def swift_url(sciswift_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ST_AUTH", sciswift_server.auth_url)
    monkeypatch.setenv("ST_USER", sciswift_server.user)
    monkeypatch.setenv("ST_KEY", sciswift_server.key)
    monkeypatch.delenv("SCISWIFT_PACK_SMALL", raising=False)
    yield f"swift://pack-{uuid.uuid4().hex[:8]}/many.h5"


def _place(url: str) -> tuple[str, str]:
    """The container and the file's prefix in it of a ``swift://`` URL."""
    container, _, prefix = url[len("swift://"):].partition("/")
    return container, prefix


def _objects(url: str) -> list[str]:
    container, prefix = _place(url)
    with SwiftStore.from_environment() as store:
        return [n[len(prefix) + 1:] for n in store.iter_names(container, prefix + "/")]


def _write_many(url: str) -> np.ndarray:
    # Random values: they do not compress, so they go into a pack rather than
    # into the root (EMBED_BUDGET; the embedded ones are tested below).
    values = np.random.default_rng(7).random((N, 50))
    with h5py.File(url, "w") as f:
        for i in range(N):
            d = f.create_dataset(f"g{i % 7}/d{i:03d}", data=values[i])
            d.attrs["index"] = i
        f["scalar"] = np.int16(-3)  # small enough to live in the metadata itself
        f.create_dataset("grows", data=np.arange(4), maxshape=(None,))  # resizable: never packed
        f.create_dataset("big", data=np.arange(100_000, dtype="f8"), chunks=(25_000,))
    return values


def test_many_small_datasets_are_a_few_objects_and_read_back(swift_url: str) -> None:
    values = _write_many(swift_url)
    objects = _objects(swift_url)
    packs = [o for o in objects if o.startswith(PACKS_DIR)]
    assert len(packs) == 1
    # Only the ordinary arrays have objects of their own (and the root); none of
    # the packed ones, and no group holding only packed arrays.
    assert sorted(o for o in objects if not o.startswith(PACKS_DIR)) == sorted(
        ["zarr.json", "grows/zarr.json", "grows/c/0", "big/zarr.json", *(f"big/c/{i}" for i in range(4))])
    with h5py.File(swift_url, "r") as f:
        assert sorted(f) == sorted([*(f"g{i}" for i in range(7)), "scalar", "grows", "big"])
        for i in range(N):
            d = f[f"g{i % 7}/d{i:03d}"]
            np.testing.assert_array_equal(d[...], values[i])
            assert d.attrs["index"] == i and d.shape == (50,) and d.dtype == np.float64
        assert f["scalar"][()] == -3
        assert f["grows"].maxshape == (None,)
        np.testing.assert_array_equal(f["big"][...], np.arange(100_000, dtype="f8"))
        assert PACKED_ATTR not in f.attrs  # the packing is not a user attribute


def test_reading_many_packed_datasets_costs_a_few_requests(swift_url: str) -> None:
    values = _write_many(swift_url)
    with h5py.File(swift_url, "r") as f:
        kv = f._h.backend.h.kv
        before = kv.requests
        for i in range(N):
            np.testing.assert_array_equal(f[f"g{i % 7}/d{i:03d}"][...], values[i])
        # The first two chunks on their own, then the pack read whole.
        assert kv.requests - before <= 3


def test_edits_deletes_and_moves_of_packed_datasets(swift_url: str) -> None:
    values = _write_many(swift_url)
    first_pack = [o for o in _objects(swift_url) if o.startswith(PACKS_DIR)]
    with h5py.File(swift_url, "r+") as f:
        f["g0/d000"][10:20] = -1.0  # a partial write: read, modified, packed again
        del f["g1/d001"]
        f.move("g2/d002", "moved")
        for i in range(3, N):  # every other chunk rewritten: the first pack holds nothing
            f[f"g{i % 7}/d{i:03d}"][...] = values[i] * 2
        f["g3/new"] = np.arange(5)  # the file has packed arrays: a new small one is packed too
    objects = _objects(swift_url)
    packs = [o for o in objects if o.startswith(PACKS_DIR)]
    assert packs and not set(packs) & set(first_pack)  # the emptied pack is deleted
    assert "g3/new/zarr.json" not in objects
    with h5py.File(swift_url, "r") as f:
        expect = values[0].copy()
        expect[10:20] = -1.0
        np.testing.assert_array_equal(f["g0/d000"][...], expect)
        assert "g1/d001" not in f
        np.testing.assert_array_equal(f["moved"][...], values[2])
        assert f["moved"].attrs["index"] == 2
        for i in range(3, N):
            np.testing.assert_array_equal(f[f"g{i % 7}/d{i:03d}"][...], values[i] * 2)
        np.testing.assert_array_equal(f["g3/new"][...], np.arange(5))


def test_a_few_small_arrays_stay_ordinary_zarr(swift_url: str) -> None:
    zarr = pytest.importorskip("zarr")
    import sciswift.interop.fsspec  # noqa: F401  (registers swift:// with fsspec)

    with h5py.File(swift_url, "w") as f:
        f["x"] = np.array([1.0, 2.0, 3.0])
        f.create_dataset("grp/t", data=np.arange(6, dtype="i4"))
    assert not [o for o in _objects(swift_url) if o.startswith(PACKS_DIR)]
    g = zarr.open_group(swift_url, mode="r")
    np.testing.assert_array_equal(g["x"][...], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(g["grp/t"][...], np.arange(6))


def test_zarr_python_reads_the_ordinary_arrays_of_a_packed_file(swift_url: str) -> None:
    zarr = pytest.importorskip("zarr")
    import sciswift.interop.fsspec  # noqa: F401

    _write_many(swift_url)
    g = zarr.open_group(swift_url, mode="r")
    # Packed arrays (and groups of nothing else) are not shown rather than shown wrong.
    assert sorted(g.keys()) == ["big", "grows"]
    np.testing.assert_array_equal(g["big"][...], np.arange(100_000, dtype="f8"))
    np.testing.assert_array_equal(g["grows"][...], np.arange(4))
    g2 = zarr.open_group(swift_url, mode="r", use_consolidated=False)
    np.testing.assert_array_equal(g2["big"][:10], np.arange(10, dtype="f8"))


def test_packing_can_be_switched_off(swift_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCISWIFT_PACK_SMALL", "0")
    with h5py.File(swift_url, "w") as f:
        for i in range(N):
            f[f"d{i:03d}"] = np.full(3, i + 1)  # never all fill: every chunk is stored
    objects = _objects(swift_url)
    assert not [o for o in objects if o.startswith(PACKS_DIR)]
    assert len([o for o in objects if o.endswith("/c/0")]) == N


def test_a_group_that_gets_an_ordinary_member_is_shown_again(swift_url: str) -> None:
    zarr = pytest.importorskip("zarr")
    import sciswift.interop.fsspec  # noqa: F401

    _write_many(swift_url)
    with h5py.File(swift_url, "r+") as f:
        f.create_dataset("g4/large", data=np.arange(20_000, dtype="f8"))
    assert "g4/zarr.json" in _objects(swift_url)
    g = zarr.open_group(swift_url, mode="r")
    assert list(g["g4"].keys()) == ["large"]
    np.testing.assert_array_equal(g["g4/large"][:5], np.arange(5, dtype="f8"))


def test_the_packed_chunk_key_is_the_arrays_own() -> None:
    from sciswift.engine import ArrayMeta, describe
    from sciswift.engine.array import Array
    from sciswift.engine.hierarchy import _single_chunk_key
    from sciswift.engine.kv import KV
    from sciswift.store.memory import MemoryStore
    from sciswift.store.url import Location

    kv = KV(Location(MemoryStore(), "c", "f", "memory://c/f"))
    info = describe(np.dtype("f4"))
    for shape in [(), (3,), (2, 5)]:
        meta = ArrayMeta.create(shape, shape or (), info, [info.array_codec], np.float32(0))
        for path in ["a/b", ""]:
            assert _single_chunk_key(kv, path, meta.to_json()) == Array(kv, path, meta).chunk_key((0,) * len(shape))


def _root_bytes(url: str) -> bytes:
    container, prefix = _place(url)
    with SwiftStore.from_environment() as store:
        return store.get_object(container, f"{prefix}/zarr.json")


def _root(url: str) -> dict[str, Any]:
    return json.loads(_root_bytes(url))


def test_a_large_table_is_stored_compressed_and_a_plain_one_still_reads(
    swift_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 2 of the attribute: the table compressed (one round trip for the root)."""
    from sciswift.engine import packing

    values = _write_many(swift_url)
    attr = _root(swift_url)["attributes"][PACKED_ATTR]
    assert attr["version"] == 3 and set(attr) == {"version", "xz"}
    # the table of 120 arrays is ~13 KB of JSON; compressed, the whole root
    # fits a TCP connection's first round trip (~14 KB) with room to spare
    doc, blob = packing._expand(attr["xz"], "t")
    assert len(doc["nodes"]) > N and doc["chunks"]["scalar/c"] == [-1, 0, 2] and blob == b"\xfd\xff"
    assert len(_root_bytes(swift_url)) < 6000
    # files written before (version 1, a small table; version 2, compressed with
    # inlined chunks in base64) keep reading
    plain = swift_url.replace("many.h5", "plain.h5")
    with monkeypatch.context() as m:
        m.setattr(packing, "COMPRESS_OVER", 1 << 30)
        _write_many(plain)
    attr = _root(plain)["attributes"][PACKED_ATTR]
    assert attr["version"] == 1 and len(attr["nodes"]) > N and attr["chunks"]["scalar/c"] == "/f8="
    older = swift_url.replace("many.h5", "v2.h5")
    _write_many(older)
    root = _root(older)
    doc, blob = packing._expand(root["attributes"][PACKED_ATTR]["xz"], "t")
    doc.update(packing.PackTable.from_json(doc, "t", blob).to_json())
    text = json.dumps(doc).encode()
    assert b"\0" not in text
    root["attributes"][PACKED_ATTR] = {"version": 2, "xz": base64.b85encode(lzma.compress(text)).decode()}
    container, prefix = _place(older)
    with SwiftStore.from_environment() as store:
        store.put_object(container, f"{prefix}/zarr.json", json.dumps(root).encode())
    for url in (swift_url, plain, older):
        with h5py.File(url, "r") as f:
            for i in (0, N // 2, N - 1):
                np.testing.assert_array_equal(f[f"g{i % 7}/d{i:03d}"][...], values[i])
                assert f[f"g{i % 7}/d{i:03d}"].attrs["index"] == i
            assert f["scalar"][()] == -3


@pytest.mark.parametrize("xz", ["not base85 \"'", "VPa!sWoBn+X>V-1", 12])
def test_a_damaged_compressed_table_is_a_clear_error(swift_url: str, xz: object) -> None:
    from sciswift.errors import CorruptData

    _write_many(swift_url)
    root = _root(swift_url)
    root["attributes"][PACKED_ATTR]["xz"] = xz
    container, prefix = _place(swift_url)
    with SwiftStore.from_environment() as store:
        store.put_object(container, f"{prefix}/zarr.json", json.dumps(root).encode())
    with pytest.raises(CorruptData, match=r"many\.h5.*compressed table in _sciswift_packed is unreadable"):
        h5py.File(swift_url, "r")


def test_a_compressed_table_cannot_expand_without_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from sciswift.engine import packing
    from sciswift.errors import CorruptData

    monkeypatch.setattr(packing, "EXPANDED_MAX", 1 << 20)
    bomb = base64.b85encode(lzma.compress(b" " * (4 << 20), format=lzma.FORMAT_XZ, preset=1)).decode()
    with pytest.raises(CorruptData, match="over 1 MiB expanded"):
        packing._expand(bomb, "swift://c/f.h5/zarr.json")


def test_packed_datasets_of_one_template_are_parsed_once_each_kind_as_itself(
        swift_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening the many small datasets of a file parses the settings they share
    once per template (engine.metadata.ArrayMeta.from_json's memo), and each
    dataset is still exactly itself: those whose documents differ only in their
    dtype spec (an enum beside plain int8), fill value or attributes are never
    taken for one another."""
    from sciswift.engine.metadata import ArrayMeta

    colours = h5py.enum_dtype({"red": 0, "green": 1}, basetype="i1")
    kinds: list[tuple[Any, Any]] = [("i1", None), (colours, None), ("i1", 5), ("S4", None)]
    with h5py.File(swift_url, "w") as f:
        for i in range(N):
            dtype, fill = kinds[i % len(kinds)]
            data = np.array([b"ab", b"cd", b"ef", b"gh"] * 2 if i % 4 == 3 else [0, 1] * 4, dtype=dtype)
            f.create_dataset(f"g/d{i:03d}", data=data, fillvalue=fill).attrs["index"] = i
    assert not any(o.startswith("g/") for o in _objects(swift_url))  # packed: no documents of their own

    real = ArrayMeta._parse.__func__  # type: ignore[attr-defined]
    parsed: list[str] = []

    def counting(cls: type, doc: dict[str, Any], what: str) -> ArrayMeta:
        parsed.append(what)
        return real(cls, doc, what)

    monkeypatch.setattr(ArrayMeta, "_parse", classmethod(counting))
    with h5py.File(swift_url, "r") as f:
        seen: list[tuple[int, Any, Any]] = []
        f.visititems(lambda name, obj: seen.append((obj.attrs["index"], obj.dtype, obj.fillvalue))
                     if isinstance(obj, h5py.Dataset) else None)
        assert len(seen) == N
        for index, dtype, fill in seen:
            want_dtype, want_fill = kinds[index % len(kinds)]
            assert dtype == np.dtype(want_dtype)
            assert h5py.check_enum_dtype(dtype) == (h5py.check_enum_dtype(colours) if index % 4 == 1 else None)
            assert fill == (want_fill if want_fill is not None else (b"" if index % 4 == 3 else 0))
        for i in (0, 1, 2, 3, N - 1):
            d = f[f"g/d{i:03d}"]
            assert d[...].tolist() == ([b"ab", b"cd", b"ef", b"gh"] * 2 if i % 4 == 3 else [0, 1] * 4)
    # One parse per kind of document (not one per dataset).
    assert len(parsed) <= 2 * len(kinds) < N


def _compressible(i: int) -> np.ndarray:
    return np.arange(100, dtype="f8") + i * 1000


def test_small_datasets_that_compress_well_come_with_the_root(swift_url: str) -> None:
    """100 datasets of 100 float64 (80 KB, ~6 KB compressed) are inlined in the
    root: no pack object, and reading any of them after the open costs nothing."""
    from sciswift.engine import packing

    with h5py.File(swift_url, "w") as f:
        for i in range(PACK_MIN_ARRAYS):
            f.create_dataset(f"g{i // 10}/d{i}", data=_compressible(i))
    assert _objects(swift_url) == ["zarr.json"]
    attr = _root(swift_url)["attributes"][PACKED_ATTR]
    doc, blob = packing._expand(attr["xz"], "t")
    assert attr["version"] == 3 and len(blob) == PACK_MIN_ARRAYS * 800
    assert len(_root_bytes(swift_url)) < 14_000  # one round trip of a fresh connection
    with h5py.File(swift_url, "r") as f:
        kv = f._h.backend.h.kv
        before = kv.requests
        for i in (50, 0, PACK_MIN_ARRAYS - 1):
            np.testing.assert_array_equal(f[f"g{i // 10}/d{i}"][...], _compressible(i))
        assert kv.requests == before


def test_inlining_stops_at_its_budget_and_edits_keep_every_value(swift_url: str) -> None:
    from sciswift.engine.packing import EMBED_BUDGET

    rng = np.random.default_rng(3)
    with h5py.File(swift_url, "w") as f:
        for i in range(PACK_MIN_ARRAYS):
            f.create_dataset(f"g{i // 10}/d{i}", data=_compressible(i))
    noise = rng.random((20, 100))
    with h5py.File(swift_url, "r+") as f:
        for i, row in enumerate(noise):  # 16 KB that do not compress: over the budget, into a pack
            f.create_dataset(f"noise/n{i}", data=row)
        f["g0/d0"][:10] = -1.0  # an inlined chunk rewritten: still inlined, or packed
        del f["g1/d10"]
    packs = [o for o in _objects(swift_url) if o.startswith(PACKS_DIR)]
    assert len(packs) == 1
    assert len(_root_bytes(swift_url)) < 2 * EMBED_BUDGET + 6000
    with h5py.File(swift_url, "r") as f:
        expect = _compressible(0)
        expect[:10] = -1.0
        np.testing.assert_array_equal(f["g0/d0"][...], expect)
        assert "g1/d10" not in f
        for i in range(11, PACK_MIN_ARRAYS):
            np.testing.assert_array_equal(f[f"g{i // 10}/d{i}"][...], _compressible(i))
        for i, row in enumerate(noise):
            np.testing.assert_array_equal(f[f"noise/n{i}"][...], row)


@pytest.mark.parametrize("entry", [[-1, 0, 10**6], [-2, 0, 8], [5, 0, 8], [-1, -4, 8], "not base64!"])
def test_a_chunk_entry_outside_the_table_is_a_clear_error(entry: object) -> None:
    from sciswift.engine.packing import PackTable
    from sciswift.errors import CorruptData

    doc = {"packs": ["ab" * 16], "chunks": {"d/c/0": entry}}
    with pytest.raises(CorruptData, match="swift://c/f.h5/zarr.json: the packed-chunk table .* is unreadable"):
        PackTable.from_json(doc, "swift://c/f.h5/zarr.json", b"\0" * 64)
