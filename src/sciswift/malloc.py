"""Keep freed buffers in the process instead of handing them back to the OS.

Chunk I/O allocates and frees many MiB of short-lived buffers per call (one
``bytes`` per chunk read, one contiguous copy per chunk written); so does the
server, one ``bytes`` per socket read of a request body. glibc's
defaults give the top of the heap back to the kernel as soon as more than twice
the largest recently freed block (about 512 KiB for 256 KiB chunks) is free, so
the next call faults all of it in again, and fresh pages are expensive on a
virtual machine. Measured on this project's 2-core VM, reading a 64 MiB dataset
(256 KiB chunks) while holding 64 MiB of chunk bodies at once: 44 ms per read
with glibc's defaults, 20.5 ms with the settings below. The server's 16 MiB
S3 PUTs from 4 clients: page faults and ``brk`` took 4% of the workers' CPU
with glibc's defaults, none with these (about 2 ms of 52 per PUT).

The engine applies them when imported, each ``sciswift serve`` worker when it
starts.

``tune()`` keeps up to ``TRIM_THRESHOLD`` of free heap in the process and serves
allocations below ``MMAP_THRESHOLD`` (glibc's own dynamic maximum on 64-bit)
from the heap. It runs once, on glibc only, and never when the user has chosen
their own malloc settings (``MALLOC_TRIM_THRESHOLD_`` or
``MALLOC_MMAP_THRESHOLD_`` in the environment) or turned it off with
``SCISWIFT_MALLOC_TUNING=0``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt() parameter numbers, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

TRIM_THRESHOLD = 128 << 20
MMAP_THRESHOLD = 32 << 20

_applied: bool | None = None


def tune() -> bool:
    """Apply the settings above once per process; whether they are in effect."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if not sys.platform.startswith("linux") or os.environ.get("SCISWIFT_MALLOC_TUNING", "1") == "0":
        return False
    if "MALLOC_TRIM_THRESHOLD_" in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt, nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # Both: setting either one turns off glibc's dynamic thresholds.
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied
