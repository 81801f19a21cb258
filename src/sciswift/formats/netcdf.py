"""netCDF files: classic/64-bit-offset/CDF-5 (netCDF-3) and netCDF-4 (HDF5 inside).

netCDF-4 is HDF5, and is shown exactly as h5py shows the same file (the HDF5
plugin's view): groups, variables and the datasets netCDF keeps its dimensions in
(a dimension without a variable of its own is a placeholder dataset whose NAME
says so), every attribute as h5py reads it (``_Netcdf4Dimid``,
``_Netcdf4Coordinates``, ``_NCProperties`` included), and the dimension scales as
dimension scales. h5netcdf, and xarray's ``engine="h5netcdf"``, running on
``sciswift.h5py`` (or under ``sciswift run``) therefore read the object as they
read the local file; ``engine="sciswift"`` applies the same rules.

netCDF-3 has no HDF5 form; its mapping:

- variables -> datasets by name; global attributes -> root attributes; variable
  attributes -> dataset attributes.
- dimensions: each variable gets a ``_dims`` attribute, its dimension names in order
  (an array of strings).
- ``_FillValue``, ``scale_factor``, ``add_offset``, ``valid_range`` ... stay
  attributes and data is raw (nothing is masked or scaled).

netCDF-3 data is read by byte ranges: the header is parsed here (the format is a
short fixed specification) and a slice fetches only its bytes, record variables
record by record. scipy.io.netcdf_file would read every variable whole at open when
not memory-mapped (and a stored object cannot be memory-mapped): for a 64 MiB file
that is 64 MiB fetched to read one value. scipy is used to *write* netCDF-3. Values
are as scipy reads them: big-endian dtypes, char variables as ``S1`` arrays, text
attributes as str (decoded UTF-8, trailing NULs removed), single-valued numeric
attributes as scalars.

netCDF-4 is read by the HDF5 plugin (same direct chunk reads and cached index).

Writing (netCDF-3, via scipy, 64-bit offset format): root datasets become variables
over the dimensions named by their ``_dims`` (made up as ``<var>_dim<i>`` without
one); dtypes int8/S1/int16/int32/float32/float64 only (what the classic model
holds; no unlimited dimension is written); groups, links, other dtypes raise
NotSupported.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from functools import partial
from typing import Any, BinaryIO, cast

import numpy as np

from sciswift.errors import NotSupported
from sciswift.formats.base import ArrayNode, FormatPlugin, GroupNode, StoredObject
from sciswift.formats.hdf5 import HDF5Plugin, has_hdf5_signature
from sciswift.formats.layout import c_order_spans
from sciswift.formats.nodes import LazyArray, LazyGroup, as_corrupt, read_all, selection_shape, vlen_str_dtype
from sciswift.formats.ranged import RangedFile

__all__ = ["NetCDFPlugin", "ClassicHeader", "parse_classic_header", "dims_attr"]

CLASSIC_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
NC_DIMENSION, NC_VARIABLE, NC_ATTRIBUTE = 0x0A, 0x0B, 0x0C
STREAMING = 0xFFFFFFFF
# nc_type -> big-endian numpy dtype (1-6 classic, 7-11 CDF-5)
NC_TYPES = {1: ">i1", 2: "S1", 3: ">i2", 4: ">i4", 5: ">f4", 6: ">f8",
            7: ">u1", 8: ">u2", 9: ">u4", 10: ">i8", 11: ">u8"}
WRITABLE = {"i1", "S1", "i2", "i4", "f4", "f8"}
#: How the NAME of a netCDF-4 dimension without a variable of its own begins.
PURE_DIMENSION = b"This is a netCDF dimension but not a netCDF variable"
#: What the netCDF-3 header parser and reader raise for bytes that are not a
#: netCDF-3 file: ValueError (the parser's own findings; numpy's on a bad buffer)
#: and struct.error (a field cut short).
CLASSIC_ERRORS: tuple[type[BaseException], ...] = (ValueError, struct.error)
#: What scipy's writer raises for a tree the classic model cannot hold.
SCIPY_WRITE_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, OverflowError)


def dims_attr(names: list[str] | tuple[str, ...]) -> np.ndarray[Any, Any]:
    """The ``_dims`` attribute value: dimension names as an array of vlen strings."""
    out = np.empty(len(names), dtype=vlen_str_dtype())
    out[:] = list(names)
    return out


# ------------------------------------------------------------------ netCDF-3
@dataclass
class ClassicVar:
    name: str
    dimids: list[int]
    attrs: dict[str, Any]
    dtype: np.dtype[Any]
    vsize: int
    begin: int


@dataclass
class ClassicHeader:
    """A parsed netCDF-3 header (classic, 64-bit offset or CDF-5)."""

    version: int
    numrecs: int
    dims: list[tuple[str, int]]
    attrs: dict[str, Any]
    variables: list[ClassicVar] = field(default_factory=list)

    def is_record(self, var: ClassicVar) -> bool:
        return bool(var.dimids) and self.dims[var.dimids[0]][1] == 0

    def shape(self, var: ClassicVar) -> tuple[int, ...]:
        return tuple(self.numrecs if self.dims[d][1] == 0 else self.dims[d][1] for d in var.dimids)

    @property
    def record_vars(self) -> list[ClassicVar]:
        return [v for v in self.variables if self.is_record(v)]

    @property
    def recsize(self) -> int:
        rec = self.record_vars
        if len(rec) == 1:
            # One record variable: records are not padded (netCDF spec, and scipy).
            v = rec[0]
            return math.prod(self.shape(v)[1:]) * v.dtype.itemsize
        return sum(v.vsize for v in rec)


class _HeaderReader:
    def __init__(self, source: BinaryIO) -> None:
        self._src = source
        self.version = 1

    def take(self, n: int) -> bytes:
        data = self._src.read(n)
        if len(data) != n:
            raise ValueError("the header ends early")
        return data

    def int32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def non_neg(self) -> int:
        return int(struct.unpack(">Q", self.take(8))[0]) if self.version == 5 else self.int32()

    def offset(self) -> int:
        return int(struct.unpack(">Q", self.take(8))[0]) if self.version in (2, 5) else self.int32()

    def name(self) -> str:
        # As scipy reads names: trailing NULs dropped. Bytes that are not UTF-8
        # are kept (as lone surrogates) and listed as bytes, as h5py lists them.
        n = self.non_neg()
        raw = self.take(n)
        self.take(-n % 4)
        return raw.rstrip(b"\x00").decode("utf-8", "surrogateescape")

    def tagged_count(self, tag: int) -> int:
        found = self.int32()
        count = self.non_neg()
        if found == 0 and count == 0:
            return 0
        if found != tag:
            raise ValueError(f"expected tag {tag:#x}, found {found:#x}")
        return count

    def attr_list(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        for _ in range(self.tagged_count(NC_ATTRIBUTE)):
            name = self.name()
            nc_type = self.int32()
            if nc_type not in NC_TYPES:
                raise ValueError(f"attribute {name!r} has unknown type {nc_type}")
            count = self.non_neg()
            dtype = np.dtype(NC_TYPES[nc_type])
            raw = self.take(count * dtype.itemsize)
            self.take(-(count * dtype.itemsize) % 4)
            attrs[name] = _attr_value(raw, dtype)
        return attrs


def _attr_value(raw: bytes, dtype: np.dtype[Any]) -> Any:
    if dtype.kind == "S":
        text = raw.rstrip(b"\x00")
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError:
            return text
    values = np.frombuffer(raw, dtype).copy()
    return values[0] if values.shape == (1,) else values


def parse_classic_header(source: BinaryIO, size: int) -> ClassicHeader:
    """Parse the header of a netCDF-3 file of ``size`` bytes read from ``source``
    (positioned at 0). ValueError on anything malformed or inconsistent."""
    r = _HeaderReader(source)
    magic = r.take(4)
    if magic not in CLASSIC_MAGIC:
        raise ValueError("no netCDF-3 signature")
    r.version = magic[3]
    numrecs = r.non_neg()
    dims = [(r.name(), r.non_neg()) for _ in range(r.tagged_count(NC_DIMENSION))]
    attrs = r.attr_list()
    header = ClassicHeader(r.version, numrecs, dims, attrs)
    for _ in range(r.tagged_count(NC_VARIABLE)):
        name = r.name()
        dimids = [r.non_neg() for _ in range(r.non_neg())]
        if any(d >= len(dims) for d in dimids):
            raise ValueError(f"variable {name!r} names a dimension that does not exist")
        vattrs = r.attr_list()
        nc_type = r.int32()
        if nc_type not in NC_TYPES:
            raise ValueError(f"variable {name!r} has unknown type {nc_type}")
        vsize = r.non_neg()
        begin = r.offset()
        header.variables.append(ClassicVar(name, dimids, vattrs, np.dtype(NC_TYPES[nc_type]), vsize, begin))
    if any(header.dims[d][1] == 0 for v in header.variables for d in v.dimids[1:]):
        raise ValueError("the unlimited dimension is not a variable's first")
    if numrecs in (STREAMING, 0xFFFFFFFFFFFFFFFF):
        rec = header.record_vars
        header.numrecs = (size - min(v.begin for v in rec)) // header.recsize if rec and header.recsize else 0
    _check_extents(header, size)
    return header


def _check_extents(header: ClassicHeader, size: int) -> None:
    for v in header.variables:
        shape = header.shape(v)
        if header.is_record(v):
            if header.numrecs == 0:
                continue
            end = v.begin + (header.numrecs - 1) * header.recsize + math.prod(shape[1:]) * v.dtype.itemsize
        else:
            end = v.begin + math.prod(shape) * v.dtype.itemsize
        if end > size:
            raise ValueError(
                f"variable {v.name!r} needs bytes up to {end}, the object has {size} (truncated?)"
            )


def _classic_reader(source: RangedFile, header: ClassicHeader, var: ClassicVar) -> Any:
    shape = header.shape(var)
    dtype = var.dtype

    def read(selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        if not header.is_record(var):
            from sciswift.formats.layout import read_c_order

            return read_c_order(source, var.begin, shape, dtype, selection)
        # One span plan for the first selected record, shifted to every other one.
        inner_shape = shape[1:]
        inner_sel = selection[1:]
        records = range(selection[0].start, selection[0].stop, selection[0].step)
        plan = c_order_spans(var.begin, inner_shape, dtype.itemsize, inner_sel, source.coalesce_gap)
        spans = [(a + r * header.recsize, b + r * header.recsize) for r in records for a, b in plan.spans]
        bodies = source.fetch(spans)
        per = len(plan.spans)
        out = np.empty(selection_shape(selection), dtype)
        for i in range(len(records)):
            chunk = bodies[i * per : (i + 1) * per]
            if plan.covering:
                block = np.ndarray(out.shape[1:], dtype, buffer=chunk[0], strides=plan.strides)
            else:
                block = np.frombuffer(b"".join(chunk), dtype).reshape(out.shape[1:])
            out[i] = block
        return out

    return read


# ------------------------------------------------------------------ plugin
#: The first word of a NASA CDF file (Common Data Format: versions 3, 2.6, and 2.5
#: and older), the other format named ``.cdf``. Its second word is 0x0000FFFF, or
#: 0xCCCC0001 for a file compressed whole.
NASA_CDF_MAGIC = (b"\xcd\xf3\x00\x01", b"\xcd\xf2\x60\x02", b"\x00\x00\xff\xff")
NASA_CDF_SECOND = (b"\x00\x00\xff\xff", b"\xcc\xcc\x00\x01")


def refuse_nasa_cdf(head: bytes, name: str) -> None:
    """NotSupported naming ``name`` when ``head`` begins a NASA CDF file: ``.cdf``
    is also that format's extension (space-physics data, e.g. sunpy's test files),
    which is not netCDF and which sciswift has no plugin for. Without this such a
    file, picked by its name, would be called a damaged netCDF-3 file."""
    if head[:4] in NASA_CDF_MAGIC and head[4:8] in NASA_CDF_SECOND:
        raise NotSupported(
            f"cannot open {name}: it is a NASA CDF file (Common Data Format), not netCDF; "
            "sciswift has no plugin for that format (cdflib or spacepy read it)",
            name,
        )


class NetCDFPlugin(FormatPlugin):
    """netCDF-3 (own header parser, ranged reads) and netCDF-4 (through the HDF5
    plugin)."""

    name = "netcdf"
    label = "netCDF"
    library = "scipy and h5py"
    extensions = (".nc", ".nc3", ".nc4", ".cdf", ".netcdf")
    extra = "netcdf"
    requires = ("scipy", "h5py")
    can_write = True

    def matches_magic(self, head: bytes) -> bool:
        # HDF5 bytes count too: with a netCDF extension they outrank the plain HDF5
        # plugin, without one they tie and HDF5 wins (registry PRIORITY).
        return head[:4] in CLASSIC_MAGIC or has_hdf5_signature(head)

    def _hdf5(self) -> HDF5Plugin:
        plugin = HDF5Plugin()
        plugin.label = "netCDF-4"
        return plugin

    def open(self, source: BinaryIO, name: str) -> GroupNode:
        source.seek(0)
        head = source.read(4096)
        source.seek(0)
        refuse_nasa_cdf(head, name)
        if has_hdf5_signature(head):
            return self._hdf5().open(source, name)
        ranged = source if isinstance(source, RangedFile) else RangedFile.from_fileobj(source, name)
        return self._open_classic(ranged, name)

    def open_stored(self, obj: StoredObject) -> GroupNode:
        head = obj.source.pread(0, 4096)
        refuse_nasa_cdf(head, obj.display)
        if has_hdf5_signature(head):
            return self._hdf5().open_stored(obj)
        return self._open_classic(obj.source, obj.display)

    def _open_classic(self, source: RangedFile, name: str) -> GroupNode:
        with as_corrupt(name, "netCDF-3", "open", errors=CLASSIC_ERRORS):
            source.seek(0)
            header = parse_classic_header(cast(BinaryIO, source), source.size)
        root = LazyGroup(attrs=header.attrs)
        for var in header.variables:
            attrs = dict(var.attrs)
            attrs["_dims"] = dims_attr([header.dims[d][0] for d in var.dimids])
            root.add(var.name, partial(
                LazyArray, header.shape(var), var.dtype, _guarded(_classic_reader(source, header, var), name), attrs
            ))
        return root

    # ------------------------------------------------------------------ write
    def write(self, root: GroupNode, sink: BinaryIO, name: str) -> None:
        from scipy.io import netcdf_file

        dims: dict[str, int] = {}
        variables: list[tuple[str, np.ndarray[Any, Any], list[str], dict[str, Any]]] = []
        for key in root.keys():
            node = root[key]
            if not isinstance(node, ArrayNode):
                raise NotSupported(
                    f"cannot write {name} as netCDF-3: /{key} is a group or link; netCDF-3 is flat", name
                )
            data = read_all(node)
            code = data.dtype.str[1:]
            if code not in WRITABLE:
                raise NotSupported(
                    f"cannot write {name} as netCDF-3: /{key} has dtype {data.dtype}; the classic "
                    "model holds int8, char (S1), int16, int32, float32, float64",
                    name,
                )
            attrs = dict(node.attrs)
            dim_names = [str(d) for d in attrs.pop("_dims", [f"{key}_dim{i}" for i in range(data.ndim)])]
            if len(dim_names) != data.ndim:
                raise NotSupported(f"cannot write {name}: /{key} has {data.ndim} dimensions, _dims names {len(dim_names)}", name)
            for d, n in zip(dim_names, data.shape, strict=True):
                if dims.setdefault(d, n) != n:
                    raise NotSupported(
                        f"cannot write {name} as netCDF-3: dimension {d!r} is {dims[d]} long for one "
                        f"variable and {n} for /{key}",
                        name,
                    )
            variables.append((key, data, dim_names, attrs))
        with as_corrupt(name, "netCDF-3", "write", errors=SCIPY_WRITE_ERRORS):
            # scipy closes its file when done (and when collected); the sink is the
            # caller's, so scipy gets a wrapper whose close does nothing.
            nc = netcdf_file(_Unclosable(sink), "w", version=2)
            for d, n in dims.items():
                nc.createDimension(d, n)
            # Attributes go straight into scipy's attribute dicts: setattr would also
            # set Python attributes, and a netCDF attribute called "data" or "shape"
            # would then break the variable object.
            for k, v in root.attrs.items():
                nc._attributes[k] = _writable_attr(v, "/", k, name)
            for key, data, dim_names, attrs in variables:
                var = nc.createVariable(key, data.dtype.newbyteorder(">"), tuple(dim_names))
                for k, v in attrs.items():
                    var._attributes[k] = _writable_attr(v, f"/{key}", k, name)
                if data.size:
                    var[...] = data
            nc.close()


def _writable_attr(value: Any, where: str, key: str, name: str) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, bytes, int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.dtype.str[1:] in WRITABLE:
        return value
    raise NotSupported(
        f"cannot write {name} as netCDF-3: attribute {key!r} of {where} is {type(value).__name__} "
        f"{getattr(value, 'dtype', '')}; netCDF-3 attributes are text or int8/16/32, float32/64 numbers",
        name,
    )


class _Unclosable:
    def __init__(self, fp: Any) -> None:
        self._fp = fp
        self.closed = False

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._fp, attr)

    def close(self) -> None:
        self.closed = True


def _guarded(read: Any, name: str) -> Any:
    def guarded(selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        with as_corrupt(name, "netCDF-3", errors=CLASSIC_ERRORS):
            return read(selection)

    return guarded

