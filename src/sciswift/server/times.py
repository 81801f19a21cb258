"""Timestamps as Swift shows them.

Swift keeps timestamps at 10 µs resolution. We normalise a store's float
timestamp the same way once, then derive every representation from it, so the
``Last-Modified`` date (rounded up to the second), the ``X-Timestamp`` header
(``1795742734.62864``) and a listing's ``last_modified``
(``2026-11-27T01:25:34.628640``) always agree.
"""

from __future__ import annotations

import math
import time
from email.utils import formatdate
from functools import lru_cache

__all__ = ["normal", "x_timestamp", "http_date", "iso_timestamp", "last_modified_seconds"]


def normal(ts: float) -> float:
    """``ts`` at Swift's 10 µs resolution."""
    return round(ts, 5)


def x_timestamp(ts: float) -> str:
    """The ``X-Timestamp`` header value: seconds with five decimals."""
    return f"{normal(ts):016.5f}"


def last_modified_seconds(ts: float) -> int:
    """Whole seconds of ``Last-Modified`` (rounded up, as Swift does)."""
    return math.ceil(normal(ts))


def http_date(ts: float) -> str:
    """The ``Last-Modified`` header value."""
    return _date_of(last_modified_seconds(ts))


@lru_cache(maxsize=4096)
def _date_of(seconds: int) -> str:
    # formatdate takes ~7 us; a batched GET of 256 chunks written in the same
    # few seconds asked for the same few dates 256 times (7% of its CPU).
    return formatdate(seconds, usegmt=True)


def iso_timestamp(ts: float) -> str:
    """A listing's ``last_modified``: UTC ISO 8601 with microseconds."""
    ts = normal(ts)
    whole = math.floor(ts)
    micro = int(round((ts - whole) * 1e6))
    if micro >= 1_000_000:
        whole, micro = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micro:06d}"
