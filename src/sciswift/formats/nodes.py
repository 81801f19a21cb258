"""Building blocks the plugins share: lazy nodes, h5py's dtype conventions, selection
arithmetic, and turning a library's exception into CorruptData.

h5py marks variable-length types with numpy dtype metadata, and the HDF5 layer
relies on the same marks: ``np.dtype('O', metadata={'vlen': str})`` is a vlen UTF-8
string (``h5py.string_dtype()``), ``{'vlen': bytes}`` a vlen byte string, and
``{'vlen': np.dtype('f4')}`` a vlen sequence of float32 (``h5py.vlen_dtype``). The
helpers below build them without importing h5py.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from sciswift.errors import CorruptData, SciSwiftError
from sciswift.formats.base import ArrayNode, GroupNode, Node

__all__ = [
    "LazyArray",
    "LazyGroup",
    "OwnedRoot",
    "vlen_str_dtype",
    "vlen_bytes_dtype",
    "vlen_dtype",
    "vlen_base",
    "full_selection",
    "selection_shape",
    "read_all",
    "as_corrupt",
    "LibraryErrors",
    "raised_in",
    "unique_name",
]


def vlen_str_dtype() -> np.dtype[Any]:
    """h5py's variable-length UTF-8 string dtype."""
    return np.dtype("O", metadata={"vlen": str})


def vlen_bytes_dtype() -> np.dtype[Any]:
    """h5py's variable-length byte-string dtype."""
    return np.dtype("O", metadata={"vlen": bytes})


def vlen_dtype(base: Any) -> np.dtype[Any]:
    """h5py's variable-length sequence of ``base`` elements."""
    return np.dtype("O", metadata={"vlen": np.dtype(base)})


def vlen_base(dtype: np.dtype[Any]) -> Any:
    """What a vlen dtype holds (``str``, ``bytes`` or a numpy dtype), or None."""
    metadata: dict[str, Any] = dict(dtype.metadata or {})
    return metadata.get("vlen") if dtype.kind == "O" else None


def full_selection(shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The normalised selection of a whole array."""
    return tuple(slice(0, n, 1) for n in shape)


def selection_shape(selection: tuple[slice, ...]) -> tuple[int, ...]:
    """The shape a normalised selection reads."""
    return tuple(len(range(s.start, s.stop, s.step)) for s in selection)


def read_all(node: ArrayNode) -> np.ndarray[Any, Any]:
    """The whole array of ``node``."""
    return node.read(full_selection(node.shape))


def unique_name(name: str, taken: Mapping[str, Any] | set[str]) -> str:
    """``name``, or ``name_2``, ``name_3`` ... whichever is not in ``taken``."""
    if name not in taken:
        return name
    n = 2
    while f"{name}_{n}" in taken:
        n += 1
    return f"{name}_{n}"


#: Exceptions of a library, by what they mean: a tuple ``as_corrupt`` turns into
#: CorruptData.
LibraryErrors = tuple[type[BaseException], ...]


@contextlib.contextmanager
def as_corrupt(
    display: str,
    fmt: str,
    doing: str = "read",
    *,
    errors: LibraryErrors,
    library: str = "",
    failures: LibraryErrors = (),
) -> Iterator[None]:
    """Turn ``errors`` raised inside the block into CorruptData naming the object
    and the format. ``errors`` are what the format's library raises for bytes it
    cannot decode (each plugin lists its library's, with what they mean); wrap the
    library's calls, not the plugin's own code.

    ``failures`` are exceptions a library raises from its own code when damaged
    bytes break its assumptions (astropy's AttributeError on a header value of the
    wrong type): they count as damage only when raised inside the package
    ``library``, so the same exceptions from sciswift's code stay visible.

    Everything else passes unchanged: sciswift's own errors, MemoryError and
    interrupts, and exceptions that mean a bug rather than damage."""
    try:
        yield
    except (SciSwiftError, MemoryError):
        raise
    except errors as exc:
        raise _corrupt(display, fmt, doing, exc) from exc
    except failures as exc:
        if not (library and raised_in(exc, library)):
            raise
        raise _corrupt(display, fmt, doing, exc) from exc


def _corrupt(display: str, fmt: str, doing: str, exc: BaseException) -> CorruptData:
    detail = str(exc).strip() or type(exc).__name__
    return CorruptData(
        f"cannot {doing} {display} as {fmt}: the object is damaged or not a {fmt} file ({detail})", display
    )


def raised_in(exc: BaseException, package: str) -> bool:
    """Whether ``exc`` was raised by code of ``package`` (its innermost frame)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = str(tb.tb_frame.f_globals.get("__name__", ""))
    return module == package or module.startswith(package + ".")


class LazyArray(ArrayNode):
    """An ArrayNode whose blocks come from ``reader(selection)``; shape and dtype are
    known up front, attributes may be a mapping or a function computing one."""

    def __init__(
        self,
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        reader: Callable[[tuple[slice, ...]], np.ndarray[Any, Any]],
        attrs: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
        *,
        chunks: tuple[int, ...] | None = None,
        fillvalue: Any = None,
        compression: str | None = None,
    ) -> None:
        self._shape = tuple(int(n) for n in shape)
        self._dtype = np.dtype(dtype)
        self._reader = reader
        self._attrs_src = attrs
        self._attrs: Mapping[str, Any] | None = None if callable(attrs) else dict(attrs or {})
        self._chunks = chunks
        self._fillvalue = fillvalue
        self._compression = compression

    @property
    def attrs(self) -> Mapping[str, Any]:
        if self._attrs is None:
            assert callable(self._attrs_src)
            self._attrs = dict(self._attrs_src())
        return self._attrs

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._dtype

    @property
    def chunks(self) -> tuple[int, ...] | None:
        return self._chunks

    @property
    def fillvalue(self) -> Any:
        if self._fillvalue is not None:
            return self._fillvalue
        return super().fillvalue

    @property
    def compression(self) -> str | None:
        return self._compression

    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        want = selection_shape(selection)
        if math.prod(want) == 0:
            return np.empty(want, self._dtype)
        out = self._reader(selection)
        if out.shape != want:
            raise CorruptData(f"read of {want} returned {out.shape}")
        return out


class LazyGroup(GroupNode):
    """A group whose members are made on first access by ``factories[name]()``."""

    def __init__(
        self,
        factories: Mapping[str, Callable[[], Node]] | None = None,
        attrs: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        self._factories: dict[str, Callable[[], Node]] = dict(factories or {})
        self._members: dict[str, Node] = {}
        self._attrs_src = attrs
        self._attrs: Mapping[str, Any] | None = None if callable(attrs) else dict(attrs or {})

    @property
    def attrs(self) -> Mapping[str, Any]:
        if self._attrs is None:
            assert callable(self._attrs_src)
            self._attrs = dict(self._attrs_src())
        return self._attrs

    def keys(self) -> list[str]:
        return list(self._factories)

    def __contains__(self, name: str) -> bool:
        return name in self._factories

    def __getitem__(self, name: str) -> Node:
        node = self._members.get(name)
        if node is None:
            node = self._members[name] = self._factories[name]()
        return node

    def add(self, name: str, factory: Callable[[], Node]) -> None:
        self._factories[name] = factory


class OwnedRoot(GroupNode):
    """The root of an opened object: delegates to the plugin's root ``inner`` and, on
    ``close``, closes it and then every resource in ``owned`` (file handles, the
    RangedFile). Closing twice is harmless."""

    def __init__(self, inner: GroupNode, *owned: Any) -> None:
        self.inner = inner
        self._owned = list(owned)

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self.inner.attrs

    def attr_type(self, name: str) -> tuple[np.dtype[Any], tuple[int, ...] | None] | None:
        return self.inner.attr_type(name)

    def keys(self) -> list[str]:
        return self.inner.keys()

    def __contains__(self, name: str) -> bool:
        return name in self.inner

    def __getitem__(self, name: str) -> Node:
        return self.inner[name]

    def close(self) -> None:
        self.inner.close()
        owned, self._owned = self._owned, []
        for res in reversed(owned):
            res.close()
