"""Writing: one round-trip test base class, subclassed per writable plugin (as
xarray tests its backends). Each subclass says what tree its format holds, which it
cannot, and how the format's own library reads the written bytes."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from fmt_helpers import CONTAINER, read

from sciswift.errors import NotSupported
from sciswift.formats.arrow import NULLS_GROUP
from sciswift.formats.base import ArrayNode, GroupNode, MemoryArray, MemoryGroup
from sciswift.formats.nodes import vlen_bytes_dtype, vlen_dtype, vlen_str_dtype
from sciswift.formats.registry import open_object, write_object
from sciswift.store import MemoryStore


def vlen(values: list[Any], dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    out = np.empty(len(values), dtype=dtype)
    out[:] = values
    return out


class ExplodingArray(ArrayNode):
    """A dataset whose data cannot be read: a writer meets it part way through."""

    @property
    def attrs(self) -> Mapping[str, Any]:
        return {}

    @property
    def shape(self) -> tuple[int, ...]:
        return (4,)

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype("f8")

    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        raise RuntimeError("the source went away mid-write")


def same_values(got: np.ndarray[Any, Any], want: np.ndarray[Any, Any], where: str) -> None:
    """Equal values and shapes; byte order and vlen containers may differ."""
    assert got.shape == want.shape, where
    if want.dtype.names:
        for name in want.dtype.names:
            same_values(np.asarray(got[name]), np.asarray(want[name]), f"{where}.{name}")
        return
    if want.dtype.kind == "O":
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            if isinstance(w, np.ndarray):
                np.testing.assert_array_equal(g, w, err_msg=f"{where}[{i}]")
            else:
                assert (g.decode() if isinstance(g, bytes) and isinstance(w, str) else g) == w, f"{where}[{i}]"
        return
    assert got.dtype.newbyteorder("=") == want.dtype.newbyteorder("=") or got.dtype.kind == want.dtype.kind, where
    np.testing.assert_array_equal(got, want, err_msg=where)


class RoundTripTests:
    """Subclasses set ``fmt`` and ``name`` and implement the hooks."""

    fmt = ""
    name = ""

    def tree(self) -> GroupNode:
        raise NotImplementedError

    def unsupported(self) -> list[tuple[GroupNode, str]]:
        """Trees the format cannot hold, each with a word the message must contain."""
        raise NotImplementedError

    def library_reads(self, data: bytes, tree: GroupNode) -> None:
        """Check the written bytes with the format's own library."""
        raise NotImplementedError

    def exploding(self) -> GroupNode:
        """A tree whose writing fails part way."""
        good = self.tree()
        members = {k: good[k] for k in good.keys()}
        members["zz_broken"] = ExplodingArray()
        return MemoryGroup(members, good.attrs)

    # ------------------------------------------------------------------ tests
    def compare(self, got: GroupNode, want: GroupNode, where: str = "") -> None:
        for key in want.keys():
            assert key in got.keys(), f"{where}/{key} missing after the round trip"
            w, g = want[key], got[key]
            if isinstance(w, GroupNode):
                assert isinstance(g, GroupNode)
                self.compare(g, w, f"{where}/{key}")
            else:
                assert isinstance(w, ArrayNode) and isinstance(g, ArrayNode)
                same_values(read(g), read(w), f"{where}/{key}")
        for k, v in want.attrs.items():
            got_v = got.attrs[k]
            if isinstance(v, np.ndarray):
                np.testing.assert_array_equal(np.asarray(got_v), v)
            else:
                assert (got_v.item() if isinstance(got_v, np.generic) else got_v) == v, f"{where} attr {k}"

    def test_round_trip(self, store: MemoryStore) -> None:
        tree = self.tree()
        info = write_object(store, CONTAINER, self.name, tree)
        assert info.size > 0
        with open_object(store, CONTAINER, self.name) as back:
            self.compare(back, tree)
        self.library_reads(store.get_object(CONTAINER, self.name), tree)

    def test_rewrite_of_what_was_read(self, store: MemoryStore) -> None:
        """A tree read back from the format writes again unchanged."""
        write_object(store, CONTAINER, self.name, self.tree())
        with open_object(store, CONTAINER, self.name) as first:
            write_object(store, CONTAINER, "copy-" + self.name, first, format=self.fmt)
            with open_object(store, CONTAINER, "copy-" + self.name) as second:
                self.compare(second, first)

    def test_failed_write_leaves_the_old_object(self, store: MemoryStore) -> None:
        old = write_object(store, CONTAINER, self.name, self.tree())
        with pytest.raises(RuntimeError, match="mid-write"):
            write_object(store, CONTAINER, self.name, self.exploding())
        assert store.head_object(CONTAINER, self.name).etag == old.etag
        with open_object(store, CONTAINER, self.name) as back:
            self.compare(back, self.tree())

    def test_unsupported_shapes(self, store: MemoryStore) -> None:
        for tree, word in self.unsupported():
            with pytest.raises(NotSupported) as err:
                write_object(store, CONTAINER, "no-" + self.name, tree, format=self.fmt)
            assert f"{CONTAINER}/no-{self.name}" in str(err.value) and word in str(err.value)
            assert not store.has_object(CONTAINER, "no-" + self.name)


def arr(a: Any, **attrs: Any) -> MemoryArray:
    return MemoryArray(np.asarray(a) if not isinstance(a, np.ndarray) else a, attrs)


class TestNpy(RoundTripTests):
    fmt, name = "npy", "a.npy"

    def tree(self) -> GroupNode:
        return MemoryGroup({"data": arr(np.arange(24, dtype=">i4").reshape(2, 3, 4))})

    def exploding(self) -> GroupNode:
        return MemoryGroup({"data": ExplodingArray()})

    def unsupported(self) -> list[tuple[GroupNode, str]]:
        return [
            (MemoryGroup({"a": arr([1]), "b": arr([2])}), "exactly one dataset"),
            (MemoryGroup({"data": arr([1], units="m")}), "attributes"),
            (MemoryGroup({"data": arr(vlen(["x"], vlen_str_dtype()))}), "variable-length"),
        ]

    def library_reads(self, data: bytes, tree: GroupNode) -> None:
        np.testing.assert_array_equal(np.load(io.BytesIO(data)), read(tree["data"]))


class TestNpz(RoundTripTests):
    fmt, name = "npz", "a.npz"

    def tree(self) -> GroupNode:
        rec = np.array([(1, 2.5)], dtype=[("i", "<i2"), ("f", "<f4")])
        return MemoryGroup({
            "x": arr(np.linspace(0, 1, 11)), "rec": arr(rec),
            "sub": MemoryGroup({"deep": arr(np.eye(3, dtype=bool))}),
        })

    def unsupported(self) -> list[tuple[GroupNode, str]]:
        return [(MemoryGroup({"x": arr([1])}, {"title": "t"}), "attributes")]

    def library_reads(self, data: bytes, tree: GroupNode) -> None:
        with np.load(io.BytesIO(data)) as z:
            assert sorted(z.files) == ["rec", "sub/deep", "x"]
            np.testing.assert_array_equal(z["x"], read(tree["x"]))


class TestFITS(RoundTripTests):
    fmt, name = "fits", "a.fits"

    def tree(self) -> GroupNode:
        table = np.zeros(4, dtype=[("id", "<i4"), ("flux", "<f8"), ("band", "S3"), ("pos", "<f4", (2,))])
        table["id"] = [1, 2, 3, 4]
        table["flux"] = [0.5, 1.5, np.nan, 3.5]
        table["band"] = [b"g", b"r", b"i", b"z"]
        table["pos"] = np.arange(8).reshape(4, 2)
        return MemoryGroup({
            "PRIMARY": MemoryGroup({"data": arr(np.arange(12, dtype=np.int16).reshape(3, 4))},
                                   {"OBSERVER": "Messier", "EXPTIME": 1.5, "FLAG": True, "HISTORY": "one\ntwo"}),
            "SCI": MemoryGroup({"data": arr(np.linspace(0, 1, 24, dtype=np.float32).reshape(2, 3, 4))},
                               {"BUNIT": "adu"}),
            "CAT": MemoryGroup({"data": arr(table)}, {"ORIGIN": "test"}),
            "U16": MemoryGroup({"data": arr(np.array([0, 40000, 65535], dtype=np.uint16))}),
        })

    def unsupported(self) -> list[tuple[GroupNode, str]]:
        return [
            (MemoryGroup({"A": MemoryGroup({"data": arr([1.0]), "extra": arr([2.0])})}), "one array or table"),
            (MemoryGroup({"A": MemoryGroup({"data": arr([1.0])}, {"COEFFS": np.arange(3)})}), "header cards"),
            (MemoryGroup({"A": arr(vlen(["x"], vlen_str_dtype()))}), "FITS images hold"),
        ]

    def library_reads(self, data: bytes, tree: GroupNode) -> None:
        from astropy.io import fits

        with fits.open(io.BytesIO(data)) as hdus:
            assert [h.name for h in hdus] == ["PRIMARY", "SCI", "CAT", "U16"]
            assert hdus[0].header["OBSERVER"] == "Messier" and list(hdus[0].header["HISTORY"]) == ["one", "two"]
            np.testing.assert_array_equal(hdus["CAT"].data["band"], ["g", "r", "i", "z"])
            assert hdus["U16"].data.dtype == np.uint16


class TestParquet(RoundTripTests):
    fmt, name = "parquet", "a.parquet"

    def tree(self) -> GroupNode:
        return MemoryGroup({
            "i": arr(np.array([0, 0, 2, 3, 4], dtype=np.int16), unit="count"),  # [1] is null: fill 0
            "f": arr(np.array([0.5, np.nan, 2.0, 3.0, 4.0])),
            "s": arr(vlen(["a", "", "ccc", "dd", "é"], vlen_str_dtype())),
            "b": arr(vlen([b"\x00", b"", b"x", b"yy", b"z"], vlen_bytes_dtype())),
            "flag": arr(np.array([True, False, True, True, False])),
            "vec": arr(np.arange(10, dtype=np.float32).reshape(5, 2)),
            "lst": arr(vlen([np.arange(i, dtype=np.int64) for i in range(5)], vlen_dtype(np.int64))),
            "when": arr(np.arange(5).astype("datetime64[ms]")),
            NULLS_GROUP: MemoryGroup({"i": arr(np.array([False, True, False, False, False]))}),
        }, {"origin": "sciswift test"})

    def unsupported(self) -> list[tuple[GroupNode, str]]:
        return [
            (MemoryGroup({"cube": arr(np.zeros((2, 2, 2)))}), "1-D"),
            (MemoryGroup({"g": MemoryGroup({"x": arr([1])})}), "flat table"),
            (MemoryGroup({"a": arr([1, 2]), "b": arr([1, 2, 3])}), "rows"),
            (MemoryGroup({"a": arr([1])}, {"n": {1, 2}}), "attribute 'n' of / cannot be stored"),
        ]

    def library_reads(self, data: bytes, tree: GroupNode) -> None:
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(data))
        assert table.column("i").to_pylist() == [0, None, 2, 3, 4]
        assert table.column("s").to_pylist() == ["a", "", "ccc", "dd", "é"]
        assert table.schema.metadata[b"origin"] == b"sciswift test"
        assert table.schema.field("i").metadata == {b"unit": b"count"}


class TestCSV(RoundTripTests):
    fmt, name = "csv", "a.csv"

    def tree(self) -> GroupNode:
        return MemoryGroup({
            "n": arr(np.arange(4, dtype=np.int64)),
            "x": arr(np.array([0.25, 1.5, np.nan, 3.0])),
            "label": arr(vlen(["a", "b c", "d,e", 'say "hi"'], vlen_str_dtype())),
            NULLS_GROUP: MemoryGroup({"x": arr(np.array([False, False, True, False]))}),
        })

    def unsupported(self) -> list[tuple[GroupNode, str]]:
        return [
            (MemoryGroup({"a": arr([1])}, {"title": "t"}), "attributes"),
            (MemoryGroup({"m": arr(np.zeros((3, 2)))}), "one value"),
        ]

    def library_reads(self, data: bytes, tree: GroupNode) -> None:
        import csv

        rows = list(csv.reader(io.StringIO(data.decode())))
        assert rows[0] == ["n", "x", "label"] and rows[3] == ["2", "", "d,e"] and rows[4][2] == 'say "hi"'


class TestNetCDF3(RoundTripTests):
    fmt, name = "netcdf", "a.nc"

    def tree(self) -> GroupNode:
        dims = vlen(["time", "lat"], vlen_str_dtype())
        return MemoryGroup({
            "temp": arr(np.arange(12, dtype=np.float32).reshape(3, 4), _dims=dims, units="K",
                        valid_range=np.array([0.0, 100.0])),
            "lat": arr(np.array([10, 20, 30, 40], dtype=np.int32), _dims=vlen(["lat"], vlen_str_dtype())),
            "code": arr(np.array([1, 2, 3], dtype=np.int16), _dims=vlen(["time"], vlen_str_dtype()), scale=2),
            "chars": arr(np.array([[b"a", b"b"], [b"c", b"d"], [b"e", b"f"]], dtype="S1"),
                         _dims=vlen(["time", "nchar"], vlen_str_dtype())),
        }, {"title": "round trip", "version": 2})

    def unsupported(self) -> list[tuple[GroupNode, str]]:
        return [
            (MemoryGroup({"big": arr(np.arange(3, dtype=np.int64))}), "classic"),
            (MemoryGroup({"g": MemoryGroup()}), "flat"),
            (MemoryGroup({"a": arr(np.zeros(3, np.float32), _dims=vlen(["n"], vlen_str_dtype())),
                          "b": arr(np.zeros(4, np.float32), _dims=vlen(["n"], vlen_str_dtype()))}), "dimension 'n'"),
        ]

    def library_reads(self, data: bytes, tree: GroupNode) -> None:
        from scipy.io import netcdf_file

        with netcdf_file(io.BytesIO(data), "r", mmap=False) as nc:
            assert nc.variables["temp"].dimensions == ("time", "lat")
            np.testing.assert_array_equal(nc.variables["temp"].data, read(tree["temp"]))
            assert nc.title == b"round trip" and nc.variables["temp"].units == b"K"
