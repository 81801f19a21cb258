"""zarr.json documents checked against the layout (sciswift.engine.schema): a
damaged document is CorruptData naming it and the field, at the h5 layer too,
where File() still raises an OSError (CorruptData is one) as h5py does; damage
in one node's document leaves the rest of the file readable."""

from __future__ import annotations

import json
import uuid
from typing import Any

import numpy as np
import pytest

import sciswift.h5py as h5py
from sciswift.engine.schema import check_node, check_spec
from sciswift.errors import CorruptData
from sciswift.store.url import parse_location

GOOD_ARRAY: dict[str, Any] = {
    "zarr_format": 3, "node_type": "array", "shape": [4, 6], "data_type": "int32",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
    "fill_value": 0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    "attributes": {"_sciswift": {"maxshape": [None, 6], "dims": [["/x"], []], "links": {}}},
}


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(GOOD_ARRAY))
    target = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return doc


def test_a_good_document_passes() -> None:
    assert check_node(GOOD_ARRAY, "x/zarr.json") is GOOD_ARRAY
    check_node({"zarr_format": 3, "node_type": "group", "extra": "fields other writers add"}, "g")


@pytest.mark.parametrize(("path", "value", "field"), [
    (["shape"], [4, -1], "shape"),
    (["shape"], "4x6", "shape"),
    (["chunk_grid", "configuration", "chunk_shape"], [2], "chunk_shape has 1 entries"),
    (["chunk_grid", "configuration", "chunk_shape"], [0, 3], "chunk_shape"),
    (["chunk_grid"], "regular", "chunk_grid"),
    (["codecs"], [{"name": "bytes", "configuration": None}], "codecs"),
    (["codecs"], "bytes", "codecs"),
    (["chunk_key_encoding", "configuration", "separator"], "|", "separator"),
    (["data_type"], 7, "data_type"),
    (["attributes"], [1], "attributes"),
    (["attributes", "_sciswift", "maxshape"], [None], "maxshape has 1 entries"),
    (["attributes", "_sciswift", "links"], {"a": ["soft"]}, "links['a']"),
    (["attributes", "_sciswift", "attrs"], {"t": {"dtype": {"kind": "compound"}}}, "fields"),
    (["attributes", "_sciswift", "track_order"], "yes", "track_order"),
    (["node_type"], "table", "node_type"),
])
def test_a_field_of_the_wrong_shape_is_named(path: list[Any], value: Any, field: str) -> None:
    with pytest.raises(CorruptData, match=rf"metadata c/f.h5/a/zarr.json is malformed: .*{_re(field)}") as info:
        check_node(_with(path, value), "c/f.h5/a/zarr.json")
    assert info.value.subject == "c/f.h5/a/zarr.json"


def _re(text: str) -> str:
    import re

    return re.escape(text)


def test_documents_of_one_template_are_checked_for_their_own_attributes() -> None:
    """With a memo (one per file), a document sharing every field but its
    attributes with one checked before (the packed nodes of a file, made from
    one template) has only its attributes checked; anything of its own, or
    equal but not shared, is checked whole."""
    from sciswift.engine.metadata import ArrayMeta

    template = {k: v for k, v in json.loads(json.dumps(GOOD_ARRAY)).items() if k != "attributes"}
    memo: dict[int, dict[str, Any]] = {}
    first = {**template, "attributes": {"_sciswift": {"maxshape": [None, 6]}}}
    check_node(first, "a", memo)
    check_node({**template, "attributes": {"note": 1}}, "b", memo)
    with pytest.raises(CorruptData, match=r"c.*maxshape has 1 entries"):
        check_node({**template, "attributes": {"_sciswift": {"maxshape": [None]}}}, "c", memo)
    with pytest.raises(CorruptData, match=r"d.*shape"):  # a field of its own
        check_node({**template, "shape": [4, -1], "attributes": {}}, "d", memo)
    with pytest.raises(CorruptData, match=r"e.*chunk_shape"):  # another field beside the shared ones
        check_node({**template, "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [0, 3]}},
                    "attributes": {}}, "e", memo)

    # Parsing: an enum kept as int8 beside a plain int8 of the same template is still an enum.
    parsed: dict[int, list[Any]] = {}
    plain = ArrayMeta.from_json({**template, "attributes": {}}, "p", parsed)
    spec = {"kind": "enum", "base": "<i4", "values": {"red": 0, "green": 1}}
    enum = ArrayMeta.from_json({**template, "attributes": {"_sciswift": {"dtype": spec}}}, "q", parsed)
    again = ArrayMeta.from_json({**template, "attributes": {"x": 2}}, "r", parsed)
    assert plain.dtype == again.dtype == np.dtype("int32") and again.attributes == {"x": 2}
    assert h5py.check_enum_dtype(enum.dtype) == {"red": 0, "green": 1} and h5py.check_enum_dtype(plain.dtype) is None
    assert again.shape == (4, 6) and again.chunks == (2, 3) and again.info is plain.info


def test_dtype_specs() -> None:
    check_spec({"kind": "compound", "fields": [["a", "<i4", 0], ["b", {"kind": "vlen_str"}, 4]], "itemsize": 12})
    deep: Any = "<i4"
    for _ in range(100):
        deep = {"kind": "array", "base": deep, "shape": [1]}
    for bad in ({"kind": "array", "base": "<i4", "shape": "3"}, {"kind": "enum", "base": "u1", "values": {"a": "1"}},
                {"kind": "nope"}, [1], None, deep):
        with pytest.raises(ValueError):
            check_spec(bad)


def _native(url: str) -> Any:
    with h5py.File(url, "w") as f:
        f.attrs["title"] = "t"
        f.create_dataset("g/d", data=np.arange(12, dtype="i4").reshape(3, 4), chunks=(2, 2))
        f.create_dataset("g/e", data=np.arange(5.0))
    return parse_location(url)


def _edit_root(loc: Any, edit: Any) -> None:
    key = loc.key("zarr.json")
    doc = json.loads(loc.store.get_object(loc.container, key))
    edit(doc)
    loc.store.put_object(loc.container, key, json.dumps(doc).encode())


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[" * 100000, b'{"node_type": "group"}',
                                 json.dumps({"zarr_format": 3, "node_type": "group", "attributes": 5}).encode()])
def test_a_damaged_root_document_fails_open_naming_the_file(raw: bytes) -> None:
    url = f"memory://schema/{uuid.uuid4().hex}.h5"
    loc = _native(url)
    loc.store.put_object(loc.container, loc.key("zarr.json"), raw)
    with pytest.raises(CorruptData, match=rf"{url.split('//')[1]}/zarr.json") as info:
        with h5py.File(url, "r") as f:
            dict(f.attrs)
    assert isinstance(info.value, OSError)  # what h5py programs catch for a damaged file


def test_a_damaged_node_leaves_the_rest_readable() -> None:
    url = f"memory://schema/{uuid.uuid4().hex}.h5"
    loc = _native(url)
    _edit_root(loc, lambda doc: doc["consolidated_metadata"]["metadata"]["g/d"].update(codecs=[{"name": 5}]))
    with h5py.File(url, "r") as f:
        assert f.attrs["title"] == "t"
        np.testing.assert_array_equal(f["g/e"][()], np.arange(5.0))
        with pytest.raises(CorruptData, match=r"consolidated entry /g/d.*codecs"):
            f["g/d"]


def test_consolidated_metadata_naming_impossible_nodes_is_corrupt() -> None:
    url = f"memory://schema/{uuid.uuid4().hex}.h5"
    loc = _native(url)
    _edit_root(loc, lambda doc: doc["consolidated_metadata"]["metadata"].update({"": {"node_type": "group"}}))
    with pytest.raises(CorruptData, match="names a node ''"):
        h5py.File(url, "r")


def test_a_vlen_chunk_claiming_too_many_items_fails_fast() -> None:
    """numcodecs allocates the item count a vlen chunk claims before finding it
    short: a damaged count (up to 2**32) cost seconds and gigabytes."""
    import struct
    import time

    url = f"memory://schema/{uuid.uuid4().hex}.h5"
    with h5py.File(url, "w") as f:
        f.create_dataset("s", data=["a", "bb", "ccc"], dtype=h5py.string_dtype())
    loc = parse_location(url)
    key = loc.key("s/c/0")
    raw = bytearray(loc.store.get_object(loc.container, key))
    struct.pack_into("<I", raw, 0, 0xF0000000)
    loc.store.put_object(loc.container, key, bytes(raw))
    start = time.perf_counter()
    with h5py.File(url, "r") as f, pytest.raises(CorruptData, match="holds 4026531840 elements, expected 3"):
        f["s"][()]
    assert time.perf_counter() - start < 1
