"""CSV (and TSV) files, parsed with pyarrow.csv.

Mapping: each column -> a 1-D dataset named by the header (``f0``, ``f1`` ... when
there is no header row), types inferred by pyarrow (integers, floats, bool,
timestamps, strings), nulls as described in ``sciswift.formats.arrow`` (an empty
field in a numeric column is a null; ``_nulls/<column>`` marks them).

Lines starting with ``#`` are comments: skipped at the start of the file and
between rows. A row with the wrong number of fields is damage (CorruptData), as
for pyarrow.

Header detection: pyarrow assumes a header row; sciswift asks the standard library's
``csv.Sniffer`` (on the first 64 KiB) whether the first row looks like one, and the
delimiter (``,``, ``;``, tab, ``|``) likewise; ``.tsv`` files default to tabs.

A CSV file has no index to seek by, so the whole object is read and parsed when it
is opened (so damage is reported then); gzip-compressed ``.csv.gz`` is decompressed
on the way.

Writing: a root of equal-length 1-D datasets (see the Parquet plugin) -> a CSV with a
header row. Attributes cannot be kept in CSV: a tree with any raises NotSupported.
"""

from __future__ import annotations

import csv as stdlib_csv
import gzip
import io
import threading
import zlib
from functools import partial
from typing import Any, BinaryIO

import numpy as np

from sciswift.errors import CorruptData, NotSupported
from sciswift.formats.arrow import NULLS_GROUP, ColumnType, arrow_errors, column_type, fill_value, to_numpy
from sciswift.formats.base import FormatPlugin, GroupNode, MemoryArray
from sciswift.formats.nodes import LazyArray, LazyGroup, as_corrupt, unique_name

__all__ = ["CSVPlugin", "sniff", "leading_comments", "skip_comment_rows"]

SAMPLE_BYTES = 64 * 1024
COMMENT = b"#"
GZIP_MAGIC = b"\x1f\x8b"
#: What gzip raises for a damaged .csv.gz: BadGzipFile (an OSError), EOFError (cut
#: short), zlib.error.
GZIP_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)


def leading_comments(sample: bytes) -> int:
    """How many lines at the start of a file are ``#`` comments."""
    count = 0
    for line in sample.splitlines():
        if not line.startswith(COMMENT):
            break
        count += 1
    return count


def skip_comment_rows(row: Any) -> str:
    """pyarrow's invalid-row handler: a ``#`` line inside the data is skipped, any
    other malformed row is an error."""
    return "skip" if row.text.lstrip().startswith("#") else "error"


def sniff(sample: bytes, default_delimiter: str) -> tuple[str, bool]:
    """``(delimiter, has_header)`` guessed from the start of a file (comment lines
    left out)."""
    text = sample.decode("utf-8", "replace")
    # Drop a last line cut in the middle by the sample's end.
    if len(sample) >= SAMPLE_BYTES and "\n" in text:
        text = text[: text.rindex("\n")]
    text = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    sniffer = stdlib_csv.Sniffer()
    try:
        delimiter = sniffer.sniff(text, delimiters=",;\t|").delimiter
    except stdlib_csv.Error:
        delimiter = default_delimiter
    try:
        header = sniffer.has_header(text)
    except stdlib_csv.Error:
        header = True
    return delimiter, header


class _CSVTable:
    """The parsed table, made on first use (the whole object is read then)."""

    def __init__(
        self, source: BinaryIO, name: str, label: str, delimiter: str, header: bool, gz: bool, skip: int
    ) -> None:
        self._skip = skip
        self._source = source
        self._name = name
        self._label = label
        self._delimiter = delimiter
        self._header = header
        self._gz = gz
        self._lock = threading.Lock()
        self._table: Any = None
        self._columns: dict[int, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], ColumnType]] = {}

    def table(self) -> Any:
        with self._lock:
            if self._table is None:
                import pyarrow as pa
                import pyarrow.csv as pcsv

                self._source.seek(0)
                data = self._source.read()
                if self._gz:
                    with as_corrupt(self._name, self._label, "decompress", errors=GZIP_ERRORS):
                        data = gzip.decompress(data)
                _check_text(data, self._name, self._label)
                with as_corrupt(self._name, self._label, errors=arrow_errors()):
                    self._table = pcsv.read_csv(
                        pa.BufferReader(data),
                        read_options=pcsv.ReadOptions(
                            autogenerate_column_names=not self._header, skip_rows=self._skip
                        ),
                        parse_options=pcsv.ParseOptions(
                            delimiter=self._delimiter, invalid_row_handler=skip_comment_rows
                        ),
                    )
            return self._table

    def column(self, index: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], ColumnType]:
        """Values, null mask and type of column ``index`` (by position: header
        names may repeat)."""
        table = self.table()
        with self._lock:
            if index not in self._columns:
                with as_corrupt(self._name, self._label, errors=arrow_errors()):
                    arrow = table.column(index)
                    ct = column_type(arrow.type) or ColumnType(np.dtype("O", metadata={"vlen": str}), "str")
                    if column_type(arrow.type) is None:
                        arrow = arrow.cast("string")
                    values, mask = to_numpy(arrow, ct)
                self._columns[index] = (values, mask, ct)
            return self._columns[index]


def _check_text(data: bytes, name: str, label: str) -> None:
    """CorruptData unless ``data`` is UTF-8 text outside ``#`` comment lines.
    pyarrow refuses such bytes in a column anyway, but bytes that are not UTF-8
    in a row with the wrong number of fields make it print a traceback (its
    invalid-row callback cannot be given the row) and go on."""
    try:
        data.decode("utf-8")
        return
    except UnicodeDecodeError:
        pass
    at = 0
    for line in data.splitlines(keepends=True):
        if not line.startswith(COMMENT):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CorruptData(
                    f"cannot read {name} as {label}: the object is damaged or not a {label} file (byte "
                    f"{at + exc.start} is not UTF-8 text)", name) from None
        at += len(line)


def _column(values: np.ndarray[Any, Any], fill: Any) -> LazyArray:
    return LazyArray(values.shape, values.dtype, lambda sel: values[sel].copy(), fillvalue=fill)


class _CSVRoot(LazyGroup):
    """Columns are known only once the file is parsed; so is the list of members."""

    def __init__(self, table: _CSVTable) -> None:
        super().__init__()
        self._csv = table
        self._built = False

    def _build(self) -> None:
        if self._built:
            return
        table = self._csv.table()
        nulls = LazyGroup()
        for i, name in enumerate(table.column_names):
            values, mask, ct = self._csv.column(i)
            # A header may repeat a name: the second column is <name>_2.
            key = unique_name(name.replace("/", "_") or "f", set(self.keys_built()))
            self.add(key, partial(_column, values, fill_value(ct)))
            if mask.any():
                nulls.add(key, partial(MemoryArray, mask))
        if nulls.keys():
            self.add(NULLS_GROUP, lambda: nulls)
        self._built = True

    def keys_built(self) -> list[str]:
        """The members added so far (while building)."""
        return super().keys()

    def keys(self) -> list[str]:
        self._build()
        return super().keys()

    def __contains__(self, name: str) -> bool:
        self._build()
        return super().__contains__(name)

    def __getitem__(self, name: str) -> Any:
        self._build()
        return super().__getitem__(name)


class CSVPlugin(FormatPlugin):
    """CSV through pyarrow.csv."""

    name = "csv"
    label = "CSV"
    library = "pyarrow"
    extensions = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
    extra = "csv"
    requires = ("pyarrow",)
    can_write = True

    def open(self, source: BinaryIO, name: str) -> GroupNode:
        source.seek(0)
        sample = source.read(SAMPLE_BYTES)
        gz = sample.startswith(GZIP_MAGIC)
        if gz:
            with as_corrupt(name, self.label, "decompress", errors=GZIP_ERRORS):
                sample = gzip.GzipFile(fileobj=io.BytesIO(sample)).read1(SAMPLE_BYTES)
        if b"\x00" in sample:
            raise CorruptData(
                f"cannot open {name} as {self.label}: the object is damaged or not a {self.label} file "
                "(it holds NUL bytes, so it is binary, not text)", name)
        default = "\t" if ".tsv" in name.lower() else ","
        delimiter, header = sniff(sample, default)
        table = _CSVTable(source, name, self.label, delimiter, header, gz, leading_comments(sample))
        table.table()  # parse now, so damage is reported by open
        return _CSVRoot(table)

    def write(self, root: GroupNode, sink: BinaryIO, name: str) -> None:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        from sciswift.formats.parquet import tree_to_table

        for node in [root] + [root[k] for k in root.keys() if k != NULLS_GROUP]:
            if node.attrs:
                raise NotSupported(
                    f"cannot write {name} as CSV: the tree has attributes, which CSV cannot hold", name
                )
        table = tree_to_table(root, name, "CSV")
        for i, field in enumerate(table.schema):
            if pa.types.is_list(field.type) or pa.types.is_fixed_size_list(field.type):
                raise NotSupported(
                    f"cannot write {name} as CSV: /{field.name} holds arrays per row; a CSV cell holds one value",
                    name,
                )
            if pa.types.is_binary(field.type) or pa.types.is_fixed_size_binary(field.type):
                table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
        with as_corrupt(name, self.label, "write", errors=arrow_errors()):
            pcsv.write_csv(table, pa.PythonFile(sink, mode="w"))

