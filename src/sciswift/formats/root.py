"""CERN ROOT files, read with uproot on the RangedFile.

Mapping:

- TDirectory -> group; TTree/TNtuple -> group (attributes ``title``, ``class``,
  ``num_entries``); a branch with sub-branches -> group of them (split objects;
  the names are uproot's, often ``parent.member``).
- a leaf branch -> a dataset over the tree's entries:
  - fixed-size numbers (``AsDtype``, ``Double32_t``, ``Float16_t``; fixed arrays
    like ``float[3]`` give extra dimensions) -> numeric dataset, native byte order
  - jagged numbers (``float[]`` with a counter, ``std::vector<float>``) -> vlen of
    the number type (``h5py.vlen_dtype``): an object array of numpy arrays
  - strings (``char*``, ``TString``, ``std::string``) -> vlen str
  Other branch types (objects, STL maps/sets, nested vectors, bitsets) have no h5py
  counterpart and are not shown; the tree's ``_unsupported_branches`` attribute lists
  them with their C++ type.
- histograms (TH1/TH2/TH3 and TProfile*) -> a group with ``values`` and
  ``variances`` (without under/overflow bins) and ``x_edges`` (``y_edges``,
  ``z_edges``); attributes ``title``, ``class``, ``entries``.
- ``TParameter<T>`` -> a scalar dataset; ``std::string``/``TObjString`` -> a scalar
  vlen str dataset.
- anything else (TNamed, TGraph, user classes, RNTuple ...) is not shown; the
  directory's ``_unsupported_objects`` attribute lists each with its class.

Keys are the names without ``;cycle`` (the highest cycle wins, as in uproot); a
``/`` in a name becomes ``_``; a second branch of the same name (Delphes trees have
them) becomes ``<name>_2``. Branch data is read by entry range
(``branch.array(entry_start, entry_stop)``), so uproot fetches only the baskets
that hold the entries selected.
"""

from __future__ import annotations

import lzma
import threading
import zlib
from functools import partial
from typing import Any, BinaryIO

import numpy as np

from sciswift.formats.base import ArrayNode, FormatPlugin, GroupNode, MemoryArray
from sciswift.formats.nodes import LazyArray, LazyGroup, as_corrupt, unique_name, vlen_dtype, vlen_str_dtype

__all__ = ["ROOTPlugin", "branch_dtype"]

def _uproot_errors() -> tuple[type[BaseException], ...]:
    """What uproot raises for bytes it cannot read as ROOT: DeserializationError
    (a record that does not parse as its class), KeyInFileError (a key pointing
    nowhere; a KeyError), OSError and ValueError (headers and sizes that make no
    sense), zlib.error and lzma.LZMAError (records that do not decompress),
    NotImplementedError (a compression or layout it does not know), IndexError and
    EOFError (records cut short), AssertionError (uproot checks some records'
    structure with ``assert``)."""
    from uproot.deserialization import DeserializationError

    return (DeserializationError, KeyError, OSError, ValueError, zlib.error, lzma.LZMAError, NotImplementedError,
            IndexError, EOFError, AssertionError)


ROOT_MAGIC = b"root"
HISTOGRAM_PREFIXES = ("TH1", "TH2", "TH3", "TProfile")
AXES = ("x", "y", "z")


def branch_dtype(branch: Any) -> tuple[np.dtype[Any], tuple[int, ...], str] | None:
    """``(dtype, inner shape, kind)`` of a leaf branch's dataset, or None when its
    interpretation has no h5py counterpart. ``kind`` is "fixed", "jagged" or "str"."""
    from uproot.interpretation.jagged import AsJagged
    from uproot.interpretation.numerical import AsDouble32, AsDtype, AsFloat16
    from uproot.interpretation.strings import AsStrings

    try:
        interp = branch.interpretation
    except Exception:  # uproot raises its own error types for unknown layouts
        return None
    if isinstance(interp, (AsDtype, AsDouble32, AsFloat16)) and not isinstance(interp.to_dtype, type):
        to = np.dtype(interp.to_dtype)
        base, inner = (to.subdtype if to.subdtype else (to, ()))
        if base.names:  # structured leaves (leaf lists of several members)
            return None
        return base.newbyteorder("="), tuple(inner), "fixed"
    if isinstance(interp, AsJagged) and isinstance(interp.content, (AsDtype, AsDouble32, AsFloat16)):
        to = np.dtype(interp.content.to_dtype)
        if to.names or to.subdtype:
            return None
        return vlen_dtype(to.newbyteorder("=")), (), "jagged"
    if isinstance(interp, AsStrings):
        return vlen_str_dtype(), (), "str"
    return None


class _ROOTFile:
    def __init__(self, f: Any, display: str, label: str) -> None:
        self.f = f
        self.display = display
        self.label = label
        # uproot's file-like source serialises reads itself; this guards its caches
        # when the HDF5 layer reads two branches from two threads.
        self.lock = threading.Lock()

    def directory_group(self, directory: Any, where: str) -> LazyGroup:
        with as_corrupt(f"{self.display}:{where}", self.label, errors=_uproot_errors()):
            classes = directory.classnames(recursive=False, cycle=False)
        skipped: list[str] = []
        group = LazyGroup(attrs=lambda: {"_unsupported_objects": _str_array(skipped)} if skipped else {})
        for key, cls in classes.items():
            name = key.replace("/", "_")
            path = f"{where}/{name}"
            if cls in ("TDirectory", "TDirectoryFile"):
                group.add(name, partial(self._member, self.directory_group, directory, key, path))
            elif cls in ("TTree", "TNtuple", "TNtupleD"):
                group.add(name, partial(self._member, self.tree_group, directory, key, path))
            elif cls.startswith(HISTOGRAM_PREFIXES):
                group.add(name, partial(self._member, self.histogram_group, directory, key, path))
            elif cls.startswith("TParameter<"):
                group.add(name, partial(self._scalar, directory, key, cls, "fVal"))
            elif cls in ("string", "TObjString"):
                group.add(name, partial(self._scalar, directory, key, cls, None))
            else:
                skipped.append(f"{name} ({cls})")
        return group

    def _member(self, make: Any, directory: Any, key: str, path: str) -> Any:
        with as_corrupt(f"{self.display}:{path}", self.label, errors=_uproot_errors()):
            obj = directory[key]
        return make(obj, path)

    def _scalar(self, directory: Any, key: str, cls: str, member: str | None) -> ArrayNode:
        with as_corrupt(f"{self.display}:{key}", self.label, errors=_uproot_errors()):
            obj = directory[key]
            value = obj.member(member) if member else str(obj)
        if isinstance(value, str):
            arr = np.empty((), dtype=vlen_str_dtype())
            arr[()] = value
        else:
            arr = np.asarray(value)
        return MemoryArray(arr, {"class": cls})

    def histogram_group(self, hist: Any, where: str) -> GroupNode:
        with as_corrupt(f"{self.display}:{where}", self.label, errors=_uproot_errors()):
            members: dict[str, Any] = {"values": np.asarray(hist.values(flow=False))}
            variances = hist.variances(flow=False)
            if variances is not None:
                members["variances"] = np.asarray(variances)
            for i in range(len(hist.axes)):
                members[f"{AXES[i]}_edges"] = np.asarray(hist.axis(i).edges(flow=False))
            attrs = {"title": str(hist.title), "class": hist.classname, "entries": float(hist.member("fEntries"))}
        group = LazyGroup(attrs=attrs)
        for k, v in members.items():
            group.add(k, partial(MemoryArray, v))
        return group

    def tree_group(self, tree: Any, where: str) -> GroupNode:
        with as_corrupt(f"{self.display}:{where}", self.label, errors=_uproot_errors()):
            attrs: dict[str, Any] = {
                "title": str(tree.title), "class": tree.classname, "num_entries": int(tree.num_entries),
            }
            return self._branches_group(tree.branches, int(tree.num_entries), attrs, where)

    def _branches_group(self, branches: Any, entries: int, attrs: dict[str, Any], where: str) -> GroupNode:
        unsupported: list[str] = []
        group = LazyGroup(attrs=lambda: {**attrs, **(
            {"_unsupported_branches": _str_array(unsupported)} if unsupported else {})})
        taken: set[str] = set()
        for branch in branches:
            # A tree may hold two branches of one name (Delphes does): _2, _3 ...
            name = unique_name(branch.name.replace("/", "_"), taken)
            taken.add(name)
            if branch.branches:
                group.add(name, partial(
                    self._branches_group, branch.branches, entries, {"class": _typename(branch)}, f"{where}/{branch.name}"
                ))
                continue
            kind = branch_dtype(branch)
            if kind is None:
                unsupported.append(f"{name} ({_typename(branch)})")
                continue
            # A branch may hold fewer entries than its tree (ROOT allows it).
            group.add(name, partial(self._branch_node, branch, int(branch.num_entries), kind, f"{where}/{branch.name}"))
        return group

    def _branch_node(self, branch: Any, entries: int, kind: tuple[np.dtype[Any], tuple[int, ...], str], where: str) -> ArrayNode:
        dtype, inner, how = kind

        def read(selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
            rows = selection[0]
            with self.lock, as_corrupt(f"{self.display}:{where}", self.label, errors=_uproot_errors()):
                arr = branch.array(entry_start=rows.start, entry_stop=rows.stop, library="np")
            arr = arr[:: rows.step]
            if how == "fixed":
                return np.ascontiguousarray(arr, dtype=dtype)[(slice(None),) + selection[1:]]
            out = np.empty(len(arr), dtype=dtype)
            if how == "jagged":
                base = dtype.metadata["vlen"]  # type: ignore[index]
                out[:] = [np.asarray(a, dtype=base) for a in arr] if len(arr) else []
            else:
                out[:] = [str(s) for s in arr] if len(arr) else []
            return out

        return LazyArray((entries,) + inner, dtype, read, {"typename": _typename(branch)})


def _typename(branch: Any) -> str:
    """The branch's C++ type as uproot names it ("unknown" where uproot cannot)."""
    try:
        return str(branch.typename)
    except Exception:  # uproot raises KeyError for some exotic leaf types
        return "unknown"


def _str_array(items: list[str]) -> np.ndarray[Any, Any]:
    out = np.empty(len(items), dtype=vlen_str_dtype())
    out[:] = items
    return out


class _ROOTRoot(LazyGroup):
    def __init__(self, inner: LazyGroup, f: Any) -> None:
        super().__init__()
        self._factories = inner._factories
        self._attrs_src = inner._attrs_src
        self._attrs = inner._attrs
        self._f = f

    def close(self) -> None:
        self._f.close()


class ROOTPlugin(FormatPlugin):
    """ROOT through uproot (read only)."""

    name = "root"
    label = "ROOT"
    library = "uproot"
    extensions = (".root",)
    extra = "root"
    requires = ("uproot", "awkward")

    def matches_magic(self, head: bytes) -> bool:
        return head.startswith(ROOT_MAGIC)

    def open(self, source: BinaryIO, name: str) -> GroupNode:
        import uproot

        with as_corrupt(name, self.label, "open", errors=_uproot_errors()):
            f = uproot.open(source, object_cache=None, array_cache=None)
        rf = _ROOTFile(f, name, self.label)
        try:
            return _ROOTRoot(rf.directory_group(f, ""), f)
        except BaseException:
            f.close()
            raise
