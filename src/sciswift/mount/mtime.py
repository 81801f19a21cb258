"""A file's own modification time, kept as object metadata.

Object stores keep the time an object was stored, not the time its file was
last changed. The Swift tools' convention (python-swiftclient's ``swift
upload`` writes it, ``swift download`` applies it; rclone does the same) is
``X-Object-Meta-Mtime``: seconds since the epoch as a decimal string ("%f" from
swiftclient, nine decimals from rclone). The mount reads it as the file's time
and writes it on ``utimens`` (``touch -d``, ``cp -p``, ``tar x``, ``rsync -a``),
so a second ``rsync -a`` finds nothing to copy.

Times are whole nanoseconds here: a float of seconds cannot hold today's time to
the nanosecond, and rsync compares nanoseconds.
"""

from __future__ import annotations

import re

__all__ = ["META_KEY", "parse_mtime", "format_mtime"]

#: The metadata key (``X-Object-Meta-Mtime``, lower-cased as the stores give it).
META_KEY = "mtime"

# ASCII digits only (\d would also take other scripts' digits)
_DECIMAL = re.compile(r"([0-9]{1,12})(?:\.([0-9]*))?")


def parse_mtime(metadata: dict[str, str]) -> int | None:
    """The time ``metadata`` gives, in ns since the epoch; None if there is none
    or it is not a plain non-negative decimal (then the store's time is used)."""
    text = metadata.get(META_KEY)
    if text is None:
        return None
    m = _DECIMAL.fullmatch(text.strip())
    if m is None:
        return None
    seconds, fraction = m.group(1), (m.group(2) or "")
    return int(seconds) * 1_000_000_000 + int((fraction[:9]).ljust(9, "0"))


def format_mtime(ns: int) -> str:
    """``ns`` as the metadata value: seconds with nine decimals (what ``float()``
    of swiftclient and rclone read back)."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return f"{seconds}.{rest:09d}"
