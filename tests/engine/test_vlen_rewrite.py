"""A chunk of variable-length sequences read back from the store and partly
rewritten keeps its elements (it was stored as the elements' memory addresses:
the decoded chunk had lost the dtype metadata saying what the elements are)."""

from __future__ import annotations

import numpy as np
import pytest

from sciswift.engine import ArrayMeta, Hierarchy, build_codecs, describe
from sciswift.engine.dtypes import default_fill
from sciswift.engine.vlen import decode_vlen, encode_vlen
from sciswift.store.url import Location

VLEN_F4 = np.dtype("O", metadata={"vlen": np.float32})


def _sequences(*items: list[float]) -> np.ndarray:
    out = np.empty(len(items), dtype=VLEN_F4)
    for i, v in enumerate(items):
        out[i] = np.array(v, dtype="f4")
    return out


@pytest.mark.parametrize("reopen", [False, True])
def test_partial_rewrite_of_a_stored_vlen_chunk(location: Location, reopen: bool) -> None:
    info = describe(VLEN_F4)
    codecs, _ = build_codecs(info)
    h = Hierarchy(location, "w")
    a = h.create_array("v", ArrayMeta.create((4,), (4,), info, codecs, default_fill(info.dtype)))
    a.write((slice(0, 1),), _sequences([0.25]))
    if reopen:
        h.close()
        h = Hierarchy(location, "r+")
        a = h.array("v")
    else:
        a.cache.discard(a.chunk_key((0,)))  # the next write reads the chunk from the store
    a.write((slice(1, 2),), _sequences([0.5, 0.75]))
    h.close()
    back = Hierarchy(location, "r").array("v").read((slice(None),))
    assert [x.tolist() for x in back] == [[0.25], [0.5, 0.75], [], []]


def test_decoded_records_keep_the_dtype_and_encode_as_declared() -> None:
    raw = encode_vlen(_sequences([1.0], [2.0, 3.0]), "records")
    decoded = decode_vlen(raw, "records", VLEN_F4, (2,))
    assert decoded.dtype.metadata == VLEN_F4.metadata
    plain = np.empty(2, dtype=object)  # metadata lost, e.g. by a numpy operation
    plain[:] = list(decoded)
    assert encode_vlen(plain, "records", VLEN_F4) == raw
