"""What the HDF5 view cannot present raises NotExpressible naming the object;
what it can present near HDF5's limits works; the datatype messages are the
ones HDF5 itself encodes."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from view_helpers import view_file

import sciswift.h5py as sh
from sciswift.errors import NotSupported
from sciswift.h5view import NotExpressible, ServeError, open_view
from sciswift.h5view.buffer import Buf
from sciswift.h5view.datatypes import htype_of
from sciswift.h5view.serving import flat_blocks
from sciswift.h5view.values import HeapBuilder, encode_array, encode_strings
from sciswift.store import Location


def _expect(url: str, location: Callable[[str], Location], *words: str) -> None:
    with pytest.raises(NotExpressible) as info:
        open_view(location(url))
    assert isinstance(info.value, NotSupported)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_region_reference_beyond_32_bit_coordinates(native_url: Callable[[str], str],
                                                    location: Callable[[str], Location]) -> None:
    """Region references are presented (tests/h5view/test_view_regions.py), in
    HDF5's version-1 selection encoding, whose coordinates are 32-bit."""
    url = native_url("rr.h5")
    with sh.File(url, "w") as f:
        d = f.create_dataset("data", shape=(2**33,), dtype="i1", chunks=(2**20,))
        d.attrs["where"] = d.regionref[2**32 + 1:2**32 + 5]
    _expect(url, location, "attribute 'where' of /data", "32-bit")


def test_virtual_dataset(native_url: Callable[[str], str], location: Callable[[str], Location]) -> None:
    url = native_url("vds.h5")
    with sh.File(url, "w") as f:
        f.create_dataset("a", data=np.arange(5))
        layout = sh.VirtualLayout(shape=(5,), dtype="i8")
        layout[:] = sh.VirtualSource(f["a"])
        f.create_virtual_dataset("v", layout)
    _expect(url, location, "dataset /v", "virtual datasets")


def test_attribute_over_64k(native_url: Callable[[str], str], location: Callable[[str], Location]) -> None:
    url = native_url("big.h5")
    with sh.File(url, "w") as f:
        f.create_group("g").attrs["huge"] = np.zeros(65535, "u1")
    _expect(url, location, "attribute 'huge' of /g", "64 KiB")


def test_large_variable_length_attributes(native_url: Callable[[str], str], location: Callable[[str], Location],
                                          tmp_path: Path) -> None:
    """Variable-length values live in global heap collections (only their 16-byte
    handles count against the 64 KiB message limit)."""
    url = native_url("vlattr.h5")
    text = "é" * 300_000
    words = np.array([f"w{i}" * 5 for i in range(4000)], dtype=object)
    with sh.File(url, "w") as f:
        f.attrs["text"] = text
        for i in range(18):  # 72,000 strings: more than one collection's 65535 objects
            f.attrs.create(f"words{i}", words, dtype=sh.string_dtype())
    path = view_file(location(url), tmp_path / "v.h5")
    with h5py.File(path, "r") as f:
        assert f.attrs["text"] == text
        for i in range(18):
            assert list(f.attrs[f"words{i}"]) == list(words)


def test_too_many_variable_length_elements_in_one_attribute(native_url: Callable[[str], str],
                                                             location: Callable[[str], Location]) -> None:
    url = native_url("vlmany.h5")
    with sh.File(url, "w") as f:
        f["d"] = 1
        f["d"].attrs.create("words", np.array(["w"] * 5000, dtype=object), dtype=sh.string_dtype())
    _expect(url, location, "attribute 'words' of /d", "64 KiB")


@pytest.mark.parametrize("dt", [
    np.dtype("<i1"), np.dtype(">u2"), np.dtype("<i8"), np.dtype(">f2"), np.dtype("<f4"), np.dtype(">f8"),
    np.dtype("g"), np.dtype("?"), np.dtype("<c8"), np.dtype(">c16"), np.dtype("S7"),
    h5py.string_dtype("utf-8", 5), np.dtype("V6"), h5py.opaque_dtype(np.dtype("M8[ms]")),
    h5py.enum_dtype({"a": 1, "bb": -2, "c": 300}, "<i2"),
    np.dtype([("x", "<i4"), ("y", ">f8", (2, 3)), ("z", [("p", "u1"), ("q", "S2")])]),
    np.dtype({"names": ["a", "b"], "formats": ["<i2", "<f4"], "offsets": [4, 8], "itemsize": 16}),
    np.dtype(("<i4", (3, 2))),
], ids=str)
def test_datatype_messages_match_hdf5(dt: np.dtype) -> None:
    want = h5py.h5t.py_create(dt, logical=True).encode()[2:]  # H5Tencode: 2 bytes of its own, then the message
    assert bytes(htype_of(dt, "x").message().data) == want


@pytest.mark.parametrize("dt", [h5py.string_dtype(), h5py.string_dtype("ascii"), h5py.vlen_dtype("<i2"),
                                h5py.ref_dtype], ids=str)
def test_variable_length_and_reference_messages_match_hdf5(dt: np.dtype) -> None:
    want = h5py.h5t.py_create(dt, logical=True).encode()[2:]
    got = bytes(htype_of(dt, "x").message().data)
    # The size field differs: H5Tencode gives the in-memory size, the file holds 16 bytes.
    assert got[:4] == want[:4] and got[8:] == want[8:]


def test_flat_blocks_cover_ranges_in_order() -> None:
    shape = (4, 5, 6)
    whole = np.arange(120).reshape(shape)
    for e0 in range(0, 120, 7):
        for e1 in range(e0, 121, 11):
            got = [whole[tuple(slice(s, s + c) for s, c in zip(start, count))].ravel()
                   for start, count in flat_blocks(shape, e0, e1)]
            assert np.array_equal(np.concatenate(got) if got else np.array([], int), np.arange(e0, e1))


@pytest.mark.parametrize("n, longest", [(0, 5), (1, 0), (7, 30), (70_000, 12), (9_000, 600)])
def test_fast_string_heaps_match_the_general_encoder(n: int, longest: int) -> None:
    """``encode_strings`` (numpy) writes the bytes ``encode_array`` writes element
    by element: elements, collections split at 65535 objects and at 1 MiB."""
    rnd = random.Random(n)
    items = [("é" * rnd.randrange(0, longest + 1)).encode() for _ in range(n)]
    arr = np.empty(n, dtype=sh.string_dtype("ascii"))
    arr[:] = items
    heap = HeapBuilder(start=4096)
    elements = Buf(lambda key: key[1])
    encode_array(arr, htype_of(arr.dtype, "x"), elements, heap)
    slow = bytes(elements.data) + b"".join(bytes(heap.encode(i).data) for i in range(len(heap.collections)))
    assert b"".join(encode_strings(items, 4096)) == slow
    assert (len(heap.collections) > 1) == (n in (70_000, 9_000))  # over 65535 objects; over 1 MiB


def test_strings_beyond_the_reserve_fail_the_read_not_the_open(
        native_url: Callable[[str], str], location: Callable[[str], Location], tmp_path: Path) -> None:
    """The view reserves address room for each chunk's strings (256 bytes per
    element, at least 64 KiB); a chunk that needs more is refused when read,
    naming the dataset, and the rest of the file stays readable."""
    url = native_url("long.h5")
    with sh.File(url, "w") as f:
        f.create_dataset("long", data=np.array(["x" * 50_000] * 4, dtype=object), dtype=sh.string_dtype())
        f.create_dataset("fine", data=np.arange(5))
    view = open_view(location(url))
    with pytest.raises(ServeError, match=r"dataset /long: chunk \(0,\) holds more variable-length data"):
        view.read(view.data_start, view.size - view.data_start)
    path = tmp_path / "partial.h5"
    with open(path, "wb") as fh:
        fh.write(view.read(0, view.data_start))
        fh.truncate(view.size)
    with h5py.File(path, "r") as f:
        assert f["long"].shape == (4,)
