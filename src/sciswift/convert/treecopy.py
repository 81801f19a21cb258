"""Copying an HDF5-style tree between h5py and ``sciswift.h5py``, in either direction.

What is carried over: groups (and whether they track creation order), datasets
(shape, maxshape, dtype, chunk shape, filters, fill value), named datatypes,
attributes with their stored dtype and shape, soft and external links, hard links
(an object reachable under several names is copied once and linked under the
others), object and region references (rewritten to point at the copies), and
dimension scales.

How it runs:

1. The source is surveyed once for the progress totals.
2. Groups, datasets, datatypes, links and attributes are created depth-first in
   the source's member order; dataset data is copied block by block
   (``blocks``) through a ``BlockPipeline``, so a dataset of any size is never
   held in memory and the sciswift side of the copy runs concurrently.
3. Once every object exists, what holds references is written (datasets and
   attributes whose dtype contains references, translated to the copies), and
   dimension scales are attached.

Anything that cannot be carried over exactly is recorded in ``CopyReport.notes``,
one line naming the object, instead of failing the copy; anything that cannot
be carried over at all (a dataset the source library cannot read) raises
``ConversionError`` naming the object.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sciswift.convert.apis import Api, field_of, has_refs, meta_of, translate_dtype
from sciswift.convert.blocks import DEFAULT_BUDGET, iter_blocks, selection_nbytes
from sciswift.convert.chunkcopy import ChunkCopier, RangeReader
from sciswift.convert.progress import NullProgress, Progress
from sciswift.convert.regions import make_region_ref, region_index
from sciswift.convert.transfer import BlockPipeline, Direction
from sciswift.convert.zerowidth import project_fields, without_zero_width
from sciswift.errors import InvalidInput

__all__ = ["CopyOptions", "CopyReport", "ConversionError", "TreeCopier"]


class ConversionError(InvalidInput):
    """A source object that cannot be converted; the message names it."""


@dataclass
class CopyOptions:
    """Tuning of the data copy. ``workers``/``inflight`` size the pipeline (more
    for remote stores, whose requests wait on the network); ``chunk_inflight``
    bounds the stored chunks held at once by the chunk pass-through
    (``chunkcopy``), which ``pass_through=False`` turns off (every chunk decoded
    and re-encoded)."""

    budget: int = DEFAULT_BUDGET
    workers: int = 4
    inflight: int = 6
    chunk_inflight: int = 32
    pass_through: bool = True


@dataclass
class CopyReport:
    """What a copy did, and what it could not carry over exactly (``notes``)."""

    groups: int = 0
    datasets: int = 0
    datatypes: int = 0
    soft_links: int = 0
    external_links: int = 0
    hard_links: int = 0
    attributes: int = 0
    references: int = 0
    bytes: int = 0
    #: datasets whose stored chunks were copied as bytes (not recompressed)
    passed_through: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.groups} groups", f"{self.datasets} datasets"]
        for count, label in ((self.datatypes, "named datatypes"), (self.soft_links, "soft links"),
                             (self.external_links, "external links"), (self.hard_links, "extra hard links"),
                             (self.attributes, "attributes"), (self.references, "references")):
            if count:
                parts.append(f"{count} {label}")
        return ", ".join(parts)


@dataclass
class _Pending:
    """A dataset or attribute written after every object exists."""

    kind: str  # "dataset" | "attr"
    src: Any
    dst: Any
    name: str = ""
    dtype: Any = None
    shape: Any = None


class TreeCopier:
    """Copies the tree under ``src_root`` into the (empty) group ``dst_root``.

    ``src_file``/``dst_file`` are the files the roots belong to (references are
    resolved through them). The destination must be writable.
    """

    def __init__(self, src_root: Any, dst_root: Any, src: Api, dst: Api, *,
                 options: CopyOptions | None = None, progress: Progress | None = None,
                 read_range: RangeReader | None = None) -> None:
        self.src_root = src_root
        self.dst_root = dst_root
        self.src = src
        self.dst = dst
        self.src_file = src_root.file
        self.dst_file = dst_root.file
        self.options = options or CopyOptions()
        self.progress: Progress = progress or NullProgress()
        self.report = CopyReport()
        # source object -> destination path of its copy (hard-link identity: both
        # libraries hash and compare objects by what they are, not by name)
        self._copies: dict[Any, str] = {}
        self._pending: list[_Pending] = []
        self._scaled: list[tuple[Any, Any]] = []
        self._dst_refs: dict[str, Any] = {}
        # h5py serialises every call, so its side stays on this thread (transfer.py)
        direction = Direction.WRITE_PARALLEL if dst.name == "sciswift" else Direction.READ_PARALLEL
        self._pipeline = BlockPipeline(direction, workers=self.options.workers, inflight=self.options.inflight)
        #: reads byte ranges of the source HDF5 file (import's chunk pass-through)
        self._read_range = read_range
        self._chunks = ChunkCopier(workers=self.options.workers, inflight=self.options.chunk_inflight)

    # ------------------------------------------------------------------ run
    def run(self) -> CopyReport:
        total_bytes, total_datasets = self._survey()
        self.progress.start(total_bytes, total_datasets)
        try:
            try:
                with self._pipeline:
                    self._copies[self.src_root] = self.dst_root.name
                    self._copy_attrs(self.src_root, self.dst_root)
                    self._copy_members(self.src_root, self.dst_root)
                self._chunks.drain()
            finally:
                self._chunks.close()
            for item in self._pending:
                self._write_pending(item)
            self._attach_scales()
        finally:
            self.progress.close()
        return self.report

    def _survey(self) -> tuple[int, int]:
        totals = [0, 0]

        def visit(_name: str, obj: Any) -> None:
            if self.src.is_dataset(obj):
                totals[1] += 1
                shape = obj.shape
                try:
                    itemsize = obj.dtype.itemsize
                except (TypeError, ValueError):
                    return  # no NumPy dtype: _create_dataset says so, naming it
                if shape is not None:
                    totals[0] += math.prod(shape) * itemsize

        self.src_root.visititems(visit)
        return totals[0], totals[1]

    # ------------------------------------------------------------ structure
    def _copy_members(self, sgroup: Any, dgroup: Any) -> None:
        for name in list(sgroup):
            where = _join(sgroup.name, name)
            link = sgroup.get(name, getlink=True)
            if self.src.is_soft(link):
                dgroup[name] = self.dst.mod.SoftLink(link.path)
                self.report.soft_links += 1
                continue
            if self.src.is_external(link):
                dgroup[name] = self.dst.mod.ExternalLink(link.filename, link.path)
                self.report.external_links += 1
                continue
            try:
                obj = sgroup[name]
            except (KeyError, OSError, ValueError) as exc:
                raise ConversionError(f"cannot read {where}: {exc}", where) from exc
            copied = self._copies.get(obj)
            if copied is not None:
                dgroup[name] = self.dst_file[copied]
                self.report.hard_links += 1
                continue
            dpath = _join(dgroup.name, name)
            if self.src.is_group(obj):
                track = self.src.tracks_order(obj)
                child = dgroup.create_group(name, track_order=True if track else None)
                self._copies[obj] = dpath
                self.report.groups += 1
                self._copy_attrs(obj, child)
                self._copy_members(obj, child)
            elif self.src.is_dataset(obj):
                dset = self._create_dataset(obj, dgroup, name, where)
                self._copies[obj] = dpath
                self.report.datasets += 1
                self._copy_attrs(obj, dset)
            elif self.src.is_datatype(obj):
                dgroup[name] = translate_dtype(obj.dtype, self.src, self.dst)
                self._copies[obj] = dpath
                self.report.datatypes += 1
                self._copy_attrs(obj, dgroup[name])
            else:
                self.report.notes.append(f"{where}: an object of unknown kind ({type(obj).__name__}) was skipped")

    def _copy_attrs(self, sobj: Any, dobj: Any) -> None:
        # recreated by _attach_scales
        skip = self.src.scale_bookkeeping(sobj) if self.src.is_dataset(sobj) else frozenset()
        for name in list(sobj.attrs):
            if name in skip:
                continue
            where = f"attribute {name!r} of {sobj.name}"
            try:
                value = sobj.attrs[name]
                dtype, shape = self.src.attr_dtype_shape(sobj, name, value)
            except (OSError, TypeError, ValueError, KeyError) as exc:
                self.report.notes.append(f"{where} cannot be read ({exc}); it was skipped")
                continue
            dtype = self._writable_dtype(translate_dtype(dtype, self.src, self.dst), where)
            if has_refs(dtype):
                self._pending.append(_Pending("attr", sobj, dobj, name, dtype, shape))
                continue
            self._create_attr(dobj, name, value, dtype, shape, where)

    def _create_attr(self, dobj: Any, name: str, value: Any, dtype: np.dtype[Any], shape: Any, where: str) -> None:
        if shape is None or isinstance(value, self.src.mod.Empty):
            dobj.attrs.create(name, self.dst.mod.Empty(dtype))
        else:
            data = _as_attr_data(value, dtype, shape)
            try:
                dobj.attrs.create(name, data, dtype=dtype)
            except (TypeError, ValueError) as exc:
                raise ConversionError(f"cannot write {where} (dtype {dtype}): {exc}", where) from exc
        self.report.attributes += 1

    # ------------------------------------------------------------- datasets
    def _create_dataset(self, sds: Any, dgroup: Any, name: str, where: str) -> Any:
        try:
            src_dtype = sds.dtype
        except (TypeError, ValueError) as exc:
            # h5py opens a dataset of an HDF5 type with no NumPy equivalent
            # (H5T_TIME, 128-bit floats) and raises only when asked its dtype.
            raise ConversionError(f"cannot copy {where}: its HDF5 datatype has no NumPy equivalent, so it "
                                  f"cannot be read ({exc})", where) from exc
        dtype = self._writable_dtype(translate_dtype(src_dtype, self.src, self.dst), where)
        if sds.shape is None:
            self.progress.dataset_done()
            return dgroup.create_dataset(name, data=self.dst.mod.Empty(dtype))
        kwds: dict[str, Any] = {"shape": sds.shape, "dtype": dtype}
        if self.src.tracks_order(sds):
            kwds["track_order"] = True
        layout = self.src.layout(sds)
        if layout in ("compact", "external", "virtual"):
            self.report.notes.append(f"{where}: {layout} storage is not kept; the data is stored "
                                     f"{'chunked' if sds.chunks else 'contiguous'}")
        if sds.chunks is not None and sds.shape != ():
            kwds["chunks"] = sds.chunks
            if sds.maxshape != sds.shape:
                kwds["maxshape"] = sds.maxshape
            kwds.update(self._filter_kwds(sds, where))
        fill = _explicit_fill(sds, dtype)
        if fill is not None:
            kwds["fillvalue"] = fill
        try:
            dds = dgroup.create_dataset(name, **kwds)
        except (TypeError, ValueError) as exc:
            raise ConversionError(f"cannot create {where} ({_describe_kwds(kwds)}): {exc}", where) from exc
        if has_refs(dtype):
            self._pending.append(_Pending("dataset", sds, dds))
        else:
            self._queue_data(sds, dds, where)
        return dds

    def _writable_dtype(self, dtype: np.dtype[Any], where: str) -> np.dtype[Any]:
        """``dtype`` without the compound fields the destination cannot hold:
        HDF5 has no zero-sized array type (``zerowidth``); each dropped field is
        named in a note."""
        if self.dst.name != "h5py":
            return dtype
        kept, dropped = without_zero_width(dtype)
        for name in dropped:
            self.report.notes.append(f"{where}: field {name!r} holds zero bytes per element (HDF5 has no "
                                     "zero-sized array type); it was left out")
        return kept

    def _filter_kwds(self, sds: Any, where: str) -> dict[str, Any]:
        spec = self.src.filters(sds)
        kwds: dict[str, Any] = {}
        if spec.compression is not None:
            available = self._writable_filters()
            if spec.compression in available:
                kwds["compression"] = spec.compression
                if spec.compression_opts is not None:
                    kwds["compression_opts"] = spec.compression_opts
            else:
                self.report.notes.append(f"{where}: {self.dst.name} cannot write {spec.compression} "
                                         "compression here; stored uncompressed")
        if spec.shuffle:
            kwds["shuffle"] = True
        if spec.fletcher32:
            kwds["fletcher32"] = True
        if spec.scaleoffset is not None:
            kwds["scaleoffset"] = spec.scaleoffset
        for other in spec.others:
            self.report.notes.append(f"{where}: the {other} filter is not available in {self.dst.name}; "
                                     "the data is stored without it")
        return kwds

    def _writable_filters(self) -> tuple[str, ...]:
        if self.dst.name == "h5py":
            import h5py

            return tuple(name for name in ("gzip", "lzf", "szip") if name in h5py.filters.encode)
        from sciswift.h5.filters import encode

        return encode

    def _queue_data(self, sds: Any, dds: Any, where: str) -> None:
        shape = sds.shape
        nbytes_total = math.prod(shape) * sds.dtype.itemsize
        if math.prod(shape) == 0:
            self.progress.dataset_done()
            return
        # Blocks align with the chunks of the side that is chunked; for contiguous
        # data the destination's storage grid is not known, so those blocks are
        # written one after the other (they might share a storage chunk).
        if self.options.pass_through and self._pass_through(sds, dds, where):
            self.report.bytes += nbytes_total
            self.report.passed_through += 1
            return
        unit = sds.chunks or _storage_grid(shape, sds.dtype.itemsize)
        serial = None if (sds.chunks and dds.chunks == sds.chunks) else id(dds)
        blocks = list(iter_blocks(shape, unit, sds.dtype.itemsize, self.options.budget))
        last = len(blocks) - 1
        for i, sel in enumerate(blocks):
            nbytes = selection_nbytes(sel, sds.dtype.itemsize) if sel else nbytes_total
            self._pipeline.submit(
                _reader(sds, sel, where),
                _writer(dds, sel, where),
                done=self._on_block(nbytes, i == last),
                serial_key=serial,
            )
        self.report.bytes += nbytes_total

    def _pass_through(self, sds: Any, dds: Any, where: str) -> bool:
        """Queue the dataset's stored chunks as bytes (``chunkcopy``) if the
        pipelines allow it."""
        if self.src.name == "h5py" and self.dst.name == "sciswift":
            return self._chunks.import_dataset(sds, dds, where, self._read_range, self.progress.advance,
                                               self.progress.dataset_done)
        if self.src.name == "sciswift" and self.dst.name == "h5py":
            return self._chunks.export_dataset(sds, dds, where, self.progress.advance, self.progress.dataset_done)
        return False

    def _on_block(self, nbytes: int, last: bool) -> Callable[[], None]:
        def done() -> None:
            self.progress.advance(nbytes)
            if last:
                self.progress.dataset_done()

        return done

    # ----------------------------------------------------------- references
    def _write_pending(self, item: _Pending) -> None:
        if item.kind == "attr":
            where = f"attribute {item.name!r} of {item.src.name}"
            value = item.src.attrs[item.name]
            if not isinstance(value, self.src.mod.Empty) and item.shape is not None:
                value = self._map_refs(np.asarray(value) if not isinstance(value, self.src.reference) else value,
                                       item.dtype, where)
            self._create_attr(item.dst, item.name, value, item.dtype, item.shape, where)
            return
        sds, dds = item.src, item.dst
        where = sds.name
        if sds.shape is None or math.prod(sds.shape) == 0:
            self.progress.dataset_done()
            return
        unit = sds.chunks or _storage_grid(sds.shape, sds.dtype.itemsize)
        total = 0
        for sel in iter_blocks(sds.shape, unit, sds.dtype.itemsize, self.options.budget):
            data = _reader(sds, sel, where)()
            mapped = self._map_refs(data, dds.dtype, where)
            _writer(dds, sel, where)(mapped)
            nbytes = selection_nbytes(sel, sds.dtype.itemsize)
            total += nbytes
            self.progress.advance(nbytes)
        self.report.bytes += total
        self.progress.dataset_done()

    def _map_refs(self, value: Any, dtype: np.dtype[Any], where: str) -> Any:
        """``value`` (read from the source, of a dtype holding references) with every
        reference replaced by one to the copy of its target."""
        if isinstance(value, self.src.reference):
            return self._map_ref(value, where)
        arr = np.asarray(value)
        if dtype.names is not None:
            out = np.empty(arr.shape, dtype=dtype)
            for fname in dtype.names:
                fdt = field_of(dtype, fname)[0]
                out[fname] = self._map_refs(arr[fname], fdt, where) if has_refs(fdt) else arr[fname]
            return out
        if dtype.subdtype is not None:
            base = dtype.subdtype[0]
            return self._map_refs(arr, base, where)
        meta = meta_of(dtype)
        out = np.empty(arr.shape, dtype=dtype if dtype.kind == "O" else object)
        flat_in, flat_out = arr.reshape(-1), out.reshape(-1)
        if meta.get("ref") is not None:
            for i in range(flat_in.size):
                flat_out[i] = self._map_ref(flat_in[i], where)
        else:  # vlen sequences of references
            inner = meta["vlen"]
            for i in range(flat_in.size):
                seq = np.asarray(flat_in[i], dtype=object)
                mapped = np.empty(seq.shape, dtype=inner)
                mapped[...] = self._map_refs(seq, inner, where)
                flat_out[i] = mapped
        return out

    def _map_ref(self, ref: Any, where: str) -> Any:
        region = isinstance(ref, self.src.region_reference)
        if not ref:
            return self.dst.null_ref(region)
        try:
            target = self.src_file[ref]
        except (KeyError, ValueError, OSError):
            self.report.notes.append(f"{where}: a reference whose target cannot be opened became a null reference")
            return self.dst.null_ref(region)
        path = self._copies.get(target)
        if path is None:
            self.report.notes.append(f"{where}: a reference to {target.name}, which is outside what was "
                                     "copied, became a null reference")
            return self.dst.null_ref(region)
        self.report.references += 1
        if region:
            index = region_index(self.src, target, ref)
            return make_region_ref(self.dst, self.dst_file[path], index)
        dref = self._dst_refs.get(path)
        if dref is None:
            dref = self._dst_refs[path] = self.dst_file[path].ref
        return dref

    # ---------------------------------------------------------- dimensions
    def _attach_scales(self) -> None:
        for sobj, path in list(self._copies.items()):
            if not self.src.is_dataset(sobj):
                continue
            dds = None
            if self.src.is_scale(sobj):
                dds = self.dst_file[path]
                dds.make_scale(self.src.scale_name(sobj))
            ndim = len(sobj.shape or ())
            for axis in range(ndim):
                dim = sobj.dims[axis]
                label = dim.label
                scales = list(dim.values())
                if not label and not scales:
                    continue
                dds = dds if dds is not None else self.dst_file[path]
                if label:
                    dds.dims[axis].label = label
                for scale in scales:
                    spath = self._copies.get(scale)
                    if spath is None:
                        self.report.notes.append(f"{sobj.name}: dimension scale {scale.name} is outside what "
                                                 "was copied; not attached")
                        continue
                    dds.dims[axis].attach_scale(self.dst_file[spath])


# ------------------------------------------------------------------ helpers
def _join(parent: str | None, name: str) -> str:
    base = (parent or "/").rstrip("/")
    return f"{base}/{name}"


def _storage_grid(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    # The grid sciswift's h5 layer gives contiguous datasets (h5/create.py uses the
    # engine's guess_chunks too); blocks cut along it rarely split a chunk.
    from sciswift.engine.chunks import guess_chunks

    return tuple(guess_chunks(shape, itemsize))


def _reader(sds: Any, sel: tuple[slice, ...], where: str) -> Callable[[], Any]:
    def read() -> Any:
        try:
            return sds[sel]
        except (OSError, ValueError, TypeError) as exc:
            from sciswift.formats.hdf5 import read_error_text

            # A filter h5py has no decoder for is named (HDF5's own message is
            # about its plugin directory).
            raise ConversionError(f"cannot read {where}{_sel_text(sel)}: {read_error_text(sds, exc)}", where) from exc

    return read


def _writer(dds: Any, sel: tuple[slice, ...], where: str) -> Callable[[Any], None]:
    dt = dds.dtype
    # A datetime64/timedelta64 dataset written by h5py is opaque (translate_dtype):
    # h5py converts what it writes by the value's dtype, so the value gets the mark.
    opaque = dt.kind in "mM" and bool(dt.metadata and dt.metadata.get("h5py_opaque"))
    # h5py (3.16) cannot assign a block of vlen sequences that all have the same
    # length to a slice: it makes them one 2-D array and fails "Can't broadcast
    # (n, m) -> (n,)" (ROOT jagged branches whose entries are equally long, e.g.
    # uproot-issue38a.root). write_direct takes the object array as it is.
    vlen = meta_of(dt).get("vlen") if dt.kind == "O" else None
    # (identity tests: numpy says dtype("f8") == None, np.dtype(None) being float64)
    direct = isinstance(vlen, np.dtype) and type(dds).__module__.startswith("h5py")

    # Text of a NumPy unicode source (translate_dtype made it vlen UTF-8): neither
    # h5py nor sciswift.h5py converts a U<n> array, so it goes as str objects.
    strings = vlen is str

    def write(data: Any) -> None:
        if opaque:
            data = np.asarray(data).astype(dt)
        elif strings and isinstance(data, np.ndarray) and data.dtype.kind == "U":
            data = data.astype(object)
        elif dt.names is not None:
            data = project_fields(data, dt)  # fields dropped by _writable_dtype
        try:
            if direct and sel:
                block = np.empty(tuple(len(range(s.start, s.stop, s.step or 1)) for s in sel), dtype=dt)
                block[...] = data
                dds.write_direct(block, dest_sel=sel)
                return
            dds[sel] = data
        except (OSError, ValueError, TypeError) as exc:
            raise ConversionError(f"cannot write {where}{_sel_text(sel)}: {exc}", where) from exc

    return write


def _sel_text(sel: tuple[slice, ...]) -> str:
    if not sel:
        return ""
    return "[" + ", ".join(f"{s.start}:{s.stop}" for s in sel) + "]"


def _explicit_fill(sds: Any, dtype: np.dtype[Any]) -> Any:
    """The source's fill value if it is not the all-zero default (object dtypes
    have no settable fill value)."""
    if dtype.hasobject:
        return None
    try:
        fill = sds.fillvalue
    except (OSError, ValueError, TypeError, RuntimeError):
        return None  # RuntimeError: h5py's "fill value is undefined" (PyTables writes such datasets)
    if fill is None:
        return None
    raw = np.asarray(fill)
    if not raw.tobytes().strip(b"\x00"):
        return None
    if dtype.metadata and dtype.metadata.get("h5py_opaque"):
        # As an array of the opaque dtype: h5py makes its fill type from the value's
        # own dtype, and a bare datetime64 has no HDF5 type.
        return np.asarray(fill).astype(dtype)
    return fill


def _as_attr_data(value: Any, dtype: np.dtype[Any], shape: tuple[int, ...]) -> Any:
    """An attribute value as read back, shaped for ``attrs.create(..., dtype=dtype)``."""
    if dtype.subdtype is not None:
        return np.asarray(value).reshape(tuple(shape) + dtype.subdtype[1])
    if dtype.kind == "O":
        # Element by element: numpy would turn a list of equal-length sequences
        # (vlen data) into one 2-D array.
        out = np.empty(shape, dtype=dtype)
        if out.ndim == 0:
            out[()] = value
        else:
            out[...] = value
        return out
    if isinstance(value, str):  # a fixed-length UTF-8 string read back as str
        value = value.encode("utf-8", "surrogateescape")
    if dtype.names is not None:
        value = project_fields(value, dtype)  # fields dropped by _writable_dtype
    return np.asarray(value, dtype=dtype).reshape(shape)


def _describe_kwds(kwds: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwds.items() if k != "dtype") + f", dtype={kwds.get('dtype')}"
