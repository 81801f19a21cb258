"""HDF5 datatypes for numpy dtypes (with h5py's metadata marks), as h5py maps them.

Each ``HType`` knows its size in the file, writes its datatype message (the
oldest version that can say it: 1, or 2 for array types and compounds holding
them) and, when elements of the type have the same bytes in numpy and in the
file, the numpy dtype of those bytes (``native``). Types holding
variable-length data or references have no native dtype: their elements are
written by ``sciswift.h5view.values``.

The mapping is h5py's, so h5py reads back the dtype that was written: bool is an
int8 enum ``FALSE``/``TRUE``, complex a compound of ``r`` and ``i``, ``datetime64``
an opaque type tagged ``NUMPY:<dtype>``, fixed-length strings are null-padded
(ASCII unless marked UTF-8), ``string_dtype()`` a variable-length UTF-8 string,
``string_dtype('ascii')`` a variable-length ASCII one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sciswift.h5view.buffer import Buf
from sciswift.h5view.errors import NotExpressible

__all__ = [
    "HType",
    "FixedPoint",
    "FloatingPoint",
    "FixedString",
    "Opaque",
    "Compound",
    "Reference",
    "RegionReference",
    "Enum",
    "VlenString",
    "VlenSequence",
    "ArrayType",
    "htype_of",
    "has_vlen",
    "STR_NULLTERM",
    "STR_NULLPAD",
    "CSET_ASCII",
    "CSET_UTF8",
]

STR_NULLTERM = 0
STR_NULLPAD = 1
CSET_ASCII = 0
CSET_UTF8 = 1

# Class codes of the datatype message.
_FIXED, _FLOAT, _STRING, _OPAQUE, _COMPOUND, _REFERENCE, _ENUM, _VLEN, _ARRAY = 0, 1, 3, 5, 6, 7, 8, 9, 10

#: Size of a variable-length element in the file: length (4), global heap
#: collection address (8), object index (4).
VLEN_SIZE = 16


class HType:
    """One HDF5 datatype."""

    size: int

    @property
    def version(self) -> int:
        return 1

    @property
    def native(self) -> np.dtype[Any] | None:
        """The numpy dtype whose bytes equal the file's, None if there is none."""
        return None

    def message(self) -> Buf:
        """The datatype message (class, version, bit fields, size, properties)."""
        buf = Buf()
        self._write(buf)
        return buf

    def _header(self, buf: Buf, cls: int, bits: int) -> None:
        buf.u8((self.version << 4) | cls).u8(bits & 0xFF).u8((bits >> 8) & 0xFF).u8((bits >> 16) & 0xFF)
        buf.u32(self.size)

    def _write(self, buf: Buf) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class FixedPoint(HType):
    size: int
    signed: bool
    big: bool = False

    @property
    def native(self) -> np.dtype[Any]:
        return np.dtype(f"{'>' if self.big else '<'}{'i' if self.signed else 'u'}{self.size}")

    def _write(self, buf: Buf) -> None:
        self._header(buf, _FIXED, (1 if self.big else 0) | (8 if self.signed else 0))
        buf.u16(0).u16(8 * self.size)


# IEEE layouts: (precision, sign bit, exponent location, exponent size,
# mantissa location, mantissa size, bias, mantissa normalization).
_FLOATS = {
    2: (16, 15, 10, 5, 0, 10, 15, 2),
    4: (32, 31, 23, 8, 0, 23, 127, 2),
    8: (64, 63, 52, 11, 0, 52, 1023, 2),
}
# x86 extended precision as numpy's longdouble holds it (80 bits in 12 or 16
# bytes, explicit leading mantissa bit), as HDF5 describes its native long double.
_X87 = (80, 79, 64, 15, 0, 64, 16383, 0)


@dataclass(frozen=True)
class FloatingPoint(HType):
    size: int
    big: bool = False

    @property
    def native(self) -> np.dtype[Any]:
        if self.size in _FLOATS:
            return np.dtype(f"{'>' if self.big else '<'}f{self.size}")
        return np.dtype(np.longdouble).newbyteorder(">" if self.big else "<")

    def canonical(self, data: bytes) -> bytes:
        """``data`` (elements of this type) with the padding bytes of x87 long
        doubles zeroed: numpy leaves them undefined, so a zero fill value would
        not look like one."""
        if self.size in _FLOATS or not data:
            return data
        arr = np.frombuffer(data, dtype=np.uint8).reshape(-1, self.size).copy()
        if self.big:
            arr[:, :self.size - 10] = 0
        else:
            arr[:, 10:] = 0
        return arr.tobytes()

    def _write(self, buf: Buf) -> None:
        prec, sign, eloc, esize, mloc, msize, bias, norm = _FLOATS.get(self.size, _X87)
        self._header(buf, _FLOAT, (1 if self.big else 0) | (norm << 4) | (sign << 8))
        buf.u16(0).u16(prec).u8(eloc).u8(esize).u8(mloc).u8(msize).u32(bias)


@dataclass(frozen=True)
class FixedString(HType):
    size: int
    pad: int = STR_NULLPAD
    cset: int = CSET_ASCII

    @property
    def native(self) -> np.dtype[Any]:
        return np.dtype(f"S{self.size}")

    def _write(self, buf: Buf) -> None:
        self._header(buf, _STRING, self.pad | (self.cset << 4))


@dataclass(frozen=True)
class Opaque(HType):
    size: int
    tag: bytes = b""

    @property
    def native(self) -> np.dtype[Any]:
        return np.dtype(f"V{self.size}")

    def _write(self, buf: Buf) -> None:
        aligned = (len(self.tag) + 7) & ~7
        self._header(buf, _OPAQUE, aligned)
        buf.raw(self.tag).zeros(aligned - len(self.tag))


@dataclass(frozen=True)
class Reference(HType):
    """An object reference: the 8-byte address of the object's header."""

    size: int = 8

    def _write(self, buf: Buf) -> None:
        self._header(buf, _REFERENCE, 0)


@dataclass(frozen=True)
class RegionReference(HType):
    """A dataset region reference: the address (8) and index (4) of a global
    heap object holding the dataset's header address and its selection
    (``sciswift.h5view.regions``)."""

    size: int = 12

    def _write(self, buf: Buf) -> None:
        self._header(buf, _REFERENCE, 1)


@dataclass(frozen=True)
class Compound(HType):
    size: int
    members: tuple[tuple[str, int, HType], ...]

    @property
    def version(self) -> int:
        return max([1, *(2 if isinstance(t, ArrayType) else t.version for _, _, t in self.members)])

    @property
    def native(self) -> np.dtype[Any] | None:
        formats = [t.native for _, _, t in self.members]
        if any(f is None for f in formats):
            return None
        return np.dtype({
            "names": [m[0] for m in self.members],
            "formats": formats,
            "offsets": [m[1] for m in self.members],
            "itemsize": self.size,
        })

    def _write(self, buf: Buf) -> None:
        self._header(buf, _COMPOUND, len(self.members))
        v1 = self.version == 1
        for name, offset, member in self.members:
            _name(buf, name.encode("utf-8", "surrogatepass"))
            buf.u32(offset)
            if v1:
                # Dimensionality, reserved, permutation, reserved, four dimension sizes.
                buf.zeros(1 + 3 + 4 + 4 + 16)
            member._write(buf)


@dataclass(frozen=True)
class Enum(HType):
    base: FixedPoint
    names: tuple[str, ...]
    values: tuple[int, ...]

    @property
    def size(self) -> int:  # type: ignore[override]
        return self.base.size

    @property
    def native(self) -> np.dtype[Any]:
        return self.base.native

    def _write(self, buf: Buf) -> None:
        self._header(buf, _ENUM, len(self.names))
        self.base._write(buf)
        for name in self.names:
            _name(buf, name.encode("utf-8", "surrogatepass"))
        buf.raw(np.asarray(self.values, dtype=self.base.native).tobytes())


@dataclass(frozen=True)
class VlenString(HType):
    cset: int = CSET_UTF8
    size: int = VLEN_SIZE

    def _write(self, buf: Buf) -> None:
        self._header(buf, _VLEN, 1 | (STR_NULLTERM << 4) | (self.cset << 8))
        FixedPoint(1, False)._write(buf)


@dataclass(frozen=True)
class VlenSequence(HType):
    base: HType
    size: int = VLEN_SIZE

    @property
    def version(self) -> int:
        return max(1, self.base.version)

    def _write(self, buf: Buf) -> None:
        self._header(buf, _VLEN, 0)
        self.base._write(buf)


@dataclass(frozen=True)
class ArrayType(HType):
    dims: tuple[int, ...]
    base: HType

    @property
    def size(self) -> int:  # type: ignore[override]
        return int(np.prod(self.dims)) * self.base.size

    @property
    def version(self) -> int:
        return max(2, self.base.version)

    @property
    def native(self) -> np.dtype[Any] | None:
        base = self.base.native
        return None if base is None else np.dtype((base, self.dims))

    def _write(self, buf: Buf) -> None:
        self._header(buf, _ARRAY, 0)
        buf.u8(len(self.dims)).zeros(3)
        for d in self.dims:
            buf.u32(d)
        for i in range(len(self.dims)):
            buf.u32(i)
        self.base._write(buf)


def has_vlen(ht: HType) -> bool:
    """True if elements of ``ht`` hold variable-length data (strings or
    sequences), directly or in compound members or array elements."""
    if isinstance(ht, (VlenString, VlenSequence)):
        return True
    if isinstance(ht, Compound):
        return any(has_vlen(t) for _, _, t in ht.members)
    if isinstance(ht, ArrayType):
        return has_vlen(ht.base)
    return False


def _name(buf: Buf, name: bytes) -> None:
    """A NUL-terminated name padded with NULs to a multiple of 8 bytes."""
    size = len(name) + 1
    buf.raw(name).zeros(1 + (-size % 8))


_BOOL = Enum(FixedPoint(1, True), ("FALSE", "TRUE"), (0, 1))


def _big(dt: np.dtype[Any]) -> bool:
    order = dt.byteorder
    return order == ">" or (order == "=" and not np.little_endian)


def htype_of(dt: np.dtype[Any], what: str) -> HType:
    """The HDF5 type h5py gives numpy dtype ``dt``. NotExpressible naming ``what``
    (the dataset or attribute) for types HDF5 has no equivalent of."""
    meta = dict(dt.metadata or {})
    if "vlen" in meta:
        vlen = meta["vlen"]
        if vlen is str:
            return VlenString(CSET_UTF8)
        if vlen is bytes:
            return VlenString(CSET_ASCII)
        return VlenSequence(htype_of(np.dtype(vlen), what))
    if "ref" in meta:
        ref = meta["ref"]
        if "Region" in getattr(ref, "__name__", str(ref)):
            return RegionReference()
        return Reference()
    if "enum" in meta:
        base = htype_of(np.dtype(dt.str), what)
        assert isinstance(base, FixedPoint)
        members = sorted(meta["enum"].items(), key=lambda kv: str(kv[0]).encode("utf-8"))
        return Enum(base, tuple(str(k) for k, _ in members), tuple(int(v) for _, v in members))
    if dt.fields is not None:
        members = []
        for name in dt.names or ():
            fdt, offset = dt.fields[name][:2]
            members.append((name, int(offset), htype_of(fdt, f"{what} (field {name!r})")))
        return _compound(members, dt.itemsize)
    if dt.subdtype is not None:
        sub, shape = dt.subdtype
        return ArrayType(tuple(int(s) for s in shape), htype_of(sub, what))
    kind = dt.kind
    if kind == "b":
        return _BOOL
    if kind in "iu":
        return FixedPoint(dt.itemsize, kind == "i", _big(dt))
    if kind == "f":
        if dt.itemsize in _FLOATS or (dt.itemsize in (12, 16) and np.finfo(dt).nmant == 63):
            return FloatingPoint(dt.itemsize, _big(dt))
        raise NotExpressible(f"{what}: floating-point type {dt} has no HDF5 description here", what)
    if kind == "c":
        half = FloatingPoint(dt.itemsize // 2, _big(dt))
        return Compound(dt.itemsize, (("r", 0, half), ("i", dt.itemsize // 2, half)))
    if kind == "S":
        cset = CSET_UTF8 if meta.get("h5py_encoding") == "utf-8" else CSET_ASCII
        return FixedString(dt.itemsize, STR_NULLPAD, cset)
    if kind in "mM":
        return Opaque(dt.itemsize, b"NUMPY:" + dt.str.encode("ascii"))
    if kind == "V":
        return Opaque(dt.itemsize)
    raise NotExpressible(f"{what}: numpy type {dt} has no HDF5 equivalent", what)


def _compound(members: list[tuple[str, int, HType]], itemsize: int) -> Compound:
    """A compound at numpy's offsets when every member keeps numpy's size, else
    packed (members holding variable-length data or references are larger or
    smaller in the file than numpy's object pointers)."""
    if all(t.native is not None and t.native.itemsize == t.size for _, _, t in members):
        return Compound(itemsize, tuple(members))
    packed = []
    offset = 0
    for name, _, t in members:
        packed.append((name, offset, t))
        offset += t.size
    return Compound(offset, tuple(packed))
