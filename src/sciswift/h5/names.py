"""Member and attribute names as h5py shows them, whatever the file holds.

HDF5 names are C strings of bytes: h5py returns a name as ``str`` when its bytes
are UTF-8 and as ``bytes`` otherwise, and ``group[b"..."]`` / ``attrs[b"..."]``
find it. Names in other formats, and in a native file's JSON metadata, are
Python strings, which can hold what an HDF5 name cannot. So (docs/formats.md,
"Names"):

- Inside sciswift a name is a ``str``; bytes that are not UTF-8 are kept as lone
  surrogates (Python's ``surrogateescape``). Iteration lists such a name as
  ``bytes`` (``listed``), as h5py lists the same name of an HDF5 file, and a
  lookup by those bytes finds it.
- What no HDF5 name can hold is escaped (``shown``): trailing NULs are dropped
  (C readers stop at the first NUL, and C writers often count the terminator);
  any other NUL, and any lone surrogate that is not an escaped byte, becomes
  ``_``; in a member name so does ``/`` (the path separator); an empty name, and
  a member called ``.``, becomes ``_``. A changed name that is already taken gets
  ``_2``, ``_3`` ... in listing order; names needing no change keep theirs.

A backend lists ``shown_names`` of what it stores and maps a shown name back
with ``stored_name``. Lookups of unchanged names (nearly all of them) need no
mapping: they are what is stored.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence

__all__ = ["shown", "shown_names", "stored_name", "unchanged", "listed", "as_str"]

# NUL, and surrogates other than U+DC80..U+DCFF (the ones surrogateescape makes of
# the bytes 0x80..0xFF): neither survives as an HDF5 name.
_UNHOLDABLE = "\x00\ud800-\udc7f\udd00-\udfff"
_ATTR_BAD = re.compile(f"[{_UNHOLDABLE}]")
_MEMBER_BAD = re.compile(f"[{_UNHOLDABLE}/]")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def as_str(name: str | bytes) -> str:
    """A name as sciswift keeps it: str; bytes decoded as UTF-8, bytes that are
    not UTF-8 kept as lone surrogates."""
    return name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else name


def _clean(name: str, member: bool) -> bool:
    # The common case without a regular expression: ASCII without NUL or "/".
    if not name or "\x00" in name or (member and ("/" in name or name == ".")):
        return False
    return name.isascii() or not (_MEMBER_BAD if member else _ATTR_BAD).search(name)


def unchanged(name: str, member: bool) -> bool:
    """Whether ``name`` is shown as it is stored (needs no escape)."""
    return _clean(name, member)


def shown(name: str | bytes, member: bool) -> str:
    """The name h5py shows for a stored ``name`` (before making it unique among
    its siblings); ``member`` for group members, else an attribute name."""
    text = as_str(name)
    if _clean(text, member):
        return text
    text = (_MEMBER_BAD if member else _ATTR_BAD).sub("_", text.rstrip("\x00"))
    if not text or (member and text == "."):
        return "_"
    return text


def shown_names(names: Sequence[str | bytes], member: bool) -> list[str]:
    """``shown`` of each stored name, unique: a changed name already taken (by an
    unchanged name, or an earlier changed one) gets ``_2``, ``_3`` ..."""
    out: list[str] = []
    changed: list[int] = []
    taken: set[str] = set()
    for i, name in enumerate(names):
        text = as_str(name)
        if _clean(text, member):
            taken.add(text)
            out.append(text)
        else:
            changed.append(i)
            out.append("")
    for i in changed:
        base = shown(names[i], member)
        name, n = base, 2
        while name in taken:
            name = f"{base}_{n}"
            n += 1
        taken.add(name)
        out[i] = name
    return out


def stored_name(name: str, names: Iterable[Hashable], member: bool) -> Hashable | None:
    """Which of the stored ``names`` is shown as ``name`` (None if none is)."""
    stored = list(names)
    for raw, text in zip(stored, shown_names(stored, member), strict=True):  # type: ignore[arg-type]
        if text == name:
            return raw
    return None


def listed(name: str) -> str | bytes:
    """What iteration yields for ``name``: the name, or its bytes when it holds
    bytes that are not UTF-8 (as h5py lists them)."""
    if name.isascii() or not _ESCAPED_BYTE.search(name):
        return name
    return name.encode("utf-8", "surrogateescape")
