"""Apache Parquet files, read with pyarrow.parquet on the RangedFile.

Mapping:

- each column -> a 1-D dataset ``/<column>`` over the rows (types and nulls as in
  ``sciswift.formats.arrow``); struct fields -> dotted names ``/<parent>.<field>``
  (nesting is flattened, not turned into groups); a ``/`` in a name becomes ``_``
- row groups -> the dataset's chunks (when all row groups but the last have the
  same number of rows; otherwise no chunk shape is announced)
- the schema's key-value metadata (``pandas``, ``ARROW:schema`` ...) -> root
  attributes; a field's key-value metadata -> its dataset's attributes

Reads are selective both ways: reading rows ``a:b`` of one column fetches only
the footer and that column's chunks in the row groups holding those rows.

Writing: a root holding 1-D datasets of equal length (2-D numeric ones become
fixed-size lists, vlen ones lists/strings), with ``_nulls`` masks put back as
nulls; string attributes become key-value metadata. Dotted names are written as
flat column names. Nested groups and other shapes raise NotSupported.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from functools import partial
from typing import Any, BinaryIO

import numpy as np

from sciswift.errors import CorruptData, NotSupported
from sciswift.formats.arrow import (
    NULLS_GROUP,
    ColumnType,
    arrow_errors,
    attrs_metadata,
    column_type,
    flatten_fields,
    from_numpy,
    metadata_attrs,
    to_numpy,
)
from sciswift.formats.base import ArrayNode, FormatPlugin, GroupNode
from sciswift.formats.nodes import LazyArray, LazyGroup, as_corrupt, read_all
from sciswift.formats.parquet_footer import null_counts, read_footer

__all__ = ["ParquetPlugin", "dataset_name"]

log = logging.getLogger(__name__)

PARQUET_MAGIC = b"PAR1"
#: Reading the footer ourselves: ValueError for anything malformed, OSError from
#: the file under it.
FOOTER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError)


def dataset_name(path: str) -> str:
    """The dataset name of a (dotted) column path."""
    return path.replace("/", "_")


class _ParquetFile:
    """An open ParquetFile and a small cache of decoded column blocks, so a column
    and its null mask read together decode once."""

    def __init__(self, pf: Any, source: BinaryIO, display: str, label: str) -> None:
        self.pf = pf
        self.source = source
        self.display = display
        self.label = label
        self._null_counts: list[list[int | None]] | None = None
        md = pf.metadata
        self.rg_rows = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
        self.rg_starts = np.concatenate([[0], np.cumsum(self.rg_rows)]).astype(np.int64)
        self.num_rows = int(self.rg_starts[-1])
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = OrderedDict()

    def chunks(self) -> int | None:
        rows = self.rg_rows
        if not rows or rows[0] == 0 or any(r != rows[0] for r in rows[:-1]) or rows[-1] > rows[0]:
            return None
        return rows[0]

    def may_have_nulls(self, path: str, nullable: bool) -> bool:
        """Whether the column at ``path`` may hold nulls, by the row-group statistics
        (a column without statistics may)."""
        if not nullable:
            return False
        md = self.pf.metadata
        leaves = [
            i for i in range(md.num_columns)
            if md.schema.column(i).path == path or md.schema.column(i).path.startswith(path + ".")
        ]
        counts = self.null_counts()
        for rg in range(md.num_row_groups):
            for i in leaves:
                count = counts[rg][i] if rg < len(counts) and i < len(counts[rg]) else None
                if count != 0:
                    return True
        return False

    def null_counts(self) -> list[list[int | None]]:
        """Null counts by row group and leaf column, from the footer (read here,
        not through pyarrow's statistics: see ``parquet_footer``); empty when the
        footer cannot be read so (every nullable column then may hold nulls)."""
        if self._null_counts is None:
            try:
                self._null_counts = null_counts(read_footer(self.source))
            except FOOTER_ERRORS as exc:
                log.info("%s: null counts not read from the footer: %s", self.display, exc)
                self._null_counts = []
        return self._null_counts

    def rows(self, path: str, ct: ColumnType, start: int, stop: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Values and null mask of rows ``start:stop`` of one column, reading only the
        row groups that hold them."""
        first = int(np.searchsorted(self.rg_starts, start, side="right")) - 1
        last = int(np.searchsorted(self.rg_starts, stop - 1, side="right")) - 1
        key = (path, first, last)
        with self._lock:
            block = self._cache.get(key)
            if block is None:
                with as_corrupt(self.display, self.label, errors=arrow_errors()):
                    table = self.pf.read_row_groups(list(range(first, last + 1)), columns=[path], use_threads=False)
                    while any(str(f.type).startswith("struct") for f in table.schema):
                        table = table.flatten()
                    block = to_numpy(table.column(path), ct)
                want = int(self.rg_starts[last + 1] - self.rg_starts[first])
                if len(block[0]) != want:
                    raise CorruptData(
                        f"cannot read {self.display} as {self.label}: column {path!r} holds {len(block[0])} values "
                        f"in row groups {first}-{last}, the footer says {want} (the object is damaged)",
                        self.display,
                    )
                self._cache[key] = block
                if len(self._cache) > 4:
                    self._cache.popitem(last=False)
        base = int(self.rg_starts[first])
        return block[0][start - base : stop - base], block[1][start - base : stop - base]


def _column_node(pfile: _ParquetFile, path: str, ct: ColumnType, attrs: dict[str, Any], mask: bool) -> ArrayNode:
    rows = pfile.chunks()

    def read(selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        rsel = selection[0]
        values, nulls = pfile.rows(path, ct, rsel.start, rsel.stop)
        if mask:
            return nulls[:: rsel.step].copy()
        return values[:: rsel.step][(slice(None),) + selection[1:]].copy()

    if mask:
        return LazyArray((pfile.num_rows,), np.dtype(bool), read, chunks=(rows,) if rows else None)
    from sciswift.formats.arrow import fill_value

    return LazyArray(
        (pfile.num_rows,) + ct.inner,
        ct.dtype,
        read,
        attrs,
        chunks=((rows,) + ct.inner) if rows else None,
        fillvalue=fill_value(ct),
    )


class ParquetPlugin(FormatPlugin):
    """Parquet through pyarrow."""

    name = "parquet"
    label = "Parquet"
    library = "pyarrow"
    extensions = (".parquet", ".parq", ".pq")
    extra = "parquet"
    requires = ("pyarrow",)
    can_write = True

    def matches_magic(self, head: bytes) -> bool:
        return head.startswith(PARQUET_MAGIC)

    def open(self, source: BinaryIO, name: str) -> GroupNode:
        import pyarrow.parquet as pq

        with as_corrupt(name, self.label, "open", errors=arrow_errors()):
            pf = pq.ParquetFile(source, pre_buffer=False, memory_map=False)
            schema = pf.schema_arrow
            kv = pf.metadata.metadata
        pfile = _ParquetFile(pf, source, name, self.label)
        root_attrs = metadata_attrs(kv)
        root = _ParquetRoot(pf, attrs=lambda: root_attrs)
        nulls = LazyGroup()
        unsupported: list[str] = []
        for path, arrow_type, nullable, field_meta in flatten_fields(schema):
            ct = column_type(arrow_type)
            if ct is None:
                unsupported.append(f"{path} ({arrow_type})")
                continue
            attrs = metadata_attrs(field_meta)
            if ct.timezone:
                attrs["timezone"] = ct.timezone
            dname = dataset_name(path)
            root.add(dname, partial(_column_node, pfile, path, ct, attrs, False))
            if pfile.may_have_nulls(path, nullable):
                nulls.add(dname, partial(_column_node, pfile, path, ct, {}, True))
        if nulls.keys():
            root.add(NULLS_GROUP if NULLS_GROUP not in root else NULLS_GROUP + "_", lambda: nulls)
        if unsupported:
            root_attrs["_unsupported_columns"] = np.array(unsupported, dtype=object)
        return root

    def write(self, root: GroupNode, sink: BinaryIO, name: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = tree_to_table(root, name, "Parquet")
        # pyarrow writes its own ARROW:schema; a copied one could contradict the columns.
        skip = {"_unsupported_columns", "ARROW:schema"}
        schema_meta = attrs_metadata({k: v for k, v in root.attrs.items() if k not in skip}, "/", name)
        table = table.replace_schema_metadata(schema_meta or None)
        with as_corrupt(name, self.label, "write", errors=arrow_errors()):
            pq.write_table(table, pa.PythonFile(sink, mode="w"))


def tree_to_table(root: GroupNode, name: str, fmt: str) -> Any:
    """An Arrow table from a root of equal-length column datasets (``_nulls`` masks
    applied); NotSupported for anything a flat table cannot hold."""
    import pyarrow as pa

    masks: dict[str, np.ndarray[Any, Any]] = {}
    if NULLS_GROUP in root.keys():
        group = root[NULLS_GROUP]
        if isinstance(group, GroupNode):
            masks = {k: read_all(group[k]) for k in group.keys() if isinstance(group[k], ArrayNode)}  # type: ignore[arg-type]
    arrays: dict[str, Any] = {}
    fields: list[Any] = []
    length: int | None = None
    for key in root.keys():
        if key == NULLS_GROUP:
            continue
        node = root[key]
        if not isinstance(node, ArrayNode):
            raise NotSupported(
                f"cannot write {name} as {fmt}: /{key} is a group or link; {fmt} holds a flat table of columns",
                name,
            )
        values = read_all(node)
        if length is not None and len(values) != length:
            raise NotSupported(
                f"cannot write {name} as {fmt}: /{key} has {len(values)} rows, other columns {length}",
                name,
            )
        length = len(values) if values.ndim else 1
        arr = from_numpy(values, masks.get(key), f"/{key}", name)
        meta = attrs_metadata({k: v for k, v in node.attrs.items() if k != "timezone"}, f"/{key}", name)
        atype = arr.type
        tz = node.attrs.get("timezone")
        if tz and pa.types.is_timestamp(atype):
            arr = arr.cast(pa.timestamp(atype.unit, tz=str(tz)))
        fields.append(pa.field(key, arr.type, metadata=meta or None))
        arrays[key] = arr
    return pa.Table.from_arrays(list(arrays.values()), schema=pa.schema(fields))


class _ParquetRoot(LazyGroup):
    def __init__(self, pf: Any, attrs: Any) -> None:
        super().__init__(attrs=attrs)
        self._pf = pf

    def close(self) -> None:
        self._pf.close()

