"""The Zarr v3 codec pipeline, on numpy and numcodecs.

A pipeline turns one chunk (a numpy array of the chunk shape) into the bytes of its
object and back: array->array codecs (``transpose``, numcodecs' array filters),
one array->bytes codec (``bytes``, ``vlen-utf8``, ``vlen-bytes``;
``sharding_indexed`` is handled by ``sciswift.engine.sharding``), then
bytes->bytes codecs (``gzip``, ``zstd``, ``blosc``, ``crc32c`` and numcodecs'
``numcodecs.*`` codecs as zarr-python names them).

``build_codecs`` maps h5py's filter arguments (compression, compression_opts,
shuffle, fletcher32, scaleoffset) onto codecs of the Zarr v3 core specification
wherever one expresses the filter (``gzip``, ``zstd``, ``blosc``, ``crc32c``), so
every Zarr v3 reader (zarr-python, TensorStore, zarrs) reads the data; where none
does (shuffle before gzip/zstd, lzf, lz4, float scale-offset) it uses numcodecs'
codecs as zarr-python names them, unless the *portable* codec style is chosen
(``SCISWIFT_CODECS=portable`` or ``portable=True``): then only core codecs are
written, with the nearest equivalent (blosc with its byte shuffle for
shuffle+compression, blosc-lz4 for lzf/lz4, the values unquantized for float
scale-offset). docs/layout.md has the table.

Our ``gzip`` chunks are ordinary gzip members that also carry the zlib framing of
the same deflate stream (``sciswift.engine.deflate``), so an HDF5 deflate chunk and
a ``gzip`` chunk convert into each other without recompressing.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import struct
from collections.abc import Iterator, Sequence
from typing import Any

import crc32c as _crc32c
import numcodecs
import numpy as np

from sciswift.engine.deflate import GzipCodec
from sciswift.engine.dtypes import DtypeInfo
from sciswift.engine.vlen import decode_vlen, encode_vlen
from sciswift.errors import CorruptData, InvalidInput, NotSupported

__all__ = ["Pipeline", "build_codecs", "shard_codecs", "FilterSpec", "COMPRESSORS", "CODEC_STYLE_ENV",
           "portable_codecs", "codec_style"]

#: Environment variable choosing the codec style of new datasets: ``default``
#: (core codecs where they express the filter, numcodecs' otherwise) or ``portable``
#: (core codecs only).
CODEC_STYLE_ENV = "SCISWIFT_CODECS"


_STYLE: contextvars.ContextVar[bool | None] = contextvars.ContextVar("sciswift_codec_style", default=None)


@contextlib.contextmanager
def codec_style(portable: bool | None) -> Iterator[None]:
    """Within the block, new datasets get the portable codec style (True), the
    default one (False) or what ``SCISWIFT_CODECS`` says (None)."""
    token = _STYLE.set(portable)
    try:
        yield
    finally:
        _STYLE.reset(token)


def portable_codecs() -> bool:
    """Whether new datasets get the portable codec style: ``codec_style`` if one
    is in force, else ``SCISWIFT_CODECS``.

    ValueError names the variable when it holds anything but ``default`` or
    ``portable``."""
    chosen = _STYLE.get()
    if chosen is not None:
        return chosen
    value = os.environ.get(CODEC_STYLE_ENV, "").strip().lower()
    if value in ("", "default"):
        return False
    if value == "portable":
        return True
    raise ValueError(f"{CODEC_STYLE_ENV}={value!r}: use 'default' or 'portable'")

_U32 = struct.Struct("<I")


class _Crc32c:
    """Zarr v3 ``crc32c``: a 4-byte little-endian CRC-32C appended to the bytes."""

    def encode(self, buf: bytes) -> bytes:
        return buf + _U32.pack(_crc32c.crc32c(buf))

    def decode(self, buf: bytes) -> bytes:
        if len(buf) < 4:
            raise CorruptData("chunk too short for its crc32c checksum")
        body = memoryview(buf)[:-4]
        if _crc32c.crc32c(body) != _U32.unpack_from(buf, len(buf) - 4)[0]:
            raise CorruptData("crc32c checksum mismatch")
        return bytes(body)


_BLOSC_SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}


def _bytes_codec(spec: dict[str, Any]) -> Any:
    """A numcodecs codec object for one bytes->bytes codec JSON."""
    name = spec["name"]
    conf = dict(spec.get("configuration") or {})
    if name == "gzip":
        return GzipCodec(level=conf.get("level", 5))
    if name == "zstd":
        return numcodecs.Zstd(level=conf.get("level", 0), checksum=conf.get("checksum", False))
    if name == "blosc":
        shuffle = conf.get("shuffle", "noshuffle")
        return numcodecs.Blosc(
            cname=conf.get("cname", "zstd"),
            clevel=conf.get("clevel", 5),
            shuffle=_BLOSC_SHUFFLE.get(shuffle, shuffle) if isinstance(shuffle, str) else shuffle,
            blocksize=conf.get("blocksize", 0),
        )
    if name == "crc32c":
        return _Crc32c()
    if name.startswith("numcodecs."):
        return numcodecs.get_codec({"id": name[len("numcodecs."):], **conf})
    raise NotSupported(f"codec {name!r} is not supported")


_ARRAY_TO_BYTES = ("bytes", "vlen-utf8", "vlen-bytes", "sharding_indexed")
_NUMCODECS_ARRAY = ("numcodecs.fixedscaleoffset", "numcodecs.delta", "numcodecs.quantize",
                    "numcodecs.bitround", "numcodecs.astype", "numcodecs.packbits")


class Pipeline:
    """Encode and decode chunks of one array (``codecs`` is the Zarr JSON list)."""

    def __init__(self, codecs: Sequence[dict[str, Any]], info: DtypeInfo, fill: Any = None) -> None:
        self.info = info
        self.fill = fill
        self.shard: Any = None
        self.json = list(codecs)
        array_array: list[tuple[str, Any]] = []
        self.array_bytes: dict[str, Any] | None = None
        bytes_bytes: list[Any] = []
        for spec in codecs:
            name = spec["name"]
            if name in _ARRAY_TO_BYTES:
                if self.array_bytes is not None:
                    raise InvalidInput("more than one array-to-bytes codec")
                self.array_bytes = spec
            elif self.array_bytes is None:
                if name == "transpose":
                    array_array.append(("transpose", tuple(spec["configuration"]["order"])))
                elif name in _NUMCODECS_ARRAY:
                    conf = dict(spec.get("configuration") or {})
                    array_array.append(("numcodecs", numcodecs.get_codec({"id": name[10:], **conf})))
                else:
                    raise NotSupported(f"array-to-array codec {name!r} is not supported")
            else:
                bytes_bytes.append(_bytes_codec(spec))
        if self.array_bytes is None:
            raise InvalidInput("codec list has no array-to-bytes codec")
        # Tuples: most pipelines have neither kind, and the empty tuple is shared
        # (a file may list thousands of arrays, each with its pipeline).
        self.array_array: tuple[tuple[str, Any], ...] = tuple(array_array)
        self.bytes_bytes: tuple[Any, ...] = tuple(bytes_bytes)
        self.sharded = self.array_bytes["name"] == "sharding_indexed"
        if self.sharded and (self.array_array or self.bytes_bytes):
            raise NotSupported("codecs around sharding_indexed are not supported")
        conf = self.array_bytes.get("configuration") or {}
        self._big = conf.get("endian") == "big"
        dt = info.dtype
        # Bytes on disk are in the codec's byte order; in memory we keep the dtype's.
        if dt.itemsize > 1 and dt.kind in "biufcmM" and dt.fields is None and not dt.subdtype:
            self.stored_dtype = dt.newbyteorder(">" if self._big else "<")
        else:
            self.stored_dtype = dt
        # The fast path: a plain `bytes` codec, no filters, nothing to do but view.
        self.trivial = not self.array_array and not self.bytes_bytes and self.array_bytes["name"] == "bytes"

    # ------------------------------------------------------------------ encode
    def bind_shard(self, shard_shape: tuple[int, ...], is_fill: Any) -> None:
        """Sharded arrays: set up the shard codec for chunks (shards) of ``shard_shape``;
        ``is_fill(inner_chunk)`` decides which inner chunks are left out."""
        from sciswift.engine.sharding import ShardCodec

        self.shard = ShardCodec(self.array_bytes["configuration"], self.info, shard_shape, self.fill)  # type: ignore[index]
        self._is_fill = is_fill

    def encode(self, chunk: np.ndarray[Any, Any]) -> bytes:
        """The stored bytes of one chunk (C order, the chunk's full shape)."""
        if self.shard is not None:
            return self.shard.encode(chunk, self._is_fill)
        arr = chunk
        for kind, op in self.array_array:
            arr = np.transpose(arr, op) if kind == "transpose" else _apply_numcodecs(op, arr)
        name = self.array_bytes["name"]  # type: ignore[index]
        if name == "bytes":
            flat = np.ascontiguousarray(arr, dtype=self.stored_dtype if arr.dtype == self.info.dtype else None)
            if not self.bytes_bytes:
                # No copy: a byte view of the (contiguous) chunk, written out at once.
                return memoryview(flat.reshape(-1).view(np.uint8))  # type: ignore[return-value,arg-type]
            data: bytes = flat.tobytes()
        else:
            data = encode_vlen(np.asarray(arr), self.info.storage, self.info.dtype)
        for codec in self.bytes_bytes:
            data = codec.encode(data)
            if not isinstance(data, bytes):
                data = bytes(data)
        return data

    # ------------------------------------------------------------------ decode
    def decode(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
        """The chunk array (of ``shape``, the array's dtype) stored as ``data``.

        Raises CorruptData when the bytes cannot be decoded or have the wrong size.
        """
        if self.shard is not None:
            return self.shard.decode(data, shape)
        try:
            for codec in reversed(self.bytes_bytes):
                data = codec.decode(data)
        except CorruptData:
            raise
        except Exception as e:
            raise CorruptData(f"cannot decompress: {e}") from e
        # Array-array codecs run on the shape they produced (transpose permutes it).
        inner_shape = shape
        for kind, op in self.array_array:
            if kind == "transpose":
                inner_shape = tuple(inner_shape[i] for i in op)
        name = self.array_bytes["name"]  # type: ignore[index]
        if name == "bytes":
            dt = self._decoded_dtype()
            expected = int(np.prod(inner_shape)) * dt.itemsize
            if len(data) != expected:
                raise CorruptData(f"chunk holds {len(data)} bytes, expected {expected}")
            arr = np.frombuffer(data, dtype=dt).reshape(inner_shape)
        else:
            arr = decode_vlen(bytes(data), self.info.storage, self.info.dtype, inner_shape)
        for kind, op in reversed(self.array_array):
            if kind == "transpose":
                arr = np.transpose(arr, np.argsort(op))
            else:
                arr = np.asarray(op.decode(np.ascontiguousarray(arr))).reshape(arr.shape)
        return arr

    def _decoded_dtype(self) -> np.dtype[Any]:
        # Numcodecs array filters (scale-offset) store another dtype than the array's.
        for kind, op in reversed(self.array_array):
            if kind == "numcodecs" and getattr(op, "astype", None) is not None:
                return np.dtype(op.astype)
        return self.stored_dtype


def _apply_numcodecs(codec: Any, arr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out = np.asarray(codec.encode(np.ascontiguousarray(arr)))
    return out.reshape(arr.shape)


# ------------------------------------------------------------------ h5py filters

COMPRESSORS = ("gzip", "lzf", "zstd", "lz4", "blosc", "szip")
"""Compression names accepted by ``create_dataset(compression=...)``."""


class FilterSpec(dict):
    """h5py-level description of a dataset's filters, kept in the reserved key so
    ``Dataset.compression`` etc. report what the user asked for."""


def build_codecs(
    info: DtypeInfo,
    *,
    compression: str | int | None = None,
    compression_opts: Any = None,
    shuffle: bool = False,
    fletcher32: bool = False,
    scaleoffset: int | bool | None = None,
    portable: bool | None = None,
) -> tuple[list[dict[str, Any]], FilterSpec]:
    """Zarr codecs for h5py's filter arguments, and the FilterSpec to remember.

    The FilterSpec always keeps what was asked for (``lzf``, ``shuffle`` ...), so the
    dataset reports it and HDF5 export writes the real filter. The codecs
    (``portable``: None reads ``SCISWIFT_CODECS``):

    ===================  ====================================  ==============================
    h5py filter          default                               portable
    ===================  ====================================  ==============================
    gzip / zstd          ``gzip`` / ``zstd``                   same
    shuffle + gzip/zstd  ``numcodecs.shuffle`` + gzip/zstd     ``blosc`` (zlib/zstd, shuffle)
    shuffle alone        ``numcodecs.shuffle``                 nothing (it compresses nothing)
    lzf, lz4             ``numcodecs.lz4``                     ``blosc`` (lz4)
    szip                 ``zstd`` (lossless, as szip is)       same
    blosc                ``blosc`` (its own shuffle)           same
    fletcher32           ``crc32c``                            same
    float scale-offset   ``numcodecs.fixedscaleoffset``        nothing: values kept exactly
    ===================  ====================================  ==============================
    """
    if portable is None:
        portable = portable_codecs()
    dt = info.dtype
    filters = FilterSpec()
    array_array: list[dict[str, Any]] = []
    bytes_bytes: list[dict[str, Any]] = []
    typesize = max(1, dt.itemsize)

    if scaleoffset is not None and scaleoffset is not False:
        if info.storage != "fixed" or dt.kind not in "iuf" or dt.fields is not None:
            raise TypeError(f"scale-offset filter does not apply to dtype {dt}")
        if dt.kind == "f":
            if scaleoffset is True:
                raise ValueError("float scale-offset needs an explicit number of decimal digits")
            digits = int(scaleoffset)
            scale = 10**digits
            if not portable:
                array_array.append({
                    "name": "numcodecs.fixedscaleoffset",
                    "configuration": {"offset": 0, "scale": scale, "dtype": dt.str, "astype": "<i8"},
                })
        filters["scaleoffset"] = int(scaleoffset) if scaleoffset is not True else 0

    byte_shuffle = bool(shuffle) and info.storage == "fixed" and dt.itemsize > 1
    if shuffle:
        filters["shuffle"] = True

    comp, opts = (None, None)
    if compression is not None:
        comp, opts = _normalise_compression(compression, compression_opts)
        filters["compression"] = comp
        filters["compression_opts"] = opts

    if portable and ((comp in ("gzip", "zstd", "szip") and byte_shuffle) or comp in ("lzf", "lz4")):
        # Blosc is the one core codec that shuffles, and it wraps zlib, zstd and lz4.
        cname = {"gzip": "zlib", "zstd": "zstd", "szip": "zstd", "lzf": "lz4", "lz4": "lz4"}[comp]
        clevel = 5 if comp in ("lzf", "lz4") else 3 if comp == "szip" else max(0, min(9, int(opts or 0)))
        bytes_bytes.append({"name": "blosc", "configuration": {
            "cname": cname, "clevel": clevel, "shuffle": "shuffle" if byte_shuffle else "noshuffle",
            "typesize": typesize, "blocksize": 0}})
    else:
        if byte_shuffle and not (portable and comp is None):
            bytes_bytes.append({"name": "numcodecs.shuffle", "configuration": {"elementsize": dt.itemsize}})
        if comp == "gzip":
            bytes_bytes.append({"name": "gzip", "configuration": {"level": opts}})
        elif comp == "lzf":
            bytes_bytes.append({"name": "numcodecs.lz4", "configuration": {"acceleration": 1}})
        elif comp == "zstd":
            bytes_bytes.append({"name": "zstd", "configuration": {"level": opts, "checksum": False}})
        elif comp == "szip":
            # No Zarr codec implements szip (libaec); it is lossless, so zstd keeps
            # the same values, and HDF5 export writes a real szip filter again.
            bytes_bytes.append({"name": "zstd", "configuration": {"level": 3, "checksum": False}})
        elif comp == "lz4":
            bytes_bytes.append({"name": "numcodecs.lz4", "configuration": {"acceleration": opts or 1}})
        elif comp == "blosc":
            conf = {"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": typesize, "blocksize": 0}
            if isinstance(opts, dict):
                conf.update(opts)
            bytes_bytes.append({"name": "blosc", "configuration": conf})

    if fletcher32:
        # Zarr's checksum codec; HDF5 export writes a real fletcher32 again.
        bytes_bytes.append({"name": "crc32c"})
        filters["fletcher32"] = True

    return [*array_array, info.array_codec, *bytes_bytes], filters


def _normalise_compression(compression: str | int, opts: Any) -> tuple[str, Any]:
    # Numeric HDF5 filter ids users pass to h5py (1 = deflate, 32000 = lzf, ...).
    by_id = {1: "gzip", 32000: "lzf", 32015: "zstd", 32004: "lz4", 32001: "blosc", 4: "szip"}
    if isinstance(compression, (int, np.integer)) and not isinstance(compression, bool):
        if int(compression) in range(0, 10) and opts is None:
            return "gzip", int(compression)
        name = by_id.get(int(compression))
        if name is None:
            raise ValueError(f'Unknown compression filter number: {compression}')
        compression = name
    if not isinstance(compression, str):
        raise TypeError(f"compression must be a string or filter number, not {type(compression).__name__}")
    comp = compression.lower()
    if comp not in COMPRESSORS:
        raise ValueError(f'Compression filter "{compression}" is unavailable')
    if comp == "szip":
        return comp, szip_options(opts)
    if comp == "gzip":
        level = 4 if opts is None else opts
        if not isinstance(level, (int, np.integer)) or not 0 <= int(level) <= 9:
            raise ValueError("GZIP setting must be an integer from 0-9, not %r" % (level,))
        return comp, int(level)
    if comp == "lzf":
        if opts is not None:
            raise ValueError("LZF compression filter accepts no options")
        return comp, None
    if comp == "zstd":
        level = 3 if opts is None else opts
        return comp, int(level)
    return comp, opts


_SZIP_ERROR = "SZIP options must be a 2-tuple ('ec'|'nn', even integer 0-32)"


def szip_options(opts: Any) -> tuple[str, int]:
    """h5py's check of szip's ``compression_opts``: ``(method, pixels_per_block)``
    with method ``'ec'`` (entropy coding) or ``'nn'`` (nearest neighbour) and an
    even block of 2-32 pixels; default ``('nn', 8)``."""
    if opts is None:
        return "nn", 8
    try:
        method, pixels = opts
    except TypeError:
        raise TypeError(_SZIP_ERROR) from None
    if method not in ("ec", "nn") or not isinstance(pixels, (int, np.integer)) or not (
            0 < int(pixels) <= 32 and int(pixels) % 2 == 0):
        raise ValueError(_SZIP_ERROR)
    return str(method), int(pixels)


def shard_codecs(inner_codecs: list[dict[str, Any]], inner_chunks: Sequence[int]) -> list[dict[str, Any]]:
    """Codecs that pack chunks of ``inner_chunks`` (encoded with ``inner_codecs``)
    into shard objects; the array's chunk grid then gives the shard shape."""
    return [
        {
            "name": "sharding_indexed",
            "configuration": {
                "chunk_shape": [int(c) for c in inner_chunks],
                "codecs": inner_codecs,
                "index_codecs": [
                    {"name": "bytes", "configuration": {"endian": "little"}},
                    {"name": "crc32c"},
                ],
                "index_location": "end",
            },
        }
    ]
