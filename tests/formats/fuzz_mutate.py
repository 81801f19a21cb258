"""Mutations for the format fuzzer: byte-level ones for every format, aimed at a
seed's hot (metadata) ranges more often than not, and format-aware ones where
they are cheap: FITS header cards, ``.npy`` header dicts, TFRecord records with
their CRCs recomputed (so the damage reaches the protobuf parser), CSV text,
and the JSON documents of native files.

A mutant is made from ``random.Random`` seeded with its own number alone, so any
single mutant can be made again without the ones before it.
"""

from __future__ import annotations

import ast
import json
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fuzz_seeds import NativeSeed, Seed

__all__ = ["Mutant", "NativeMutant", "mutate", "mutate_native", "sidecar_mutation"]

#: Integers that break size and count fields: zero, one, signed/unsigned limits.
INTERESTING_INTS = (0, 1, 2, 7, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF,
                    0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF)
INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x20, 0x2F, 0x2E, 0x22, 0x27, 0x3D)


@dataclass
class Mutant:
    """One damaged blob: made from ``seed`` by ``steps``; ``sidecar`` True when
    the bytes are those of the blob's cached index rather than of the blob."""

    fmt: str
    index: int
    seed: Seed
    data: bytes
    steps: list[str]
    sidecar: bool = False

    def describe(self) -> str:
        where = " (its index sidecar)" if self.sidecar else ""
        return f"{self.fmt} mutant {self.index} of {self.seed.origin}{where}: " + "; ".join(self.steps)


@dataclass
class NativeMutant:
    """One damaged native file: ``objects`` with ``key`` changed by ``steps``."""

    fmt: str
    index: int
    seed: NativeSeed
    objects: dict[str, bytes]
    key: str
    steps: list[str]

    def describe(self) -> str:
        return f"native mutant {self.index} of {self.seed.origin}, object {self.key}: " + "; ".join(self.steps)


# ------------------------------------------------------------------ bytes
def _position(rng: random.Random, data: bytes | bytearray, hot: tuple[tuple[int, int], ...]) -> int:
    """A byte offset: inside a hot range 3 times in 4 (when there are some)."""
    n = len(data)
    if n == 0:
        return 0
    spans = [(a, min(b, n)) for a, b in hot if a < n and b > a]
    if spans and rng.random() < 0.75:
        a, b = rng.choice(spans)
        return rng.randrange(a, b)
    return rng.randrange(n)


def _flip(rng: random.Random, d: bytearray, hot: Any) -> str:
    pos = _position(rng, d, hot)
    if not d:
        return "flip: empty"
    bit = rng.randrange(8)
    d[pos] ^= 1 << bit
    return f"flip bit {bit} at {pos}"


def _set_byte(rng: random.Random, d: bytearray, hot: Any) -> str:
    if not d:
        return "set: empty"
    pos = _position(rng, d, hot)
    d[pos] = rng.choice(INTERESTING_BYTES) if rng.random() < 0.7 else rng.randrange(256)
    return f"byte {pos} = {d[pos]:#04x}"


def _set_int(rng: random.Random, d: bytearray, hot: Any) -> str:
    width = rng.choice((2, 4, 8))
    if len(d) < width:
        return "int: too short"
    pos = min(_position(rng, d, hot), len(d) - width)
    if rng.random() < 0.5:
        pos -= pos % width  # fields are usually aligned
    order = rng.choice("<>")
    value = rng.choice(INTERESTING_INTS + (len(d), len(d) + 1, len(d) - 1, pos)) % (1 << (8 * width))
    if rng.random() < 0.2:
        old = int.from_bytes(d[pos:pos + width], "little" if order == "<" else "big")
        value = (old + rng.choice((-1, 1, -8, 8, 1 << 16))) % (1 << (8 * width))
    d[pos:pos + width] = value.to_bytes(width, "little" if order == "<" else "big")
    return f"{width}-byte {'LE' if order == '<' else 'BE'} int at {pos} = {value:#x}"


def _truncate(rng: random.Random, d: bytearray, hot: Any) -> str:
    if not d:
        return "truncate: empty"
    cut = _position(rng, d, hot) if rng.random() < 0.5 else rng.randrange(len(d))
    del d[cut:]
    return f"truncate at {cut}"


def _insert(rng: random.Random, d: bytearray, hot: Any) -> str:
    pos = _position(rng, d, hot)
    n = rng.choice((1, 2, 4, 8, 16, 64, 512))
    fill = rng.choice(("random", "zeros", "ff", "copy"))
    if fill == "random":
        blob = bytes(rng.randrange(256) for _ in range(n))
    elif fill == "zeros":
        blob = bytes(n)
    elif fill == "ff":
        blob = b"\xff" * n
    else:
        start = rng.randrange(max(1, len(d)))
        blob = bytes(d[start:start + n])
    d[pos:pos] = blob
    return f"insert {len(blob)} {fill} bytes at {pos}"


def _delete(rng: random.Random, d: bytearray, hot: Any) -> str:
    if not d:
        return "delete: empty"
    pos = _position(rng, d, hot)
    n = rng.choice((1, 2, 4, 8, 16, 64, 512))
    del d[pos:pos + n]
    return f"delete {n} bytes at {pos}"


def _splice(rng: random.Random, d: bytearray, hot: Any) -> str:
    """Copy a block of the file over another place (a chunk or header moved)."""
    if len(d) < 2:
        return "splice: too short"
    n = rng.choice((4, 8, 16, 64, 256))
    src = rng.randrange(len(d))
    dst = _position(rng, d, hot)
    block = bytes(d[src:src + n])
    d[dst:dst + len(block)] = block
    return f"copy {len(block)} bytes from {src} to {dst}"


ByteOp = Callable[[random.Random, bytearray, Any], str]
BYTE_OPS: list[tuple[int, ByteOp]] = [
    (5, _flip), (4, _set_byte), (5, _set_int), (2, _truncate), (2, _insert), (2, _delete), (2, _splice),
]


def _byte_mutation(rng: random.Random, data: bytes, hot: Any) -> tuple[bytes, str]:
    d = bytearray(data)
    step = _weighted(rng, BYTE_OPS)(rng, d, hot)
    return bytes(d), step


def _weighted(rng: random.Random, ops: list[tuple[int, Any]]) -> Any:
    total = sum(w for w, _ in ops)
    pick = rng.randrange(total)
    for w, op in ops:
        if pick < w:
            return op
        pick -= w
    raise AssertionError


# ------------------------------------------------------------------ FITS
FITS_VALUES = (
    "-1", "0", "1", "2", "3", "999", "2147483648", "99999999999999999999", "-2147483649", "1E999", "-1E999",
    "NaN", "1.5", "T", "F", "X", "''", "'", "'unterminated", "'" + "x" * 70 + "'", "(1, 2)", "(1.0, ",
    "'\x00\x00'", "\x00", "'caf\xe9'", "'8A'", "'1PJ(5)'", "'2PE(999999999)'", "'(2,3)'", "'(0)'",
    "'(999999,999999)'", "'QD'", "'RICE_1'", "'GZIP_2'", "'HCOMPRESS_1'", "'PLIO_1'", "'NOCOMPRESS'", "'BINTABLE'",
    "'IMAGE   '", "'TABLE   '", "'A3'", "'I5'", "'F8.3'", "'E12.4'", "'K'", "'L'", "'X'", "'B'", "'C'", "'M'",
    "-32", "-64", "8", "16", "32", "64", "7", "20",
)
FITS_KEYS = (
    "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "PCOUNT", "GCOUNT", "TFIELDS", "TFORM1", "TFORM2", "TDIM1",
    "TDIM3", "THEAP", "TBCOL1", "TBCOL2", "TTYPE1", "TSCAL1", "TZERO1", "TNULL1", "BZERO", "BSCALE", "BLANK",
    "EXTNAME", "EXTVER", "XTENSION", "SIMPLE", "EXTEND", "GROUPS", "PTYPE1", "PSCAL1", "ZIMAGE", "ZBITPIX",
    "ZNAXIS", "ZNAXIS1", "ZNAXIS2", "ZTILE1", "ZTILE2", "ZCMPTYPE", "ZNAME1", "ZVAL1", "ZQUANTIZ", "ZBLANK",
    "CHECKSUM", "DATASUM", "CONTINUE", "HIERARCH", "END", "COMMENT", "HISTORY", "A\x00B", "ab", "\x00" * 8,
    "caf\xe9", "", "A/B", ".", "_sciswift",
)


def _cards(data: bytes, hot: tuple[tuple[int, int], ...]) -> list[int]:
    """Offsets of the header cards (80-byte units of the header blocks)."""
    out = []
    for a, b in hot:
        out.extend(range(a, min(b, len(data)) - 79, 80))
    return out


def _card(keyword: str, value: str) -> bytes:
    text = f"{keyword:<8.8}= {value}" if keyword not in ("COMMENT", "HISTORY", "CONTINUE", "END", "") else \
        f"{keyword:<8.8}{value}"
    return text.encode("latin-1", "replace")[:80].ljust(80, b" ")


def _fits_card(rng: random.Random, seed: Seed, data: bytes) -> tuple[bytes, str]:
    cards = _cards(data, seed.hot)
    if not cards:
        return _byte_mutation(rng, data, seed.hot)
    d = bytearray(data)
    at = rng.choice(cards)
    old_key = bytes(d[at:at + 8]).decode("latin-1").strip()
    how = rng.choice(("value", "value", "structural", "keyword", "blank", "duplicate", "end"))
    if how == "value" and old_key:
        card = _card(old_key, rng.choice(FITS_VALUES))
    elif how == "structural":
        card = _card(rng.choice(FITS_KEYS), rng.choice(FITS_VALUES))
    elif how == "keyword":
        key = rng.choice(FITS_KEYS)
        card = key.encode("latin-1", "replace")[:8].ljust(8, b" ") + bytes(d[at + 8:at + 80])
    elif how == "blank":
        card = b" " * 80
    elif how == "duplicate":
        card = bytes(d[rng.choice(cards):][:80])
    else:  # drop the END card, or put one early
        end = data.find(b"END" + b" " * 77, at - at % 2880)
        if end >= 0 and rng.random() < 0.5:
            d[end:end + 80] = b" " * 80
            return bytes(d), f"FITS: END card at {end} blanked"
        card = b"END".ljust(80, b" ")
    d[at:at + 80] = card[:80].ljust(80, b" ")
    return bytes(d), f"FITS card at {at} ({old_key!r}) -> {card[:40]!r}"


# ------------------------------------------------------------------ .npy
NPY_DESCRS = ("<f8", ">i4", "|u1", "|b1", "<c16", "|O", "<U3", "|S0", "|V0", "<M8[ns]", "<m8", "<f16", "<i16",
              "x", "", "<f8 ", [("a", "<i4")], [("a", "<i4", (2**40,))], [("", "<i4")], [("a", "|O")],
              [("a", "<i4"), ("a", "<i4")], [("a", [("b", "<f8")])], [("a\x00", "<i4")])
NPY_SHAPES = ((), (0,), (-1,), (2**62,), (2**31, 2**31), (3, -4), (1,) * 40, ("x",), (1.5,), None, 7)


def _npy_header(rng: random.Random, seed: Seed, data: bytes, start: int = 0) -> tuple[bytes, str]:
    """Rewrite the header dict of the .npy at ``start`` with one value changed."""
    major = data[start + 6] if len(data) > start + 6 else 1
    size_fmt = "<H" if major == 1 else "<I"
    width = struct.calcsize(size_fmt)
    if data[start:start + 6] != b"\x93NUMPY" or len(data) < start + 8 + width:
        return _byte_mutation(rng, data, seed.hot)
    hlen = struct.unpack_from(size_fmt, data, start + 8)[0]
    body_at = start + 8 + width
    text = data[body_at:body_at + hlen].decode("latin-1")
    try:
        header = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return _byte_mutation(rng, data, seed.hot)
    if not isinstance(header, dict):
        return _byte_mutation(rng, data, seed.hot)
    key = rng.choice(("descr", "shape", "fortran_order", "extra", "drop"))
    if key == "descr":
        header["descr"] = rng.choice(NPY_DESCRS)
    elif key == "shape":
        header["shape"] = rng.choice(NPY_SHAPES)
    elif key == "fortran_order":
        header["fortran_order"] = rng.choice((True, False, 1, "yes", None))
    elif key == "extra":
        header[rng.choice(("extra", "shape2", 1))] = 1
    else:
        header.pop(rng.choice(("descr", "shape", "fortran_order")), None)
    new_text = repr(header)
    if rng.random() < 0.8:  # keep the data where it was when the text fits
        new_text = new_text.ljust(hlen - 1) + "\n" if len(new_text) < hlen else new_text + "\n"
    raw = new_text.encode("latin-1", "replace")
    out = data[:start + 8] + struct.pack(size_fmt, len(raw) % (1 << (8 * width))) + raw + data[body_at + hlen:]
    return out, f".npy header at {start}: {key} -> {new_text.strip()[:80]!r}"


def _npz_member_header(rng: random.Random, seed: Seed, data: bytes) -> tuple[bytes, str]:
    starts = [i for i in range(len(data)) if data.startswith(b"\x93NUMPY", i)][:16]
    if not starts:
        return _byte_mutation(rng, data, seed.hot)
    return _npy_header(rng, seed, data, rng.choice(starts))


# ------------------------------------------------------------------ TFRecord
def _tf_records(data: bytes) -> list[tuple[int, int]]:
    """``(offset, length)`` of each record's frame while the framing holds."""
    out, pos = [], 0
    while pos + 12 <= len(data):
        length = struct.unpack_from("<Q", data, pos)[0]
        if pos + 16 + length > len(data):
            break
        out.append((pos, length))
        pos += 16 + length
    return out


def _tf_record(rng: random.Random, seed: Seed, data: bytes) -> tuple[bytes, str]:
    """Damage one record's body (or length) and make its CRCs right again."""
    from sciswift.formats.tfrecord import masked_crc32c

    records = _tf_records(data)
    if not records:
        return _byte_mutation(rng, data, seed.hot)
    i = rng.randrange(len(records))
    pos, length = records[i]
    body = bytearray(data[pos + 12:pos + 12 + length])
    if rng.random() < 0.8 or not body:
        op = _weighted(rng, BYTE_OPS)
        step = op(rng, body, ())
    else:
        body = body[: rng.randrange(len(body))]
        step = "body cut"
    head = struct.pack("<Q", len(body))
    frame = head + struct.pack("<I", masked_crc32c(head)) + bytes(body) + struct.pack("<I", masked_crc32c(bytes(body)))
    out = data[:pos] + frame + data[pos + 16 + length:]
    return out, f"TFRecord record {i} at {pos}: {step} (CRCs recomputed)"


def _tf_length(rng: random.Random, seed: Seed, data: bytes) -> tuple[bytes, str]:
    """A wrong length with a right length CRC: the framing itself goes astray."""
    from sciswift.formats.tfrecord import masked_crc32c

    records = _tf_records(data)
    if not records:
        return _byte_mutation(rng, data, seed.hot)
    i = rng.randrange(len(records))
    pos, length = records[i]
    new = rng.choice((0, 1, length - 1, length + 1, length + 16, len(data), 2**32, 2**63 - 1, 2**64 - 1)) % 2**64
    head = struct.pack("<Q", new)
    out = data[:pos] + head + struct.pack("<I", masked_crc32c(head)) + data[pos + 12:]
    return out, f"TFRecord record {i} at {pos}: length {length} -> {new} (length CRC recomputed)"


# ------------------------------------------------------------------ CSV
CSV_PIECES = (",", ";", "\t", "|", '"', '""', "\n", "\r\n", "\r", "#", "\x00", "\xff", "\xef\xbb\xbf", ",,,,",
              "1e999", "nan", "-", "2024-13-45", "true", "NULL", "\\", "'", " " * 100, "x" * 5000, "\u2028",
              "\ud800", "\x1b")


def _csv_text(rng: random.Random, seed: Seed, data: bytes) -> tuple[bytes, str]:
    if data[:2] == b"\x1f\x8b":
        return _byte_mutation(rng, data, seed.hot)
    piece = rng.choice(CSV_PIECES).encode("utf-8", "surrogatepass") if rng.random() < 0.5 else \
        rng.choice(CSV_PIECES).encode("latin-1", "replace")
    pos = rng.randrange(len(data) + 1)
    if rng.random() < 0.3 and data:
        end = min(len(data), pos + rng.randrange(1, 8))
        out = data[:pos] + piece + data[end:]
        return out, f"CSV: bytes {pos}:{end} -> {piece[:20]!r}"
    return data[:pos] + piece + data[pos:], f"CSV: insert {piece[:20]!r} at {pos}"


FormatOp = Callable[[random.Random, Seed, bytes], tuple[bytes, str]]
FORMAT_OPS: dict[str, list[tuple[int, FormatOp]]] = {
    "fits": [(3, _fits_card)],
    "npy": [(2, _npy_header)],
    "npz": [(1, _npz_member_header)],
    "tfrecord": [(4, _tf_record), (1, _tf_length)],
    "csv": [(3, _csv_text)],
}


def mutate(fmt: str, index: int, seeds: list[Seed], master: int) -> Mutant:
    """Mutant ``index`` of format ``fmt``: a seed picked and changed 1 to 4 times,
    by generic byte operations and the format's own."""
    rng = random.Random(f"{master}/{fmt}/{index}")
    seed = rng.choice(seeds)
    data = seed.data
    steps = []
    own = FORMAT_OPS.get(fmt, [])
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        if own and rng.random() < 0.5:
            data, step = _weighted(rng, own)(rng, seed, data)
        else:
            data, step = _byte_mutation(rng, data, seed.hot)
        steps.append(step)
    return Mutant(fmt, index, seed, data, steps)


def sidecar_mutation(rng_key: str, data: bytes) -> tuple[bytes, str]:
    """A mutation of an index sidecar (an .npz): half the time of its bytes, half
    the time of one member's array (values, dtype or shape) written back as a
    valid zip, so the damage gets past the zip's CRCs to the plugin's checks."""
    import io
    import zipfile

    import numpy as np

    rng = random.Random(rng_key)
    if rng.random() < 0.5:
        seed = Seed("npz", "sidecar", "sidecar", data)
        return _npz_member_header(rng, seed, data) if rng.random() < 0.5 else _byte_mutation(rng, data, ())
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    key = rng.choice(sorted(arrays))
    arr = arrays[key]
    how = rng.choice(("value", "value", "dtype", "shape", "drop", "meta"))
    if how == "value" and arr.size:
        flat = arr.reshape(-1).copy()
        i = rng.randrange(flat.size)
        info = np.iinfo(flat.dtype) if flat.dtype.kind in "iu" else None
        flat[i] = rng.choice((0, 1, info.max if info else 0, (flat[i] + 1) if info else 0))
        arrays[key] = flat.reshape(arr.shape)
    elif how == "dtype":
        arrays[key] = arr.astype(rng.choice(("<i4", "<f8", "|u1", "<u8", "<i8")))
    elif how == "shape":
        arrays[key] = arr.reshape(-1)[: max(0, arr.size - 1)] if rng.random() < 0.5 else arr.reshape(1, -1)
    elif how == "drop":
        del arrays[key]
    else:
        meta = arrays.get("meta")
        doc = json.loads(meta.tobytes()) if meta is not None else {}
        if isinstance(doc, dict) and doc:
            k = rng.choice(sorted(doc))
            doc[k] = rng.choice(JSON_VALUES)
        text = json.dumps(doc, allow_nan=True).encode("utf-8", "surrogatepass")
        arrays["meta"] = np.frombuffer(text, dtype=np.uint8)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, value in arrays.items():
            with zf.open(name + ".npy", "w") as fp:
                np.lib.format.write_array(fp, np.asarray(value), allow_pickle=False)
    return buf.getvalue(), f"sidecar member {key}: {how}"


# ------------------------------------------------------------------ native (JSON)
JSON_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2**31, 2**63, 2**64, -(2**63), 1e308, 1.5, float("nan"), "", "x", "\x00",
    "a/b", "..", ".", "zarr.json", "\udcff", [], [0], [-1], [2**40], [1, 2, 3], [[1]], {}, {"x": 1},
    {"name": "bytes"}, "int32", "float64", "<f8", "|O", "bool", "V0", "r0", "string", "complex128",
    {"name": "regular", "configuration": {"chunk_shape": [0]}}, {"name": "gzip", "configuration": {"level": 99}},
    {"name": "nonexistent-codec"}, [{"name": "bytes", "configuration": {"endian": "middle"}}],
)
JSON_KEYS = ("", "\x00", "a\x00b", "_sciswift", "a/b", ".", "..", "\udcff", "zarr.json", "x" * 300, "consolidated_metadata")


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(_paths(v, prefix + (i,)))
    return out


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _json_mutation(rng: random.Random, raw: bytes) -> tuple[bytes, str]:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return _byte_mutation(rng, raw, ())
    paths = _paths(doc)[1:]
    if not paths:
        return _byte_mutation(rng, raw, ())
    path = rng.choice(paths)
    parent, last = _get(doc, path[:-1]), path[-1]
    how = rng.choice(("value", "value", "value", "delete", "rename", "add", "nest", "swap"))
    if how == "value":
        parent[last] = rng.choice(JSON_VALUES)
    elif how == "delete":
        del parent[last]
    elif how == "rename" and isinstance(parent, dict):
        parent[rng.choice(JSON_KEYS)] = parent.pop(last)
    elif how == "add":
        target = _get(doc, path)
        if isinstance(target, dict):
            target[rng.choice(JSON_KEYS)] = rng.choice(JSON_VALUES)
        elif isinstance(target, list):
            target.append(rng.choice(JSON_VALUES))
        else:
            parent[last] = [target, target]
    elif how == "nest":
        # Deeper than json.dumps can write: spliced into the text.
        depth = rng.choice((2, 50, 5000))
        parent[last] = "\x01nest\x01"
        text = json.dumps(doc, allow_nan=True).replace('"\\u0001nest\\u0001"', "[" * depth + "0" + "]" * depth)
        return text.encode("utf-8", "surrogatepass"), f"JSON {list(path)}: nested {depth} deep"
    else:  # swap with another node's value
        other = rng.choice(paths)
        try:
            parent[last] = json.loads(json.dumps(_get(doc, other)))
        except (KeyError, IndexError, TypeError):
            pass
    text = json.dumps(doc, allow_nan=True, ensure_ascii=rng.random() < 0.5)
    shown = repr(parent.get(last) if isinstance(parent, dict) else "")[:60]
    return text.encode("utf-8", "surrogatepass"), f"JSON {list(path)}: {how} ({shown})"


def mutate_native(index: int, seeds: list[NativeSeed], master: int) -> NativeMutant:
    """Native mutant ``index``: one object of a native file changed 1 to 3 times;
    ``zarr.json`` documents mostly by JSON-aware edits."""
    rng = random.Random(f"{master}/native/{index}")
    seed = rng.choice(seeds)
    keys = sorted(seed.objects)
    meta = [k for k in keys if k.endswith("zarr.json")]
    roll = rng.random()
    key = "zarr.json" if roll < 0.5 and "zarr.json" in seed.objects else rng.choice(meta if roll < 0.8 else keys)
    data = seed.objects[key]
    steps = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        if key.endswith("zarr.json") and rng.random() < 0.75:
            data, step = _json_mutation(rng, data)
        else:
            data, step = _byte_mutation(rng, data, ())
        steps.append(step)
    objects = dict(seed.objects)
    objects[key] = data
    return NativeMutant("native", index, seed, objects, key, steps)
