"""The two HDF5-style APIs a conversion reads from and writes to, behind one face.

h5py (the HDF5 library, for local files and HDF5 blobs) and ``sciswift.h5py`` (the
native layout and every format plugin) share h5py's API, so the tree copier uses
that API on both sides. This module holds what is *not* shared: each library's own
classes (links, references, Empty), reference dtypes (whose metadata names the
library's Reference class), and the few facts only a low-level call gives (an
attribute's exact stored dtype, a dataset's full filter pipeline and layout, a
group's creation-order flag).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

__all__ = ["Api", "FilterSpec", "h5py_api", "sciswift_api", "api_of", "translate_dtype", "has_refs", "field_of",
           "meta_of"]


def field_of(dt: np.dtype[Any], name: str) -> tuple[np.dtype[Any], int]:
    """The dtype and byte offset of field ``name`` of a compound dtype."""
    fields: dict[str, Any] = dict(dt.fields or {})
    return fields[name][0], int(fields[name][1])


def meta_of(dt: np.dtype[Any]) -> dict[str, Any]:
    """h5py's marks on ``dt`` (vlen, enum, ref, h5py_encoding, h5py_opaque)."""
    return dict(dt.metadata or {})


@dataclass(frozen=True)
class FilterSpec:
    """A dataset's storage settings as ``create_dataset`` takes them.

    ``others`` lists filters outside h5py's keyword set (a filter id without a
    name) by name, for messages.
    """

    compression: str | None = None
    compression_opts: Any = None
    shuffle: bool = False
    fletcher32: bool = False
    scaleoffset: int | None = None
    others: tuple[str, ...] = ()


@dataclass(frozen=True)
class Api:
    """One library's names and low-level facts. ``mod`` is ``h5py`` or
    ``sciswift.h5py``."""

    name: str
    mod: types.ModuleType = field(repr=False)

    # ------------------------------------------------------------ classes
    @cached_property
    def reference(self) -> type:
        return self.mod.Reference

    @cached_property
    def region_reference(self) -> type:
        return self.mod.RegionReference

    def is_soft(self, link: Any) -> bool:
        return isinstance(link, self.mod.SoftLink)

    def is_external(self, link: Any) -> bool:
        return isinstance(link, self.mod.ExternalLink)

    def is_group(self, obj: Any) -> bool:
        return isinstance(obj, self.mod.Group)

    def is_dataset(self, obj: Any) -> bool:
        return isinstance(obj, self.mod.Dataset)

    def is_datatype(self, obj: Any) -> bool:
        return isinstance(obj, self.mod.Datatype)

    def null_ref(self, region: bool = False) -> Any:
        if self.name == "h5py":
            import h5py

            return h5py.h5r.RegionReference() if region else h5py.h5r.Reference()
        return self.region_reference() if region else self.reference()

    # ------------------------------------------------------------ low-level facts
    def attr_dtype_shape(self, obj: Any, name: str, value: Any) -> tuple[np.dtype[Any], tuple[int, ...] | None]:
        """The stored dtype and shape (None: null dataspace) of attribute ``name``
        whose value, as read, is ``value``."""
        if self.name == "h5py":
            aid = obj.attrs.get_id(name)
            return aid.dtype, aid.shape
        return _sciswift_attr_dtype_shape(obj, name, value, self)

    def filters(self, ds: Any) -> FilterSpec:
        """The dataset's filter pipeline."""
        if self.name == "h5py":
            return _h5py_filters(ds)
        from sciswift.h5.filters import encode

        comp = ds.compression
        others: tuple[str, ...] = ()
        if comp is not None and comp not in encode:
            others, comp = (str(comp),), None  # a format plugin's codec (snappy, ...)
        opts = ds.compression_opts if comp is not None else None
        return FilterSpec(comp, opts, bool(ds.shuffle), bool(ds.fletcher32), ds.scaleoffset, others)

    def layout(self, ds: Any) -> str:
        """"chunked", "contiguous", "compact", "virtual" or "external"."""
        if self.name == "h5py":
            import h5py

            dcpl = ds.id.get_create_plist()
            code = dcpl.get_layout()
            if code == h5py.h5d.VIRTUAL:
                return "virtual"
            if code == h5py.h5d.COMPACT:
                return "compact"
            if code == h5py.h5d.CONTIGUOUS and dcpl.get_external_count():
                return "external"
            return "chunked" if code == h5py.h5d.CHUNKED else "contiguous"
        if getattr(ds, "is_virtual", False):
            return "virtual"
        return "contiguous" if ds.chunks is None else "chunked"

    def tracks_order(self, obj: Any) -> bool:
        """Whether a group records the creation order of its members (and
        attributes), or a dataset that of its attributes."""
        if self.name == "h5py":
            import h5py

            if isinstance(obj, h5py.File):
                # A File's id is the file: its creation properties do not carry the
                # root group's order flags (netCDF-4 files track the root's order).
                obj = obj["/"]
            try:
                plist = obj.id.get_create_plist()
                flags = (plist.get_link_creation_order() if isinstance(obj, h5py.Group)
                         else plist.get_attr_creation_order())
            except (AttributeError, ValueError):
                return False
            return bool(flags & h5py.h5p.CRT_ORDER_TRACKED)
        try:
            return bool(obj._backend.track_order(obj._path))
        except (AttributeError, KeyError):
            return False

    def is_scale(self, ds: Any) -> bool:
        try:
            return bool(ds.is_scale)
        except (AttributeError, TypeError):
            return False

    def scale_name(self, ds: Any) -> str:
        """The NAME of a dimension scale ("" if it has none)."""
        if self.name == "h5py":
            import h5py

            name = h5py.h5ds.get_scale_name(ds.id)
            return name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else (name or "")
        try:
            return str(ds._arr.reserved.get("scale") or "")
        except AttributeError:
            return ""

    def scale_bookkeeping(self, ds: Any) -> frozenset[str]:
        """Attributes HDF5's dimension-scale API keeps on ``ds`` (they hold
        references, or duplicate what ``dims`` says): the copier recreates them
        through ``dims`` instead of copying them. sciswift shows the same
        attributes, derived from its own bookkeeping (sciswift.h5.scaleattrs)."""
        names: set[str] = set()
        if self.is_scale(ds):
            names |= {"CLASS", "NAME", "REFERENCE_LIST"}
        attrs = ds.attrs
        if "DIMENSION_LIST" in attrs or "DIMENSION_LABELS" in attrs:
            names |= {"DIMENSION_LIST", "DIMENSION_LABELS"}
        return frozenset(names)


def _h5py_filters(ds: Any) -> FilterSpec:
    import h5py

    names = {h5py.h5z.FILTER_DEFLATE: "gzip", h5py.h5z.FILTER_SHUFFLE: "shuffle",
             h5py.h5z.FILTER_FLETCHER32: "fletcher32", h5py.h5z.FILTER_SCALEOFFSET: "scaleoffset",
             h5py.h5z.FILTER_SZIP: "szip", h5py.h5z.FILTER_LZF: "lzf"}
    others: list[str] = []
    if ds.chunks is not None:
        dcpl = ds.id.get_create_plist()
        for i in range(dcpl.get_nfilters()):
            code = dcpl.get_filter(i)[0]
            if code not in names:
                label = names.get(code) or f"filter {code}"
                others.append(label)
    comp = ds.compression if ds.compression in ("gzip", "lzf", "szip") else None
    return FilterSpec(comp, ds.compression_opts if comp in ("gzip", "szip") else None, bool(ds.shuffle),
                      bool(ds.fletcher32), ds.scaleoffset, tuple(others))


def _sciswift_attr_dtype_shape(obj: Any, name: str, value: Any, api: Api) -> tuple[np.dtype[Any], tuple[int, ...] | None]:
    try:
        aid = obj.attrs.get_id(name)
        return aid.dtype, aid.shape
    except NotImplementedError:
        pass
    # sciswift.h5py has no attribute identifiers yet (tests/convert/test_gaps.py
    # records it). Native files keep every non-JSON attribute's exact dtype under
    # the reserved key, so read it there rather than guess from the value.
    typed = _native_typed_attr(obj, name)
    if typed is not None:
        from sciswift.engine.dtypes import spec_to_dtype

        dt = spec_to_dtype(typed["dtype"])
        return dt, (None if typed.get("empty") else tuple(typed["shape"]))
    return guess_value_dtype_shape(value, api)


def _native_typed_attr(obj: Any, name: str) -> dict[str, Any] | None:
    from sciswift.engine.metadata import RESERVED

    backend = getattr(getattr(obj, "_h", None), "backend", None)
    hier = getattr(backend, "h", None)
    if hier is None:
        return None
    doc = hier.get(obj._path) or {}
    attrs = doc.get("attributes") or {}
    entry = ((attrs.get(RESERVED) or {}).get("attrs") or {}).get(name)
    return entry if isinstance(entry, dict) and "dtype" in entry else None


def guess_value_dtype_shape(value: Any, api: Api) -> tuple[np.dtype[Any], tuple[int, ...] | None]:
    """The dtype and shape h5py would store ``value`` (as read back) with."""
    mod = api.mod
    if isinstance(value, mod.Empty):
        return value.dtype, None
    if isinstance(value, api.reference):
        return (mod.regionref_dtype if isinstance(value, api.region_reference) else mod.ref_dtype), ()
    if isinstance(value, str):
        return mod.string_dtype(), ()
    if isinstance(value, np.ndarray) and value.dtype.kind == "O" and not value.dtype.metadata and value.size:
        first = value.flat[0]
        if isinstance(first, str):
            return mod.string_dtype(), value.shape
        if isinstance(first, bytes):
            return mod.string_dtype("ascii"), value.shape
        if isinstance(first, api.reference):
            return mod.ref_dtype, value.shape
        if isinstance(first, np.ndarray):
            return mod.vlen_dtype(first.dtype), value.shape
    arr = np.asarray(value)
    return arr.dtype, arr.shape


def api_of(obj: Any) -> Api:
    """The Api an opened File (or any object from one) belongs to."""
    module = type(obj).__module__
    if module.startswith("h5py"):
        return h5py_api()
    return sciswift_api()


_APIS: dict[str, Api] = {}


def h5py_api() -> Api:
    if "h5py" not in _APIS:
        import h5py

        _APIS["h5py"] = Api("h5py", h5py)
    return _APIS["h5py"]


def sciswift_api() -> Api:
    if "sciswift" not in _APIS:
        import sciswift.h5py as sh5

        _APIS["sciswift"] = Api("sciswift", sh5)
    return _APIS["sciswift"]


def translate_dtype(dt: np.dtype[Any], src: Api, dst: Api) -> np.dtype[Any]:
    """``dt`` as ``dst`` spells it: reference dtypes carry the library's own
    Reference class in their metadata; datetime64/timedelta64 become h5py's opaque
    dtype when writing with h5py; NumPy unicode (``U<n>``) becomes a vlen UTF-8
    string; everything else is shared. Compound field
    offsets and item size are kept, so padding survives."""
    if dt.names is not None:
        spec = {
            "names": list(dt.names),
            "formats": [translate_dtype(field_of(dt, n)[0], src, dst) for n in dt.names],
            "offsets": [field_of(dt, n)[1] for n in dt.names],
            "itemsize": dt.itemsize,
        }
        out = np.dtype(spec)  # type: ignore[call-overload]
        return np.dtype(out, metadata=dict(dt.metadata)) if dt.metadata else out
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        return np.dtype((translate_dtype(base, src, dst), shape))
    if dt.kind == "U":
        # NumPy's fixed-width UCS-4 text (a .npy/.npz member such as scipy's sparse
        # 'format' entry) has no HDF5 type and h5py refuses it ("No conversion
        # path"); the HDF5 way to hold text is a variable-length UTF-8 string.
        return np.dtype(dst.mod.string_dtype())
    meta = meta_of(dt)
    if dt.kind in "mM" and dst.name == "h5py" and not meta.get("h5py_opaque"):
        # HDF5 has no type for NumPy's datetime64/timedelta64: h5py stores them
        # only as opaque data of the same bytes (h5py.opaque_dtype), which h5py
        # reads back as the same dtype. Without the mark h5py refuses the dtype
        # ("No conversion path"), so a Parquet/CSV timestamp column could not be
        # exported to HDF5.
        return np.dtype(dt.str, metadata={**meta, "h5py_opaque": True})
    if not meta:
        return dt
    new = dict(meta)
    ref = meta.get("ref")
    if ref is not None:
        new["ref"] = dst.region_reference if issubclass(ref, src.region_reference) else dst.reference
    vlen = meta.get("vlen")
    if vlen not in (None, str, bytes):
        new["vlen"] = translate_dtype(np.dtype(vlen), src, dst)
    # np.dtype(dt, metadata=...) keeps dt's own metadata; build from the type code.
    return np.dtype(dt.str, metadata=new)


def has_refs(dt: np.dtype[Any]) -> bool:
    """Whether values of ``dt`` hold object or region references anywhere."""
    if dt.names is not None:
        return any(has_refs(field_of(dt, n)[0]) for n in dt.names)
    if dt.subdtype is not None:
        return has_refs(dt.subdtype[0])
    meta = meta_of(dt)
    if meta.get("ref") is not None:
        return True
    vlen = meta.get("vlen")
    return vlen not in (None, str, bytes) and has_refs(np.dtype(vlen))
