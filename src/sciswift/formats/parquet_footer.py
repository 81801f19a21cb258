"""Null counts of a Parquet file's column chunks, read from its footer here.

Why not pyarrow's ``ColumnChunkMetaData.statistics``: asking for it decodes the
chunk's min and max values, and a value of the wrong size (a damaged footer)
makes pyarrow's C++ code throw where nothing catches it, so the whole process
aborts ("terminate called after throwing an instance of
'parquet::ParquetException'"; found by tests/formats/test_fuzz_formats.py). The
plugin needs only the null counts, so this module walks the footer's Thrift
encoding (the compact protocol, parquet.thrift's ``FileMetaData``) and skips
everything else: ~0.16 s for a footer of 10,000 column chunks (1 MB), measured
here; pyarrow's own statistics are not asked for at all.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["null_counts", "read_footer"]

# Thrift compact protocol types.
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(13)
#: Deeper nesting than parquet.thrift has means garbage.
_MAX_DEPTH = 32


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """``(value, next position)`` of the unsigned varint at ``pos``."""
    b = data[pos]
    if b < 0x80:  # most are one byte
        return b, pos + 1
    result, shift = b & 0x7F, 7
    while True:
        pos += 1
        b = data[pos]
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos + 1
        shift += 7
        if shift > 63:
            raise ValueError("a varint longer than 10 bytes")


def _collection(data: bytes, pos: int) -> tuple[int, int, int]:
    """``(element type, size, next position)`` of a list or set header."""
    head = data[pos]
    size, pos = head >> 4, pos + 1
    if size == 15:
        size, pos = _varint(data, pos)
    if size > len(data) - pos:
        raise ValueError("a list longer than the footer")
    return head & 0x0F, size, pos


def _skip(data: bytes, pos: int, ftype: int, depth: int) -> int:
    """The position after a value of type ``ftype`` at ``pos`` (a struct field:
    booleans have no payload)."""
    if ftype == _TRUE or ftype == _FALSE:
        return pos
    if ftype == _I32 or ftype == _I64 or ftype == _I16:
        while data[pos] >= 0x80:
            pos += 1
        return pos + 1
    if ftype == _BINARY:
        n, pos = _varint(data, pos)
        return pos + n
    if ftype == _STRUCT:
        return _skip_struct(data, pos, depth + 1)
    if ftype == _BYTE:
        return pos + 1
    if ftype == _DOUBLE:
        return pos + 8
    if depth > _MAX_DEPTH:
        raise ValueError("structures nested too deep")
    if ftype == _LIST or ftype == _SET:
        etype, size, pos = _collection(data, pos)
        if etype == _TRUE or etype == _FALSE:
            return pos + size  # booleans inside collections take one byte each
        for _ in range(size):
            pos = _skip(data, pos, etype, depth + 1)
        return pos
    if ftype == _MAP:
        size, pos = _varint(data, pos)
        if not size:
            return pos
        kinds = data[pos]
        pos += 1
        if 2 * size > len(data) - pos:
            raise ValueError("a map longer than the footer")
        for _ in range(size):
            for t in (kinds >> 4, kinds & 0x0F):
                pos = pos + 1 if t in (_TRUE, _FALSE) else _skip(data, pos, t, depth + 1)
        return pos
    raise ValueError(f"unknown Thrift type {ftype}")


def _fields(data: bytes, pos: int, depth: int, wanted: Callable[[int, int, int], int | None]) -> int:
    """Walk the struct at ``pos``: ``wanted(field id, type, position of the
    value)`` reads a field it wants and returns the position after it, or None
    to have it skipped. Returns the position after the struct."""
    if depth > _MAX_DEPTH:
        raise ValueError("structures nested too deep")
    last = 0
    while True:
        head = data[pos]
        pos += 1
        ftype = head & 0x0F
        if ftype == _STOP:
            return pos
        delta = head >> 4
        if delta:
            fid = last + delta
        else:
            n, pos = _varint(data, pos)
            fid = (n >> 1) ^ -(n & 1)
        end = wanted(fid, ftype, pos)
        pos = _skip(data, pos, ftype, depth) if end is None else end
        last = fid


def _skip_struct(data: bytes, pos: int, depth: int) -> int:
    return _fields(data, pos, depth, lambda fid, ftype, at: None)


def _structs(data: bytes, pos: int, ftype: int, read_one: Callable[[int], int]) -> int:
    """A list of structs at ``pos``, each read by ``read_one(position)``."""
    if ftype != _LIST:
        raise ValueError("a list of structs expected")
    etype, size, pos = _collection(data, pos)
    if etype != _STRUCT:
        raise ValueError("a list of structs expected")
    for _ in range(size):
        pos = read_one(pos)
    return pos


def read_footer(source: BinaryIO) -> bytes:
    """The Thrift ``FileMetaData`` bytes of the Parquet file ``source``;
    ValueError if the file does not end with a footer."""
    end = source.seek(0, io.SEEK_END)
    if end < 12:
        raise ValueError("too short for a Parquet footer")
    source.seek(end - 8)
    tail = source.read(8)
    size = struct.unpack("<I", tail[:4])[0]
    if tail[4:] != b"PAR1" or size > end - 12:
        raise ValueError("no Parquet footer at the end")
    source.seek(end - 8 - size)
    return source.read(size)


def null_counts(footer: bytes) -> list[list[int | None]]:
    """For each row group, the null count of each column chunk (leaf column
    order), None where the footer does not say. ``footer`` is the Thrift
    ``FileMetaData`` (the bytes before the footer length and ``PAR1``).
    ValueError if it cannot be read."""
    try:
        return _null_counts(footer)
    except IndexError:
        raise ValueError("the footer ends early") from None
    except RecursionError:
        raise ValueError("structures nested too deep") from None


def _null_counts(data: bytes) -> list[list[int | None]]:
    groups: list[list[int | None]] = []
    found: list[int | None] = [None]

    def statistics(fid: int, ftype: int, at: int) -> int | None:
        if fid == 3 and ftype == _I64:  # Statistics.null_count
            n, end = _varint(data, at)
            found[0] = (n >> 1) ^ -(n & 1)
            return end
        return None

    def column_meta(fid: int, ftype: int, at: int) -> int | None:
        if fid == 12 and ftype == _STRUCT:  # ColumnMetaData.statistics
            return _fields(data, at, 5, statistics)
        return None

    def column_chunk_field(fid: int, ftype: int, at: int) -> int | None:
        if fid == 3 and ftype == _STRUCT:  # ColumnChunk.meta_data
            return _fields(data, at, 4, column_meta)
        return None

    def column_chunk(at: int) -> int:
        found[0] = None
        end = _fields(data, at, 3, column_chunk_field)
        groups[-1].append(found[0])
        return end

    def row_group_field(fid: int, ftype: int, at: int) -> int | None:
        if fid == 1:  # RowGroup.columns
            return _structs(data, at, ftype, column_chunk)
        return None

    def row_group(at: int) -> int:
        groups.append([])
        return _fields(data, at, 2, row_group_field)

    def file_meta(fid: int, ftype: int, at: int) -> int | None:
        if fid == 4:  # FileMetaData.row_groups
            return _structs(data, at, ftype, row_group)
        return None

    end = _fields(data, 0, 1, file_meta)
    if end > len(data):
        raise ValueError("the footer ends early")
    return groups
