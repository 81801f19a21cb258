"""``create_dataset``'s argument rules (h5py's), turned into an ArraySpec.

Validation happens here, before anything is created, so a bad argument leaves
the file untouched.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from sciswift.engine.chunks import guess_chunks
from sciswift.engine.codecs import szip_options
from sciswift.h5.attrvalues import array_for_new_object
from sciswift.h5.backend import ArraySpec
from sciswift.h5.dtypes import (
    check_ref_dtype,
    check_string_dtype,
    check_vlen_dtype,
    normalize_dtype,
    string_dtype,
)
from sciswift.h5.filters import FilterRefBase, encode, filter_name
from sciswift.h5.h5py_warnings import H5pyDeprecationWarning
from sciswift.h5.links import Empty

__all__ = ["make_spec"]

_LEGACY_GZIP = tuple(range(10))
_DEFAULT_GZIP = 4


def _rank_check(tpl: Any, name: str, shape: tuple[int, ...]) -> None:
    if tpl in (None, True):
        return
    try:
        tpl = tuple(tpl)
    except TypeError:
        raise TypeError('"%s" argument must be None or a sequence object' % name) from None
    if len(tpl) != len(shape):
        raise ValueError('"%s" must have same rank as dataset shape' % name)


def _check_szip(dt: np.dtype[Any]) -> None:
    """HDF5's test whether szip applies to a type (``H5Z__can_apply_szip``): elements
    of at most 32 bits or of 64, with a byte order (numbers, enums, arrays of them);
    variable-length data is let through, as HDF5 does."""
    if check_vlen_dtype(dt) is not None or (check_string_dtype(dt) is not None and dt.kind == "O"):
        return
    base = dt.subdtype[0] if dt.subdtype is not None else dt  # an array type: its element's
    if base.itemsize * 8 > 32 and base.itemsize * 8 != 64:
        raise ValueError("Unable to synchronously create dataset (invalid datatype size)")
    if base.fields is not None or base.kind == "c":
        raise ValueError("Unable to synchronously create dataset (operation not defined for specified datatype)")
    if base.kind not in "iufb" or check_ref_dtype(dt) is not None:
        raise ValueError("Unable to synchronously create dataset (invalid datatype endianness order)")


def make_spec(
    shape: Any = None,
    dtype: Any = None,
    data: Any = None,
    *,
    chunks: Any = None,
    compression: Any = None,
    shuffle: Any = None,
    fletcher32: Any = None,
    maxshape: Any = None,
    compression_opts: Any = None,
    fillvalue: Any = None,
    scaleoffset: Any = None,
    track_times: Any = False,
    external: Any = None,
    allow_unknown_filter: bool = False,
    fill_time: Any = None,
    **_ignored: Any,
) -> tuple[ArraySpec, Any]:
    """``(spec, data_array_or_None)`` for h5py's create_dataset arguments."""
    from sciswift.h5.datatype import Datatype

    if isinstance(dtype, Datatype):
        dtype = dtype.dtype
    if data is not None and not isinstance(data, Empty):
        data = array_for_new_object(data, specified_dtype=dtype)
    empty = False
    if shape is None:
        if data is None:
            if dtype is None:
                raise TypeError("One of data, shape or dtype must be specified")
            data = Empty(dtype)
        if isinstance(data, Empty):
            empty = True
            shape_t: tuple[int, ...] = ()
        else:
            shape_t = data.shape
    else:
        shape_t = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        if data is not None and not isinstance(data, Empty) and math.prod(shape_t) != math.prod(data.shape):
            raise ValueError("Shape tuple is incompatible with data")
    if isinstance(data, Empty):
        empty = True
    if isinstance(maxshape, (int, np.integer)) and not isinstance(maxshape, bool):
        maxshape = (int(maxshape),)
    tmp_shape = maxshape if maxshape not in (None, True) else shape_t
    if isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool):
        chunks = (int(chunks),)
    if isinstance(chunks, list):
        chunks = tuple(chunks)
    if isinstance(chunks, tuple) and any(c > d for d, c in zip(tmp_shape, chunks) if d is not None):
        raise ValueError(
            "Chunk shape must not be greater than data shape in any dimension. "
            f"{chunks} is not compatible with {shape_t}"
        )
    if dtype is None and data is None:
        warnings.warn(
            "Creating a dataset without passing data or dtype is deprecated. Pass an explicit dtype. "
            "Using dtype='f4' will keep the current default behaviour.",
            H5pyDeprecationWarning, stacklevel=4,
        )
    if dtype is None:
        dt = np.dtype("=f4") if data is None or isinstance(data, Empty) else data.dtype
    else:
        dt = normalize_dtype(dtype)
    if isinstance(data, Empty):
        dt = normalize_dtype(data.dtype) if dtype is None else dt
    if dt.kind == "U":
        raise TypeError("No conversion path for dtype: %r" % dt)
    if any((compression, shuffle, fletcher32, maxshape, scaleoffset)) and chunks is False:
        raise ValueError("Chunked format required for given storage options")
    if compression is True:
        compression_opts = _DEFAULT_GZIP if compression_opts is None else compression_opts
        compression = "gzip"
    if not isinstance(compression, bool) and compression in _LEGACY_GZIP:
        if compression_opts is not None:
            raise TypeError("Conflict in compression options")
        compression_opts = compression
        compression = "gzip"

    # --- h5py's fill_dcpl checks
    if empty or shape_t == ():
        kind = "Empty" if empty else "Scalar"
        if any((chunks, compression, compression_opts, shuffle, fletcher32, scaleoffset is not None)):
            raise TypeError(f"{kind} datasets don't support chunk/filter options")
        if maxshape and maxshape != ():
            raise TypeError(f"{kind} datasets cannot be extended")
    else:
        _rank_check(chunks, "chunks", shape_t)
        _rank_check(maxshape, "maxshape", shape_t)
    unknown: list[int] = []
    if compression is not None and compression is not False:
        if isinstance(compression, FilterRefBase):
            compression_opts = compression.filter_options
            compression = compression.filter_id
        if isinstance(compression, (int, np.integer)):
            known = filter_name(int(compression))
            if known is None or known not in encode:
                if not allow_unknown_filter:
                    raise ValueError("Unknown compression filter number: %s" % compression)
                unknown.append(int(compression))
                compression = None
            else:
                compression = known
                if isinstance(compression_opts, tuple) and len(compression_opts) == 1 and compression == "gzip":
                    compression_opts = compression_opts[0]
                elif isinstance(compression_opts, tuple) and not compression_opts:
                    compression_opts = None
        if compression is not None:
            if compression not in encode:
                raise ValueError('Compression filter "%s" is unavailable' % compression)
            if compression == "gzip":
                if compression_opts is None:
                    compression_opts = _DEFAULT_GZIP
                elif not (isinstance(compression_opts, (int, np.integer)) and compression_opts in range(10)):
                    raise ValueError("GZIP setting must be an integer from 0-9, not %r" % (compression_opts,))
            elif compression == "lzf" and compression_opts is not None:
                raise ValueError("LZF compression filter accepts no options")
            elif compression == "szip":
                compression_opts = szip_options(compression_opts)
                _check_szip(dt)
    elif compression_opts is not None:
        raise TypeError("Compression method must be specified")
    if scaleoffset is not None:
        if scaleoffset < 0:
            raise ValueError("scale factor must be >= 0")
        if dt.kind == "f":
            if scaleoffset is True:
                raise ValueError("integer scaleoffset must be provided for floating point types")
        elif dt.kind in "ui":
            if scaleoffset is True:
                scaleoffset = 0
        else:
            raise TypeError("scale/offset filter only supported for integer and floating-point types")
        if fletcher32:
            raise ValueError("fletcher32 cannot be used with potentially lossy scale/offset filter")
    if track_times not in (True, False, None):
        raise TypeError("track_times must be either True or False")
    if fill_time is not None and fill_time not in ("alloc", "never", "ifset"):
        raise ValueError(f"fill_time must be one of 'alloc', 'never', 'ifset', not {fill_time!r}")

    if (chunks is True or chunks is None and any((shuffle, fletcher32, compression, unknown, maxshape,
                                                  scaleoffset is not None))) and not empty and shape_t != ():
        user_chunks: tuple[int, ...] | None = tuple(guess_chunks(shape_t, dt.itemsize, _maxshape_list(maxshape, shape_t)))
    elif isinstance(chunks, tuple):
        user_chunks = tuple(int(c) for c in chunks)
    else:
        user_chunks = None
    if compression == "szip" and user_chunks is not None and math.prod(user_chunks) < compression_opts[1]:
        raise ValueError("Unable to synchronously create dataset (pixels per block greater than total number of "
                         "elements in the chunk)")
    if maxshape is True:
        maxshape = (None,) * len(shape_t)
    ms = tuple(None if m is None else int(m) for m in maxshape) if maxshape is not None else None
    if ms is not None:
        for n, m in zip(shape_t, ms):
            if m is not None and m < n:
                raise ValueError("Unable to create dataset (maximum dimension size is smaller than current size)")
    storage = user_chunks if user_chunks is not None else (
        tuple(guess_chunks(shape_t, dt.itemsize)) if shape_t else ())
    storage = tuple(max(1, c) for c in storage)

    fill = None
    if fillvalue is not None:
        info = check_string_dtype(dt)
        if info is not None and dt.kind == "S":
            fill = np.array(fillvalue, dtype=string_dtype(info.encoding))[()]
            fill = np.asarray(fill.encode() if isinstance(fill, str) else fill, dtype=dt)[()]
        elif dt.kind == "O":
            fill = fillvalue
        elif dt.names is not None and not isinstance(fillvalue, (tuple, np.void, np.ndarray)):
            raise ValueError(f"Fill value {fillvalue!r} does not match compound type {dt}")
        else:
            try:
                fill = np.asarray(fillvalue, dtype=dt) if dt.subdtype is None else np.asarray(fillvalue)
            except (ValueError, TypeError) as e:
                raise TypeError(f"Fill value {fillvalue!r} cannot be converted to {dt}: {e}") from None
            fill = fill[()] if dt.subdtype is None else fill
    spec = ArraySpec(
        shape=shape_t,
        dtype=dt,
        chunks=user_chunks,
        storage_chunks=storage,
        maxshape=ms,
        fillvalue=fill,
        compression=compression,
        compression_opts=compression_opts,
        shuffle=bool(shuffle),
        fletcher32=bool(fletcher32),
        scaleoffset=scaleoffset,
        unknown_filters=tuple(unknown),
        empty=empty,
        fill_set=fillvalue is not None,
    )
    return spec, (None if isinstance(data, Empty) else data)


def _maxshape_list(maxshape: Any, shape: tuple[int, ...]) -> list[int | None] | None:
    if maxshape is None:
        return None
    if maxshape is True:
        return [None] * len(shape)
    return list(maxshape)

