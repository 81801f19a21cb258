"""FITS headers between astropy and attributes, keeping what the attributes cannot.

Reading gives each HDU's cards as attributes (keyword -> value; ``header_attrs`` in
``fits``) and, under ``HEADER_ATTR``, the header's card images as they were (80
characters each, one a line): card comments, the card order, repeated keywords,
blank-keyword commentary, each COMMENT/HISTORY card and CONTINUE'd long strings,
which keyword -> value attributes lose. It travels with the attributes (import
into the native layout, export to HDF5), so writing FITS again (``build_header``)
starts from those cards:

- a card whose keyword still has an attribute of the same value is written as it
  was (its comment, its formatting); one whose attribute changed gets the new
  value and keeps its comment; one whose attribute is gone is left out;
- COMMENT and HISTORY cards are kept while their attribute still holds the same
  lines, else written from the attribute;
- keywords astropy derives from the data (``STRUCTURAL``) are written by astropy,
  with the original comment where the value is the same (``restore_comments``);
  CHECKSUM/DATASUM are computed anew for the file written, never copied;
- attributes without a card are appended, as for any tree.

An image that astropy scaled on reading (BSCALE/BZERO, BLANK as NaN, on an integer
BITPIX) is written back as those integers with its scaling cards
(``unscaled_image``), as astropy's own round trip keeps it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from sciswift.errors import NotSupported

__all__ = ["HEADER_ATTR", "COMMENTARY", "STRUCTURAL", "header_text", "original_cards", "card_value",
           "build_header", "restore_comments", "unscaled_image", "dataless_cards", "wants_checksum",
           "original_extname", "place_like_original"]

#: The attribute holding an HDU's header cards as read (see the module docstring).
HEADER_ATTR = "FITS_HEADER"
COMMENTARY = ("COMMENT", "HISTORY")
#: Keywords astropy computes from the data when writing; copying them back from a
#: tree read earlier would contradict the data being written. (TUNITn, TDISPn and
#: TNULLn are given to the columns instead: ``fits._column_keywords``.)
STRUCTURAL = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|XTENSION|PCOUNT|GCOUNT|TFIELDS|GROUPS|THEAP|"
    r"BSCALE|BZERO|BLANK|EXTNAME|CHECKSUM|DATASUM|ZIMAGE|ZBITPIX|ZNAXIS\d*|ZTILE\d*|ZCMPTYPE|"
    r"ZNAME\d*|ZVAL\d*|ZQUANTIZ|ZDITHER0|ZSIMPLE|ZTENSION|ZEXTEND|ZPCOUNT|ZGCOUNT|ZHECKSUM|ZDATASUM|"
    r"(TTYPE|TFORM|TDIM|TSCAL|TZERO|TNULL|TBCOL|TDISP|TUNIT|PTYPE|PSCAL|PZERO)\d+)$"
)
_SCALING = ("BSCALE", "BZERO", "BLANK")
_INT_BITPIX = {8: "u1", 16: "i2", 32: "i4", 64: "i8"}


def header_text(header: Any) -> str:
    """The header's card images, one a line (no END card, no padding)."""
    return "\n".join(card.image for card in header.cards)


def original_cards(attrs: Mapping[str, Any]) -> list[Any]:
    """The cards kept under ``HEADER_ATTR`` (astropy Cards), or [] when there are
    none or they do not parse."""
    from astropy.io import fits

    text = _text(attrs.get(HEADER_ATTR))
    if not text:
        return []
    cards = []
    for line in text.split("\n"):
        try:
            cards.append(fits.Card.fromstring(line.ljust(80)))
        except (ValueError, TypeError):
            continue  # a line mangled on the way: that card is written from its attribute
    return cards


def card_value(card: Any) -> Any:
    """The value of a (non-commentary) card as an attribute holds it: astropy's
    value, or what ``silentfix`` makes of a card it cannot parse, or the card's raw
    text after ``= ``; integers beyond int64 as ``uint64`` or decimal text."""
    from astropy.io.fits.verify import VerifyError

    try:
        value = card.value
    except VerifyError:
        try:
            card.verify("silentfix")
            value = card.value
        except VerifyError:
            value = card.image[10:].strip()
    return _storable_int(value) if type(value) is int else value


def _storable_int(value: int) -> int | np.uint64 | str:
    """A FITS integer card value as an attribute HDF5 can store: unchanged within
    int64, ``uint64`` up to 2**64 - 1, else its exact decimal text. FITS integers
    have no size limit (astropy's test header_with_time.fits has LONG_MIN - 1);
    as a Python int beyond int64 the attribute was an object array that neither
    h5py nor the native layout can write, so import and export of the whole file
    failed on it."""
    if -(1 << 63) <= value < (1 << 63):
        return value
    if 0 <= value < (1 << 64):
        return np.uint64(value)
    return str(value)


def _text(value: Any) -> str | None:
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return value if isinstance(value, str) else None


def _plain(value: Any) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value


def _same(attr: Any, value: Any) -> bool:
    """Whether an attribute (as read back, maybe through another library) still
    holds the card value ``value``."""
    from astropy.io.fits.card import Undefined

    a, b = _plain(attr), _plain(value)
    if isinstance(b, Undefined):
        return False
    if isinstance(a, bool) != isinstance(b, bool) or isinstance(a, str) != isinstance(b, str):
        return False
    try:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _commentary_lines(cards: list[Any], keyword: str) -> str:
    return "\n".join(str(c.value) for c in cards if c.keyword == keyword)


def _derived(keyword: str, table: bool) -> bool:
    # BSCALE/BZERO/BLANK scale image pixels; in a table's header they are plain
    # cards (astropy scales table columns by TSCALn/TZEROn).
    return bool(STRUCTURAL.match(keyword.upper())) and not (table and keyword.upper() in _SCALING)


def build_header(attrs: Mapping[str, Any], key: str, name: str, table: bool = False) -> Any:
    """The header (astropy) to write for an HDU with attributes ``attrs`` (see the
    module docstring), a table's if ``table``. NotSupported names an attribute no
    card can hold."""
    from astropy.io import fits

    header = fits.Header()
    cards = original_cards(attrs)
    first = {c.keyword: c for c in reversed(cards)}
    kept = {k for k in COMMENTARY if _text(attrs.get(k)) == _commentary_lines(cards, k)}
    done: set[str] = set()
    for card in cards:
        keyword = card.keyword
        if not keyword or keyword in kept:
            _add(header, card)  # blank-keyword commentary, or COMMENT/HISTORY unchanged
            continue
        if keyword in COMMENTARY or _derived(keyword, table) or keyword not in attrs:
            continue
        if not _same(attrs[keyword], card_value(first[keyword])):
            if keyword not in done:
                _append(header, keyword, attrs[keyword], key, name, card.comment)
            done.add(keyword)
            continue
        _add(header, card)  # unchanged: as it was (repeats of the keyword too)
        done.add(keyword)
    done |= kept
    for k, v in attrs.items():
        if k in done or k == HEADER_ATTR or _derived(k, table):
            continue
        if k in COMMENTARY:
            for line in str(_plain(v)).split("\n"):
                _add(header, fits.Card(k, line))
            continue
        _append(header, k, v, key, name, "")
    return header


def _add(header: Any, card: Any) -> None:
    # At the very end: astropy's default puts a card before trailing commentary
    # cards and into trailing blank cards, which reorders the header.
    header.append(card, useblanks=False, bottom=True)


def _append(header: Any, k: str, v: Any, key: str, name: str, comment: str) -> None:
    from astropy.io import fits

    value = _plain(v)
    if not isinstance(value, (bool, int, float, str, complex)):
        raise NotSupported(
            f"cannot write {name} as FITS: attribute {k!r} of /{key} is {type(v).__name__}; "
            "FITS header cards hold single numbers, booleans and strings",
            name,
        )
    if isinstance(value, float) and len(k) <= 8 and math.isfinite(value):
        # astropy formats a float card in at most 20 characters, dropping digits
        # (-5.00875320999652e-09 is written -5.0087532099965E-09); the shortest
        # exact text (repr) as a free-format value keeps the value.
        text = f"{k.upper():<8}= {repr(value).upper():>20}" + (f" / {comment}" if comment else "")
        _add(header, fits.Card.fromstring(text[:80]))  # (a long comment is cut to fit the card)
        return
    _add(header, fits.Card(k, value, comment))


def restore_comments(header: Any, attrs: Mapping[str, Any]) -> None:
    """Give the cards astropy wrote from the data (``STRUCTURAL``) their original
    comments where their values are the originals."""
    cards = {c.keyword: c for c in reversed(original_cards(attrs)) if c.keyword}
    for card in list(header.cards):
        was = cards.get(card.keyword)
        if was is None or was.comment == card.comment:
            continue
        if STRUCTURAL.match(card.keyword) and _same(card.value, card_value(was)):
            header.comments[card.keyword] = was.comment


def unscaled_image(data: np.ndarray[Any, Any], attrs: Mapping[str, Any]) -> tuple[np.ndarray[Any, Any], list[Any]] | None:
    """``data`` (an image astropy scaled on reading) back as the integers it was
    stored as, and the BSCALE/BZERO/BLANK cards to write with them; None when the
    attributes name no integer BITPIX with scaling or blanks, or ``data`` is not
    floating point (astropy writes unsigned integers with their BZERO itself)."""
    from astropy.io import fits

    bitpix = _plain(attrs.get("BITPIX"))
    if data.dtype.kind != "f" or not isinstance(bitpix, int) or bitpix not in _INT_BITPIX:
        return None
    present = [k for k in _SCALING if k in attrs]
    if not present:
        return None
    bscale = float(_plain(attrs.get("BSCALE", 1.0)))
    bzero = float(_plain(attrs.get("BZERO", 0.0)))
    blank = _plain(attrs.get("BLANK"))
    if bscale == 0 or (blank is not None and not isinstance(blank, int)):
        return None
    physical = (np.asarray(data, dtype=np.float64) - bzero) / bscale
    missing = ~np.isfinite(physical)
    if missing.any() and blank is None:
        return None  # NaNs with nowhere to go: write the floats
    raw = np.round(np.where(missing, 0.0, physical))
    info = np.iinfo(np.dtype(_INT_BITPIX[bitpix]))
    if raw.size and (raw.min() < info.min or raw.max() > info.max):
        return None  # not the integers it was read from (the data changed)
    out = raw.astype(_INT_BITPIX[bitpix])
    if blank is not None:
        out[missing] = blank
    comments = {c.keyword: c.comment for c in original_cards(attrs)}
    cards = [fits.Card(k, _plain(attrs[k]), comments.get(k, "")) for k in present]
    return out, cards


def place_like_original(header: Any, card: Any, attrs: Mapping[str, Any]) -> None:
    """Set ``card`` in ``header`` where the original header had its keyword (after
    the card that came before it there, if ``header`` has that one), else at the
    end; an existing card of the keyword is replaced."""
    header.remove(card.keyword, ignore_missing=True)
    cards = original_cards(attrs)
    where = next((i for i, c in enumerate(cards) if c.keyword == card.keyword), None)
    before = cards[where - 1].keyword if where else None
    if before and before in header:
        header.insert(before, card, after=True)
    else:
        header.append(card, useblanks=False, bottom=True)


def dataless_cards(attrs: Mapping[str, Any]) -> list[Any]:
    """For an HDU written without data: its original GROUPS, BSCALE, BZERO and
    BLANK cards, which no data contradicts (astropy writes BITPIX 8 itself)."""
    out: dict[str, Any] = {}
    for card in original_cards(attrs):
        if card.keyword in ("GROUPS", *_SCALING):
            out.setdefault(card.keyword, card)
    return list(out.values())


def wants_checksum(attrs: Mapping[str, Any]) -> bool:
    """Whether the HDU read had CHECKSUM or DATASUM cards: the HDU written then
    gets them, computed for its own bytes (the old ones describe other bytes)."""
    return "CHECKSUM" in attrs or "DATASUM" in attrs


def original_extname(attrs: Mapping[str, Any], key: str) -> str | None:
    """The EXTNAME to write for the HDU read from FITS as group ``key``: its own
    EXTNAME where ``key`` was made from it (``SCI_2`` for the second ``SCI``), none
    for an extension that had none (``HDU1``); else ``key``."""
    extname = _text(attrs.get("EXTNAME"))
    if extname is not None:
        made = extname.strip().replace("/", "_")
        if key == made or re.fullmatch(re.escape(made) + r"_\d+", key):
            return extname
        return key
    if HEADER_ATTR in attrs and re.fullmatch(r"HDU\d+|COMPRESSED_IMAGE(_\d+)?", key):
        return None
    return key
