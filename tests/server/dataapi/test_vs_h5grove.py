"""The data API's answers compared with h5grove's own (PyPI h5grove 4.0 over
real h5py) for the same HDF5 file: written by h5py, uploaded as one object,
read by us through the HDF5 format plugin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py as real_h5py
import numpy as np
import pytest

from .conftest import Api

h5grove_content = pytest.importorskip("h5grove.content")
h5grove_encoders = pytest.importorskip("h5grove.encoders")


@pytest.fixture(scope="module")
def h5file(tmp_path_factory: pytest.TempPathFactory, disk_server: Any, bucket: str) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("h5grove") / "ref.h5"
    with real_h5py.File(path, "w") as f:
        g = f.create_group("entry")
        g.attrs["NX_class"] = "NXentry"
        g.attrs["count"] = np.int32(3)
        d = g.create_dataset("image", data=np.arange(600, dtype="<f4").reshape(20, 30), chunks=(10, 30),
                             compression="gzip", shuffle=True)
        d.attrs["units"] = "counts"
        g.create_dataset("ints", data=np.arange(10, dtype=">i8"))
        g.create_dataset("flags", data=np.array([True, False]))
        g.create_dataset("cplx", data=np.array([1 + 2j], dtype="<c8"))
        g.create_dataset("text", data="hello", dtype=real_h5py.string_dtype())
        g.create_dataset("fixed", data=np.array([b"ab", b"cd"], dtype="S2"))
        g.create_dataset("rec", data=np.array([(1, 2.0)], dtype=[("a", "<i2"), ("b", "<f8")]))
        g.create_dataset("vl", data=np.array([np.arange(2), np.arange(3)], dtype=object),
                         dtype=real_h5py.vlen_dtype("i4"))
        g.create_dataset("en", data=np.array([1, 5], dtype="u1"),
                         dtype=real_h5py.enum_dtype({"A": 1, "B": 5}, basetype="u1"))
        g.create_dataset("scalar", data=np.float64(2.5))
        f["link"] = real_h5py.SoftLink("/entry/image")
    conn = disk_server.connection()
    conn.put_object(bucket, "ref.h5", path.read_bytes())
    conn.close()
    return path, f"{bucket}/ref.h5"


def _theirs(path: Path, fn: Any) -> Any:
    with real_h5py.File(path, "r") as f:
        return json.loads(h5grove_encoders.orjson_encode(fn(f)))


@pytest.mark.parametrize("entity", ["/", "/entry", "/entry/image", "/entry/ints", "/entry/flags", "/entry/cplx",
                                    "/entry/text", "/entry/fixed", "/entry/rec", "/entry/vl", "/entry/en",
                                    "/entry/scalar", "/link"])
def test_meta_as_h5grove(api: Api, h5file: tuple[Path, str], entity: str) -> None:
    path, file = h5file
    expected = _theirs(path, lambda f: h5grove_content.create_content(f, entity).metadata())
    assert api.json("meta", file=file, path=entity) == expected


@pytest.mark.parametrize("entity", ["/entry", "/entry/image"])
def test_attr_as_h5grove(api: Api, h5file: tuple[Path, str], entity: str) -> None:
    path, file = h5file
    expected = _theirs(path, lambda f: h5grove_content.create_content(f, entity).attributes())
    assert api.json("attr", file=file, path=entity) == expected


@pytest.mark.parametrize("entity, selection", [
    # (big-endian data is left out: h5grove's JSON encoder refuses it, we answer it)
    ("/entry/image", "2:5,::7"), ("/entry/image", None), ("/entry/rec", None),
    ("/entry/fixed", None), ("/entry/scalar", None), ("/entry/cplx", None),
])
def test_data_as_h5grove(api: Api, h5file: tuple[Path, str], entity: str, selection: str | None) -> None:
    path, file = h5file
    expected = _theirs(path, lambda f: h5grove_content.create_content(f, entity).data(selection))
    assert api.json("data", file=file, path=entity, selection=selection) == expected


def test_safe_binary_as_h5grove(api: Api, h5file: tuple[Path, str]) -> None:
    path, file = h5file
    with real_h5py.File(path, "r") as f:
        content = h5grove_content.create_content(f, "/entry/ints")
        expected = h5grove_encoders.encode(content.data("1:4", dtype="safe"), "bin").content
    resp = api.get("data", file=file, path="/entry/ints", selection="1:4", format="bin", dtype="safe")
    assert resp.status == 200 and resp.data == expected


def test_paths_as_h5grove(api: Api, h5file: tuple[Path, str]) -> None:
    path, file = h5file
    with h5grove_content.get_list_of_paths(path, "/", lambda s, m: RuntimeError(m)) as names:
        expected = list(names)
    assert sorted(api.json("paths", file=file, path="/")) == sorted(expected)
