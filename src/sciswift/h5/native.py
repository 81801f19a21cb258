"""The native backend: an HDF5-style file as a Zarr v3 hierarchy (the engine).

What HDF5 has and Zarr lacks is kept under the reserved attribute key (``_sciswift``,
docs/layout.md): on groups ``links`` (soft, external and extra hard links by name),
``track_order`` and ``order`` (creation order of members), ``datatype`` (a named
datatype is a group carrying its dtype spec); on every node ``attrs`` (typed
attribute values, see ``attrvalues``) and ``track_order``; on arrays ``maxshape``,
``layout`` ("contiguous" when created without chunks), ``filters`` (what h5py
reports), ``empty`` (null dataspace), ``h5dtype`` (a top-level array dtype, stored
as raw bytes) and ``dims`` (dimension scales).

Metadata changes go through the Hierarchy, which keeps them in memory until
flush/close; chunk data goes straight to the store through the engine's Array.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from sciswift.engine.array import Array
from sciswift.engine.codecs import build_codecs, portable_codecs
from sciswift.engine.dtypes import describe, dtype_to_spec, spec_to_dtype
from sciswift.engine.hierarchy import Hierarchy, parent_of
from sciswift.engine.metadata import RESERVED, ArrayMeta, dump_json
from sciswift.errors import CorruptData, InvalidInput, NotSupported
from sciswift.h5 import identity, scaleattrs
from sciswift.h5.attrvalues import check_storable, decode_attr, encode_attr
from sciswift.h5.backend import (
    ARRAY,
    DATATYPE,
    EXTERNAL,
    GROUP,
    HARD,
    SOFT,
    ArrayBackend,
    ArraySpec,
    Entry,
    FileBackend,
)
from sciswift.h5.dtypes import reported_dtype
from sciswift.h5.names import shown_names, stored_name, unchanged

__all__ = ["NativeFile", "NativeArray"]

_GROUP = Entry(GROUP)
_ARRAY = Entry(ARRAY)
_DATATYPE = Entry(DATATYPE)


def _utf8(s: str) -> bytes:
    return s.encode("utf-8", "surrogatepass")


def _reserved(doc: dict[str, Any]) -> dict[str, Any]:
    return (doc.get("attributes") or {}).get(RESERVED) or {}


_CODEC_CACHE: dict[Any, tuple[Any, list[dict[str, Any]], dict[str, Any]]] = {}


def _codecs_for(dt: np.dtype[Any], compression: Any, opts: Any, shuffle: bool, fletcher32: bool,
                scaleoffset: Any) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    """``describe`` + ``build_codecs``, remembered: files create many datasets of the
    same dtype and filters (measured: a third of create_dataset's own time)."""
    portable = portable_codecs()
    try:
        key = (dt, repr(dt.metadata), compression, repr(opts), shuffle, fletcher32, scaleoffset, portable)
        hash(key)
    except TypeError:
        key = None
    hit = _CODEC_CACHE.get(key) if key is not None else None
    if hit is None:
        info = describe(dt)
        codecs, spec = build_codecs(info, compression=compression, compression_opts=opts, shuffle=shuffle,
                                    fletcher32=fletcher32, scaleoffset=scaleoffset, portable=portable)
        hit = (info, codecs, dict(spec))
        if key is not None and len(_CODEC_CACHE) < 256:
            _CODEC_CACHE[key] = hit
    return hit[0], [dict(c) for c in hit[1]], dict(hit[2])


def _set_or_drop(d: dict[str, Any], key: str, value: dict[str, Any]) -> None:
    # Empty reserved sections are left out of the stored document.
    if value:
        d[key] = value
    else:
        d.pop(key, None)


def _check_json(value: Any, what: str) -> None:
    """ValueError naming ``what`` unless ``value`` can be written as metadata
    (strict JSON in UTF-8: no lone surrogates from undecodable names)."""
    try:
        dump_json({"v": value})
    except (TypeError, ValueError) as e:
        raise ValueError(f"Unable to store {what}: not representable in the metadata ({e})") from None


def _split(path: str) -> tuple[str, str]:
    parent, _, name = path.rpartition("/")
    return parent, name


class NativeArray(ArrayBackend):
    """A dataset backed by an engine Array."""

    def __init__(self, file: NativeFile, path: str, arr: Array) -> None:
        self._file = file
        self.path = path
        self._arr = arr
        res = arr.meta.attributes.get(RESERVED) or {}
        self._h5dtype = spec_to_dtype(res["h5dtype"]) if "h5dtype" in res else None
        # h5py reports fixed-length byte strings with their (default) encoding.
        self.dtype = reported_dtype(self._h5dtype if self._h5dtype is not None else arr.dtype)

    @property
    def _res(self) -> dict[str, Any]:
        return self._arr.meta.attributes.get(RESERVED) or {}

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return self._arr.meta.shape

    @property
    def chunks(self) -> tuple[int, ...] | None:
        if self._res.get("layout") == "contiguous":
            return None
        return self._arr.meta.chunks

    @property
    def maxshape(self) -> tuple[int | None, ...]:
        ms = self._res.get("maxshape")
        if ms is None:
            return self.shape
        return tuple(None if m is None else int(m) for m in ms)

    @property
    def fillvalue(self) -> Any:
        fill = self._arr.fill_value
        if self._h5dtype is not None:
            base, sub = self._h5dtype.subdtype  # type: ignore[misc]
            return np.frombuffer(np.asarray(fill).tobytes(), dtype=base).reshape(sub).copy()
        return fill

    @property
    def filters(self) -> dict[str, Any]:
        return dict(self._res.get("filters") or {})

    @property
    def empty(self) -> bool:
        return bool(self._res.get("empty"))

    @property
    def reserved(self) -> dict[str, Any]:
        return self._res

    def update_reserved(self, **entries: Any) -> None:
        """Set (or, with None, remove) reserved entries of this array. ValueError
        before anything changes if an entry could not be written as metadata."""
        _check_json(entries, f"/{self.path}")

        def edit(res: dict[str, Any]) -> None:
            for k, v in entries.items():
                if v is None:
                    res.pop(k, None)
                else:
                    res[k] = v

        self._file._edit_reserved(self.path, edit)

    @property
    def dimension_names(self) -> list[str | None] | None:
        return self._arr.meta.dimension_names

    def set_dimension_name(self, axis: int, name: str | None) -> None:
        _check_json(name, f"dimension label of /{self.path}")
        names = list(self._arr.meta.dimension_names or [None] * len(self.shape))
        names[axis] = name
        self._arr.meta.dimension_names = None if all(n is None for n in names) else names
        self._file.h.update_array(self.path)

    def set_dimension_names(self, names: list[str | None] | None) -> None:
        _check_json(names, f"dimension names of /{self.path}")
        if names is not None and all(n is None for n in names):
            names = None
        if names == self._arr.meta.dimension_names:
            return
        self._arr.meta.dimension_names = None if names is None else list(names)
        self._file.h.update_array(self.path)

    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        out = self._arr.read(selection)
        if self._h5dtype is not None:
            base, sub = self._h5dtype.subdtype  # type: ignore[misc]
            out = np.ascontiguousarray(out).view(base).reshape(out.shape + sub)
        return out

    def write(self, selection: tuple[slice, ...], value: np.ndarray[Any, Any]) -> None:
        if self._h5dtype is not None:
            base, sub = self._h5dtype.subdtype  # type: ignore[misc]
            shape = tuple(len(range(*s.indices(n))) for s, n in zip(selection, self.shape))
            full = np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=base), shape + sub))
            value = full.reshape(shape + (-1,)).view(self._arr.dtype).reshape(shape)
        self._arr.write(selection, value)

    def resize(self, shape: tuple[int, ...]) -> None:
        self._file.h.resize(self.path, shape)

    def stored_chunks(self) -> int | None:
        return self._arr.nchunks_stored()

    def refresh(self) -> None:
        self._file.h.reload_array(self.path)


class NativeFile(FileBackend):
    """An open file in the native layout."""

    def __init__(self, hier: Hierarchy) -> None:
        self.h = hier
        self.writable = hier.writable
        self._arrays: dict[str, NativeArray] = {}
        # Attribute and reserved-key edits read, modify and replace a node's
        # attributes; the lock keeps two threads from losing each other's edit.
        self._edit_lock = threading.RLock()
        #: Whether any hard link exists (None: not known yet; see identity).
        self.has_hard_links: bool | None = None

    # ----------------------------------------------------------------- reads
    def _doc(self, path: str) -> dict[str, Any]:
        doc = self.h.get(path)
        if doc is None:
            raise KeyError(path)
        return doc

    def lookup(self, path: str) -> Entry | None:
        doc = self.h.get(path)
        if doc is not None:
            if doc["node_type"] == "array":
                return _ARRAY
            if "datatype" in _reserved(doc):
                return _DATATYPE
            return _GROUP
        if not path:
            return None
        parent, name = _split(path)
        pdoc = self.h.get(parent)
        if pdoc is None:
            return None
        link = (_reserved(pdoc).get("links") or {}).get(name)
        if link is None:
            return None
        if link[0] == "external":
            return Entry(EXTERNAL, link[2], link[1])
        return Entry(SOFT if link[0] == "soft" else HARD, link[1])

    def track_order(self, path: str) -> bool:
        return bool(_reserved(self._doc(path)).get("track_order"))

    def root_setting(self, key: str) -> Any:
        """A file-wide setting kept under the root's reserved key (None if unset)."""
        return _reserved(self._doc("")).get(key)

    def members(self, path: str) -> list[str]:
        doc = self._doc(path)
        res = _reserved(doc)
        names = self.h.children(path)
        links = res.get("links")
        if links:
            names = names + [n for n in links if n not in names]
            if not res.get("track_order"):
                names.sort(key=_utf8)
        if res.get("track_order"):
            order = {n: i for i, n in enumerate(res.get("order") or [])}
            names = sorted(names, key=lambda n: (order.get(n, len(order)), _utf8(n)))
        bad = next((n for n in names if not unchanged(n, True)), None)
        if bad is not None:
            # Members are addressed by path: one whose name no HDF5 name can be
            # (NUL, "/", "." or empty) is metadata another writer (or damage) made.
            raise CorruptData(
                f"{self.h.location.display}: group /{path} has a member named {bad!r}, which cannot be an HDF5 "
                "name: the file's metadata is damaged", self.h.location.display)
        return names

    def attr_names(self, path: str) -> list[str]:
        doc = self._doc(path)
        attrs = doc.get("attributes") or {}
        names = [k for k in attrs if k != RESERVED]
        res = attrs.get(RESERVED) or {}
        derived = self._derived_names(doc, res)
        if derived:
            # Dimension-scale attributes come first, as HDF5 creates them when a
            # dataset becomes a scale or gets one attached.
            names = [n for n in derived if n not in attrs] + names
        if not res.get("track_order"):
            names.sort(key=_utf8)
        return shown_names(names, False)

    @staticmethod
    def _attr_key(attrs: dict[str, Any], name: str) -> str | None:
        """The key of ``attrs`` (a node's stored attributes) shown as ``name``:
        itself nearly always; a key no HDF5 name can hold (NUL ...) is shown
        escaped (``sciswift.h5.names``). None if there is none."""
        if name in attrs and name != RESERVED and unchanged(name, False):
            return name
        key = stored_name(name, [k for k in attrs if k != RESERVED], False)
        return key if isinstance(key, str) else None

    @staticmethod
    def _derived_names(doc: dict[str, Any], res: dict[str, Any]) -> list[str]:
        if doc.get("node_type") != "array" or not (res or doc.get("dimension_names")):
            return []
        return scaleattrs.present(res, scaleattrs.labels_of(res, doc.get("dimension_names")))

    def has_attr(self, path: str, name: str) -> bool:
        if name == RESERVED:
            return False
        doc = self._doc(path)
        attrs = doc.get("attributes") or {}
        if self._attr_key(attrs, name) is not None:
            return True
        return name in scaleattrs.NAMES and name in self._derived_names(doc, attrs.get(RESERVED) or {})

    def get_attr(self, path: str, name: str) -> Any:
        doc = self._doc(path)
        attrs = doc.get("attributes") or {}
        key = self._attr_key(attrs, name)
        if key is None:
            if name in scaleattrs.NAMES and doc.get("node_type") == "array":
                res = attrs.get(RESERVED) or {}
                return scaleattrs.value(name, res, scaleattrs.labels_of(res, doc.get("dimension_names")),
                                        len(doc["shape"]), self._exists)
            raise KeyError(name)
        typed = ((attrs.get(RESERVED) or {}).get("attrs") or {}).get(key)
        return decode_attr(attrs[key], typed, f"attribute {name!r} of /{path} in {self.h.location.display}")

    def _exists(self, path: str) -> bool:
        return self.h.get(path.lstrip("/")) is not None

    def attr_type(self, path: str, name: str) -> tuple[np.dtype[Any], tuple[int, ...] | None] | None:
        """The stored dtype and shape (None: null dataspace) of an attribute kept
        with a typed copy; None for plain JSON values (their value tells)."""
        doc = self._doc(path)
        attrs = doc.get("attributes") or {}
        key = self._attr_key(attrs, name)
        if key is None and name in self._derived_names(doc, attrs.get(RESERVED) or {}):
            return scaleattrs.stored_type(name, attrs[RESERVED] if RESERVED in attrs else {}, len(doc["shape"]))
        typed = ((attrs.get(RESERVED) or {}).get("attrs") or {}).get(key) if key is not None else None
        if typed is None:
            return None
        dt = reported_dtype(spec_to_dtype(typed["dtype"]))
        if typed.get("empty"):
            return dt, None
        return dt, tuple(typed["shape"])

    def array(self, path: str) -> ArrayBackend:
        engine_array = self.h.array(path)
        arr = self._arrays.get(path)
        if arr is None or arr._arr is not engine_array:
            arr = self._arrays[path] = NativeArray(self, path, engine_array)
        if "virtual" in arr.reserved:
            from sciswift.h5.vds import VirtualArray

            return VirtualArray(arr)
        return arr

    def datatype(self, path: str) -> np.dtype[Any]:
        return spec_to_dtype(_reserved(self._doc(path))["datatype"])

    # ---------------------------------------------------------------- writes
    #: Room kept for chunk keys below an array's own key ("/c/12/345/...").
    _CHUNK_KEY_ROOM = 96

    def check_new_name(self, path: str) -> None:
        """ValueError if ``path`` cannot be stored: its object keys would break the
        store's name rules (too long, not UTF-8) or clash with a metadata key.
        Checked before anything is created, so a bad name leaves no trace."""
        name = path.rpartition("/")[2]
        if name == "zarr.json":
            raise ValueError(f"Name {name!r} is reserved by the storage layout (docs/layout.md)")
        try:
            key = self.h.kv.name(f"{path}/zarr.json").encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"Name {path!r} is not valid UTF-8") from None
        limit = 1024 - self._CHUNK_KEY_ROOM
        if len(key) > limit:
            raise ValueError(
                f"Name /{path[:60]}... is too long for the object store: its keys would be {len(key)} bytes "
                f"(at most {limit})"
            )

    def _edit_reserved(self, path: str, fn: Any) -> None:
        with self._edit_lock:
            attrs = dict(self._doc(path).get("attributes") or {})
            res = dict(attrs.get(RESERVED) or {})
            fn(res)
            _set_or_drop(attrs, RESERVED, res)
            self.h.set_attributes(path, attrs)

    def set_attr(self, path: str, name: str, value: Any) -> None:
        """Store attribute ``name``. A value the layout cannot hold raises here
        (TypeError naming the attribute; AttributeTooLarge, an OSError, over the
        size limits), never later at flush."""
        if not name.isascii():
            _check_json(name, f"attribute name {name!r} of /{path}")
        try:
            plain, typed = encode_attr(value)
            if typed is not None:
                check_storable(plain, typed)
        except UnicodeEncodeError:
            raise  # as h5py: a str that is not valid Unicode (lone surrogates)
        except (NotSupported, InvalidInput, TypeError, ValueError, OverflowError) as e:
            raise TypeError(f"Unable to store attribute {name!r} of /{path}: {e}") from e
        self._put_attr(path, name, (plain, typed))

    def del_attr(self, path: str, name: str) -> None:
        doc = self._doc(path)
        attrs = doc.get("attributes") or {}
        key = self._attr_key(attrs, name)
        if key is None:
            if name in self._derived_names(doc, attrs.get(RESERVED) or {}):
                self._del_derived(path, name)
                return
            raise KeyError(name)
        self._put_attr(path, key, None)

    def _del_derived(self, path: str, name: str) -> None:
        """Deleting a dimension-scale attribute undoes what it records, as deleting
        HDF5's own attribute would: CLASS (or NAME) unmarks the scale (or clears its
        name), REFERENCE_LIST and DIMENSION_LIST forget the attachments on this side,
        DIMENSION_LABELS clears the labels."""
        if name == "DIMENSION_LABELS":
            from sciswift.h5.dims import sync_dimension_names

            arr = self.array(path)
            sync_dimension_names(arr, path, [None] * len(arr.shape))
            return
        key = {"CLASS": "scale", "REFERENCE_LIST": "refs", "DIMENSION_LIST": "dims"}.get(name)
        if key is None:
            self._edit_reserved(path, lambda r: r.__setitem__("scale", ""))
            return
        self._edit_reserved(path, lambda r: r.pop(key, None))

    def _put_attr(self, path: str, name: str, stored: tuple[Any, dict[str, Any] | None] | None) -> None:
        """Replace (``stored`` = plain value and typed entry) or remove (None) one
        attribute: its plain entry moves to the end (creation order), its typed
        copy under the reserved key follows."""
        with self._edit_lock:
            attrs = dict(self._doc(path).get("attributes") or {})
            res = dict(attrs.get(RESERVED) or {})
            tattrs = dict(res.get("attrs") or {})
            attrs.pop(name, None)
            tattrs.pop(name, None)
            if stored is not None:
                attrs[name] = stored[0]
                if stored[1] is not None:
                    tattrs[name] = stored[1]
            _set_or_drop(res, "attrs", tattrs)
            _set_or_drop(attrs, RESERVED, res)
            self.h.set_attributes(path, attrs)

    def _added(self, path: str) -> None:
        parent, name = _split(path)
        pdoc = self._doc(parent)
        if _reserved(pdoc).get("track_order"):
            self._edit_reserved(parent, lambda r: r.__setitem__("order", [*(r.get("order") or []), name]))

    def _removed(self, path: str) -> None:
        parent, name = _split(path)
        pdoc = self.h.get(parent)
        if pdoc is not None and name in (_reserved(pdoc).get("order") or []):
            self._edit_reserved(parent, lambda r: r.__setitem__("order", [n for n in r["order"] if n != name]))

    def create_group(self, path: str, track_order: bool = False) -> None:
        attrs = {RESERVED: {"track_order": True}} if track_order else None
        self.h.create_group(path, attrs)
        self._added(path)

    def create_datatype(self, path: str, dtype: np.dtype[Any]) -> None:
        self.h.create_group(path, {RESERVED: {"datatype": dtype_to_spec(dtype)}})
        self._added(path)

    def create_array(self, path: str, spec: ArraySpec, track_order: bool = False) -> NativeArray:
        dt = spec.dtype
        extras: dict[str, Any] = {}
        fill = spec.fillvalue
        if dt.subdtype is not None:
            extras["h5dtype"] = dtype_to_spec(dt)
            base, sub = dt.subdtype
            engine_dt = np.dtype(f"V{dt.itemsize}")
            raw = np.zeros(sub, base) if fill is None else np.broadcast_to(np.asarray(fill, dtype=base), sub)
            fill = np.frombuffer(np.ascontiguousarray(raw).tobytes(), dtype=engine_dt)[0]
        else:
            engine_dt = dt
        info, codecs, filters = _codecs_for(
            engine_dt, spec.compression, spec.compression_opts, spec.shuffle, spec.fletcher32, spec.scaleoffset)
        filt = dict(filters)
        if spec.unknown_filters:
            filt["unknown"] = list(spec.unknown_filters)
            filt.setdefault("compression", "unknown")
        if filt:
            extras["filters"] = filt
        if spec.maxshape is not None and tuple(spec.maxshape) != tuple(spec.shape):
            extras["maxshape"] = list(spec.maxshape)
        if spec.chunks is None:
            extras["layout"] = "contiguous"
        if spec.empty:
            extras["empty"] = True
        if track_order:
            extras["track_order"] = True
        if fill is None:
            from sciswift.engine.dtypes import default_fill

            fill = default_fill(engine_dt)
        meta = ArrayMeta.create(
            tuple(spec.shape), tuple(spec.storage_chunks), info, codecs, fill,
            attributes={RESERVED: extras} if extras else None,
        )
        # A dataset that may grow is never packed (it would stay out of reach of
        # other Zarr readers however big it became).
        arr = self.h.create_array(path, meta, packable="maxshape" not in extras)
        self._added(path)
        nat = self._arrays[path] = NativeArray(self, path, arr)
        return nat

    def set_link(self, path: str, entry: Entry) -> None:
        parent, name = _split(path)
        if entry.kind == EXTERNAL:
            value = ["external", entry.filename, entry.target]
        else:
            value = ["soft" if entry.kind == SOFT else "hard", entry.target]
        _check_json(value, f"link /{path}")
        if entry.kind == HARD:
            self.has_hard_links = True
        self._edit_reserved(parent, lambda r: r.__setitem__("links", {**(r.get("links") or {}), name: value}))
        self._added(path)

    def delete(self, path: str) -> list[tuple[str, str]]:
        """Remove the name ``path``. An object other hard links name is kept, moved
        to one of them: the moves made are returned as ``(old, new)`` paths."""
        entry = self.lookup(path)
        if entry is None:
            raise KeyError(path)
        if entry.is_link:
            identity.drop_link(self, path)
        else:
            # Objects that other hard links name survive under one of them.
            moves = identity.rehome_linked(self, path)
            if self.h.get(path) is not None:
                self.h.delete(path)
            self.forget_arrays(path)
            self._removed(path)
            return moves
        self._removed(path)
        return []

    def move(self, src: str, dst: str) -> None:
        entry = self.lookup(src)
        if entry is None:
            raise KeyError(src)
        if entry.is_link:
            self.set_link(dst, entry)
            self.delete(src)
            return
        self.h.move(src, dst)
        self.forget_arrays(src)
        self._removed(src)
        self._added(dst)
        identity.after_move(self, src, dst)

    def forget_arrays(self, path: str) -> None:
        """Drop the cached array objects at and below ``path`` (moved or deleted)."""
        for p in [p for p in self._arrays if p == path or p.startswith(path + "/")]:
            del self._arrays[p]

    def forward(self, path: str) -> str | None:
        """Where the object once at ``path`` is now (``identity.forward``)."""
        return identity.forward(self, path)

    def flush(self) -> None:
        """Write pending metadata, then make what was written durable on stores that
        defer it (a LocalStore opened with ``durable=False`` syncs once here)."""
        self.h.flush()
        self._sync()

    def _sync(self) -> None:
        store = self.h.location.store
        sync = getattr(store, "sync", None)
        if sync is not None and self.writable and not getattr(store, "durable", True):
            sync()

    def close(self) -> None:
        """Write pending metadata and release the store this file opened
        (connections, handles). The process-wide MemoryStore is shared and stays."""
        try:
            # No sync here: like HDF5's close, data reaches the disk when the OS
            # writes it back; flush() is the explicit durability point.
            self.h.close()
        finally:
            self.h.location.store.close()

    def parent_exists(self, path: str) -> bool:
        return self.h.kind(parent_of(path)) == "group"
