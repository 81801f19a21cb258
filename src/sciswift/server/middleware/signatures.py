"""HMAC signatures of temporary URLs and form posts, as Swift computes them.

A signature is given either as hex (its length names the digest: 40 sha1, 64
sha256, 128 sha512) or as ``<digest>:<base64>`` (standard or URL-safe
alphabet, padding optional). Keys are the account's and the container's
``Temp-URL-Key`` and ``Temp-URL-Key-2`` metadata. Comparisons take constant
time (``hmac.compare_digest``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping

__all__ = ["ACCOUNT", "CONTAINER", "split_signature", "hmac_hex", "keys_from", "matches"]

#: The scope of a key: an account key signs for the whole account, a
#: container key for its container only.
ACCOUNT = "account"
CONTAINER = "container"

_HEX_LENGTHS = {40: "sha1", 64: "sha256", 128: "sha512"}
_KEY_NAMES = ("temp-url-key", "temp-url-key-2")


def split_signature(value: str) -> tuple[str, str]:
    """``(digest name, hex signature)`` of a client's signature; ValueError
    when it is neither valid hex of a known length nor ``name:base64``."""
    if ":" in value:
        algo, b64 = value.split(":", 1)
        if ("-" in b64 or "_" in b64) and not ("+" in b64 or "/" in b64):
            b64 = b64.replace("-", "+").replace("_", "/")
        b64 = b64.rstrip("=")
        try:
            raw = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
        except binascii.Error:
            raise ValueError("signature is not valid base64") from None
        return algo.lower(), raw.hex()
    try:
        bytes.fromhex(value)
    except ValueError:
        raise ValueError("signature is not hex") from None
    named = _HEX_LENGTHS.get(len(value))
    if named is None:
        raise ValueError("signature has a bad length")
    return named, value.lower()


def hmac_hex(key: str, message: str, digest: str) -> str:
    """The hex HMAC of ``message`` (UTF-8) under ``key`` with ``digest``."""
    return hmac.new(key.encode("utf-8"), message.encode("utf-8", "surrogateescape"), getattr(hashlib, digest)).hexdigest()


def keys_from(metadata: Mapping[str, str]) -> list[str]:
    """The temp-URL keys kept in account or container metadata."""
    return [metadata[k] for k in _KEY_NAMES if metadata.get(k)]


def matches(signature: str, candidates: Iterable[str]) -> bool:
    """Whether ``signature`` equals one of ``candidates`` (each compared in
    constant time; all are compared, so timing does not tell which key)."""
    found = False
    for candidate in candidates:
        found |= hmac.compare_digest(signature.encode("ascii", "replace"), candidate.encode("ascii"))
    return found
