"""NumPy ``.npy`` and ``.npz`` files.

Mapping:

- ``.npy``: a root group holding one dataset called ``data``.
- ``.npz``: a root group with one dataset per ``NAME.npy`` member, called ``NAME``
  (members in zip folders, ``a/b.npy``, become nested groups ``a`` -> ``b``).

The header is parsed with ``numpy.lib.format``; the array bytes are then read by byte
ranges from the header's end, so a slice of a C-order ``.npy`` fetches just the rows
(or row pieces) it selects. ``.npz`` members that are stored uncompressed (what
``np.savez`` writes) are read the same way from their offset in the zip; deflated
members (``np.savez_compressed``) are decompressed whole on first access.

Object arrays need pickle to load; sciswift never unpickles stored bytes, so they
raise NotSupported (as ``np.load(allow_pickle=False)`` refuses them too).

Writing: ``.npy`` takes a root with exactly one dataset; ``.npz`` takes any tree of
groups and datasets (stored members). Attributes, links and vlen data cannot be
held by either and raise NotSupported.
"""

from __future__ import annotations

import io
import math
import struct
import tokenize
import zipfile
import zlib
from typing import Any, BinaryIO, cast

import numpy as np
from numpy.lib import format as npformat

from sciswift.errors import CorruptData, NotSupported
from sciswift.formats.base import ArrayNode, FormatPlugin, GroupNode, LinkNode, MemoryArray, MemoryGroup, Node
from sciswift.formats.layout import ranged_array_reader
from sciswift.formats.nodes import LazyArray, LazyGroup, as_corrupt, read_all
from sciswift.formats.ranged import RangedFile

__all__ = ["NpyPlugin", "NpzPlugin", "read_npy_header"]

#: What numpy.lib.format raises for a header it cannot read: ValueError (bad
#: magic, a header that is not a dict literal, a descr that is no dtype), with
#: TypeError and OverflowError for shapes that are no shapes; RecursionError for
#: a literal nested absurdly deep; tokenize.TokenError from the tokenizer numpy
#: runs over old (Python 2) headers, for one cut off mid-literal; SyntaxError from
#: its literal parser where numpy lets it through.
NPY_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, OverflowError, RecursionError,
                                               tokenize.TokenError, SyntaxError)
#: What zipfile raises for a damaged zip: BadZipFile, zlib.error and EOFError
#: (members that do not inflate), NotImplementedError (an unknown version or
#: method), struct.error (headers cut short), OSError, ValueError.
ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, struct.error, OSError, ValueError)

NPY_MAGIC = b"\x93NUMPY"
ZIP_LOCAL_HEADER = b"PK\x03\x04"
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")  # zip local file header, 30 bytes


def read_npy_header(fp: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype[Any], int]:
    """``(shape, fortran_order, dtype, data_offset)`` of the .npy starting at ``fp``'s
    position; ``data_offset`` is absolute."""
    version = npformat.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = npformat.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran, dtype = npformat.read_array_header_2_0(fp)
    else:
        # Version 3.0 (UTF-8 field names) has no public reader; use numpy's own
        # (private: numpy.lib._format_impl since numpy 2, numpy.lib.format before).
        try:
            from numpy.lib._format_impl import _read_array_header  # type: ignore[attr-defined]
        except ImportError:  # numpy < 2
            _read_array_header = npformat._read_array_header  # type: ignore[attr-defined]
        shape, fortran, dtype = _read_array_header(fp, version)
    return tuple(shape), bool(fortran), np.dtype(dtype), fp.tell()


class NpyPlugin(FormatPlugin):
    """NumPy's ``.npy``: one array."""

    name = "npy"
    label = "NumPy .npy"
    library = "numpy"
    extensions = (".npy",)
    extra = "all"
    requires = ("numpy",)
    can_write = True

    def matches_magic(self, head: bytes) -> bool:
        return head.startswith(NPY_MAGIC)

    def open(self, source: BinaryIO, name: str) -> GroupNode:
        return MemoryGroup({"data": _npy_member(_as_ranged(source, name), 0, name, self.label)})

    def write(self, root: GroupNode, sink: BinaryIO, name: str) -> None:
        members = root.keys()
        if len(members) != 1 or not isinstance(root[members[0]], ArrayNode):
            raise NotSupported(
                f"cannot write {name} as .npy: a .npy file holds exactly one dataset, "
                f"the tree has {len(members)} members; write .npz instead",
                name,
            )
        _refuse_attrs(root, "/", name, ".npy")
        node = root[members[0]]
        assert isinstance(node, ArrayNode)
        _refuse_attrs(node, f"/{members[0]}", name, ".npy")
        npformat.write_array(sink, _plain_array(node, f"/{members[0]}", name, ".npy"), allow_pickle=False)


class NpzPlugin(FormatPlugin):
    """NumPy's ``.npz``: a zip of ``.npy`` members."""

    name = "npz"
    label = "NumPy .npz"
    library = "numpy"
    extensions = (".npz",)
    extra = "all"
    requires = ("numpy",)
    can_write = True

    def matches_magic(self, head: bytes) -> bool:
        # A zip whose first member is a .npy: the local header names it at byte 30.
        if not head.startswith(ZIP_LOCAL_HEADER) or len(head) < _LOCAL_HEADER.size:
            return False
        name_len = _LOCAL_HEADER.unpack_from(head)[9]
        return head[30 : 30 + name_len].endswith(b".npy")

    def open(self, source: BinaryIO, name: str) -> GroupNode:
        ranged = _as_ranged(source, name)
        with as_corrupt(name, self.label, "open", errors=ZIP_ERRORS):
            zf = zipfile.ZipFile(ranged)
            infos = zf.infolist()
        root = LazyGroup()
        groups: dict[str, LazyGroup] = {"": root}
        for info in infos:
            if not info.filename.endswith(".npy") or info.is_dir():
                continue
            path = info.filename[: -len(".npy")]
            parent_path, _, leaf = path.rpartition("/")
            parent = _ensure_group(groups, parent_path)
            parent.add(leaf, _member_factory(zf, ranged, info, name, self.label))
        return _ZipRoot(root, zf)

    def write(self, root: GroupNode, sink: BinaryIO, name: str) -> None:
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            self._write_group(zf, root, "", name)

    def _write_group(self, zf: zipfile.ZipFile, group: GroupNode, prefix: str, name: str) -> None:
        _refuse_attrs(group, prefix or "/", name, ".npz")
        for key in group.keys():
            node = group[key]
            path = f"{prefix}{key}"
            if isinstance(node, GroupNode):
                self._write_group(zf, node, path + "/", name)
            elif isinstance(node, ArrayNode):
                _refuse_attrs(node, path, name, ".npz")
                arr = _plain_array(node, path, name, ".npz")
                with zf.open(path + ".npy", "w", force_zip64=True) as member:
                    npformat.write_array(member, arr, allow_pickle=False)
            else:
                raise NotSupported(f"cannot write {name} as .npz: {path} is a link, which .npz cannot hold", name)


class _ZipRoot(GroupNode):
    """The .npz root: its members, plus the ZipFile to close."""

    def __init__(self, inner: LazyGroup, zf: zipfile.ZipFile) -> None:
        self._inner = inner
        self._zf = zf

    @property
    def attrs(self) -> dict[str, Any]:
        return {}

    def keys(self) -> list[str]:
        return self._inner.keys()

    def __getitem__(self, name: str) -> Node:
        return self._inner[name]

    def close(self) -> None:
        self._zf.close()


def _ensure_group(groups: dict[str, LazyGroup], path: str) -> LazyGroup:
    if path in groups:
        return groups[path]
    parent_path, _, leaf = path.rpartition("/")
    parent = _ensure_group(groups, parent_path)
    group = groups[path] = LazyGroup()
    parent.add(leaf, lambda: group)
    return group


def _member_factory(zf: zipfile.ZipFile, source: RangedFile, info: zipfile.ZipInfo, name: str, label: str) -> Any:
    display = f"{name}:{info.filename}"

    def make() -> Node:
        if info.compress_type == zipfile.ZIP_STORED:
            with as_corrupt(display, label, errors=ZIP_ERRORS):
                if not 0 <= info.header_offset <= source.size - _LOCAL_HEADER.size:
                    raise ValueError(f"its local header offset {info.header_offset} is outside the object")
                fields = _LOCAL_HEADER.unpack(source.pread(info.header_offset, _LOCAL_HEADER.size))
                if fields[0] != ZIP_LOCAL_HEADER:
                    raise ValueError(f"no zip local header at offset {info.header_offset}")
                start = info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
            return _npy_member(source, start, display, label)
        # Deflated (np.savez_compressed): no random access into the stream.
        with as_corrupt(display, label, errors=ZIP_ERRORS + NPY_ERRORS), zf.open(info) as fp:
            stream = io.BufferedReader(fp)  # type: ignore[type-var]
            shape, fortran, dtype, offset = read_npy_header(cast(BinaryIO, stream))
            _refuse_objects(dtype, display)
            nbytes = math.prod(shape) * dtype.itemsize
            if offset + nbytes != info.file_size:
                raise ValueError(f"the header announces {nbytes} data bytes, the member holds {info.file_size - offset}")
            raw = stream.read(nbytes)
            if len(raw) != nbytes:
                raise ValueError(f"the member ends after {len(raw)} of {nbytes} data bytes")
        data = np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C")
        return MemoryArray(data.copy(order="C"))

    return make


def _npy_member(source: RangedFile, start: int, name: str, label: str) -> ArrayNode:
    with as_corrupt(name, label, "open", errors=NPY_ERRORS):
        source.seek(start)
        shape, fortran, dtype, data_offset = read_npy_header(cast(BinaryIO, source))
    _refuse_objects(dtype, name)
    if any(n < 0 for n in shape):
        raise CorruptData(f"cannot open {name} as {label}: the header announces shape {shape}", name)
    nbytes = math.prod(shape) * dtype.itemsize
    if data_offset + nbytes > source.size:
        raise CorruptData(
            f"cannot open {name} as {label}: the header announces {nbytes} data bytes at offset "
            f"{data_offset}, but the object has {source.size} bytes (truncated?)",
            name,
        )
    return LazyArray(shape, dtype, ranged_array_reader(source, data_offset, shape, dtype, fortran))


def _refuse_objects(dtype: np.dtype[Any], name: str) -> None:
    if dtype.hasobject:
        raise NotSupported(
            f"cannot open {name}: it holds Python objects, which need pickle to load; "
            "sciswift never unpickles stored data",
            name,
        )


def _as_ranged(source: BinaryIO, name: str) -> RangedFile:
    return source if isinstance(source, RangedFile) else RangedFile.from_fileobj(source, name)


def _refuse_attrs(node: Node, path: str, name: str, fmt: str) -> None:
    if node.attrs:
        raise NotSupported(
            f"cannot write {name} as {fmt}: {path} has attributes ({', '.join(list(node.attrs)[:5])}), "
            f"which {fmt} files cannot hold",
            name,
        )


def _plain_array(node: ArrayNode, path: str, name: str, fmt: str) -> np.ndarray[Any, Any]:
    if isinstance(node, LinkNode) or node.dtype.hasobject:
        raise NotSupported(
            f"cannot write {name} as {fmt}: {path} has variable-length data ({node.dtype}), which "
            f"{fmt} can only hold pickled; sciswift writes no pickles",
            name,
        )
    return read_all(node)
