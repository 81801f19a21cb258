"""The options of one mount."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sciswift.errors import InvalidInput
from sciswift.mount.layout import DEFAULT_SEGMENT_SIZE

__all__ = ["MountConfig", "parse_size"]

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"10G"``, ``"512MiB"``, ``"1.5g"``, ``"4096"`` -> bytes (binary units)."""
    m = _SIZE.match(text)
    if not m:
        raise InvalidInput(f"size {text!r} is not a number of bytes with an optional K, M, G or T")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


@dataclass(frozen=True)
class MountConfig:
    """Everything ``sciswift mount`` was asked for."""

    url: str
    mountpoint: Path
    cache_dir: Path
    cache_size: int = 10 << 30
    read_only: bool = False
    allow_other: bool = False
    segment_size: int = DEFAULT_SEGMENT_SIZE
    block_size: int = 1 << 20
    ttl: float = 1.0
    log_file: Path | None = None
    debug: bool = False
    #: FUSE requests served at once (libfuse worker threads; why 2: see
    #: ``sciswift.mount.fs.run_fuse``).
    threads: int = 2
    #: Show the store's times only: no HEAD per listed file for ``ls -l``, and
    #: ``utimens`` accepted but not kept (see ``sciswift.mount.mtime``).
    server_times: bool = False
