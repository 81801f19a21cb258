"""The plugin registry: entry points, detection, forced formats, error messages,
atomic writes."""

from __future__ import annotations

import importlib.metadata
import io
from typing import Any, BinaryIO

import h5py
import numpy as np
import pytest
from fmt_helpers import CONTAINER, put_bytes, read

from sciswift.errors import InvalidInput, NotFound, NotSupported
from sciswift.formats import registry
from sciswift.formats.base import FormatPlugin, GroupNode, MemoryArray, MemoryGroup
from sciswift.formats.registry import (
    available_plugins,
    detect,
    get_plugin,
    open_object,
    registered_plugins,
    write_object,
)
from sciswift.store import MemoryStore

BUILT_IN = {"hdf5", "netcdf", "fits", "parquet", "csv", "root", "tfrecord", "npy", "npz"}


def h5_bytes() -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["x"] = np.arange(3)
    return buf.getvalue()


def npy_bytes(arr: np.ndarray[Any, Any]) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_built_ins_are_entry_points() -> None:
    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="sciswift.formats")}
    assert BUILT_IN <= set(eps)
    assert eps["fits"] == "sciswift.formats.fits:FITSPlugin"
    assert BUILT_IN <= set(registered_plugins())
    assert BUILT_IN <= set(available_plugins())  # the test environment has every extra


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("x.h5", h5_bytes()[:4096], "hdf5"),
        ("x.fits", h5_bytes()[:4096], "hdf5"),  # magic beats the extension
        ("x.nc", h5_bytes()[:4096], "netcdf"),  # netCDF-4: magic and extension
        ("x.bin", h5_bytes()[:4096], "hdf5"),  # tie on magic: HDF5 first
        ("x.nc", b"CDF\x01\x00\x00\x00\x00", "netcdf"),
        ("m13", b"SIMPLE  =                    T" + b" " * 50, "fits"),
        ("x.dat", b"PAR1\x15\x04", "parquet"),
        ("x", b"root\x00\x00\xf4\x48", "root"),
        ("x", b"\x93NUMPY\x01\x00", "npy"),
        ("table.csv", b"a,b\n1,2\n", "csv"),  # no magic: extension
        ("broken.fits", b"garbage", "fits"),  # damaged: still FITS, which reports it
    ],
)
def test_detect(name: str, head: bytes, expected: str) -> None:
    assert detect(name, head).name == expected


def test_detect_npz_by_first_member() -> None:
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(3))
    assert detect("noext", buf.getvalue()[:4096]).name == "npz"


def test_unknown_bytes_list_installed_formats() -> None:
    with pytest.raises(NotSupported) as err:
        detect("c/mystery.bin", b"\x00\x01\x02 nothing known")
    msg = str(err.value)
    assert "cannot open c/mystery.bin" in msg and "Installed formats:" in msg
    assert "fits" in msg and "parquet" in msg


def test_missing_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    fits = registered_plugins()["fits"]
    monkeypatch.setattr(type(fits), "available", lambda self: False)
    with pytest.raises(NotSupported) as err:
        detect("sky/m13.fits", b"SIMPLE  =                    T")
    msg = str(err.value)
    assert msg.startswith("cannot open sky/m13.fits: it looks like FITS, but astropy is not installed")
    assert "pip install 'sciswift[fits]'" in msg
    assert "Installed formats:" in msg and "Not installed: fits" in msg
    assert err.value.subject == "sky/m13.fits"


def test_format_forces_a_plugin(store: MemoryStore) -> None:
    put_bytes(store, "renamed.txt", npy_bytes(np.arange(4)))
    with open_object(store, CONTAINER, "renamed.txt", format="npy") as root:
        assert root.keys() == ["data"]
        assert read(root["data"]).tolist() == [0, 1, 2, 3]


def test_unknown_format_name(store: MemoryStore) -> None:
    put_bytes(store, "x", b"abc")
    with pytest.raises(InvalidInput, match="unknown format 'xls'.*Installed formats"):
        open_object(store, CONTAINER, "x", format="xls")
    assert get_plugin("FITS").name == "fits"


def test_missing_object(store: MemoryStore) -> None:
    with pytest.raises(NotFound):
        open_object(store, CONTAINER, "nope.h5")


def test_old_style_plugin_is_detected(monkeypatch: pytest.MonkeyPatch, store: MemoryStore) -> None:
    """A third-party plugin written against the first protocol (guess_can_open and
    open only) is found and opened through the registry."""

    class Magic42(FormatPlugin):
        name = "magic42"

        def guess_can_open(self, name: str, head: bytes) -> bool:
            return head.startswith(b"42!")

        def open(self, source: BinaryIO, name: str) -> GroupNode:
            body = source.read()
            return MemoryGroup({"body": MemoryArray(np.frombuffer(body[3:], dtype=np.uint8))})

    plugins = dict(registered_plugins())
    plugins["magic42"] = Magic42()
    monkeypatch.setattr(registry, "registered_plugins", lambda: plugins)
    put_bytes(store, "thing", b"42!\x01\x02")
    with open_object(store, CONTAINER, "thing") as root:
        assert read(root["body"]).tolist() == [1, 2]


def test_stats_count_the_open(store: MemoryStore) -> None:
    from sciswift.formats.ranged import TransferStats

    put_bytes(store, "a.npy", npy_bytes(np.zeros(10)))
    stats = TransferStats()
    root = open_object(store, CONTAINER, "a.npy", stats=stats)
    assert stats.requests == 2  # HEAD + the first 64 KiB (all of it)
    assert read(root["data"]).tolist() == [0.0] * 10
    assert stats.requests == 2  # served from what the open already fetched
    root.close()


class _Exploding(FormatPlugin):
    """Writes half a file, then fails: the registry must store nothing."""

    name = "npy"
    can_write = True
    extensions = (".npy",)

    def guess_can_open(self, name: str, head: bytes) -> bool:
        return False

    def open(self, source: BinaryIO, name: str) -> GroupNode:
        raise AssertionError

    def write(self, root: GroupNode, sink: BinaryIO, name: str) -> None:
        sink.write(b"\x93NUMPY half a file")
        raise RuntimeError("disk on fire")


def test_failed_write_leaves_the_old_object(monkeypatch: pytest.MonkeyPatch, store: MemoryStore) -> None:
    tree = MemoryGroup({"data": MemoryArray(np.arange(5))})
    first = write_object(store, CONTAINER, "a.npy", tree)
    plugins = dict(registered_plugins())
    plugins["npy"] = _Exploding()
    monkeypatch.setattr(registry, "registered_plugins", lambda: plugins)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_object(store, CONTAINER, "a.npy", MemoryGroup({"data": MemoryArray(np.arange(9))}))
    assert store.head_object(CONTAINER, "a.npy").etag == first.etag
    monkeypatch.undo()
    with open_object(store, CONTAINER, "a.npy") as root:
        assert read(root["data"]).tolist() == [0, 1, 2, 3, 4]


def test_unwritable_shape_stores_nothing(store: MemoryStore) -> None:
    tree = MemoryGroup({"a": MemoryArray(np.arange(3)), "b": MemoryArray(np.arange(3))})
    with pytest.raises(NotSupported, match="exactly one dataset"):
        write_object(store, CONTAINER, "two.npy", tree)
    assert not store.has_object(CONTAINER, "two.npy")


def test_write_needs_a_known_extension(store: MemoryStore) -> None:
    with pytest.raises(NotSupported, match="pass format="):
        write_object(store, CONTAINER, "x.unknown", MemoryGroup())
    with pytest.raises(NotSupported, match="only reads"):
        write_object(store, CONTAINER, "x.root", MemoryGroup(), format="root")


def test_rewrite_replaces_in_one_put(store: MemoryStore) -> None:
    puts: list[str] = []
    real = store.put_object

    def counting_put(container: str, name: str, data: Any, **kw: Any) -> Any:
        puts.append(name)
        return real(container, name, data, **kw)

    store.put_object = counting_put  # type: ignore[method-assign]
    write_object(store, CONTAINER, "t.npz", MemoryGroup({"a": MemoryArray(np.arange(3))}))
    write_object(store, CONTAINER, "t.npz", MemoryGroup({"b": MemoryArray(np.arange(4))}))
    assert puts == ["t.npz", "t.npz"]
    with open_object(store, CONTAINER, "t.npz") as root:
        assert root.keys() == ["b"]
