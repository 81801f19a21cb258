"""FITS files, read with astropy.io.fits on the RangedFile.

Mapping (one group per HDU, in file order):

- Group name: the HDU's EXTNAME; ``PRIMARY`` for the first HDU; ``HDU<i>`` (its
  index) for an extension without EXTNAME. A name already used gets ``_2``, ``_3``
  ... by occurrence (``SCI``, ``SCI_2``, ``SCI_3`` for an HST file whose SCI
  extensions carry EXTVER 1, 2, 3).
- Group attributes: the header cards, keyword -> value, typed as astropy gives them
  (bool, int, float, str, complex); an integer beyond int64 is a ``uint64`` if it
  fits, else its decimal text (HDF5 has no wider integer type). COMMENT and HISTORY cards are joined with
  newlines into one attribute each; blank-keyword commentary cards and cards whose
  value is undefined are left out; a repeated keyword keeps its first value; a card
  astropy cannot parse gets the value ``card.verify("silentfix")`` gives it.
  Compressed images show the image header (as astropy does). The header's cards as
  read (comments, order, CONTINUE'd strings ...) are kept too, in the attribute
  ``FITS_HEADER`` (``fits_header``), so writing FITS again restores them.
- ``data`` dataset:
  - images (primary, IMAGE, compressed): the image as astropy's ``.data`` gives it,
    BZERO/BSCALE/BLANK applied (``uint16`` for BZERO=32768, float for BSCALE),
    in native byte order. Read with ``hdu.section[...]``: an uncompressed window
    fetches just the rows it needs (prefetched in coalesced ranges), a compressed
    one just the tiles.
  - tables (binary, ASCII, random groups): a compound dataset, one field per column,
    values as astropy's ``data[column]`` gives them (scaled, logical -> bool,
    multi-dimensional TDIM columns as subarray fields, variable-length arrays as
    vlen fields). Text columns become fixed-length byte strings (``S<n>``, FITS text
    is ASCII). A table is read whole on first access (astropy reads table rows as
    one block).
- ``columns`` group (tables only): the same columns as separate datasets, by column
  name (``/`` in a name becomes ``_``; a repeated name gets ``_2`` ...).

A non-standard file (``SIMPLE = F``) is one group whose ``data`` is the raw bytes
after its header (uint8), as astropy shows it.

Gzip- and bzip2-compressed FITS (``.fits.gz``, ``.fits.bz2``) cannot be read by
ranges: the object is fetched and decompressed whole.

Writing (``write``): each top-level group (or dataset) becomes an HDU named by it:
an image from a numeric ``data`` dataset, a binary table from a compound one. The
first HDU must be an image or empty; a table first gets an empty primary HDU before
it. Header attributes are written back as cards (with the comments, order and
commentary of the cards they were read from: ``fits_header.build_header``), except
the keywords astropy derives from the data (SIMPLE, BITPIX, NAXISn, XTENSION,
PCOUNT, GCOUNT, TFIELDS, EXTEND, TTYPEn/TFORMn/TDIMn/TSCALn/TZEROn/TNULLn ...):
data is written with its values, as read, except that an image read scaled from
integers (BSCALE/BZERO/BLANK) is written as those integers with its scaling cards.
CHECKSUM/DATASUM are computed for the file written when the HDUs read had them.
Arrays as attributes, nested groups, links and vlen image data raise NotSupported.
"""

from __future__ import annotations

import bz2
import gzip
import io
import re
import warnings
import zlib
from collections.abc import Mapping
from functools import partial
from typing import Any, BinaryIO

import numpy as np

from sciswift.errors import NotSupported
from sciswift.formats.base import ArrayNode, FormatPlugin, GroupNode, MemoryArray, Node
from sciswift.formats.fits_header import (
    COMMENTARY,
    HEADER_ATTR,
    build_header,
    card_value,
    dataless_cards,
    header_text,
    original_cards,
    original_extname,
    place_like_original,
    restore_comments,
    unscaled_image,
    wants_checksum,
)
from sciswift.formats.layout import c_order_spans
from sciswift.formats.nodes import (
    LazyArray,
    LazyGroup,
    as_corrupt,
    read_all,
    unique_name,
    vlen_bytes_dtype,
    vlen_dtype,
)
from sciswift.formats.ranged import RangedFile

__all__ = ["FITSPlugin", "header_attrs", "hdu_names"]

def _astropy_errors() -> tuple[type[BaseException], ...]:
    """What astropy.io.fits raises for bytes that are not a valid FITS file:
    OSError ("Header missing END card", data cut short), ValueError (values it
    cannot parse, or that contradict each other), VerifyError (cards that break
    the standard), KeyError and IndexError (required keywords or columns
    missing), TypeError (a column format of the wrong kind), OverflowError
    (absurd sizes), CfitsioException (a compressed tile that does not
    decompress), RuntimeError (a compressed image header it refuses: "Invalid
    TFORM2"); and, for .fits.gz/.bz2, EOFError and zlib.error."""
    from astropy.io.fits.hdu.compressed._compression import CfitsioException
    from astropy.io.fits.verify import VerifyError

    return (OSError, ValueError, VerifyError, KeyError, IndexError, TypeError, OverflowError, EOFError, zlib.error,
            CfitsioException, RuntimeError)


def _astropy() -> dict[str, Any]:
    """``as_corrupt``'s arguments for astropy: its errors, and failures of its own
    code on header values it does not expect, taken as damage when raised inside
    astropy: AttributeError (``name.upper()`` on a parameter name that is a
    number), AssertionError (its check that a column name fits a card, made with
    ``assert``), UnboundLocalError (a TFORM it cannot parse, in one code path)."""
    return {"errors": _astropy_errors(), "library": "astropy",
            "failures": (AttributeError, AssertionError, UnboundLocalError)}


#: XTENSION values of the standard extensions (and the old ones astropy reads).
STANDARD_EXTENSIONS = ("IMAGE", "BINTABLE", "TABLE", "A3DTABLE", "IUEIMAGE")


EXTENSION_MAGIC = b"XTENSION="
FITS_MAGIC = b"SIMPLE  ="
GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
def header_attrs(header: Any) -> dict[str, Any]:
    """The attributes a FITS header maps to (see the module docstring)."""
    from astropy.io.fits.card import Undefined

    attrs: dict[str, Any] = {}
    commentary: dict[str, list[str]] = {}
    for card in header.cards:
        key = card.keyword
        if not key:
            continue
        if key in COMMENTARY:
            commentary.setdefault(key, []).append(str(card.value))
            continue
        if key in attrs:
            continue
        value = card_value(card)
        if isinstance(value, Undefined):
            continue
        attrs[key] = value
    for key, lines in commentary.items():
        attrs[key] = "\n".join(lines)
    attrs[HEADER_ATTR] = header_text(header)
    return attrs


def hdu_names(hdus: Any) -> list[str]:
    """Group names of the HDUs of an HDUList (see the module docstring)."""
    names: list[str] = []
    for i, hdu in enumerate(hdus):
        # astropy's name: EXTNAME (also of a compressed image's table), PRIMARY first.
        base = "PRIMARY" if i == 0 else (str(hdu.name).strip() or f"HDU{i}")
        names.append(unique_name(base.replace("/", "_"), set(names)))
    return names


def _is_table(hdu: Any) -> bool:
    from astropy.io import fits

    return isinstance(hdu, (fits.BinTableHDU, fits.TableHDU, fits.GroupsHDU))


def _column_array(col: Any) -> np.ndarray[Any, Any]:
    """A table column as sciswift presents it: text as bytes, vlen as object arrays
    marked with h5py's vlen dtype."""
    arr = np.asarray(col)
    if arr.dtype.kind == "U":
        width = max(1, arr.dtype.itemsize // 4)
        return np.char.encode(arr, "ascii", errors="replace").astype(f"S{width}")
    if arr.dtype.kind == "O":
        return _vlen_column(arr)
    return arr


def _vlen_column(arr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    elements = [np.asarray(v) for v in arr]
    kinds = {e.dtype.kind for e in elements if e.size}
    if kinds <= {"U", "S"} and kinds:
        out = np.empty(len(elements), dtype=vlen_bytes_dtype())
        for i, e in enumerate(elements):
            out[i] = b"".join(np.char.encode(e.ravel(), "ascii")) if e.dtype.kind == "U" else e.tobytes()
        return out
    base = next((e.dtype for e in elements if e.size), elements[0].dtype if elements else np.dtype("f8"))
    base = base.newbyteorder("=")
    out = np.empty(len(elements), dtype=vlen_dtype(base))
    for i, e in enumerate(elements):
        out[i] = np.ascontiguousarray(e.ravel(), dtype=base)
    return out


class _FITSFile:
    """The open HDUList, the RangedFile under it, and the group tree."""

    def __init__(self, hdus: Any, source: RangedFile | None, display: str, label: str) -> None:
        self.hdus = hdus
        self.source = source
        self.display = display
        self.label = label

    def root(self) -> GroupNode:
        root = _FITSRoot(self)
        root.ordered = True  # HDU order
        for i, name in enumerate(hdu_names(self.hdus)):
            root.add(name, partial(self._hdu_group, i))
        return root

    def _hdu_group(self, index: int) -> GroupNode:
        from astropy.io.fits.hdu.base import _CorruptedHDU, _ValidHDU

        hdu = self.hdus[index]
        where = f"{self.display}[{index}]"
        with as_corrupt(where, self.label, **_astropy()):
            attrs = header_attrs(hdu.header)
            group = LazyGroup(attrs=attrs)
            group.ordered = True  # card order
            if isinstance(hdu, _CorruptedHDU) or (
                type(hdu) is _ValidHDU and str(hdu.header.get("XTENSION", "")).strip() in STANDARD_EXTENSIONS
            ):
                # astropy could not make the HDU its header names (a damaged one).
                raise ValueError(f"HDU {index} does not read as the {hdu.header.get('XTENSION', 'HDU')} it says it is")
            if type(hdu) is _ValidHDU:
                return group  # an extension type astropy does not know: its header only
            # A table with no data bytes may still be an empty table; ask astropy
            # then (it reads nothing).
            if _is_table(hdu) and (hdu.size > 0 or hdu.data is not None):
                table = _LazyTable(hdu, where, self.label)
                group.add("data", table.compound_node)
                group.add("columns", table.columns_group)
            elif not hasattr(hdu, "section"):
                # Non-standard (SIMPLE = F): astropy gives the raw bytes after the header.
                raw = hdu.data
                if raw is not None:
                    group.add("data", lambda: LazyArray(raw.shape, raw.dtype, lambda sel: raw[sel].copy()))
            elif not _is_table(hdu) and hdu.header.get("NAXIS", 0) and hdu.shape:
                group.add("data", lambda: self._image_node(index))
        return group

    def _image_node(self, index: int) -> ArrayNode:
        hdu = self.hdus[index]
        where = f"{self.display}[{index}]"
        from astropy.io import fits

        with as_corrupt(where, self.label, **_astropy()):
            shape = tuple(int(n) for n in hdu.shape)
            # The scaled dtype is what a one-pixel section returns (cheap); an empty
            # image has no pixel, but then .data reads no bytes.
            probe = hdu.section[tuple(slice(0, 1) for _ in shape)] if all(shape) else hdu.data
            dtype = probe.dtype.newbyteorder("=")
            raw = None
            if self.source is not None and not isinstance(hdu, fits.CompImageHDU):
                offset = self.hdus.fileinfo(index)["datLoc"]
                raw = (offset, abs(int(hdu.header["BITPIX"])) // 8)

        def read(selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
            with as_corrupt(where, self.label, **_astropy()):
                if raw is not None and self.source is not None:
                    # astropy reads a window row by row; bring those rows in with
                    # few coalesced requests first.
                    plan = c_order_spans(raw[0], shape, raw[1], selection, self.source.coalesce_gap)
                    self.source.prefetch(plan.spans)
                block = hdu.section[selection]
                return np.asarray(block, dtype=dtype)

        return LazyArray(shape, dtype, read)


class _FITSRoot(LazyGroup):
    def __init__(self, fits_file: _FITSFile) -> None:
        super().__init__()
        self._file = fits_file

    def close(self) -> None:
        self._file.hdus.close()


class _LazyTable:
    """A table HDU's columns, converted once on first access."""

    def __init__(self, hdu: Any, where: str, label: str) -> None:
        self._hdu = hdu
        self._where = where
        self._label = label
        self._columns: dict[str, np.ndarray[Any, Any]] | None = None

    def columns(self) -> dict[str, np.ndarray[Any, Any]]:
        if self._columns is None:
            with as_corrupt(self._where, self._label, **_astropy()):
                data = self._hdu.data
                names: list[str] = []
                for raw_name in data.dtype.names or ():
                    names.append(unique_name(raw_name.replace("/", "_") or "col", set(names)))
                self._columns = {
                    n: _column_array(data.field(i)) for i, n in enumerate(names)
                }
        return self._columns

    def compound_node(self) -> ArrayNode:
        cols = self.columns()
        nrows = len(next(iter(cols.values()))) if cols else 0
        dtype = np.dtype([(n, a.dtype, a.shape[1:]) for n, a in cols.items()])
        table = np.empty(nrows, dtype)
        for n, a in cols.items():
            table[n] = a
        return LazyArray((nrows,), dtype, lambda sel: table[sel].copy())

    def columns_group(self) -> GroupNode:
        cols = self.columns()
        group = LazyGroup()
        for n, a in cols.items():
            group.add(n, partial(MemoryArray, a))
        return group


class FITSPlugin(FormatPlugin):
    """FITS images and tables through astropy.io.fits."""

    name = "fits"
    label = "FITS"
    library = "astropy"
    extensions = (".fits", ".fit", ".fts", ".fz", ".fits.gz", ".fit.gz", ".fits.bz2")
    extra = "fits"
    requires = ("astropy",)
    can_write = True

    def matches_magic(self, head: bytes) -> bool:
        if head.startswith(FITS_MAGIC):
            return True
        if head.startswith(GZIP_MAGIC):
            try:
                inner = gzip.GzipFile(fileobj=io.BytesIO(head)).read(len(FITS_MAGIC))
            except (OSError, EOFError):
                return False
            return inner == FITS_MAGIC
        if head.startswith(BZIP2_MAGIC):
            try:
                inner = bz2.BZ2Decompressor().decompress(head)[: len(FITS_MAGIC)]
            except (OSError, ValueError):
                return False
            return inner == FITS_MAGIC
        return False

    def open(self, source: BinaryIO, name: str) -> GroupNode:
        from astropy.io import fits

        source.seek(0)
        head = source.read(3)
        source.seek(0)
        ranged: RangedFile | None = source if isinstance(source, RangedFile) else None
        fileobj: BinaryIO = source
        if head.startswith(GZIP_MAGIC) or head.startswith(BZIP2_MAGIC):
            opener = gzip.decompress if head.startswith(GZIP_MAGIC) else bz2.decompress
            with as_corrupt(name, self.label, "decompress", errors=(OSError, EOFError, ValueError, zlib.error)):
                fileobj = io.BytesIO(opener(source.read()))
            ranged = None
        with as_corrupt(name, self.label, "open", **_astropy()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdus = fits.open(fileobj, memmap=False, lazy_load_hdus=False, mode="readonly")
            try:
                _check_complete(hdus, fileobj)
                return _FITSFile(hdus, ranged, name, self.label).root()  # reads each HDU's name
            except BaseException:
                hdus.close()
                raise

    # ------------------------------------------------------------------ write
    def write(self, root: GroupNode, sink: BinaryIO, name: str) -> None:
        from astropy.io import fits

        hdus: list[Any] = []
        for key in root.keys():
            hdus.append(self._hdu_for(key, root[key], name, first=not hdus))
        if not hdus:
            hdus.append(fits.PrimaryHDU())
        if not isinstance(hdus[0], fits.PrimaryHDU):
            hdus.insert(0, fits.PrimaryHDU())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # HIERARCH notices for long keywords
            fits.HDUList(hdus).writeto(_PlainSink(sink), output_verify="silentfix")

    def _hdu_for(self, key: str, node: Node, name: str, first: bool) -> Any:
        from astropy.io import fits

        attrs: Mapping[str, Any] = {}
        data_node: ArrayNode | None = None
        if isinstance(node, ArrayNode):
            data_node = node
        elif isinstance(node, GroupNode):
            attrs = node.attrs
            for member in node.keys():
                child = node[member]
                if member == "data" and isinstance(child, ArrayNode):
                    data_node = child
                elif member == "columns" and isinstance(child, GroupNode):
                    continue  # the per-column view of a table read earlier
                else:
                    raise NotSupported(
                        f"cannot write {name} as FITS: /{key}/{member} is not the HDU's data; "
                        "a FITS HDU holds one array or table",
                        name,
                    )
        else:
            raise NotSupported(f"cannot write {name} as FITS: /{key} is a link", name)
        data = read_all(data_node) if data_node is not None else None
        header = build_header(attrs, key, name, table=data is not None and data.dtype.names is not None)
        extname = None if (first and key == "PRIMARY") else original_extname(attrs, key)
        if data is not None and data.dtype.names:
            scaled: dict[int, list[Any]] = {}
            hdu = fits.BinTableHDU.from_columns(self._table(data, key, name, attrs, scaled), header=header)
            for index, cards in scaled.items():
                # Set after the columns: given raw values and no scaling, astropy
                # stores them as they are (it scales physical values in the
                # column's storage type, float32 for E: a TZERO of 2450868.5 left
                # days with quarter-day steps).
                after = f"TFORM{index}"
                for card in cards:
                    hdu.header.insert(after, card, after=True)
                    after = card.keyword
            for card in original_cards(attrs):
                # an empty unit, which astropy's Column leaves out
                number = re.fullmatch(r"TUNIT(\d+)", card.keyword)
                ttype = f"TTYPE{number[1]}" if number else ""
                if number and card.value == "" and card.keyword not in hdu.header and f"TFORM{number[1]}" in hdu.header \
                        and ttype in hdu.header and hdu.header[ttype] == attrs.get(ttype):
                    hdu.header.insert(f"TFORM{number[1]}", card, after=True)
        else:
            if data is not None and (data.dtype.hasobject or data.dtype.kind not in "biuf"):
                raise NotSupported(
                    f"cannot write {name} as FITS: /{key} has dtype {data.dtype}; FITS images hold "
                    "integers and floats",
                    name,
                )
            cls = fits.PrimaryHDU if first else fits.ImageHDU
            stored = unscaled_image(data, attrs) if data is not None else None
            if stored is not None:
                data, scaling = stored
            hdu = cls(data=data, header=header)
            if stored is not None:
                _after_axes(hdu.header, scaling)  # after the data: astropy drops scaling cards given with it
            elif data is None:
                _after_axes(hdu.header, dataless_cards(attrs))  # no data for them to contradict
            if first:
                _after_axes(hdu.header, [c for c in original_cards(attrs) if c.keyword == "EXTEND"][:1])
        if extname:
            place_like_original(hdu.header, fits.Card("EXTNAME", extname), attrs)
        restore_comments(hdu.header, attrs)
        if wants_checksum(attrs):
            hdu.add_checksum()  # for the bytes written (the cards read describe the old ones)
        return hdu

    def _table(self, data: np.ndarray[Any, Any], key: str, name: str, attrs: Mapping[str, Any],
               scaled: dict[int, list[Any]]) -> Any:
        """The columns of table ``data``; ``scaled`` gets, by column number, the
        TSCALn/TZEROn cards of columns given as raw (stored) values."""
        from astropy.io import fits

        columns = []
        for i, field in enumerate(data.dtype.names or (), 1):
            values = data[field]
            base = data.dtype.fields[field][0]
            if base.kind == "O" or (base.subdtype and base.subdtype[0].kind == "O"):
                columns.append(self._vlen_column(field, values, key, name, _column_keywords(attrs, i, field, base)))
                continue
            keywords = _column_keywords(attrs, i, field, base)
            original = _original_tform(attrs, i, base, keywords)
            tform = original[0] if original else _tform(base, field, key, name)
            if original and original[1]:
                if base.kind == "u":
                    keywords.update(original[1])  # astropy writes unsigned integers with their TZERO itself
                else:
                    values = _unscaled_column(values, tform, **original[1])
                    scaled[i] = [fits.Card(f"{'TSCAL' if k == 'bscale' else 'TZERO'}{i}", v)
                                 for k, v in original[1].items()]
            columns.append(fits.Column(name=field, array=values, format=tform, dim=_tdim(base), **keywords))
        return fits.ColDefs(columns)

    def _vlen_column(self, field: str, values: np.ndarray[Any, Any], key: str, name: str,
                     keywords: dict[str, Any]) -> Any:
        from astropy.io import fits

        items = [np.asarray(v) for v in values]
        if not items or any(i.dtype.kind not in "biuf" for i in items):
            raise NotSupported(
                f"cannot write {name} as FITS: column {field!r} of /{key} holds variable-length "
                "data FITS cannot keep (only numeric arrays)",
                name,
            )
        # The element type's letter alone: a P column's TFORM is "P<letter>(max)"
        # ("PJ()"); "P1J()" (with _tform's repeat count) is illegal to astropy.
        letter = _tform(items[0].dtype, field, key, name).lstrip("0123456789")
        return fits.Column(name=field, format=f"P{letter}()", array=np.array(items, dtype=object), **keywords)


def _after_axes(header: Any, cards: list[Any]) -> None:
    """Put ``cards`` after the NAXISn (and EXTEND, PCOUNT, GCOUNT) cards of
    ``header``, replacing cards of the same keywords, in their order."""
    for card in cards:
        header.remove(card.keyword, ignore_missing=True)
    at = max((i for i, c in enumerate(header.cards) if re.fullmatch(r"NAXIS\d*|EXTEND|PCOUNT|GCOUNT", c.keyword)),
             default=len(header) - 1) + 1
    for offset, card in enumerate(cards):
        header.insert(at + offset, card)


def _check_complete(hdus: Any, fileobj: BinaryIO) -> None:
    """ValueError if the file behind ``hdus`` (an open HDUList) is cut short."""
    from astropy.io import fits

    if len(hdus) == 0:
        raise ValueError("it holds no HDU")
    # astropy only warns about a truncated file (and tolerates a missing last
    # padding block, as do we); data cut short is damage, reported now rather
    # than as a confusing failure on some later read.
    fileobj.seek(0, io.SEEK_END)
    size = fileobj.tell()
    for i, hdu in enumerate(hdus):
        if not hasattr(hdu, "fileinfo"):
            continue  # a non-standard HDU: astropy keeps it as raw bytes
        info = hdus.fileinfo(i)
        # A compressed image's .size is the image's; its bytes in the file are the
        # (padded) table span.
        data_bytes = max(0, info["datSpan"] - 2879) if isinstance(hdu, fits.CompImageHDU) else hdu.size
        end = info["datLoc"] + data_bytes
        if end > size:
            raise ValueError(f"HDU {i} needs {end} bytes, the object has {size} (truncated?)")
    # astropy stops at a header cut short and only warns ("extra bytes after the
    # last HDU"), which would silently drop that HDU and all after it.
    last = hdus.fileinfo(len(hdus) - 1) if hasattr(hdus[-1], "fileinfo") else None
    if last is not None:
        tail_at = last["datLoc"] + last["datSpan"]
        if tail_at < size:
            fileobj.seek(tail_at)
            if fileobj.read(len(EXTENSION_MAGIC)) == EXTENSION_MAGIC:
                raise ValueError(f"the header of HDU {len(hdus)} at byte {tail_at} is cut short (truncated?)")


class _PlainSink:
    """The writing half of a binary file, without a ``name``: astropy treats a
    file-like object with a name as a path on disk (and stats it)."""

    mode = "wb"

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink

    def write(self, data: bytes) -> int:
        return self._sink.write(data)

    def flush(self) -> None:
        self._sink.flush()

    def tell(self) -> int:
        return self._sink.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._sink.seek(offset, whence)


def _column_keywords(attrs: Mapping[str, Any], index: int, field: str, dtype: np.dtype[Any]) -> dict[str, Any]:
    """The column's unit, display format and integer null value (TUNITn, TDISPn,
    TNULLn) from the attributes of a table read from FITS, as ``fits.Column``
    keywords. They describe the column rather than follow from the data, so they
    are kept, but only while column ``index`` is still called ``field`` (TTYPEn):
    otherwise they would land on another column."""
    def text(value: Any) -> str | None:
        value = value.item() if isinstance(value, np.generic) else value
        return value.decode("ascii", "replace") if isinstance(value, bytes) else value if isinstance(value, str) else None

    if text(attrs.get(f"TTYPE{index}")) != field:
        return {}
    out: dict[str, Any] = {}
    for keyword, name in (("TUNIT", "unit"), ("TDISP", "disp"), ("TCTYP", "coord_type"), ("TCUNI", "coord_unit"),
                          ("TRPOS", "time_ref_pos")):
        if (value := text(attrs.get(f"{keyword}{index}"))) is not None:
            out[name] = value
    # The column's world coordinates (FITS WCS paper I, table 7), which astropy
    # keeps only as Column attributes: given in a header, from_columns drops them.
    for keyword, name in (("TCRPX", "coord_ref_point"), ("TCRVL", "coord_ref_value"), ("TCDLT", "coord_inc")):
        value = attrs.get(f"{keyword}{index}")
        value = value.item() if isinstance(value, np.generic) else value
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = value
    null = attrs.get(f"TNULL{index}")
    base = dtype.subdtype[0] if dtype.subdtype else dtype
    if base.kind in "iu" and isinstance(null, int | np.integer) and not isinstance(null, bool):
        out["null"] = int(null)
    return out


def _unscaled_column(values: np.ndarray[Any, Any], tform: str, bscale: float = 1.0,
                     bzero: float = 0.0) -> np.ndarray[Any, Any]:
    """Physical column values back as the values stored under TFORM ``tform``."""
    from astropy.io.fits.column import _ColumnFormat

    stored = np.dtype(_ColumnFormat(tform).recformat)
    base = stored.subdtype[0] if stored.subdtype else stored
    raw = (np.asarray(values, dtype=np.float64) - bzero) / bscale
    if base.kind in "iu":
        raw = np.round(raw)
    return raw.astype(base)


def _original_tform(attrs: Mapping[str, Any], index: int, dtype: np.dtype[Any],
                    keywords: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The TFORMn of a binary-table column read from FITS (``_column_keywords`` has
    checked it is still that column), when it still describes the column's values:
    the same element type and count spelled the original way (``J`` for ``1J``),
    bits (``X``) held as booleans, or values scaled by TSCALn/TZEROn (then returned
    as ``bscale``/``bzero``, else {}). None otherwise."""
    from astropy.io.fits.column import _ColumnFormat

    if not keywords and f"TTYPE{index}" not in attrs:
        return None
    tform, kind = attrs.get(f"TFORM{index}"), attrs.get("XTENSION")
    tform = tform.item() if isinstance(tform, np.generic) else tform
    kind = kind.item() if isinstance(kind, np.generic) else kind
    if not isinstance(tform, str) or str(kind).strip() != "BINTABLE" or tform.strip()[:1] in ("P", "Q"):
        return None
    try:
        fmt = _ColumnFormat(tform)
    except (ValueError, KeyError, TypeError):
        return None
    base = dtype.subdtype[0] if dtype.subdtype else dtype
    count = int(np.prod(dtype.shape)) if dtype.shape else 1
    if fmt.format in ("X", "L"):  # bits, logicals: read as booleans
        return (tform, {}) if base.kind == "b" and fmt.repeat == count else None
    raw = np.dtype(fmt.recformat)
    raw_base, raw_count = (raw.subdtype[0], int(np.prod(raw.shape))) if raw.subdtype else (raw, 1)
    if raw_base.kind == "S":
        return (tform, {}) if base.kind == "S" and base.itemsize * count == fmt.repeat else None
    if raw_count != count:
        return None
    scaling = {name: attrs[f"{keyword}{index}"] for keyword, name in (("TSCAL", "bscale"), ("TZERO", "bzero"))
               if f"{keyword}{index}" in attrs}
    scaling = {k: v.item() if isinstance(v, np.generic) else v for k, v in scaling.items()}
    if scaling and all(isinstance(v, int | float) and not isinstance(v, bool) for v in scaling.values()) \
            and base.kind in "fiu" and raw_base.kind in "iuf" and scaling.get("bscale", 1) != 0:
        return tform, scaling
    return (tform, {}) if raw_base.newbyteorder("=") == base.newbyteorder("=") and not scaling else None


def _tform(dtype: np.dtype[Any], field: str, key: str, name: str) -> str:
    base = dtype.subdtype[0] if dtype.subdtype else dtype
    count = int(np.prod(dtype.shape)) if dtype.shape else 1
    codes = {"b": "L", "i1": "I", "u1": "B", "i2": "I", "u2": "I", "i4": "J", "u4": "J",
             "i8": "K", "u8": "K", "f4": "E", "f8": "D", "c8": "C", "c16": "M"}
    if base.kind == "S":
        return f"{base.itemsize * count}A"
    key_ = "b" if base.kind == "b" else f"{base.kind}{base.itemsize}"
    if key_ not in codes:
        raise NotSupported(
            f"cannot write {name} as FITS: column {field!r} of /{key} has dtype {dtype}, "
            "which no FITS table format holds",
            name,
        )
    # Unsigned types: astropy stores them with TZERO offsets when given the array.
    return f"{count}{codes[key_]}"


def _tdim(dtype: np.dtype[Any]) -> str | None:
    if not dtype.shape or len(dtype.shape) < 2 or dtype.subdtype[0].kind == "S":  # type: ignore[index]
        return None
    return "(" + ",".join(str(n) for n in reversed(dtype.shape)) + ")"

