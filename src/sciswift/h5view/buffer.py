"""A little-endian byte builder whose file addresses may be filled in later.

HDF5 structures point at each other by file address, and the planner only knows
addresses once every structure's size is known. Structures are therefore built
into ``Buf`` objects that record, for each address they hold, *what* it is the
address of (a hashable key, plus a byte delta); ``patch`` writes the real values
once the planner has placed everything. A ``Buf`` made with a resolver (chunk
data built at read time, when every address is known) writes addresses at once.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Hashable, Iterable

__all__ = ["UNDEF", "Buf", "Fixup", "patch"]

#: HDF5's undefined address (all bits set).
UNDEF = 0xFFFF_FFFF_FFFF_FFFF

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

#: ``(position in the buffer, key of the addressed structure, byte delta)``.
Fixup = tuple[int, Hashable, int]


class Buf:
    """Bytes under construction (little-endian, as every HDF5 field we write)."""

    __slots__ = ("data", "fixups", "resolve")

    def __init__(self, resolve: Callable[[Hashable], int] | None = None) -> None:
        self.data = bytearray()
        self.fixups: list[Fixup] = []
        self.resolve = resolve

    def __len__(self) -> int:
        return len(self.data)

    def u8(self, v: int) -> Buf:
        self.data.append(v & 0xFF)
        return self

    def u16(self, v: int) -> Buf:
        self.data += _U16.pack(v)
        return self

    def u32(self, v: int) -> Buf:
        self.data += _U32.pack(v)
        return self

    def u64(self, v: int) -> Buf:
        self.data += _U64.pack(v)
        return self

    def raw(self, b: bytes | bytearray | memoryview) -> Buf:
        self.data += b
        return self

    def zeros(self, n: int) -> Buf:
        if n > 0:
            self.data += bytes(n)
        return self

    def pad(self, multiple: int = 8) -> Buf:
        """Zero bytes up to the next multiple of ``multiple`` (from the buffer start)."""
        return self.zeros(-len(self.data) % multiple)

    def addr(self, key: Hashable | None, delta: int = 0) -> Buf:
        """The 8-byte address of the structure ``key`` (plus ``delta``); None writes
        the undefined address."""
        if key is None:
            return self.u64(UNDEF)
        if self.resolve is not None:
            return self.u64(self.resolve(key) + delta)
        self.fixups.append((len(self.data), key, delta))
        return self.u64(0)

    def append(self, other: Buf) -> Buf:
        """Add ``other``'s bytes and its pending addresses."""
        base = len(self.data)
        self.data += other.data
        self.fixups.extend((base + pos, key, delta) for pos, key, delta in other.fixups)
        return self


def patch(data: bytearray, base: int, fixups: Iterable[Fixup], address_of: Callable[[Hashable], int]) -> None:
    """Write the addresses ``fixups`` ask for into ``data`` (whose fixup positions
    are relative to ``base``)."""
    for pos, key, delta in fixups:
        _U64.pack_into(data, base + pos, address_of(key) + delta)
