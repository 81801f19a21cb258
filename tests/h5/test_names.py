"""Names as h5py shows them (sciswift.h5.names): the escape rules, and real
h5py as the oracle for names that are not UTF-8."""

from __future__ import annotations

import io

import h5py as real_h5py
import numpy as np
import pytest

import sciswift.h5py as h5py
from sciswift.h5.names import listed, shown, shown_names, stored_name
from sciswift.store import MemoryStore


@pytest.mark.parametrize(("stored", "member", "want"), [
    ("plain", True, "plain"),
    ("units\x00", False, "units"),  # a C writer counted the terminator
    ("units\x00\x00\x00", True, "units"),
    ("a\x00b", False, "a_b"),
    ("\x00", False, "_"),
    ("", False, "_"),
    ("", True, "_"),
    (".", True, "_"),
    (".", False, "."),  # an attribute may be called "."
    ("a/b", True, "a_b"),
    ("a/b", False, "a/b"),  # and hold a slash
    ("caf\udce9", False, "caf\udce9"),  # bytes that are not UTF-8: kept, listed as bytes
    ("x\ud800y", True, "x_y"),  # a lone surrogate no bytes make
    (b"caf\xe9", True, "caf\udce9"),
])
def test_shown(stored: str | bytes, member: bool, want: str) -> None:
    assert shown(stored, member) == want


def test_changed_names_never_take_an_unchanged_one() -> None:
    names = ["x\x00", "x", "x_2", "a\x00b", "a/b"]
    got = shown_names(names, True)
    assert got == ["x_3", "x", "x_2", "a_b", "a_b_2"]
    assert len(set(got)) == len(got)
    for raw, name in zip(names, got, strict=True):
        assert stored_name(name, names, True) == raw
    assert stored_name("nothing", names, True) is None


def test_listed_gives_bytes_for_names_that_are_not_utf8() -> None:
    assert listed("plain") == "plain"
    assert listed("grün") == "grün"
    assert listed("gr\udcfcn") == b"gr\xfcn"


@pytest.fixture
def latin1_blob() -> tuple[str, bytes]:
    """An HDF5 file whose names are Latin-1 bytes, as real h5py writes them."""
    buf = io.BytesIO()
    with real_h5py.File(buf, "w") as f:
        f.attrs[b"caf\xe9"] = 1
        f.attrs["ok"] = 2
        g = f.create_group(b"gr\xfcn")
        g.attrs[b"\xb5m"] = np.arange(3)
        g.create_dataset(b"d\xe4ta", data=np.arange(4.0))
    store = MemoryStore.named("")
    store.create_container("names")
    store.put_object("names", "latin1.h5", buf.getvalue())
    return "memory://names/latin1.h5", buf.getvalue()


def test_names_that_are_not_utf8_match_real_h5py(latin1_blob: tuple[str, bytes]) -> None:
    url, data = latin1_blob
    with real_h5py.File(io.BytesIO(data), "r") as want, h5py.File(url, "r") as got:
        assert list(got) == list(want) == [b"gr\xfcn"]
        assert list(got.attrs) == list(want.attrs)
        assert got.attrs[b"caf\xe9"] == want.attrs[b"caf\xe9"]
        g_want, g_got = want[b"gr\xfcn"], got[b"gr\xfcn"]
        assert list(g_got) == list(g_want) == [b"d\xe4ta"]
        assert list(g_got.attrs) == list(g_want.attrs) == [b"\xb5m"]
        np.testing.assert_array_equal(g_got.attrs[b"\xb5m"], g_want.attrs[b"\xb5m"])
        np.testing.assert_array_equal(g_got[b"d\xe4ta"][()], g_want[b"d\xe4ta"][()])
        assert b"gr\xfcn" in got and b"caf\xe9" in got.attrs
        seen: list[str | bytes] = []
        got.visit(seen.append)
        assert seen == [b"gr\xfcn", b"gr\xfcn/d\xe4ta"]


def test_every_listed_native_attribute_reads() -> None:
    """A native file's attributes may come from other Zarr writers, whose keys
    can hold what HDF5 names cannot: listed escaped, and read by that name."""
    import json

    from sciswift.store.url import parse_location

    url = "memory://names/native.h5"
    with h5py.File(url, "w") as f:
        f.attrs["keep"] = 1
    loc = parse_location(url)
    key = loc.key("zarr.json")
    doc = json.loads(loc.store.get_object(loc.container, key))
    doc["attributes"].update({"a\x00b": 2, "units\x00": "m", "keep\x00": 3})
    loc.store.put_object(loc.container, key, json.dumps(doc).encode())
    with h5py.File(url, "r") as f:
        assert sorted(f.attrs) == ["a_b", "keep", "keep_2", "units"]
        assert {k: f.attrs[k] for k in f.attrs} == {"keep": 1, "a_b": 2, "units": "m", "keep_2": 3}
