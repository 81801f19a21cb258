"""Reading back the index sidecars plugins keep beside a blob (an ``.npz`` of
arrays plus a JSON ``meta`` member, no pickle; see ``StoredObject``).

A sidecar is a cache: one that cannot be read, or whose arrays are not what its
plugin wrote, is ignored and rebuilt from the blob, never trusted and never
reported as damage of the blob.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from typing import Any

import numpy as np

__all__ = ["SIDECAR_ERRORS", "read_npz", "is_vector"]

#: What reading a damaged .npz raises: zipfile's BadZipFile, zlib.error, EOFError,
#: NotImplementedError (an unknown zip version or method) and RuntimeError (a
#: member flagged as encrypted); numpy's ValueError and SyntaxError (a bad .npy
#: header), OSError, TypeError, OverflowError (absurd shapes); struct.error (zip
#: headers cut short); KeyError (a member missing); json's ValueError (meta not
#: JSON); RecursionError (meta nested absurdly deep).
SIDECAR_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, SyntaxError, OSError,
    TypeError, OverflowError, struct.error, KeyError, RecursionError,
)


def read_npz(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]] | None:
    """``(meta, arrays)`` of a sidecar: ``meta`` the JSON object in its member
    ``meta``, ``arrays`` every other member; None if it is not such a file."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
        meta = json.loads(arrays.pop("meta").tobytes())
    except SIDECAR_ERRORS:
        return None
    if not isinstance(meta, dict):
        return None
    return meta, arrays


def is_vector(arr: Any, kind: str, n: int | None = None) -> bool:
    """Whether ``arr`` is a 1-D numpy array of dtype kind ``kind`` ("i", "u") of
    length ``n`` (any length if None)."""
    return isinstance(arr, np.ndarray) and arr.ndim == 1 and arr.dtype.kind == kind and (n is None or len(arr) == n)
